/**
 * A camera converts frames at its model's size (ADR 0031), through the whole
 * system with real parts: a model server process (the mock handler with a
 * simulated 320 input, which says so in its pong), the in-process decoder on
 * vtest.avi (768 × 576). A camera whose readers are the model worker and a
 * motion worker with readSize: any gets 320 × 240 frames; a camera read by a
 * shared model worker (through its mux) too; a camera with a module worker
 * that reads full frames keeps 768 × 576.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { ModelClient } from '../../src/ipc/index.js';
import { eventually, nextResults, resolvedConfig, vtest } from './helpers.js';

const SHM_DIR = `/dev/shm/framesupplier-reader-size-${process.pid}`;

describe('frames at the model’s size, through the system', { timeout: 120_000 }, () => {
  let system: VisionSystem;
  const readerSize = (camera: string): unknown => system.stats().cameras[camera]?.capture?.readerSize;

  before(async () => {
    const capture = { decoder: 'native', loop: true, output: { format: 'nv12' } };
    const config = resolvedConfig({
      shmDir: SHM_DIR,
      models: { small: { handler: 'mock', inputSize: 320 } },
      cameras: {
        own: {
          source: vtest(),
          capture,
          workers: [
            { id: 'model', model: 'small' },
            { id: 'motion', module: 'builtin:motion', readSize: 'any' },
          ],
        },
        shared: { source: vtest(), capture, workers: [] },
        full: {
          source: vtest(),
          capture,
          workers: [
            { id: 'model', model: 'small' },
            { id: 'motion', module: 'builtin:motion' },
          ],
        },
      },
      shared: { people: { model: 'small', cameras: ['shared'] } },
    });
    system = new VisionSystem({ config, logger: createLogger({ level: 'warn' }), modelHealthIntervalMs: 500 });
    await system.start();
  });
  after(async () => {
    await system?.close();
  });

  it('the model server says its size in the pong', async () => {
    await eventually(() => system.stats().models.small?.state === 'ready', 'the model server ready');
    const socket = system.stats().models.small?.socket;
    assert.ok(typeof socket === 'string');
    const client = new ModelClient({ socketPath: socket });
    try {
      assert.equal((await client.ping()).frame_long_side, 320);
    } finally {
      client.close();
    }
  });

  it('cameras whose readers all say a size convert at it; a full reader keeps the output size', async () => {
    await eventually(() => JSON.stringify(readerSize('own')) === JSON.stringify({ width: 320, height: 240 }), 'own camera at 320 × 240');
    await eventually(() => JSON.stringify(readerSize('shared')) === JSON.stringify({ width: 320, height: 240 }), 'shared camera at 320 × 240');
    await nextResults(system, 'own', 'model', 3);
    await nextResults(system, 'full', 'model', 3);
    assert.equal(readerSize('full'), null);
    assert.equal(system.stats().cameras.full?.capture?.width, 768);
  });
});
