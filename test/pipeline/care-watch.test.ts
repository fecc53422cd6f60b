/**
 * The care watch (ADR 0138) on its own, with a clock of the test's and cameras whose figures the test sets: which
 * workers it watches (config/care.ts's rule), each reason from the state the system knows (camera down, a stall
 * told by the capture or seen as frames that stopped, a model server down, a worker down, results the output
 * fence withheld, and no-results when nothing known is down), the first of them in order when several are,
 * clearing on the first fresh result, a gated worker's still frames counting as looked at (only while nothing is
 * down), stats' silence by camera, and a worker no longer watched forgotten with a `cleared` event when its alarm
 * was raised. The whole system's own run is test/app/silence.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CareWatch, type ModelState, type SilenceEvent, type WatchedCamera, type PipelineWorkerStats } from '../../src/pipeline/index.js';
import type { CameraStats } from '../../src/pipeline/index.js';
import { resolvedConfig } from './helpers.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Figures = Mutable<Pick<PipelineWorkerStats, 'state' | 'model' | 'lastExit'>> & { gate: { still: number } | null };

interface Rig {
  watch: CareWatch;
  events: SilenceEvent[];
  clock: { now: number };
  /** pictures: the capture's pictureChanges (undefined: a capture that does not count them). */
  camera: { state: CameraStats['state']; published: number; pictures?: number; lastError: string | null; workers: Record<string, Figures> };
  models: Record<string, ModelState>;
  cameras: WatchedCamera[];
}

function rig(cameraEntry: Record<string, unknown>): Rig {
  const config = resolvedConfig({ models: { person: { handler: 'mock' } }, cameras: { room: { source: 'lavfi:testsrc', ...cameraEntry } } });
  const events: SilenceEvent[] = [];
  const clock = { now: 1_000 };
  const camera: Rig['camera'] = { state: 'streaming', published: 0, lastError: null, workers: {} };
  for (const w of config.cameras.room!.workers) camera.workers[w.id] = { state: 'running', model: 'model' in w ? w.model : null, lastExit: null, gate: null };
  const models: Record<string, ModelState> = { person: 'ready' };
  const cameras: WatchedCamera[] = [
    {
      id: 'room',
      config: config.cameras.room!,
      stats: () =>
        ({
          state: camera.state,
          capture: {
            framesPublished: camera.published,
            pictureChanges: camera.pictures,
            lastError: camera.lastError === null ? null : { code: camera.lastError, message: '', at: 0 },
          },
          workers: camera.workers,
        }) as unknown as ReturnType<WatchedCamera['stats']>,
    },
  ];
  const watch = new CareWatch({ cameras: () => cameras, modelState: (name) => models[name], emit: (e) => events.push(e), now: () => clock.now });
  return { watch, events, clock, camera, models, cameras };
}

/** A result of `worker` on a frame captured `ageMs` before now. */
function result(r: Rig, worker: string, ageMs = 0): void {
  r.watch.onResult({ type: 'result', camera: 'room', worker, shared: false, captureTime: r.clock.now - ageMs } as Parameters<CareWatch['onResult']>[0]);
}

/** Moves the clock on by ms, the camera publishing frames (new pictures, unless frozen) meanwhile unless told otherwise, and judges. */
function tick(r: Rig, ms: number, options: { frames?: boolean; frozen?: boolean } = {}): void {
  r.clock.now += ms;
  const frames = Math.max(1, Math.round(ms / 100));
  if (options.frames !== false) r.camera.published += frames;
  if (options.frames !== false && options.frozen !== true && r.camera.pictures !== undefined) r.camera.pictures += frames;
  r.watch.tick();
}

const MODEL_WORKERS = {
  workers: [
    { id: 'people', model: 'person' },
    { id: 'motion', module: 'builtin:motion', care: false },
    { id: 'pose', model: 'person', crops: { of: 'people' } },
  ],
  care: { silenceSeconds: 10 },
};

