/**
 * system.config (ADR 0062): the config as it runs (cameras added and removed, areas set live), the same
 * masked (the URL password, a value the file took from the environment, a secret more), one camera's,
 * admission of network entries, an entry resolved without adding it, and a dry run that changes nothing.
 * On a system that is not started: its cameras are made (and checked) but nothing runs.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { vtest } from './helpers.js';

const SHM_DIR = `/dev/shm/framesupplier-test-config-part-${process.pid}`;
const capture = { output: { format: 'gray', width: 160, fps: 5 }, loop: true };
const motion = [{ id: 'motion', module: 'builtin:motion' }];
const DOOR = [
  [0.1, 0.1],
  [0.9, 0.1],
  [0.9, 0.9],
];
const hasCode =
  (code: string) =>
  (error: unknown): boolean =>
    (error as { code?: unknown }).code === code;

describe('system.config', { timeout: 60_000 }, () => {
  let system: VisionSystem;

  before(async () => {
    const file = {
      shmDir: SHM_DIR,
      cameras: { door: { source: 'rtsp://viewer:${DOOR_PASSWORD}@127.0.0.1:1/stream1', capture, workers: motion } },
    };
    system = new VisionSystem({
      config: parseConfig(JSON.stringify(file), { env: { DOOR_PASSWORD: 'pw-from-env' } }),
      logger: createLogger({ level: 'silent' }),
    });
    await system.cameras.add('yard', { source: vtest(), capture, workers: motion });
  });

  after(async () => {
    await system?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  it('current: the cameras as added and removed, their areas as set live, secrets as they are', async () => {
    assert.deepEqual(Object.keys(system.config.current().cameras), ['yard']);
    await system.cameras.setAreas('yard', { zones: { door: { polygon: DOOR } } });
    assert.deepEqual(Object.keys(system.config.current().cameras.yard?.zones ?? {}), ['door']);
    await system.cameras.add('door', system.config.resolveCamera('door', { source: 'rtsp://viewer:pw-from-env@127.0.0.1:1/stream1', workers: motion }));
    assert.equal(system.config.current().cameras.door?.source, 'rtsp://viewer:pw-from-env@127.0.0.1:1/stream1');
    await system.cameras.remove('door');
    assert.deepEqual(Object.keys(system.config.current().cameras), ['yard']);
  });

  it("masked: the environment's values and any more secrets masked wherever they stand; one camera's the same", async () => {
    await system.cameras.add('gate', { source: 'rtsp://viewer:pw-from-env@127.0.0.1:1/gate-pw-from-env', workers: motion });
    const masked = JSON.stringify(system.config.masked());
    assert.ok(!masked.includes('pw-from-env') && masked.includes('viewer:***@'), masked);
    assert.ok(JSON.stringify(system.config.masked({ secrets: [vtest()] })).includes('***'), 'a secret more: the clip path');
    assert.ok(!JSON.stringify(system.config.maskedCamera('gate')).includes('pw-from-env'));
    assert.equal(system.config.maskedCamera('nowhere'), undefined);
    await system.cameras.remove('gate');
  });

  it('admit: programs only with allowExec, references only as the policy allows, expanded from env when given', () => {
    const exec = system.config.admit({ source: vtest(), workers: [{ id: 'x', command: ['/bin/true'] }] }, { allowExec: false, references: { names: [] } });
    assert.equal(exec.admitted ? null : exec.problem.kind, 'exec');
    assert.equal(
      system.config.admit({ source: vtest(), workers: [{ id: 'x', command: ['/bin/true'] }] }, { allowExec: true, references: { names: [] } }).admitted,
      true,
    );
    const reference = system.config.admit({ source: 'rtsp://${OTHER}@h/s', workers: motion }, { allowExec: false, references: { names: [] } });
    assert.equal(reference.admitted ? null : reference.problem.kind, 'reference');
    const expanded = system.config.admit(
      { source: 'rtsp://viewer:${CAM_PW}@h/s', workers: motion },
      { allowExec: false, references: { names: [], prefixes: ['CAM_'] }, env: { CAM_PW: 'x1' } },
    );
    assert.deepEqual(expanded.admitted ? (expanded.entry as { source: string }).source : null, 'rtsp://viewer:x1@h/s');
  });

  it('resolveCamera: the entry as add would take it (defaults applied), every issue refused; nothing added', () => {
    const resolved = system.config.resolveCamera('new', { source: vtest(), workers: motion });
    assert.equal(resolved.workers[0]?.enabled, true);
    assert.throws(() => system.config.resolveCamera('new', { workers: [] }), hasCode('ERR_CONFIG'));
    assert.deepEqual(Object.keys(system.config.current().cameras), ['yard']);
  });

  it('forecast: a dry run of an add or a replace, refused as the change would be; nothing changes', async () => {
    const forecast = await system.config.forecast('new', { source: vtest(), capture, workers: motion }, { replace: false });
    assert.equal(forecast.dryRun, true);
    assert.equal(forecast.change, 'camera-added');
    assert.equal(forecast.cameraFps, 5);
    assert.deepEqual(
      forecast.workers.map((w) => w.worker),
      ['motion'],
    );
    await assert.rejects(system.config.forecast('yard', { source: vtest(), workers: motion }, { replace: false }), hasCode('ERR_DUPLICATE_CAMERA'));
    await assert.rejects(system.config.forecast('nowhere', { source: vtest(), workers: motion }, { replace: true }), hasCode('ERR_UNKNOWN_CAMERA'));
    assert.deepEqual(Object.keys(system.config.current().cameras), ['yard']);
  });
});
