/**
 * Care-critical cameras and private rooms in the config (ADR 0138, 0139): which workers a silence alarm watches
 * and after how long (careOf: a worker's own care, else its camera's, never a vlm worker or a cascade by
 * inheritance), what a private camera hides and how (privacyOf, with its defaults), the rules the schema cannot
 * say (a cascade watched, a silence shorter than two frame intervals, a care camera with nothing to watch, a
 * privacy section with nothing private, a private camera's frames sent to a model on another machine) at their
 * path and line, and the lines `config check` prints for both (the real command).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { careOf, explainCare, explainPrivacy, occupancyOf, parseConfig, privacyOf, SILENCE_SECONDS } from '../../src/config/index.js';
import { issuesOf, printed, yaml } from './helpers.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const file = (...camera: string[]): string =>
  yaml(
    'models:',
    '  person: { handler: person }',
    '  far: { kserve: { url: "http://gpu-box:8000", model: person } }',
    '  near: { kserve: { url: "grpc://127.0.0.1:8001", model: person } }',
    'mqtt: { url: "mqtt://broker:1883" }',
    'cameras:',
    '  room:',
    '    source: rtsp://10.0.0.5/main',
    ...camera.map((line) => `    ${line}`),
  );

describe('care and privacy in the config', { timeout: 120_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `fs-config-care-${process.pid}-`));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("careOf: a worker's own care, else its camera's for every worker but vlm workers and cascades; silenceSeconds the worker's, the camera's, else 30", () => {
    const config = parseConfig(
      file(
        'care: { silenceSeconds: 20 }',
        'workers:',
        '  - { id: people, model: person }',
        '  - { id: motion, module: builtin:motion, care: false }',
        '  - { id: pose, model: person, crops: { of: people } }',
        '  - { id: fast, model: person, care: { silenceSeconds: 5 } }',
        '  - { id: plain, model: person, care: true }',
        '  - { id: ask, vlm: { api: openai, url: "http://gpu:8000/v1", model: llava, prompt: hi } }',
      ),
    );
    const room = config.cameras.room!;
    const setting = (id: string) =>
      careOf(
        room,
        room.workers.find((w) => w.id === id),
      );
    assert.deepEqual(setting('people'), { silenceSeconds: 20 });
    assert.equal(setting('motion'), null);
    assert.equal(setting('pose'), null, 'a cascade is not watched by inheritance');
    assert.equal(setting('ask'), null, 'a vlm worker is not watched');
    assert.deepEqual(setting('fast'), { silenceSeconds: 5 });
    assert.deepEqual(setting('plain'), { silenceSeconds: 20 }, "true: the camera's silence");
    const alone = parseConfig(file('workers:', '  - { id: people, model: person, care: true }'));
    assert.deepEqual(careOf(alone.cameras.room!, alone.cameras.room!.workers[0]), { silenceSeconds: SILENCE_SECONDS });
    assert.deepEqual(explainCare(alone), [
      `camera room: care-critical: no result on a frame captured within its silence of now, from people (30 s), raises the camera's silence alarm with its reason (MQTT framesupplier/room/silence and framesupplier/alarms, Home Assistant's "room silent"), on the dashboard and in stats; the next fresh result clears it`,
    ]);
    assert.deepEqual(explainCare(parseConfig(file('workers:', '  - { id: people, model: person }'))), [], 'not care-critical: no line');
  });

  it('refuses a watched cascade, a silence under two frame intervals, a care camera with nothing to watch, at path and line; care on a vlm worker is no key of it', () => {
    assert.deepEqual(
      printed(
        issuesOf(
          file(
            'care: { silenceSeconds: 4 }',
            'workers:',
            '  - { id: people, model: person, maxFps: 0.25 }',
            '  - { id: pose, model: person, crops: { of: people }, care: true }',
          ),
        ),
      ),
      [
        'cameras.room.care: silenceSeconds (4) is under two of worker "people"\'s frame intervals at maxFps 0.25 (8 s): the alarm would be raised between its results; raise silenceSeconds or maxFps (line 9)',
        'cameras.room.workers[1].care: a cascade gives results only on its `of` worker\'s detections, so a quiet room would raise the alarm: watch "people" instead (line 12)',
      ],
    );
    assert.deepEqual(
      printed(issuesOf(file('care: true', 'workers:', '  - { id: ask, vlm: { api: openai, url: "http://gpu:8000/v1", model: llava, prompt: hi } }'))),
      [
        'cameras.room.care: watches the camera’s workers but its vlm workers and cascades, and it has none to watch: add a detector, or set care on the worker to watch (line 9)',
      ],
    );
    const vlmCare = printed(
      issuesOf(file('workers:', '  - { id: ask, care: true, vlm: { api: openai, url: "http://gpu:8000/v1", model: llava, prompt: hi } }')),
    );
    assert.equal(vlmCare.length, 1);
    assert.match(vlmCare[0]!, /^cameras\.room\.workers\[0\]\.care: .*\(line 10\)$/);
    assert.match(
      printed(issuesOf(file('care: { silenceSeconds: 1 }', 'workers: [{ id: people, model: person }]')))[0]!,
      /^cameras\.room\.care\.silenceSeconds: .*2/,
    );
  });

  it('occupancy single: a room for one resident, read by occupancyOf and said by config check; refused without a fall worker and on a worker', () => {
    const config = parseConfig(file('care: { occupancy: single }', 'workers: [{ id: people, model: person, falls: true }]'));
    assert.equal(occupancyOf(config.cameras.room!), 'single');
    assert.equal(occupancyOf({ care: true }), 'shared');
    assert.deepEqual(
      careOf(config.cameras.room!, config.cameras.room!.workers[0]),
      { silenceSeconds: SILENCE_SECONDS },
      'a care room: watched for silence too',
    );
    assert.ok(
      explainCare(config).some((l) =>
        /^camera room: single-occupancy: two or more people tracked for 3 s make it assisted .* one person for 10 s watched alone again$/.test(l),
      ),
    );
    assert.deepEqual(printed(issuesOf(file('care: { occupancy: single }', 'workers: [{ id: people, model: person }]'))), [
      "cameras.room.care.occupancy: is single, and no worker of this camera raises falls: the room is judged assisted from a fall worker's people; add falls to the person worker, or drop occupancy (line 9)",
    ]);
    assert.equal(
      printed(issuesOf(file('workers: [{ id: people, model: person, falls: true, care: { occupancy: single } }]'))).length,
      1,
      'a worker has no occupancy',
    );
    assert.equal(printed(issuesOf(file('care: { occupancy: double }', 'workers: [{ id: people, model: person, falls: true }]'))).length, 1);
  });

  it("privacyOf: private zones or the whole picture, with the defaults; nothing private: null; config check's line", () => {
    const zones = parseConfig(
      file(
        'zones:',
        '  bed: { polygon: [[0, 0], [0.5, 0], [0.5, 1]], private: true }',
        '  door: { polygon: [[0.6, 0], [1, 0], [1, 1]] }',
        'workers: [{ id: people, model: person }]',
      ),
    );
    assert.deepEqual(privacyOf(zones.cameras.room!), {
      areas: [
        {
          name: 'bed',
          polygon: [
            [0, 0],
            [0.5, 0],
            [0.5, 1],
          ],
        },
      ],
      show: 'blur',
      labels: ['person'],
      margin: 0.25,
      withinMs: 1000,
    });
    const whole = parseConfig(file('privacy: { whole: true, show: skeleton, labels: [person, child], margin: 0.5, withinMs: 500 }', 'workers: []'));
    assert.deepEqual(privacyOf(whole.cameras.room!), { areas: 'whole', show: 'skeleton', labels: ['person', 'child'], margin: 0.5, withinMs: 500 });
    assert.equal(privacyOf(parseConfig(file('workers: []')).cameras.room!), null);
    const area = parseConfig(file('zones:', '  bed: { polygon: [[0, 0], [0.5, 0], [0.5, 1]], private: true }', 'privacy: { show: area }', 'workers: []'));
    assert.deepEqual(explainPrivacy(area), [
      'camera room: private (zone bed): zone bed leaves this machine blurred whole in live views, snapshots (MQTT, the events store), cascade crops and vlm pictures, whoever is there (no detection needed)',
    ]);
    assert.deepEqual(explainPrivacy(zones), [
      "camera room: private (zone bed): a person there leaves this machine blurred (box grown by 0.25 and with the detection's age) in live views, snapshots (MQTT, the events store), cascade crops and vlm pictures; a picture with no detection within 1000 ms of it has zone bed blurred (fail closed)",
    ]);
    assert.match(
      explainPrivacy(whole)[0]!,
      /^camera room: private \(the whole picture\): a person or child there leaves this machine as their skeleton on a flat fill .* has all of it filled \(fail closed\)$/,
    );
  });

  it("refuses a privacy section with nothing private, and a private camera's frames sent to a model on another machine (loopback is this one)", () => {
    assert.deepEqual(printed(issuesOf(file('privacy: { show: skeleton }', 'workers: []'))), [
      'cameras.room.privacy: says how private areas are shown, and the camera has none: mark a zone private: true, or set whole: true (line 9)',
    ]);
    assert.deepEqual(printed(issuesOf(file('privacy: { whole: true }', 'workers:', '  - { id: people, model: far }', '  - { id: local, model: near }'))), [
      'cameras.room.workers[0].model: model "far" is served by another machine (kserve at gpu-box), and this camera is private: its whole frames would leave this machine unredacted (a detector must see the person): serve the model here (a model server on this machine, or a KServe server on loopback) (line 11)',
    ]);
    const shared = issuesOf(
      yaml(
        'models:',
        '  far: { kserve: { url: "http://gpu-box:8000", model: person } }',
        'cameras:',
        '  room: { source: rtsp://10.0.0.5/main, privacy: { whole: true }, workers: [] }',
        '  hall: { source: rtsp://10.0.0.6/main, workers: [] }',
        'shared:',
        '  people: { model: far, cameras: [hall, room] }',
      ),
    );
    assert.deepEqual(printed(shared), [
      'shared.people.cameras[1]: camera "room" is private, and this worker\'s model "far" is served by another machine (kserve at gpu-box): its whole frames would leave this machine unredacted (line 7)',
    ]);
  });

  it('config check FILE prints the care and privacy lines (the real command)', async () => {
    const path = join(dir, 'care.yaml');
    await writeFile(
      path,
      file('care: { silenceSeconds: 20 }', 'privacy: { whole: true, show: skeleton }', 'workers:', '  - { id: people, model: person, track: true }'),
    );
    const { stdout } = await run(process.execPath, [cli, 'config', 'check', path]);
    assert.match(stdout, /^# camera room: care-critical: no result on a frame captured within its silence of now, from people \(20 s\), raises/m);
    assert.match(stdout, /^# camera room: private \(the whole picture\): a person there leaves this machine as their skeleton on a flat fill/m);
    assert.match(stdout, /^ {4}care:\n {6}silenceSeconds: 20$/m, 'the resolved config keeps the keys');
    assert.match(stdout, /^ {4}privacy:\n {6}whole: true\n {6}show: skeleton$/m);
  });
});