describe('the care watch', { timeout: 60_000 }, () => {
  it("watches a care camera's workers but cascades, vlm workers and care: false; raised after the silence, cleared by the first fresh result", () => {
    const r = rig(MODEL_WORKERS);
    tick(r, 1_000);
    assert.deepEqual(Object.keys(r.watch.status().room?.workers ?? {}), ['people']);
    result(r, 'people');
    tick(r, 9_000);
    assert.equal(r.events.length, 0, '9 s without a result: not yet');
    tick(r, 1_000);
    assert.equal(r.events.length, 1);
    const raised = r.events[0]!;
    assert.deepEqual([raised.state, raised.worker, raised.silence.reason], ['raised', 'people', 'no-results']);
    assert.equal(raised.cameraSilence.silent, true);
    assert.equal(raised.cameraSilence.detail, 'people: nothing known is down, and no result came');
    result(r, 'people', 11_000);
    assert.equal(r.events.length, 1, 'a result on a frame older than the silence is not fresh');
    result(r, 'people', 500);
    assert.equal(r.events.length, 2);
    assert.deepEqual([r.events[1]!.state, r.events[1]!.cameraSilence.silent], ['cleared', false]);
    assert.equal(r.watch.status().room?.silent, false);
  });

  it('says why: the first cause in order (camera down, decoder stalled, model down, worker down, results withheld)', () => {
    const r = rig({ workers: [{ id: 'people', model: 'person', care: { silenceSeconds: 4 } }] });
    tick(r, 1_000);
    const reasonNow = (): string | null => r.watch.status().room?.workers.people?.reason ?? null;
    // The model server down and the worker waiting: model-down first.
    r.models.person = 'backoff';
    r.camera.workers.people!.state = 'backoff';
    tick(r, 4_000);
    assert.equal(reasonNow(), 'model-down');
    assert.equal(r.watch.status().room?.workers.people?.detail, 'model person backoff');
    // The camera goes down too: it comes first.
    r.camera.state = 'backoff';
    r.camera.lastError = 'ERR_SOURCE_EXITED';
    tick(r, 1_000);
    assert.equal(reasonNow(), 'camera-down');
    assert.equal(r.watch.status().room?.detail, 'people: camera backoff (ERR_SOURCE_EXITED)');
    assert.equal(r.events.at(-1)?.state, 'updated');
    // A stall the capture told (ERR_SOURCE_STALLED, reopening): decoder-stalled.
    r.camera.lastError = 'ERR_SOURCE_STALLED';
    tick(r, 1_000);
    assert.equal(reasonNow(), 'decoder-stalled');
    // Streaming again, but no frame published for half the silence: decoder-stalled, seen.
    r.camera.state = 'streaming';
    r.models.person = 'ready';
    r.camera.workers.people!.state = 'running';
    tick(r, 1_000, { frames: false });
    assert.equal(reasonNow(), 'no-results', 'streaming, and frames not yet stopped for long');
    tick(r, 2_000, { frames: false });
    assert.equal(reasonNow(), 'decoder-stalled');
    // Frames again, the worker down.
    r.camera.workers.people!.state = 'failed';
    r.camera.workers.people!.lastExit = { reason: 'crash', code: 'ERR_WORKER_CRASHED', message: 'x' } as unknown as Figures['lastExit'];
    tick(r, 1_000);
    assert.equal(reasonNow(), 'worker-down');
    assert.equal(r.watch.status().room?.workers.people?.detail, 'worker failed (ERR_WORKER_CRASHED)');
    // Running, its results withheld by the output fence (a fenced cluster node).
    r.camera.workers.people!.state = 'running';
    r.watch.onWithheld({ type: 'result', camera: 'room', worker: 'people', shared: false, captureTime: r.clock.now } as Parameters<CareWatch['onWithheld']>[0]);
    tick(r, 1_000);
    assert.equal(reasonNow(), 'results-withheld');
    // A disabled camera is a camera down, said without a code.
    r.camera.state = 'disabled';
    tick(r, 1_000);
    assert.equal(r.watch.status().room?.workers.people?.detail, 'camera disabled');
    const kinds = r.events.map((e) => e.state);
    assert.equal(kinds[0], 'raised');
    assert.ok(
      kinds.slice(1).every((k) => k === 'updated'),
      JSON.stringify(kinds),
    );
  });

  it("a gated worker's still frames count as looked at, while nothing is known to be down", () => {
    const r = rig({ workers: [{ id: 'people', model: 'person', gate: 'motion', care: { silenceSeconds: 3 } }] });
    r.camera.workers.people!.gate = { still: 0 };
    tick(r, 1_000);
    for (let i = 0; i < 6; i++) {
      r.camera.workers.people!.gate.still += 10;
      tick(r, 1_000);
    }
    assert.equal(r.events.length, 0, 'a still room is not a silent camera');
    r.models.person = 'starting';
    for (let i = 0; i < 4; i++) {
      r.camera.workers.people!.gate.still += 10;
      tick(r, 1_000);
    }
    assert.equal(r.events[0]?.silence.reason, 'model-down', 'still frames do not count while its model is down');
  });

  it('forgets a worker no longer watched, with a cleared event when its alarm was raised', () => {
    const r = rig({ care: true, workers: [{ id: 'people', model: 'person' }] });
    tick(r, 1_000);
    tick(r, 30_000);
    assert.equal(r.events.at(-1)?.state, 'raised');
    assert.equal(r.events.at(-1)?.silence.silenceSeconds, 30, 'the default silence');
    r.cameras.length = 0; // the camera removed
    tick(r, 1_000);
    assert.equal(r.events.at(-1)?.state, 'cleared');
    assert.equal(r.events.at(-1)?.cameraSilence.silent, false);
    assert.deepEqual(r.watch.status(), {});
  });

  it('a camera repeating one picture is silent (frozen) however many results come on it, and clears when the picture changes', () => {
    const r = rig({ workers: [{ id: 'people', model: 'person', care: { silenceSeconds: 5 } }] });
    r.camera.pictures = 0;
    tick(r, 1_000);
    for (let s = 0; s < 4; s++) {
      result(r, 'people');
      tick(r, 1_000, { frozen: true });
    }
    assert.equal(r.events.length, 0, 'frozen for 4 s: not yet');
    result(r, 'people');
    tick(r, 1_000, { frozen: true });
    result(r, 'people');
    tick(r, 1_000, { frozen: true });
    assert.equal(r.events.length, 1, 'frozen for the silence: raised, results or not');
    assert.deepEqual([r.events[0]!.state, r.events[0]!.silence.reason], ['raised', 'frozen']);
    assert.equal(r.events[0]!.silence.detail, 'the camera repeats one picture: frames come, and none of them changed');
    result(r, 'people');
    tick(r, 1_000, { frozen: true });
    assert.equal(r.events.length, 1, 'a result on a frozen picture does not clear it');
    // The picture moves again: the tick that sees it clears it (the last result is fresh).
    result(r, 'people');
    tick(r, 1_000);
    assert.deepEqual([r.events.at(-1)!.state, r.watch.status().room?.silent], ['cleared', false]);
    // A gated worker's still frames do not make a frozen camera watched either.
    const g = rig({ workers: [{ id: 'people', model: 'person', gate: 'motion', care: { silenceSeconds: 3 } }] });
    g.camera.pictures = 0;
    g.camera.workers.people!.gate = { still: 0 };
    tick(g, 1_000);
    for (let s = 0; s < 4; s++) {
      g.camera.workers.people!.gate.still += 10;
      tick(g, 1_000, { frozen: true });
    }
    assert.equal(g.watch.status().room?.reason, 'frozen');
  });

  it('a capture that does not count pictures is never judged frozen', () => {
    const r = rig({ workers: [{ id: 'people', model: 'person', care: { silenceSeconds: 3 } }] });
    tick(r, 1_000);
    for (let s = 0; s < 10; s++) {
      result(r, 'people');
      tick(r, 1_000);
    }
    assert.equal(r.events.length, 0);
  });

  it('start() and close() are idempotent; no timer after close()', async () => {
    const r = rig({ care: true, workers: [{ id: 'people', model: 'person' }] });
    r.watch.start();
    r.watch.start();
    await r.watch.close();
    await r.watch.close();
    r.watch.start();
    await r.watch[Symbol.asyncDispose]();
  });
});
