/**
 * The output gate on its own: with no gate every result passes; a refused
 * result is kept as its worker's newest (replaced, never queued) and counted;
 * take() hands back only results newer than the cut and forgets the camera.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { EventOf } from '../../src/pipeline/index.js';
import { OutputFence } from '../../src/pipeline/watches/output-fence.js';

const result = (camera: string, worker: string, wallTime: number): EventOf<'result'> =>
  ({
    type: 'result',
    at: wallTime,
    camera,
    worker,
    shared: false,
    seq: wallTime,
    captureTime: wallTime,
    wallTime,
    output: null,
  }) as unknown as EventOf<'result'>;

describe('OutputFence', { timeout: 30_000 }, () => {
  it('passes everything without a gate, and withholds what the gate refuses', () => {
    const gate = new OutputFence();
    assert.equal(gate.pass(result('a', 'w', 1)), true);
    gate.set((camera) => camera !== 'a');
    assert.equal(gate.pass(result('a', 'w', 2)), false);
    assert.equal(gate.pass(result('b', 'w', 3)), true);
    assert.equal(gate.withheldCount, 1);
    gate.set(null);
    assert.deepEqual(
      gate.take('a', 0).map((r) => r.wallTime),
      [2],
    );
    assert.deepEqual(gate.take('a', 0), [], 'taken once');
  });

  it('keeps the newest withheld result per camera and worker, and releases only those newer than the cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ camera: fc.constantFrom('a', 'b'), worker: fc.constantFrom('x', 'y', 'z'), wallTime: fc.nat(1000) })),
        fc.nat(1000),
        (results, cut) => {
          const gate = new OutputFence();
          gate.set(() => false);
          const newest = new Map<string, number>();
          for (const r of results) {
            gate.pass(result(r.camera, r.worker, r.wallTime));
            newest.set(`${r.camera}/${r.worker}`, r.wallTime);
          }
          assert.equal(gate.withheldCount, results.length);
          const released = gate.take('a', cut).map((r) => `a/${r.worker}:${r.wallTime}`);
          const expected = [...newest].filter(([key, wall]) => key.startsWith('a/') && wall > cut).map(([key, wall]) => `${key}:${wall}`);
          assert.deepEqual(released.sort(), expected.sort());
          gate.forget('b');
          assert.deepEqual(gate.take('b', -1), [], 'forgotten');
        },
      ),
    );
  });
});
