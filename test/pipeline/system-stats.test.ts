/**
 * stats() (system-stats.ts, ADR 0062): SystemStatsReader puts each worker's objective, as last judged, on the
 * figures it is given, and shows a worker without a profile (removed meanwhile) as it is; on a running
 * system with a real capture, every worker of a camera carries its objective once the watch has judged.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { SystemStatsReader } from '../../src/pipeline/system/system-stats.js';
import { nextEvent, resolvedConfig, vtest } from './helpers.js';

const SHM_DIR = `/dev/shm/framesupplier-test-stats-part-${process.pid}`;
const A = `a-${process.pid}`;

describe('stats()', { timeout: 60_000 }, () => {
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
    system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }), objectiveIntervalMs: 100 });
    const running = nextEvent(system, 'camera-state', (e) => e.camera === A && e.state === 'streaming');
    await system.start();
    await running;
  });

  after(async () => {
    await system?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  it("a running system's figures: its state, cameras, workers with their objectives, memory", async () => {
    const stats = system.stats();
    assert.equal(stats.state, 'running');
    assert.ok(stats.startedAt !== null && stats.uptimeS >= 0);
    assert.deepEqual(Object.keys(stats.cameras), [A]);
    assert.ok(stats.memory.rss > 0);
    const profile = system.workers.profile(A, 'motion')!;
    const motion = stats.cameras[A]!.workers.motion!;
    assert.ok(motion.objective === null || motion.objective.objective === profile.objective);
  });

  it('SystemStatsReader: the objective from the watch where the worker has a profile, the figures as they are where not', () => {
    const raw = system.stats();
    const profile = system.workers.profile(A, 'motion')!;
    const judged = { objective: profile.objective, lastMinute: null, met: true, reason: null, fix: [], since: 1, judgedAt: 2 };
    const asked: string[] = [];
    const figures = new SystemStatsReader({
      raw: () => raw,
      profile: (camera, worker) => (worker === 'motion' ? profile : undefined),
      objective: (camera, worker) => {
        asked.push(`${camera}/${worker}`);
        return judged as never;
      },
    });
    assert.equal(figures.read().cameras[A]?.workers.motion?.objective, judged);
    assert.deepEqual(asked, [`${A}/motion`]);
    const none = new SystemStatsReader({ raw: () => raw, profile: () => undefined, objective: () => judged as never });
    assert.equal(none.read().cameras[A]?.workers.motion, raw.cameras[A]?.workers.motion, 'no profile: as given');
  });
});
