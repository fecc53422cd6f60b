/**
 * system.results (ADR 0062) on a running system with a real capture: a fence that refuses a camera withholds
 * its results (off the event stream, counted in stats), the newest withheld result of each worker is
 * released once the fence lets it pass, and an outlet's reported age shows in the worker's hops.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem, type EventOf } from '../../src/pipeline/index.js';
import { nextResults, resolvedConfig, vtest } from './helpers.js';

const SHM_DIR = `/dev/shm/framesupplier-test-results-part-${process.pid}`;
const A = `a-${process.pid}`;

describe('system.results', { timeout: 60_000 }, () => {
  let system: VisionSystem;

  before(async () => {
    const config = resolvedConfig({
      shmDir: SHM_DIR,
      cameras: {
        [A]: {
          source: vtest(),
          capture: { output: { format: 'gray', width: 160, fps: 5 }, loop: true },
          workers: [{ id: 'motion', module: 'builtin:motion' }],
        },
      },
    });
    system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }) });
    await system.start();
  });

  after(async () => {
    await system?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  it('setFence withholds, releaseWithheld offers the newest withheld again; null lets all pass', async () => {
    const seen: EventOf<'result'>[] = [];
    const listener = (e: EventOf<'result'>): void => void seen.push(e);
    let asked = 0;
    let refused: () => void = () => undefined;
    const twiceRefused = new Promise<void>((resolve) => (refused = resolve));
    system.results.setFence(() => {
      if (++asked === 2) refused();
      return false;
    });
    system.on('result', listener);
    await twiceRefused;
    assert.equal(seen.length, 0, 'withheld: not on the stream');
    assert.ok(system.stats().resultsWithheld >= 2);
    system.results.setFence(null);
    const released = system.results.releaseWithheld(A, 0);
    system.off('result', listener);
    assert.equal(released, 1, "one worker's newest");
    assert.equal(seen[0]?.worker, 'motion');
    assert.equal(system.results.releaseWithheld(A, 0), 0, 'taken once');
  });

  it("recordHop: an outlet's age shows in the worker's hops; an unknown camera is ignored", async () => {
    const [result] = await nextResults(system, A, 'motion');
    system.results.recordHop(result!, 'published', 12);
    system.results.recordHop(result!, 'published', 14);
    system.results.recordHop({ camera: 'nowhere', worker: 'motion', shared: false }, 'published', 1);
    assert.equal(system.stats().cameras[A]?.workers.motion?.hops.published?.count, 2);
  });
});
