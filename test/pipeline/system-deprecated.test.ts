/**
 * The calls from before the system's parts (ADR 0062) stay until 0.2.0: each still works, hands on to its
 * part's call, and warns once per process with a DeprecationWarning whose code names it; every one is in
 * CHANGELOG.md with its new name. `system.workers(camera)` answers as the part's profiles() does. A part's own
 * old name (`system.results.setGate`, ADR 0185) does the same.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { DEPRECATED_SYSTEM_CALLS } from '../../src/pipeline/system/system-deprecated.js';
import { readRepoFile } from '../helpers/repo.js';
import { resolvedConfig, vtest } from './helpers.js';

const SHM_DIR = `/dev/shm/framesupplier-test-deprecated-${process.pid}`;

describe('the deprecated system calls', { timeout: 30_000 }, () => {
  let system: VisionSystem;
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);

  before(() => {
    process.on('warning', onWarning);
    system = new VisionSystem({ config: resolvedConfig({ shmDir: SHM_DIR, cameras: {} }), logger: createLogger({ level: 'silent' }) });
  });

  after(async () => {
    process.off('warning', onWarning);
    await system.close();
  });

  it('hand on to their parts and warn once each, with their code', async () => {
    const entry = { source: vtest(), workers: [{ id: 'motion', module: 'builtin:motion' }] };
    await system.addCamera('old', entry);
    await system.addCamera('old2', entry);
    assert.deepEqual(system.cameras.ids(), ['old', 'old2']);
    assert.deepEqual(system.currentConfig(), system.config.current());
    assert.deepEqual(system.cameraZones('old'), system.objects.zones('old'));
    assert.deepEqual(system.workers('old'), system.workers.profiles('old'));
    assert.equal(system.workerProfile('old', 'motion'), system.workers.profile('old', 'motion'));
    await system.removeCamera('old2');
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    const codes = warnings.map((w) => (w as Error & { code?: string }).code);
    assert.deepEqual(codes, [
      'FRAMESUPPLIER_DEP_SYSTEM_ADD_CAMERA',
      'FRAMESUPPLIER_DEP_SYSTEM_CURRENT_CONFIG',
      'FRAMESUPPLIER_DEP_SYSTEM_CAMERA_ZONES',
      'FRAMESUPPLIER_DEP_SYSTEM_WORKERS',
      'FRAMESUPPLIER_DEP_SYSTEM_WORKER_PROFILE',
      'FRAMESUPPLIER_DEP_SYSTEM_REMOVE_CAMERA',
    ]);
    assert.ok(warnings.every((w) => w.name === 'DeprecationWarning' && /call system\.\w+\.\w+\(\)/.test(w.message)));
  });

  it('system.results.setGate hands on to setFence and warns once, with its code', async () => {
    const before = warnings.length;
    const given: unknown[] = [];
    const results = system.results as { setFence: (fence: unknown) => void };
    results.setFence = (fence) => void given.push(fence);
    try {
      const fence = (): boolean => false;
      system.results.setGate(fence);
      system.results.setGate(null);
      assert.deepEqual(given, [fence, null]);
    } finally {
      delete (results as Partial<typeof results>).setFence; // the part's own method again
    }
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    const added = warnings.slice(before) as (Error & { code?: string })[];
    assert.deepEqual(
      added.map((w) => w.code),
      ['FRAMESUPPLIER_DEP_SYSTEM_RESULTS_SET_GATE'],
    );
    assert.match(added[0]!.message, /call system\.results\.setFence\(\)/);
  });

  it('the workers part is itself, called or not', () => {
    assert.equal(typeof system.workers.restart, 'function');
    assert.ok('profiles' in system.workers);
  });

  it('every old call is in CHANGELOG.md with its new name', () => {
    const changelog = readRepoFile('CHANGELOG.md');
    const missing = [...Object.entries(DEPRECATED_SYSTEM_CALLS).map(([old, [part, call]]) => [old, `${part}.${call}`]), ['workers', 'workers.profiles']].filter(
      ([old, now]) => !changelog.includes(`\`${old}()\` → \`${now}()\``),
    );
    assert.deepEqual(missing, []);
  });
});
