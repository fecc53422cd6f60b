/**
 * Cascades (ADR 0051) that cannot run are the config's issues (ADR 0056), each
 * with its path and line: a `crops.of` naming no other worker of the camera
 * (an unknown id, the worker itself, a shared worker), `every` on crops of a
 * worker that does not track, an enabled crop worker of a disabled one, and
 * circles of cascades (a → b → a, and longer). The same rules hold for a
 * camera entry a program passes (resolveCamera, so cameras.add and the API) and
 * for a resolved config a program built by hand (the system asks src/config
 * before it builds a camera). Chains that end are fine.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cascadeSwitch, ConfigError, parseConfig, resolveCamera } from '../../src/config/index.js';
import { VisionSystem, type ResolvedConfig } from '../../src/pipeline/index.js';
import { issuesOf, printed, yaml } from './helpers.js';

const HEAD = ['models:', '  person: { handler: mock }', 'cameras:', '  street:', '    source: lavfi:testsrc=size=64x48:rate=5', '    workers:'];

describe('cascades the config refuses, with path and line', { timeout: 60_000 }, () => {
  it("the round-5 three: an unknown of, a worker's own id, every on a worker that does not track", () => {
    const text = yaml(
      ...HEAD, // 1-6
      '      - { id: people, model: person }', // 7
      '      - { id: pose, model: person, crops: { of: nobody } }', // 8
      '      - { id: pose2, model: person, crops: { of: pose2 } }', // 9
      '      - { id: faces, model: person, crops: { of: people, every: 1 } }', // 10
    );
    assert.deepEqual(printed(issuesOf(text)), [
      'cameras.street.workers[1].crops.of: names no worker of this camera (workers: people, pose, pose2, faces) (line 8)',
      'cameras.street.workers[2].crops.of: names this worker itself: a worker cannot read crops of its own detections (name another worker of this camera) (line 9)',
      'cameras.street.workers[3].crops.of: with every, crops each tracked object of people, and people does not track: give it track: true, or drop every to crop each detection (line 10)',
    ]);
  });

  it('circles of cascades, of two and of three; the chain into a circle is reported where it closes only', () => {
    const text = yaml(
      ...HEAD, // 1-6
      '      - { id: a, model: person, crops: { of: b } }', // 7
      '      - { id: b, model: person, crops: { of: a } }', // 8
      '      - { id: x, model: person, crops: { of: y } }', // 9
      '      - { id: y, model: person, crops: { of: z } }', // 10
      '      - { id: z, model: person, crops: { of: x } }', // 11
      '      - { id: t, model: person, crops: { of: a } }', // 12: into a circle, not in it
    );
    assert.deepEqual(printed(issuesOf(text)), [
      "cameras.street.workers[0].crops.of: makes a circle of cascades (a → b → a): each worker would wait for the other's crops for ever; one of them must read frames (line 7)",
      "cameras.street.workers[1].crops.of: makes a circle of cascades (b → a → b): each worker would wait for the other's crops for ever; one of them must read frames (line 8)",
      "cameras.street.workers[2].crops.of: makes a circle of cascades (x → y → z → x): each worker would wait for the other's crops for ever; one of them must read frames (line 9)",
      "cameras.street.workers[3].crops.of: makes a circle of cascades (y → z → x → y): each worker would wait for the other's crops for ever; one of them must read frames (line 10)",
      "cameras.street.workers[4].crops.of: makes a circle of cascades (z → x → y → z): each worker would wait for the other's crops for ever; one of them must read frames (line 11)",
    ]);
  });

  it('an enabled crop worker of a disabled one, also when defaults.workers disables it; both disabled is fine', () => {
    const text = yaml(
      'defaults:', // 1
      '  workers: { enabled: false }', // 2
      ...HEAD, // 3-8
      '      - { id: people, model: person, track: true, enabled: false }', // 9
      '      - { id: pose, model: person, crops: { of: people, every: 1 }, enabled: true }', // 10
      '      - { id: quiet, model: person }', // 11: disabled by the defaults
      '      - { id: loud, model: person, crops: { of: quiet }, enabled: true }', // 12
      '      - { id: idle, model: person, crops: { of: people } }', // 13: disabled too, fine
    );
    assert.deepEqual(printed(issuesOf(text)), [
      'cameras.street.workers[1].crops.of: names people, which is disabled (enabled: false): this worker would never get a crop; enable people or disable this worker too (line 10)',
      'cameras.street.workers[3].crops.of: names quiet, which is disabled (enabled: false): this worker would never get a crop; enable quiet or disable this worker too (line 12)',
    ]);
  });

  it('a shared worker is no worker of the camera: crops of it are refused', () => {
    const text = yaml(
      ...HEAD, // 1-6
      '      - { id: pose, model: person, crops: { of: everyone } }', // 7
      'shared:', // 8
      '  everyone: { model: person, cameras: [street] }', // 9
    );
    assert.deepEqual(printed(issuesOf(text)), ['cameras.street.workers[0].crops.of: names no worker of this camera (workers: pose) (line 7)']);
  });

  it('accepts what can run: a chain that ends, every on a tracking worker, a disabled crop worker of an enabled one', () => {
    const config = parseConfig(
      yaml(
        ...HEAD,
        '      - { id: people, model: person, track: { confirmHits: 1 } }',
        '      - { id: pose, model: person, crops: { of: people, every: 1 } }',
        '      - { id: hands, model: person, crops: { of: pose } }',
        '      - { id: off, model: person, crops: { of: people }, enabled: false }',
      ),
      { env: {} },
    );
    assert.deepEqual(
      config.cameras.street!.workers.map((w) => w.id),
      ['people', 'pose', 'hands', 'off'],
    );
  });

  it('a camera entry from a program (resolveCamera, what cameras.add and the API use) gets the same issues, under cameras.<id>', async () => {
    const entry = {
      source: 'lavfi:testsrc=size=64x48:rate=5',
      workers: [
        { id: 'people', model: 'person' },
        { id: 'pose', model: 'person', crops: { of: 'people', every: 1 } },
        { id: 'a', model: 'person', crops: { of: 'b' } },
        { id: 'b', model: 'person', crops: { of: 'a' } },
      ],
    };
    const expected = [
      'cameras.dock.workers[1].crops.of: with every, crops each tracked object of people, and people does not track: give it track: true, or drop every to crop each detection',
      "cameras.dock.workers[2].crops.of: makes a circle of cascades (a → b → a): each worker would wait for the other's crops for ever; one of them must read frames",
      "cameras.dock.workers[3].crops.of: makes a circle of cascades (b → a → b): each worker would wait for the other's crops for ever; one of them must read frames",
    ];
    assert.throws(
      () => resolveCamera('dock', entry, { models: { person: {} } }),
      (e: unknown) => e instanceof ConfigError && assert.deepEqual(printed(e.issues), expected) === undefined,
    );
    const system = new VisionSystem({ config: parseConfig(yaml('models:', '  person: { handler: mock }', 'cameras: {}'), { env: {} }) });
    try {
      await assert.rejects(
        system.cameras.add('dock', entry),
        (e: unknown) => e instanceof ConfigError && assert.deepEqual(printed(e.issues), expected) === undefined,
      );
      assert.equal(system.stats().cameras.dock, undefined, 'nothing added');
    } finally {
      await system.close();
    }
  });

  it('a resolved config a program built by hand is held to the same rules when the system builds it: ERR_CONFIG, nothing started', async () => {
    const valid = parseConfig(yaml(...HEAD, '      - { id: people, model: person }', '      - { id: pose, model: person, crops: { of: people } }'), {
      env: {},
    });
    const street = valid.cameras.street!;
    const config: ResolvedConfig = {
      ...valid,
      // pose crops itself: the schema's rule, which a hand-made config never met
      cameras: {
        street: {
          ...street,
          workers: street.workers.map((w) => (w.id === 'pose' ? { ...w, crops: { of: 'pose', margin: 0.1, size: 192 } } : w)),
        },
      },
    };
    const system = new VisionSystem({ config });
    await assert.rejects(system.start(), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.code, 'ERR_CONFIG');
      assert.deepEqual(
        e.issues.map((i) => i.path),
        ['cameras.street.workers[1].crops.of'],
      );
      return true;
    });
    assert.equal(system.state, 'closed');
  });

  it('a switch while the camera runs is judged by the same rule (cascadeSwitch, ADR 0076): who would be starved', () => {
    // hands crops pose, which crops people; ears crops people but is off.
    const running = [
      { id: 'people', enabled: true, of: null },
      { id: 'pose', enabled: true, of: 'people' },
      { id: 'hands', enabled: true, of: 'pose' },
      { id: 'ears', enabled: false, of: 'people' },
    ];
    assert.deepEqual(cascadeSwitch(running, 'people', false), { dependents: ['pose'], needs: null }, 'ears is off: it does not hold people');
    assert.deepEqual(cascadeSwitch(running, 'pose', false), { dependents: ['hands'], needs: null });
    assert.deepEqual(cascadeSwitch(running, 'hands', false), { dependents: [], needs: null });
    assert.deepEqual(cascadeSwitch(running, 'ears', true), { dependents: [], needs: null }, 'people runs');
    const peopleOff = running.map((w) => (w.id === 'people' || w.id === 'pose' || w.id === 'hands' ? { ...w, enabled: false } : w));
    assert.deepEqual(cascadeSwitch(peopleOff, 'pose', true), { dependents: [], needs: 'people' });
    assert.deepEqual(cascadeSwitch(peopleOff, 'people', true), { dependents: [], needs: null });
    assert.deepEqual(cascadeSwitch(running, 'nobody', false), { dependents: [], needs: null });
  });
});
