/**
 * The freshness objective's pure parts (ADR 0042): max-min fair shares of a
 * model between its readers (property-based: never more than asked, never
 * more than the capacity in all, and nobody under its share while another
 * is over it), the window's figures, the verdict by criticality, and the
 * diagnosis that names the figures and the fix. Then the watch over a
 * system's figures as stats() gives them, ticked by hand: one `missed` event
 * with the reason, one `met` when the figures recover.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  diagnose,
  fairShares,
  FreshnessWatch,
  freshnessObjective,
  judge,
  ObjectiveWindow,
  type ObjectiveEvent,
  type SystemEvent,
  type WatchedSystem,
  type PipelineWorkerStats,
  type WorkerProfile,
} from '../../src/pipeline/index.js';
import { watchedProfile } from './helpers.js';

describe('freshness objectives', { timeout: 60_000 }, () => {
  it('fair shares: each gets at most what it asks, all together at most the capacity, and max-min fair', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 100, noNaN: true }), fc.array(fc.double({ min: 0, max: 40, noNaN: true }), { maxLength: 12 }), (capacity, asks) => {
        const demands = new Map(asks.map((fps, i) => [`c${i}`, fps]));
        const shares = fairShares(capacity, demands);
        let total = 0;
        for (const [key, fps] of demands) {
          const share = shares.get(key)!;
          assert.ok(share >= 0 && share <= fps + 1e-9, `${key}: ${share} of ${fps}`);
          total += share;
        }
        const demand = asks.reduce((a, b) => a + b, 0);
        assert.ok(total <= capacity + 1e-6, `total ${total} over capacity ${capacity}`);
        // Work-conserving: all of it is given out while someone wants more.
        assert.ok(Math.abs(total - Math.min(capacity, demand)) <= 1e-6, `total ${total}, capacity ${capacity}, demand ${demand}`);
        // Max-min: a reader short of what it asks gets at least as much as anybody else.
        const shortOf = [...demands].filter(([k, fps]) => shares.get(k)! < fps - 1e-6).map(([k]) => shares.get(k)!);
        const most = Math.max(0, ...shares.values());
        for (const s of shortOf) assert.ok(s >= most - 1e-6, `short reader at ${s} while another gets ${most}`);
      }),
    );
  });

  it("the issue's example: 7.9 frames/s asked 10 and 5 gives 3.95 each", () => {
    const shares = fairShares(
      7.9,
      new Map([
        ['street', 10],
        ['street-mirror', 5],
      ]),
    );
    assert.ok(Math.abs(shares.get('street')! - 3.95) < 1e-9);
    assert.ok(Math.abs(shares.get('street-mirror')! - 3.95) < 1e-9);
    const light = fairShares(
      7.9,
      new Map([
        ['street', 10],
        ['street-mirror', 2],
      ]),
    );
    assert.equal(light.get('street-mirror'), 2);
    assert.ok(Math.abs(light.get('street')! - 5.9) < 1e-9, 'what one leaves goes to the other');
  });

  it('objectives by criticality, and the verdict from a window', () => {
    assert.equal(freshnessObjective('critical', 500).maxSkipRatio, 0);
    assert.equal(freshnessObjective('high', 500).maxSkipRatio, 0.1);
    assert.equal(freshnessObjective('normal', null).maxSkipRatio, 0.5);
    assert.equal(freshnessObjective('best-effort', null).maxSkipRatio, null);
    assert.equal(freshnessObjective('high', null, 0.3).maxSkipRatio, 0.3, 'a worker may set its own');

    const w = new ObjectiveWindow(60_000);
    assert.equal(judge(freshnessObjective('high', 1000), w.stats(0, 10_000)), null, 'no figures, no verdict');
    for (let t = 0; t < 5; t++) w.frames(t * 1000, 10, 3); // 30 % missed
    for (let t = 0; t < 20; t++) w.result(t * 200, t < 15 ? 100 : 1500, 1000); // 5 of 20 late
    const f = w.stats(5_000, 10_000);
    assert.equal(f.offered, 50);
    assert.equal(f.missed, 15);
    assert.equal(f.skipRatio, 0.3);
    assert.equal(f.withinBudget, 0.75);
    assert.deepEqual(judge(freshnessObjective('high', 1000), f), ['skips', 'age']);
    assert.deepEqual(judge(freshnessObjective('normal', 1000), f), []);
    assert.deepEqual(judge(freshnessObjective('best-effort', 1000), f), []);
    // Old buckets leave the span.
    assert.equal(w.stats(70_000, 10_000).offered, 0);
  });

  it('the diagnosis names the capacity, the demands, each share and the fix', () => {
    const window = { spanMs: 10_000, offered: 100, missed: 60, staleSkips: 0, skipRatio: 0.6, results: 40, failed: 0, withinBudget: 1, resultAgeP50Ms: 250 };
    const d = diagnose({
      labels: ['street'],
      objective: freshnessObjective('high', 1000),
      missed: ['skips'],
      window,
      fps: 3.9,
      demandFps: 10,
      model: {
        name: 'person',
        threads: 1,
        inferenceMs: 126.6,
        waitMs: 118,
        demands: new Map([
          ['street', 10],
          ['street-mirror', 5],
        ]),
      },
      idleCpu: 0.49,
    });
    assert.equal(d.capacityFps!.toFixed(1), '7.9');
    assert.equal(d.shareFps!.toFixed(2), '3.95');
    assert.match(d.reason, /misses 60 % of its frames \(tolerance 10 %\)/);
    assert.match(d.reason, /person serves 7\.9 frames\/s on 1 thread/);
    assert.match(d.reason, /street asks 10\.0, street-mirror asks 5\.0, so street gets 3\.9/);
    assert.deepEqual(d.fix, ['set maxFps ≤ 3.9', 'or threads: 2 for person (49 % of the CPU is idle)']);
  });

  it("the diagnosis names the age its camera's decoding adds first, and auto as the fix (ADR 0065)", () => {
    const window = { spanMs: 10_000, offered: 20, missed: 0, staleSkips: 0, skipRatio: 0, results: 20, failed: 0, withinBudget: 0.4, resultAgeP50Ms: 620 };
    const base = {
      labels: ['street'],
      objective: freshnessObjective('high', 500),
      missed: ['age'] as const,
      window,
      fps: 2,
      demandFps: 2,
      model: { name: 'person', threads: 1, inferenceMs: 90, waitMs: 5, demands: new Map([['street', 2]]) },
      idleCpu: 0.5,
    };
    const d = diagnose({ ...base, missed: [...base.missed], decode: { mode: 'keyframes', reason: 'as configured', addedAgeMs: 1000 } });
    assert.match(d.reason, /its camera decodes keyframes only \(as configured\), which adds about 1000 ms to each frame's age/);
    assert.match(d.fix[0]!, /decode: auto/);
    // Auto adds no age: the model's figures are the reason again.
    const auto = diagnose({
      ...base,
      missed: [...base.missed],
      decode: { mode: 'keyframes', reason: "readers take ≤ 0.5 fps; the group of pictures before a reader's take decoded", addedAgeMs: 0 },
    });
    assert.match(auto.reason, /person takes 90 ms a frame/);
  });

  it('frames too old when read (stale) are offered and missed; when they are most misses, keyframes only is named with its numbers (ADR 0070)', () => {
    const w = new ObjectiveWindow(60_000);
    w.frames(500, 30, 24, 24);
    const f = w.stats(1_000, 10_000);
    assert.deepEqual([f.offered, f.missed, f.staleSkips], [30, 24, 24]);
    assert.deepEqual(judge(freshnessObjective('normal', 400), f), ['skips']);
    const d = diagnose({
      labels: ['porch'],
      objective: freshnessObjective('normal', 400),
      missed: ['skips'],
      window: f,
      fps: 0.6,
      demandFps: 3,
      model: null,
      idleCpu: 0.5,
      decode: {
        mode: 'keyframes',
        reason: 'as configured',
        addedAgeMs: 950,
        maxAddedAgeMs: 1900,
        framesNotDecodedShare: 0.95,
        cpuSavedPct: 2.4,
        stream: 'sub',
      },
    });
    assert.equal(
      d.reason,
      "misses 80 % of its frames (tolerance 50 %), 100 % of them older than 400 ms when read: its stream sub decodes keyframes only (as configured), which adds about 950 ms to each frame's age (up to 1900 ms) for 95 % of its frames not decoded, about 2.4 % of a core saved",
    );
    assert.deepEqual(d.fix, [
      "set the camera's decode: auto (it decodes what each reader's take needs, skipping only between takes)",
      'or a stream with shorter keyframe intervals',
      'or raise maxAgeMs above 2300 ms to keep decoding less',
    ]);
    // Drops, not stale frames: the decoding is not the cause.
    const drops = new ObjectiveWindow(60_000);
    drops.frames(500, 30, 24, 2);
    const other = diagnose({
      labels: ['porch'],
      objective: freshnessObjective('normal', 400),
      missed: ['skips'],
      window: drops.stats(1_000, 10_000),
      fps: 0.6,
      demandFps: 3,
      model: null,
      idleCpu: 0.5,
      decode: { mode: 'keyframes', reason: 'as configured', addedAgeMs: 950 },
    });
    assert.match(other.reason, /it works on 0\.6 frames\/s of the 3\.0 its camera offers/);
  });

  it('a worker that gets less than it asks of a model whose own time could serve it: what it gets is the fix', () => {
    const window = { spanMs: 10_000, offered: 100, missed: 15, staleSkips: 0, skipRatio: 0.15, results: 85, failed: 0, withinBudget: 1, resultAgeP50Ms: 150 };
    const d = diagnose({
      labels: ['street'],
      objective: freshnessObjective('high', 1000),
      missed: ['skips'],
      window,
      fps: 8.2,
      demandFps: 9.7,
      model: {
        name: 'person',
        threads: 1,
        inferenceMs: 69,
        waitMs: 35,
        demands: new Map([
          ['street', 9.7],
          ['street-mirror', 4.9],
        ]),
      },
      idleCpu: 0,
    });
    assert.match(
      d.reason,
      /person takes 69 ms a frame, a request waits 35 ms; street asks 9\.7, street-mirror asks 4\.9 of 14\.5 frames\/s it can serve, and street gets 8\.2 of the 9\.7 it asks/,
    );
    assert.deepEqual(d.fix, ['set maxFps ≤ 8.2', 'or a machine with more CPU for person: 0 % of the CPU is idle, more threads would not help']);
  });

  it('the watch: one missed event with the reason, one met when the figures recover', () => {
    let now = 0;
    const events: SystemEvent[] = [];
    const profile = {
      camera: 'street',
      id: 'people',
      shared: false,
      cameras: ['street'],
      kind: 'model',
      model: 'person',
      ageBudgetMs: 1000,
      tracksObjects: false,
      track: null,
      recheckSeconds: null,
      readSize: null,
      objective: freshnessObjective('high', 1000),
      care: null,
    } as const satisfies WorkerProfile;
    const figures = { delivered: 0, drops: 0, skipped: 0, fps: 0, maxFps: null as number | null };
    const worker = (): PipelineWorkerStats =>
      ({
        state: 'running',
        enabled: true,
        model: 'person',
        maxFps: figures.maxFps,
        fps: figures.fps,
        totals: { delivered: figures.delivered, drops: figures.drops },
        modelFrames: { skipped: figures.skipped },
      }) as unknown as PipelineWorkerStats;
    const stats = (): WatchedSystem => ({
      cameras: { street: { capture: { fps: 10 }, workers: { people: worker() } } },
      shared: {},
      models: {
        person: {
          scheduling: { concurrency: 1, cameras: { street: { inference_ms_p50: 200, wait_ms_p50: 150 } } },
        } as unknown as WatchedSystem['models'][string],
      },
    });
    const watch = new FreshnessWatch({ stats, profile: () => profile, emit: (e) => events.push(e), now: () => now });
    // 10 frames a second offered, the model takes 5: half skipped, against a 10 % tolerance.
    for (let s = 0; s < 12; s++) {
      now += 1000;
      figures.delivered += 10;
      figures.skipped += 5;
      figures.fps = 5;
      watch.tick();
    }
    const missed = events.filter((e): e is ObjectiveEvent => e.type === 'objective');
    assert.equal(missed.length, 1, 'one event for the episode');
    assert.equal(missed[0]!.state, 'missed');
    assert.match(missed[0]!.reason, /misses 50 % of its frames \(tolerance 10 %\): person serves 5\.0 frames\/s on 1 thread/);
    assert.deepEqual(missed[0]!.fix[0], 'set maxFps ≤ 5.0');
    assert.equal(watch.status('street', 'people', profile.objective)?.met, false);
    // maxFps 4: every frame offered is taken; within the 10 s span the verdict turns.
    figures.maxFps = 4;
    for (let s = 0; s < 12; s++) {
      now += 1000;
      figures.delivered += 4;
      figures.fps = 4;
      watch.tick();
    }
    const all = events.filter((e): e is ObjectiveEvent => e.type === 'objective');
    assert.deepEqual(
      all.map((e) => e.state),
      ['missed', 'met'],
    );
    const status = watch.status('street', 'people', profile.objective)!;
    assert.equal(status.met, true);
    assert.equal(status.reason, null);
    assert.equal(status.lastMinute.offered, 168);
  });

  it('results that are errors (model calls that failed) are misses: a worker all of whose calls fail misses its objective, saying so', () => {
    let now = 0;
    const events: SystemEvent[] = [];
    const profile = watchedProfile('street', 'people', freshnessObjective('normal', 1000));
    let delivered = 0;
    const stats = (): WatchedSystem => ({
      cameras: {
        street: {
          capture: { fps: 10 },
          workers: {
            people: { state: 'running', enabled: true, model: null, maxFps: 2, fps: 2, totals: { delivered, drops: 0 } } as unknown as PipelineWorkerStats,
          },
        },
      },
      shared: {},
      models: {},
    });
    const watch = new FreshnessWatch({ stats, profile: () => profile, emit: (e) => events.push(e), now: () => now, idleCpu: () => 0.5 });
    const result = (output: unknown) =>
      watch.onResult({
        type: 'result',
        at: 0,
        camera: 'street',
        worker: 'people',
        shared: false,
        profile,
        seq: 1,
        captureTime: 0,
        wallTime: 0,
        ageMs: 120,
        output,
      });
    // Two frames a second, each answered in time, every one an error: before, a met objective (all "within budget").
    for (let s = 0; s < 12; s++) {
      now += 1000;
      delivered += 2;
      result({ detections: [], error: { code: 'ERR_MODEL_TIMEOUT', message: 'timed out' } });
      result({ detections: [], error: { code: 'ERR_MODEL_TIMEOUT', message: 'timed out' } });
      watch.tick();
    }
    const missed = events.filter((e): e is ObjectiveEvent => e.type === 'objective');
    assert.deepEqual(
      missed.map((e) => e.state),
      ['missed'],
    );
    assert.match(missed[0]!.reason, /^100 % of its results were errors \(the last ERR_MODEL_TIMEOUT\)/);
    assert.equal(missed[0]!.figures.failed, missed[0]!.figures.results);
    assert.equal(missed[0]!.figures.withinBudget, null, 'no result that was not an error');
    // Answers again: met.
    for (let s = 0; s < 12; s++) {
      now += 1000;
      delivered += 2;
      result({ detections: [] });
      result({ detections: [] });
      watch.tick();
    }
    assert.deepEqual(
      events.filter((e): e is ObjectiveEvent => e.type === 'objective').map((e) => e.state),
      ['missed', 'met'],
    );
    // A starved worker: a frame every 10 s (its call's timeout), each an error: 3 in a minute decide, though under
    // the 10 frames a verdict on frame counts needs.
    for (let s = 0; s < 120; s++) {
      now += 1000;
      if (s % 10 === 0) {
        delivered += 1;
        result({ detections: [], error: { code: 'ERR_TIMEOUT', message: 'timed out' } });
      }
      watch.tick();
    }
    // (While the good results leave the window, the verdict may turn once more before it settles.)
    const starved = events
      .filter((e): e is ObjectiveEvent => e.type === 'objective')
      .slice(2)
      .at(-1)!;
    assert.equal(starved.state, 'missed');
    assert.match(starved.reason, /^\d+ % of its results were errors \(the last ERR_TIMEOUT\)/);
    const status = watch.status('street', 'people', profile.objective)!;
    assert.equal(status.met, false);
    assert.match(status.reason ?? '', /^100 % of its results were errors \(the last ERR_TIMEOUT\)/);
    assert.ok(status.lastMinute.results < 10 && status.lastMinute.failed >= 3, JSON.stringify(status.lastMinute));
  });
  it('a gated worker its model runs nothing for past its recheck interval misses its objective, naming its camera (ADR 0172)', () => {
    let now = 0;
    const events: SystemEvent[] = [];
    const profile = { ...watchedProfile('hall', 'people', freshnessObjective('high', 500)), model: 'person' };
    const model = { delivered: 0, skipped: 0, consecutiveSkips: 0, taken: 0 };
    const worker = (): PipelineWorkerStats =>
      ({
        state: 'running',
        enabled: true,
        model: 'person',
        maxFps: 2,
        fps: 0,
        totals: { delivered: model.delivered, drops: 0 },
        modelFrames: { skipped: model.skipped, consecutiveSkips: model.consecutiveSkips, taken: model.taken },
        gate: { on: 'motion', stationaryMs: 10_000 },
      }) as unknown as PipelineWorkerStats;
    const stats = (): WatchedSystem => ({
      cameras: { hall: { capture: { fps: 10 }, workers: { people: worker() } } },
      shared: {},
      models: {
        person: {
          scheduling: { concurrency: 1, cameras: { hall: { inference_ms_p50: 50, wait_ms_p50: 1500 } } },
        } as unknown as WatchedSystem['models'][string],
      },
    });
    const watch = new FreshnessWatch({ stats, profile: () => profile, emit: (e) => events.push(e), now: () => now, idleCpu: () => 0.5 });
    // A recheck every 10 s, each skipped at the model (stale when taken): 4 frames in 40 s, under the 10 a verdict on
    // frame counts needs, so before this it was never judged.
    for (let s = 1; s <= 40; s++) {
      now += 1000;
      if (s % 10 === 1) {
        model.delivered++;
        model.skipped++;
        model.consecutiveSkips++;
      }
      watch.tick();
    }
    const objective = events.filter((e): e is ObjectiveEvent => e.type === 'objective');
    assert.deepEqual(
      objective.map((e) => [e.state, e.camera, e.worker]),
      [['missed', 'hall', 'people']],
    );
    assert.match(
      objective[0]!.reason,
      /^camera hall's model ran none of the 2 frames it asked about in 11 s, past its recheck every 10 s: what it tracks went unlooked-at/,
    );
    assert.match(objective[0]!.reason, /person/, 'and the model it shares');
    // Its model runs a frame of it: met again.
    model.delivered++;
    model.taken++;
    model.consecutiveSkips = 0;
    now += 1000;
    watch.tick();
    assert.deepEqual(
      events.filter((e): e is ObjectiveEvent => e.type === 'objective').map((e) => e.state),
      ['missed', 'met'],
    );
  });
});
