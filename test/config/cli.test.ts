import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { BUILT_IN_EXAMPLE_PATH } from '../../src/config/index.js';
import { yaml } from './helpers.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Failure {
  code: number;
  stdout: string;
  stderr: string;
}

describe('framesupplier config (the real command, as a child process)', { timeout: 180_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `fs-config-cli-${process.pid}-`));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('config check FILE: every value that came from ${NAME} is masked wherever it sits (a worker env value, an argument, a URL path)', async () => {
    const file = join(dir, 'env.yaml');
    await writeFile(
      file,
      yaml(
        'cameras:',
        '  door:',
        '    source: rtsp://cam.local/${STREAM_KEY}/main',
        '    workers:',
        '      - id: notifier',
        '        command: [python3, notify.py, --endpoint, "${WEBHOOK}"]',
        '        env: { MODE: fast, WEBHOOK_URL: "${WEBHOOK}", PLAIN: "${PLAIN_SETTING}" }',
      ),
    );
    const env = { ...process.env, STREAM_KEY: 'k3y-0f-the-stream', WEBHOOK: 'https://hooks.example/abcdef123456', PLAIN_SETTING: 'nothing-secret-looking' };
    const { stdout } = await run(process.execPath, [cli, 'config', 'check', file], { env });
    for (const value of ['k3y-0f-the-stream', 'hooks.example/abcdef123456', 'nothing-secret-looking'])
      assert.ok(!stdout.includes(value), `${value} printed:\n${stdout}`);
    assert.match(stdout, /MODE: fast/, 'values written in the file stay readable');
    assert.match(stdout, /rtsp:\/\/cam\.local\/\*\*\*\/main/);
  });

  it("config check FILE: a secret's name (a vlm worker's apiKeyEnv) is printed as it is, the key itself nowhere", async () => {
    const file = join(dir, 'vlm.yaml');
    await writeFile(
      file,
      yaml(
        'cameras:',
        '  door:',
        '    source: lavfi:testsrc=size=64x48:rate=5',
        '    workers:',
        '      - id: describe',
        '        vlm: { api: openai, url: "https://api.example/v1", model: m, prompt: p, apiKeyEnv: DOOR_VLM_KEY }',
      ),
    );
    const { stdout } = await run(process.execPath, [cli, 'config', 'check', file], { env: { ...process.env, DOOR_VLM_KEY: 'sk-door-0123456789' } });
    const printed = parseYaml(stdout) as { cameras: { door: { workers: { vlm: { apiKeyEnv: string } }[] } } };
    assert.equal(printed.cameras.door.workers[0]!.vlm.apiKeyEnv, 'DOOR_VLM_KEY', stdout);
    assert.ok(!stdout.includes('sk-door-0123456789'), stdout);
  });

  it('config check FILE: a line on what each motion-gated worker does (ADR 0066)', async () => {
    const file = join(dir, 'gated.yaml');
    await writeFile(
      file,
      yaml(
        'models:',
        '  person: { handler: person }',
        'cameras:',
        '  hall:',
        '    source: rtsp://10.0.0.5/main',
        '    workers:',
        '      - { id: people, model: person, maxFps: 2, gate: motion, track: true }',
      ),
    );
    const { stdout } = await run(process.execPath, [cli, 'config', 'check', file]);
    assert.match(
      stdout,
      /^# camera hall, worker people: gated by motion on stream main at 320 px: runs its model on frames with new motion at up to 2 fps \(the first after a still spell at once; motion that stays where the model last looked at it, again after 10 s\), every 10 s on objects it tracks while nothing moves \(every 1 s while one was missed: its tracks end on runs that miss them, not while nothing moves\), once per whole-picture change, and never on a still picture with nothing tracked; when its model's input is at most half the frame's long side, on crops around what moves and what it tracks, cut from the full-resolution frame at the model's input size, and on the whole frame when they would cover over 50 % of it \(ADR 0069\)\.$/m,
    );
    assert.ok(parseYaml(stdout) !== null, 'still YAML (the lines are comments)');
  });

  it('config check FILE: a short line per camera of several streams: what is decoded all the time and for whom, what on demand, and the cheaper choice (ADR 0114)', async () => {
    const file = join(dir, 'streams.yaml');
    await writeFile(
      file,
      yaml(
        'models:',
        '  person: { handler: person }',
        'cameras:',
        // docs/configuration.md's gated example
        '  hall:',
        '    source: rtsp://10.0.0.5/main',
        '    streams: { main: { width: 1280, height: 720 }, sub: { source: rtsp://10.0.0.5/sub, width: 640, height: 360 } }',
        '    workers:',
        '      - { id: people, model: person, maxFps: 2, gate: motion, track: true }',
        // the same, its detector pinned to main, and care-critical: its care line is printed too
        '  door:',
        '    source: rtsp://10.0.0.6/main',
        '    care: true',
        '    streams: { main: { width: 1280, height: 720 }, sub: { source: rtsp://10.0.0.6/sub, width: 640, height: 360 } }',
        '    workers:',
        '      - { id: people, model: person, maxFps: 2, gate: motion, track: true, stream: main }',
      ),
    );
    const { stdout } = await run(process.execPath, [cli, 'config', 'check', file]);
    const lines = stdout.split('\n').filter((l) => /^# camera (hall|door): decodes/.test(l));
    assert.deepEqual(lines, [
      '# camera hall: decodes sub 640×360 all the time (motion, people); main 1280×720 only on demand (crops, snapshots); a dry run (?dryRun=true) says each in % of a core.',
      "# camera door: decodes main 1280×720 all the time (people, 4× the smallest's pixels), sub 640×360 all the time (motion); cheaper: people on stream: auto (gated: it would read sub), main then only on demand; a dry run (?dryRun=true) says each in % of a core.",
    ]);
    assert.match(stdout, /^# camera door: care-critical: /m);
    assert.ok(parseYaml(stdout) !== null, 'still YAML (the lines are comments)');
  });

  it('config check FILE: a line on the age a camera decoding keyframes only adds (ADR 0070); none for auto', async () => {
    const file = join(dir, 'keyframes.yaml');
    await writeFile(
      file,
      yaml(
        'cameras:',
        '  yard:',
        '    source: rtsp://10.0.0.6/sub',
        '    capture: { decode: keyframes }',
        '    workers: [{ id: motion, module: "builtin:motion", maxFps: 1 }]',
        '  gate:',
        '    source: rtsp://10.0.0.7/sub',
        '    workers: [{ id: motion, module: "builtin:motion", maxFps: 1 }]',
      ),
    );
    const { stdout } = await run(process.execPath, [cli, 'config', 'check', file]);
    assert.match(
      stdout,
      /^# camera yard: decodes keyframes only \(decode: keyframes\): each frame a worker takes is on average \(keyframe interval − frame interval\) ÷ 2 older than with decode: auto, about 950 ms with a keyframe every 2 s at 10 fps, up to twice that, .*decode: auto adds none\.$/m,
    );
    assert.ok(!/camera gate: decodes/.test(stdout), stdout);
    assert.ok(parseYaml(stdout) !== null, 'still YAML (the lines are comments)');
  });

  it('config check FILE: exit 0, the resolved config as YAML, secrets masked, paths absolute', async () => {
    const file = join(dir, 'ok.yaml');
    await writeFile(join(dir, 'counter.js'), 'export default () => null;\n');
    await writeFile(
      file,
      yaml(
        'defaults:',
        '  capture: { output: { width: 640 } }',
        'cameras:',
        '  entrance:',
        '    source: rtsp://viewer:${ENTRANCE_PASSWORD}@10.0.0.12/stream1',
        '    capture: { output: { fps: 5 } }',
        '    workers: [{ id: counter, module: ./counter.js }]',
      ),
    );
    const { stdout, stderr } = await run(process.execPath, [cli, 'config', 'check', file], { env: { ...process.env, ENTRANCE_PASSWORD: 'hunter2' } });
    assert.equal(stderr, '');
    assert.ok(!stdout.includes('hunter2'), stdout);
    assert.match(stdout, /^# .*ok\.yaml: valid\./);
    const printed = parseYaml(stdout) as {
      cameras: Record<string, { source: string; capture: { output: Record<string, unknown> }; workers: { module: string }[] }>;
    };
    const entrance = printed.cameras.entrance!;
    assert.equal(entrance.source, 'rtsp://viewer:***@10.0.0.12/stream1');
    assert.deepEqual(entrance.capture.output, { format: 'rgb24', width: 640, fps: 5, hflip: false });
    assert.equal(entrance.workers[0]!.module, join(dir, 'counter.js'));
  });

  it('config check FILE: exit 2 with ERR_CONFIG and every issue as path: message (line N)', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      yaml(
        'cameras:',
        '  entrance:',
        '    source: rtsp://viewer:${ENTRANCE_PASSWORD}@10.0.0.12/stream1',
        '    workers:',
        '      - { id: people, model: person, criticality: urgent }',
        '      - { id: counter, module: ./counter.js, thraed: true }',
      ),
    );
    const env = { ...process.env };
    delete env.ENTRANCE_PASSWORD;
    await assert.rejects(run(process.execPath, [cli, 'config', 'check', file], { env }), (error: Failure) => {
      assert.equal(error.code, 2);
      assert.equal(error.stdout, '');
      assert.equal(
        error.stderr,
        [
          `framesupplier: ERR_CONFIG: ${file}: 4 problems`,
          '  cameras.entrance.source: environment variable ENTRANCE_PASSWORD is not set (line 3)',
          '  cameras.entrance.workers[0].model: names no model (models is empty) (line 5)',
          '  cameras.entrance.workers[0].criticality: must be one of critical, high, normal, best-effort (line 5)',
          "  cameras.entrance.workers[1].thraed: unknown key; did you mean 'thread'? (line 6)",
          '',
        ].join('\n'),
      );
      return true;
    });
  });

  it('config check FILE: a file the config names that run would not find is exit 2 with the code run refuses it with, every one (they printed valid)', async () => {
    const file = join(dir, 'files.yaml');
    await writeFile(join(dir, 'labels.txt'), 'person\n');
    await writeFile(
      file,
      yaml(
        'models:',
        '  yolo: { handler: onnx, model: ./nope.onnx, classes: ./labels.txt }',
        'cameras:',
        '  door:',
        '    source: lavfi:testsrc=size=64x48:rate=5',
        '    workers:',
        '      - { id: w, module: ./nonexistent.js }',
        '      - { id: c, command: [./bin/notify, --fast] }',
        '      - { id: p, command: [python3, notify.py] }',
        '      - { id: y, model: yolo }',
      ),
    );
    await assert.rejects(run(process.execPath, [cli, 'config', 'check', file]), (error: Failure) => {
      assert.equal(error.code, 2);
      assert.equal(error.stdout, '');
      assert.equal(
        error.stderr,
        [
          `framesupplier: ERR_WORKER_MODULE: camera door, worker w: module ${join(dir, 'nonexistent.js')} does not exist`,
          `framesupplier: ERR_WORKER_COMMAND: camera door, worker c: ${join(dir, 'bin', 'notify')} does not exist`,
          `framesupplier: ERR_MODEL_LOAD: model yolo: the model file ${join(dir, 'nope.onnx')} does not exist (models.yolo.model)`,
          '',
        ].join('\n'),
      );
      return true;
    });
  });

  it('config check FILE: cascades that cannot run, and a decoder that cannot read its source, are refused with path and line (round 5: they printed valid)', async () => {
    const file = join(dir, 'cascades.yaml');
    await writeFile(
      file,
      yaml(
        'models:', // 1
        '  person: { handler: mock }', // 2
        'cameras:', // 3
        '  street:', // 4
        '    source: lavfi:testsrc=size=64x48:rate=5', // 5
        '    workers:', // 6
        '      - { id: people, model: person }', // 7
        '      - { id: pose, model: person, crops: { of: nobody } }', // 8
        '      - { id: pose2, model: person, crops: { of: pose2 } }', // 9
        '      - { id: faces, model: person, crops: { of: people, every: 1 } }', // 10
        '      - { id: a, model: person, crops: { of: b } }', // 11
        '      - { id: b, model: person, crops: { of: a } }', // 12
        '      - { id: off, model: person, enabled: false, track: true }', // 13
        '      - { id: on, model: person, crops: { of: off } }', // 14
        '  lab:', // 15
        '    source: lavfi:testsrc', // 16
        '    capture: { decoder: native }', // 17: the capture refused it at run time
      ),
    );
    await assert.rejects(run(process.execPath, [cli, 'config', 'check', file]), (error: Failure) => {
      assert.equal(error.code, 2);
      assert.equal(error.stdout, '');
      assert.equal(
        error.stderr,
        [
          `framesupplier: ERR_CONFIG: ${file}: 7 problems`,
          '  cameras.street.workers[1].crops.of: names no worker of this camera (workers: people, pose, pose2, faces, a, b, off, on) (line 8)',
          '  cameras.street.workers[2].crops.of: names this worker itself: a worker cannot read crops of its own detections (name another worker of this camera) (line 9)',
          '  cameras.street.workers[3].crops.of: with every, crops each tracked object of people, and people does not track: give it track: true, or drop every to crop each detection (line 10)',
          "  cameras.street.workers[4].crops.of: makes a circle of cascades (a → b → a): each worker would wait for the other's crops for ever; one of them must read frames (line 11)",
          "  cameras.street.workers[5].crops.of: makes a circle of cascades (b → a → b): each worker would wait for the other's crops for ever; one of them must read frames (line 12)",
          '  cameras.street.workers[7].crops.of: names off, which is disabled (enabled: false): this worker would never get a crop; enable off or disable this worker too (line 14)',
          '  cameras.lab.source: the in-process decoder (decoder native) reads files, rtsp:// and http(s)://, not lavfi sources: use decoder ffmpeg or auto (line 16)',
          '',
        ].join('\n'),
      );
      return true;
    });
  });

  it('config check on the built-in example passes', async () => {
    const { stdout } = await run(process.execPath, [cli, 'config', 'check', BUILT_IN_EXAMPLE_PATH]);
    assert.deepEqual(Object.keys((parseYaml(stdout) as { cameras: object }).cameras), ['street', 'street-mirror']);
  });

  it('config check on a missing file, without a file, or with a bad subcommand: exit 2 with its code', async () => {
    for (const [args, pattern] of [
      [['config', 'check', join(dir, 'missing.yaml')], /^framesupplier: ERR_CONFIG: .*missing\.yaml: 1 problem\n {2}cannot read the file: no such file\n$/],
      [['config', 'check'], /^framesupplier: ERR_INVALID_ARGUMENT: config check takes one file/],
      [['config', 'lint'], /^framesupplier: ERR_INVALID_ARGUMENT: unknown config command "lint"/],
      [['config'], /^framesupplier: ERR_INVALID_ARGUMENT: config needs a command: check FILE, schema\n$/],
      [['config', 'schema', 'extra'], /^framesupplier: ERR_INVALID_ARGUMENT: config schema takes no arguments/],
    ] as const) {
      await assert.rejects(run(process.execPath, [cli, ...args]), (error: Failure) => {
        assert.equal(error.code, 2);
        assert.match(error.stderr, pattern);
        return true;
      });
    }
  });

  it('config schema: the JSON Schema, with $schema, $id and descriptions, that validates the example', async () => {
    const { stdout } = await run(process.execPath, [cli, 'config', 'schema']);
    const schema = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.equal(schema.$id, 'https://framesupplier.dev/schemas/config.json');
    assert.match(JSON.stringify(schema), /"description":"Restart policy and drop alert threshold/);
    const validate = new Ajv({ strict: true, allowUnionTypes: true }).compile(schema);
    const { stdout: example } = await run(process.execPath, [cli, 'config', 'check', BUILT_IN_EXAMPLE_PATH]);
    assert.ok(validate(parseYaml(example)), 'a resolved config is a valid file too');
  });
});
