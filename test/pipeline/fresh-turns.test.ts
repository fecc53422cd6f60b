/**
 * Fresh turns at a shared model (ADR 0044), with a real model server process
 * (the mock handler, one frame at a time) and real frames: cameras at maxFps
 * that start together used to fall due together at every slot and queue
 * behind each other at the model; each model worker now moves its next slot
 * by the time its request waited, so their turns spread where the model is
 * free. Here four cameras at 10 fps with maxFps 2 share a 100 ms model (80 %
 * busy): queued together, the median wait is a service time or more; spread,
 * most requests find the model free.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { resolvedConfig } from './helpers.js';

const CAMERAS = ['a', 'b', 'c', 'd'].map((c) => `${c}-${process.pid}`);
const SERVICE_MS = 100;

describe('cameras sharing a model at maxFps take turns where the model is free', { timeout: 240_000 }, () => {
  it("the model server's median wait is well under one service time", async () => {
    const camera = {
      source: 'lavfi:testsrc2=size=320x240:rate=10',
      capture: { output: { format: 'nv12' } },
      workers: [{ id: 'model', model: 'shared', maxFps: 2 }],
    };
    const system = new VisionSystem({
      config: resolvedConfig({
        shmDir: `/dev/shm/framesupplier-fresh-turns-${process.pid}`,
        models: { shared: { handler: 'mock', delayMs: SERVICE_MS } },
        cameras: Object.fromEntries(CAMERAS.map((id) => [id, camera])),
      }),
      logger: createLogger({ level: 'silent' }),
    });
    const waits: number[] = [];
    let seen = 0;
    // After 16 results (4 rounds: time for the turns to settle), the waits of the next 40.
    const measured = new Promise<void>((resolve) => {
      system.on('result', (event) => {
        if (event.worker !== 'model' || ++seen <= 16 || waits.length >= 40) return;
        const wait = (event.output as { metadata?: { wait_ms?: unknown } }).metadata?.wait_ms;
        if (typeof wait === 'number') waits.push(wait);
        if (waits.length === 40) resolve();
      });
    });
    try {
      await system.start();
      await measured;
    } finally {
      await system.close();
    }
    const sorted = waits.sort((x, y) => x - y);
    const median = sorted[sorted.length / 2]!;
    assert.ok(median < SERVICE_MS / 2, `median wait ${median.toFixed(1)} ms (waits: ${sorted.map((w) => w.toFixed(0)).join(' ')})`);
  });
});
