/**
 * Motion-gated workers in the config (ADR 0066): the camera's `motion` and a model worker's `gate`, checked with
 * path and line; what `config check` says of a gated worker; the stream motion is measured on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainGates, gateRegionsOf, lostSecondsOf, motionStreamOf, parseConfig, stationarySecondsOf, trackOptionsOf } from '../../src/config/index.js';
import { issuesOf, printed, yaml } from './helpers.js';

const file = (...lines: string[]): string =>
  yaml('models:', '  person: { handler: person }', 'cameras:', '  hall:', '    source: rtsp://10.0.0.5/main', ...lines.map((l) => `    ${l}`));

describe('config: motion and gated workers', { timeout: 30_000 }, () => {
  it('accepts gate: motion and its long form, and the camera motion key', () => {
    const config = parseConfig(
      file(
        'streams: { sub: { source: rtsp://10.0.0.5/sub, width: 640, height: 360 }, main: { width: 1920, height: 1080 } }',
        'motion: { masks: [[[0.8, 0], [1, 0], [1, 0.2]]] }',
        'workers:',
        '  - { id: people, model: person, maxFps: 2, gate: motion, track: true }',
        '  - { id: fall, model: person, gate: { on: motion, stationarySeconds: 0.5 }, track: { endAfterSeconds: 3 } }',
      ),
    );
    const hall = config.cameras.hall!;
    assert.equal(motionStreamOf(hall), 'sub', 'the smallest declared stream');
    assert.equal(hall.motion?.readSize, 320);
    assert.equal(hall.motion?.enabled, true);
    const [people, fall] = hall.workers;
    assert.ok(people !== undefined && 'gate' in people && people.gate === 'motion');
    assert.equal(stationarySecondsOf(people.gate), 10, "Frigate's: its tracks end on misses, not on still time (ADR 0081)");
    assert.equal(lostSecondsOf(trackOptionsOf(people)), 1, 'a missed object is looked for at half the default endAfterSeconds');
    assert.ok(fall !== undefined && 'gate' in fall && fall.gate !== undefined);
    assert.equal(stationarySecondsOf(fall.gate), 0.5);
    assert.equal(lostSecondsOf(trackOptionsOf(fall)), 1.5);
    assert.deepEqual(explainGates(config), [
      "camera hall, worker people: gated by motion on stream sub at 320 px: runs its model on frames with new motion at up to 2 fps (the first after a still spell at once; motion that stays where the model last looked at it, again after 10 s), every 10 s on objects it tracks while nothing moves (every 1 s while one was missed: its tracks end on runs that miss them, not while nothing moves), once per whole-picture change, and never on a still picture with nothing tracked; when its model's input is at most half the frame's long side, on crops around what moves and what it tracks, cut from the main stream's picture at the model's input size, and on the whole frame when they would cover over 50 % of it (ADR 0069)",
      "camera hall, worker fall: gated by motion on stream sub at 320 px: runs its model on frames with new motion at every frame (the first after a still spell at once; motion that stays where the model last looked at it, again after 0.5 s), every 0.5 s on objects it tracks while nothing moves (every 1.5 s while one was missed: its tracks end on runs that miss them, not while nothing moves), once per whole-picture change, and never on a still picture with nothing tracked; when its model's input is at most half the frame's long side, on crops around what moves and what it tracks, cut from the main stream's picture at the model's input size, and on the whole frame when they would cover over 50 % of it (ADR 0069)",
    ]);
  });

  it('says how a gated worker runs on regions (ADR 0069), and refuses what cannot be', () => {
    const config = parseConfig(
      yaml(
        'models:',
        '  person: { handler: person }',
        '  remote: { kserve: { url: http://10.0.0.9:8000, model: yolo } }',
        'cameras:',
        '  hall:',
        '    source: rtsp://10.0.0.5/main',
        '    workers:',
        '      - { id: people, model: person, gate: { on: motion, regionsWholeAbove: 0.3 } }',
        '      - { id: off, model: person, gate: { on: motion, regions: off } }',
        '      - { id: far, model: remote, gate: motion }',
      ),
    );
    const [people, off, far] = config.cameras.hall!.workers;
    assert.ok(people !== undefined && 'gate' in people && people.gate !== undefined && off !== undefined && 'gate' in off && off.gate !== undefined);
    assert.deepEqual(gateRegionsOf(people.gate), { on: true, wholeAbove: 0.3 });
    assert.deepEqual(gateRegionsOf(off.gate), { on: false, wholeAbove: 0.5 });
    assert.ok(far !== undefined && 'gate' in far && far.gate === 'motion');
    assert.deepEqual(gateRegionsOf(far.gate), { on: true, wholeAbove: 0.5 }, 'on by default');
    const lines = explainGates(config);
    assert.match(
      lines[0]!,
      /; when its model's input is at most half the frame's long side, on crops around what moves and what it tracks, cut from the full-resolution frame at the model's input size, and on the whole frame when they would cover over 30 % of it \(ADR 0069\)$/,
    );
    assert.match(lines[1]!, /; whole frames \(regions: off\)$/);
    assert.match(lines[2]!, /; whole frames \(its model is remote: crops go to a model server on this machine only\)$/);
    const text = yaml(
      'models:',
      '  person: { handler: person }',
      '  remote: { kserve: { url: http://10.0.0.9:8000, model: yolo } }',
      'cameras:',
      '  hall:',
      '    source: rtsp://10.0.0.5/main',
      '    workers:',
      '      - { id: far, model: remote, gate: { on: motion, regions: auto } }',
      '      - { id: off, model: person, gate: { on: motion, regions: off, regionsWholeAbove: 0.3 } }',
      '      - { id: bad, model: person, gate: { on: motion, regions: crops, regionsWholeAbove: 0 } }',
    );
    const issues = printed(issuesOf(text));
    assert.ok(
      issues.includes(
        "cameras.hall.workers[0].gate.regions: auto needs a model server on this machine (crops go to it through shared memory), and model 'remote' is remote (kserve): set regions: off (line 8)",
      ),
      issues.join('\n'),
    );
    assert.ok(issues.includes('cameras.hall.workers[1].gate.regionsWholeAbove: has no effect with regions: off (line 9)'), issues.join('\n'));
    assert.ok(
      issues.some((i) => i.startsWith('cameras.hall.workers[2].gate')),
      issues.join('\n'),
    );
  });

  it('takes a stationary recheck longer than the tracker ends tracks after: a gated worker ends them on misses (ADR 0081)', () => {
    const config = parseConfig(
      file('workers:', '  - { id: people, model: person, gate: { on: motion, stationarySeconds: 30 }, track: { endAfterSeconds: 2 } }'),
    );
    const [people] = config.cameras.hall!.workers;
    assert.ok(people !== undefined && 'gate' in people && people.gate !== undefined);
    assert.equal(stationarySecondsOf(people.gate), 30);
  });

  it('refuses what contradicts itself, at its path and line', () => {
    const text = file(
      'motion: { enabled: false, stream: sub }',
      'workers:',
      '  - { id: people, model: person, gate: { on: motion, stationarySeconds: 2 }, track: true }',
      '  - { id: other, model: person, gate: always }',
    );
    assert.deepEqual(printed(issuesOf(text)), [
      'cameras.hall.motion.stream: names no stream of this camera (streams: main, auto) (line 6)',
      "cameras.hall.workers[0].gate: gates the model by motion, and this camera's motion.enabled is false (line 8)",
      'cameras.hall.workers[1].gate: must be motion or { on: motion, stationarySeconds } (line 9)',
    ]);
  });
});
