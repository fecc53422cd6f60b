/**
 * The output fence on its own: with no fence every result passes; a refused
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
  it('passes everything without a fence, and withholds what the fence refuses', () => {
    const fence = new OutputFence();
    assert.equal(fence.pass(result('a', 'w', 1)), true);
    fence.set((camera) => camera !== 'a');
    assert.equal(fence.pass(result('a', 'w', 2)), false);
    assert.equal(fence.pass(result('b', 'w', 3)), true);
    assert.equal(fence.withheldCount, 1);
    fence.set(null);
    assert.deepEqual(
      fence.take('a', 0).map((r) => r.wallTime),
      [2],
    );
    assert.deepEqual(fence.take('a', 0), [], 'taken once');
  });

  it('keeps the newest withheld result per camera and worker, and releases only those newer than the cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ camera: fc.constantFrom('a', 'b'), worker: fc.constantFrom('x', 'y', 'z'), wallTime: fc.nat(1000) })),
        fc.nat(1000),
        (results, cut) => {
          const fence = new OutputFence();
          fence.set(() => false);
          const newest = new Map<string, number>();
          for (const r of results) {
            fence.pass(result(r.camera, r.worker, r.wallTime));
            newest.set(`${r.camera}/${r.worker}`, r.wallTime);
          }
          assert.equal(fence.withheldCount, results.length);
          const released = fence.take('a', cut).map((r) => `a/${r.worker}:${r.wallTime}`);
          const expected = [...newest].filter(([key, wall]) => key.startsWith('a/') && wall > cut).map(([key, wall]) => `${key}:${wall}`);
          assert.deepEqual(released.sort(), expected.sort());
          fence.forget('b');
          assert.deepEqual(fence.take('b', -1), [], 'forgotten');
        },
      ),
    );
  });
});
