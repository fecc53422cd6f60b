/**
 * system.workers (ADR 0062) on a running system with a real capture: a camera's worker and a shared worker
 * stopped, started and restarted, each change one `config-change` event (setting a worker to what it is
 * changes nothing); the profiles answered are those the results carry; unknown ones refused by code. The
 * old call `system.workers(camera)` still answers, deprecated (system-deprecated.test.ts).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem, type EventOf } from '../../src/pipeline/index.js';
import { nextEvent, nextResults, resolvedConfig, vtest } from './helpers.js';

const SHM_DIR = `/dev/shm/framesupplier-test-workers-${process.pid}`;
const A = `a-${process.pid}`;
const hasCode =
  (code: string) =>
  (error: unknown): boolean =>
    (error as { code?: unknown }).code === code;

describe('system.workers', { timeout: 60_000 }, () => {
  let system: VisionSystem;
  const changes: string[] = [];

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
      shared: { mix: { module: 'builtin:motion', cameras: [A] } },
    });
    system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }) });
    system.on('config-change', (e: EventOf<'config-change'>) => changes.push(`${e.change} ${e.camera ?? 'shared'} ${e.worker}`));
    await system.start();
  });

  after(async () => {
    await system?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  it("profiles: the camera's own, then the shared ones that read it; profile() the same objects the results carry", async () => {
    assert.deepEqual(
      system.workers.profiles(A).map((p) => `${p.id} ${p.shared}`),
      ['motion false', 'mix true'],
    );
    const [result] = await nextResults(system, A, 'motion');
    assert.equal(result!.profile, system.workers.profile(A, 'motion'));
    assert.equal(system.workers.profile(A, 'mix')?.shared, true);
    assert.equal(system.workers.profile(A, 'mix', false), undefined, 'not its own');
    assert.deepEqual(system.workers.profiles('nowhere'), []);
  });

  it("setEnabled and restart, a camera's worker: a state and a change each; the same state again changes nothing", async () => {
    const disabled = nextEvent(system, 'worker-state', (e) => e.worker === 'motion' && e.to === 'disabled');
    await system.workers.setEnabled(A, 'motion', false);
    await disabled;
    await system.workers.setEnabled(A, 'motion', false);
    const back = nextResults(system, A, 'motion');
    await system.workers.setEnabled(A, 'motion', true);
    await back;
    const again = nextResults(system, A, 'motion');
    await system.workers.restart(A, 'motion');
    await again;
    await assert.rejects(system.workers.restart(A, 'nobody'), hasCode('ERR_UNKNOWN_WORKER'));
    await assert.rejects(system.workers.setEnabled('nowhere', 'motion', true), hasCode('ERR_UNKNOWN_CAMERA'));
  });

  it('the shared forms, by name', async () => {
    await system.workers.setSharedEnabled('mix', false);
    await system.workers.setSharedEnabled('mix', true);
    await system.workers.restartShared('mix');
    await assert.rejects(system.workers.restartShared('nobody'), hasCode('ERR_UNKNOWN_WORKER'));
    assert.deepEqual(changes, [
      `worker-disabled ${A} motion`,
      `worker-enabled ${A} motion`,
      `worker-restarted ${A} motion`,
      'worker-disabled shared mix',
      'worker-enabled shared mix',
      'worker-restarted shared mix',
    ]);
  });
});
