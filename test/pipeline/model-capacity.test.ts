/**
 * A batched model's capacity (ADR 0128): the least-squares fit of a call's
 * cost (a + b·n) from its answers, property-based (it finds a line it was
 * given, never goes below zero, weighs a call once however many answers it
 * made), and the forecast and the objectives' advice with a batched model:
 * how many more cameras fit is read at the batches they would make, not at
 * 1 ÷ a call's time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { camerasThatFit, forecastCamera } from '../../src/pipeline/watches/forecast.js';
import { diagnose } from '../../src/pipeline/base/diagnosis.js';
import { capacityText, freshnessObjective, modelCapacityFps, type ModelLoad } from '../../src/pipeline/base/freshness.js';
import type { WatchedSystem } from '../../src/pipeline/watches/freshness-watch.js';
import { CallWindow, capacityFps, fitCallCost, weightedPercentile } from '../../src/pipeline/base/model-capacity.js';
import type { ModelStats } from '../../src/pipeline/model-host/model-service.js';
import type { PipelineWorkerStats } from '../../src/pipeline/camera/worker-group.js';
import type { WorkerProfile } from '../../src/pipeline/base/worker-profile.js';

const close = (a: number, b: number, tolerance = 1e-6): boolean => Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b));

describe('a batched model’s capacity', { timeout: 60_000 }, () => {
  it('the fit finds the line of noiseless calls of two sizes or more, whatever their weights', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 20, noNaN: true }),
        fc.array(fc.record({ frames: fc.integer({ min: 1, max: 64 }), weight: fc.double({ min: 0.01, max: 1, noNaN: true }) }), {
          minLength: 2,
          maxLength: 60,
        }),
        (a, b, calls) => {
          fc.pre(new Set(calls.map((c) => c.frames)).size >= 2);
          const cost = fitCallCost(calls.map((c) => ({ ...c, ms: a + b * c.frames })))!;
          assert.ok(close(cost.fixedMs, a, 1e-6) || Math.abs(cost.fixedMs - a) < 1e-6, `a ${cost.fixedMs} for ${a}`);
          assert.ok(close(cost.perFrameMs, b, 1e-6) || Math.abs(cost.perFrameMs - b) < 1e-6, `b ${cost.perFrameMs} for ${b}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('whatever the calls: a and b never below zero, one size all per frame, and the capacity grows with the batch', () => {
    const sample = fc.record({
      frames: fc.integer({ min: 1, max: 64 }),
      ms: fc.double({ min: 0, max: 1000, noNaN: true }),
      weight: fc.double({ min: 0.01, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.array(sample, { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 64 }),
        (samples, threads, maxBatch) => {
          const cost = fitCallCost(samples)!;
          assert.ok(cost.fixedMs >= 0 && cost.perFrameMs >= 0, JSON.stringify(cost));
          if (new Set(samples.map((s) => s.frames)).size === 1) assert.equal(cost.fixedMs, 0);
          // n ÷ (a + b·n) never falls as n grows: more readers never lower what the model serves.
          let before = 0;
          for (let readers = 1; readers <= 80; readers++) {
            const fps = capacityFps(cost, threads, maxBatch, readers);
            assert.ok(fps >= before * (1 - 1e-12), `${readers} readers: ${fps} < ${before}`);
            before = fps;
          }
        },
      ),
      { numRuns: 300 },
    );
    assert.equal(fitCallCost([]), null);
    assert.equal(fitCallCost([{ frames: 1, ms: 5, weight: 0 }]), null);
  });

  it('a window of answers weighs each call once: a batch of 8 told by its 8 answers counts as one call of 8', () => {
    const window = new CallWindow();
    for (let call = 0; call < 10; call++) {
      for (let i = 0; i < 8; i++) window.record({ inference_time_ms: 4 + 0.3 * 8, batch_size: 8, batch_oldest_frame_age_ms: 30 });
      window.record({ inference_time_ms: 4.3, batch_size: 1, batch_oldest_frame_age_ms: 10 });
    }
    window.record({ inference_time_ms: 'fast' }); // not a figure: ignored
    const f = window.stats();
    assert.equal(f.calls, 20);
    assert.equal(f.batchSizeP50, 1);
    assert.equal(f.batchSizeP99, 8);
    assert.equal(f.oldestFrameAgeMsP99, 30);
    assert.ok(close(f.cost!.fixedMs, 4) && close(f.cost!.perFrameMs, 0.3), JSON.stringify(f.cost));
    // An answer from a server before batches is a call of one.
    const old = new CallWindow();
    old.record({ inference_time_ms: 20 });
    assert.deepEqual(old.stats().cost, { fixedMs: 0, perFrameMs: 20 });
    assert.equal(old.stats().oldestFrameAgeMsP50, null);
    assert.equal(weightedPercentile([], 50), null);
  });

  it('the forecast and the advice read a batched model at the batches its cameras make, not at 1 ÷ a call', () => {
    // Eight cameras at 10 frames a second on the stand-in's shape, 4 ms + 0.3 ms a frame, batches of up to 32.
    const cameras = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`cam_${i}`, camera()]));
    const stats: WatchedSystem = { cameras, shared: {}, models: { gpu: modelStats(32, { fixedMs: 4, perFrameMs: 0.3 }, 6.4) } };
    const forecast = forecastCamera(
      stats,
      { camera: 'new', fps: 10, fpsFrom: 'configured', workers: [{ id: 'detect', model: 'gpu', objective: objective(), maxFps: null }] },
      profile,
    );
    const model = forecast.models.gpu as { capacityFps: number; maxBatch: number };
    assert.equal(model.maxBatch, 32);
    // Nine readers: calls of 9 frames, 6.7 ms each: 1 343 frames a second, where 1 ÷ 6.4 ms would say 156.
    assert.ok(close(model.capacityFps, (9 * 1000) / (4 + 0.3 * 9), 1e-9), String(model.capacityFps));
    assert.deepEqual(forecast.wouldMiss, []);
    // How many cameras like it fit: the most m with 80 + 10m ≤ (8 + m) readers' capacity, batches capped at 32.
    const load: ModelLoad = {
      name: 'gpu',
      threads: 1,
      inferenceMs: 6.4,
      waitMs: null,
      demands: new Map(),
      maxBatch: 32,
      cost: { fixedMs: 4, perFrameMs: 0.3 },
    };
    let expected = 0;
    while (80 + (expected + 1) * 10 <= capacityFps({ fixedMs: 4, perFrameMs: 0.3 }, 1, 32, 8 + expected + 1)) expected++;
    assert.equal(forecast.camerasLikeThis.gpu, expected);
    assert.equal(camerasThatFit(load, 80, 8, 10, 1), expected);
    assert.ok(expected > 100, `${expected} cameras: at 32 a call the stand-in serves 2 388 frames a second`);
    // The same model per frame (max_batch 1): what it was, 1 ÷ its time a frame.
    const perFrame = forecastCamera(
      { ...stats, models: { gpu: modelStats(1, null, 6.4) } },
      { camera: 'new', fps: 10, fpsFrom: 'configured', workers: [{ id: 'detect', model: 'gpu', objective: objective(), maxFps: null }] },
      profile,
    );
    assert.ok(close((perFrame.models.gpu as { capacityFps: number }).capacityFps, 1000 / 6.4));
    assert.equal(perFrame.camerasLikeThis.gpu, Math.floor((1000 / 6.4 - 80) / 10));
    // The advice names the batches and their cost.
    assert.ok(close(modelCapacityFps(load, 40), (32 * 1000) / (4 + 0.3 * 32)));
    assert.match(capacityText(load, 40), /in batches of 32 \(of at most 32; a call 4 ms \+ 0\.3 ms a frame\)/);
    const demands = new Map(Array.from({ length: 40 }, (_, i): [string, number] => [`cam_${i}`, 100]));
    const advice = diagnose({
      labels: ['cam_0'],
      objective: objective(),
      missed: ['skips'],
      window: { spanMs: 10_000, offered: 1000, missed: 400, staleSkips: 0, skipRatio: 0.4, results: 600, failed: 0, withinBudget: 1, resultAgeP50Ms: 20 },
      fps: 60,
      demandFps: 100,
      model: { ...load, demands },
      idleCpu: 0.5,
    });
    assert.ok(close(advice.capacityFps!, (32 * 1000) / (4 + 0.3 * 32)), String(advice.capacityFps));
    assert.match(advice.reason, /gpu serves 2352\.9 frames\/s on 1 thread in batches of 32/);
  });
});

function objective() {
  return freshnessObjective('high', null);
}

function profile(): WorkerProfile {
  return { objective: objective() } as WorkerProfile;
}

function camera() {
  const worker = { model: 'gpu', enabled: true, state: 'running', maxFps: null, gate: null, objective: null } as unknown as PipelineWorkerStats;
  return { capture: { fps: 10 }, workers: { detect: worker } };
}

function modelStats(maxBatch: number, cost: { fixedMs: number; perFrameMs: number } | null, inferenceMs: number): ModelStats {
  return {
    scheduling: {
      protocol: 3,
      concurrency: 1,
      running: 0,
      waiting: 0,
      maxBatch,
      memory: null,
      cameras: { cam_0: { served: 10, superseded: 0, stale: 0, wait_ms_p50: 0, wait_ms_p99: 0, inference_ms_p50: inferenceMs, inference_ms_p99: inferenceMs } },
    },
    calls: { cost, calls: 10, batchSizeP50: 8, batchSizeP99: 9, oldestFrameAgeMsP50: null, oldestFrameAgeMsP99: null },
  } as unknown as ModelStats;
}
