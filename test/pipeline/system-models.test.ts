/**
 * system.models (ADR 0062): the models a system has, a real mock model server it starts and a socket no one
 * listens on yet; each one's figures as stats() has them, the started one ready once its ping answers (the
 * event proves it), the other waited for; a model it does not have is none.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { nextEvent, resolvedConfig } from './helpers.js';

const SHM_DIR = `/dev/shm/framesupplier-test-models-part-${process.pid}`;

describe('system.models', { timeout: 60_000 }, () => {
  let system: VisionSystem;

  before(async () => {
    const config = resolvedConfig({
      shmDir: SHM_DIR,
      models: { mock: { handler: 'mock' }, away: { socket: join(tmpdir(), `framesupplier-nobody-${process.pid}.sock`) } },
      cameras: {},
    });
    system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }), modelHealthIntervalMs: 200 });
    const ready = nextEvent(system, 'model-state', (e) => e.model === 'mock' && e.to === 'ready');
    await system.start();
    await ready;
  });

  after(async () => {
    await system?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  it("names: the config's models; stats: each one's figures as the system's stats have them", () => {
    assert.deepEqual(system.models.names(), ['mock', 'away']);
    assert.equal(system.models.stats('mock')?.state, 'ready');
    assert.equal(system.models.stats('mock')?.handler, 'mock');
    assert.notEqual(system.models.stats('away')?.state, 'ready', 'no server listens there');
    assert.equal(system.models.stats('away')?.external, true);
    assert.deepEqual(Object.keys(system.stats().models), system.models.names());
    assert.equal(system.models.stats('nowhere'), undefined);
  });
});
