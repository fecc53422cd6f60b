/**
 * The care watch (ADR 0138): every care-critical worker of every camera (config/care.ts says which) has a silence
 * alarm (silence.ts, pure), fed here with its results as they come and judged once a second with what the system
 * knows to be down: the camera's capture state (camera-down; decoder-stalled for ERR_SOURCE_STALLED, or no frame
 * published for half the silence while it streams; frozen, frames published and none of them a new picture for
 * the silence), the worker's model server's state (model-down), the worker's
 * state (worker-down), and results the output fence withheld since its last fresh one (results-withheld). Each
 * change is a `silence` event with the worker's and the camera's silence after it, and stats() carries them.
 *
 * Contract:
 * - Results count as they reach the outputs (after the output fence); a withheld one is a cause, never fresh.
 * - A camera repeating one picture is not watched, however many results come on it: while its capture's
 *   pictureChanges stands still, results are no fresher than the tick it last moved at (SilenceAlarm.picture).
 *   A capture that does not count pictures (pictureChanges absent) is not judged so.
 * - A motion-gated worker's still frames (read, nothing moved: its model rightly not run) count as looked at,
 *   at the tick that sees them, while nothing is known to be down: a still room is not a silent camera.
 * - A worker is watched from the first tick that finds it (its camera added, replaced, or the system started):
 *   that tick stands for its last result until one comes. One no longer watched (its camera removed or replaced
 *   without it) is forgotten, with a `cleared` event first if its alarm was raised.
 * - Only ids and codes go into a detail, never a source URL or a message that may hold one.
 * - start() and close() are idempotent; the timer does not hold the process open; the clock is an option.
 */
import { performance } from 'node:perf_hooks';
import { watchedWorkers } from '../../config/index.js';
import type { CameraStats } from '../camera/index.js';
import { cameraSilence, SilenceAlarm, type CameraSilence, type SilenceCause, type SilenceChange, type WorkerSilence } from '../../care/index.js';
import type { CameraConfig, ModelState, ResultEvent, SilenceEvent } from '../base/index.js';
import { TickingWatch } from './watch.js';

/** What the watch reads of a camera at a tick. */
export interface WatchedCamera {
  readonly id: string;
  readonly config: CameraConfig;
  stats(): Pick<CameraStats, 'state' | 'capture' | 'workers'>;
}

export interface CareWatchOptions {
  readonly cameras: () => Iterable<WatchedCamera>;
  /** A model server's state (undefined: none of that name). */
  readonly modelState: (name: string) => ModelState | undefined;
  readonly emit: (event: SilenceEvent) => void;
  /** Tick, ms. Default 1 000. */
  readonly intervalMs?: number;
  /** Monotonic ms, the clock results' capture times are on. Default performance.now(). */
  readonly now?: () => number;
}

interface Watched {
  readonly camera: string;
  readonly worker: string;
  readonly alarm: SilenceAlarm;
  /** Capture time of the newest result the output fence withheld. */
  withheldAt: number | null;
  /** The gate's still frames at the last tick. */
  still: number | null;
}

const keyOf = (camera: string, worker: string): string => `${camera}\0${worker}`;

export class CareWatch extends TickingWatch {
  /** Before the cameras: cameras stopping for good are no silence. */
  readonly closes = 'before-cameras';
  readonly #o: CareWatchOptions;
  readonly #now: () => number;
  readonly #watched = new Map<string, Watched>();
  /** Per camera: frames published at the last tick, and since when that count has not moved. */
  readonly #published = new Map<string, { count: number; since: number }>();
  /** Per streaming camera: its capture's new pictures at the last tick, and since when that count has not moved. */
  readonly #pictures = new Map<string, { count: number; since: number }>();

  constructor(options: CareWatchOptions) {
    super(options.intervalMs ?? 1_000);
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** A result that reached the outputs: fresh for its worker's alarm. */
  onResult(e: ResultEvent): void {
    if (e.shared) return;
    const w = this.#watched.get(keyOf(e.camera, e.worker));
    if (w === undefined) return;
    this.#tell(w, w.alarm.result(e.captureTime, this.#now()));
  }

  /** A result the output fence withheld: a cause while no fresh one came after it. */
  onWithheld(e: ResultEvent): void {
    if (e.shared) return;
    const w = this.#watched.get(keyOf(e.camera, e.worker));
    if (w !== undefined) w.withheldAt = Math.max(w.withheldAt ?? Number.NEGATIVE_INFINITY, e.captureTime);
  }

  /** One judgement of every watched worker (the timer's; tests call it with their own clock). */
  override tick(): void {
    const now = this.#now();
    const seen = new Set<string>();
    for (const camera of this.#o.cameras()) {
      const watched = watchedWorkers(camera.config);
      if (watched.length === 0) continue;
      const stats = camera.stats();
      const stallMs = (Math.min(...watched.map((w) => w.care.silenceSeconds)) * 1000) / 2;
      const cameraCauses = this.#cameraCauses(camera.id, stats, now, stallMs);
      const pictureSince = this.#pictureSince(camera.id, stats, now);
      for (const { id, care } of watched) {
        const figures = stats.workers[id];
        if (figures === undefined) continue; // not built (refused): nothing runs to watch
        const key = keyOf(camera.id, id);
        seen.add(key);
        let w = this.#watched.get(key);
        if (w === undefined || w.alarm.silenceMs !== care.silenceSeconds * 1000) {
          if (w !== undefined) this.#forget(w);
          w = { camera: camera.id, worker: id, alarm: new SilenceAlarm(care.silenceSeconds * 1000, now), withheldAt: null, still: null };
          this.#watched.set(key, w);
        }
        w.alarm.picture(pictureSince);
        const frozen: SilenceCause[] =
          pictureSince !== null && now - pictureSince >= w.alarm.silenceMs
            ? [{ reason: 'frozen', detail: 'the camera repeats one picture: frames come, and none of them changed' }]
            : [];
        const causes = [...cameraCauses, ...frozen, ...this.#workerCauses(w, figures)];
        const still = figures.gate?.still ?? null;
        if (still !== null && w.still !== null && still > w.still && causes.length === 0) this.#tell(w, w.alarm.result(now, now));
        w.still = still;
        this.#tell(w, w.alarm.judge(now, causes));
      }
    }
    for (const [key, w] of this.#watched) if (!seen.has(key)) this.#forget(w);
    for (const counts of [this.#published, this.#pictures])
      for (const camera of counts.keys()) if (![...seen].some((k) => k.startsWith(`${camera}\0`))) counts.delete(camera);
  }

  /** Every watched camera's silence now, by camera id. */
  status(): Record<string, CameraSilence> {
    const byCamera = new Map<string, Record<string, WorkerSilence>>();
    const now = this.#now();
    for (const w of this.#watched.values()) {
      let workers = byCamera.get(w.camera);
      if (workers === undefined) byCamera.set(w.camera, (workers = {}));
      workers[w.worker] = this.#silenceOf(w, now);
    }
    return Object.fromEntries([...byCamera].map(([camera, workers]) => [camera, cameraSilence(workers)]));
  }

  #cameraCauses(camera: string, stats: Pick<CameraStats, 'state' | 'capture'>, now: number, stallMs: number): SilenceCause[] {
    const code = stats.capture?.lastError?.code ?? null;
    if (stats.state !== 'streaming') {
      this.#published.delete(camera);
      if (code === 'ERR_SOURCE_STALLED' && (stats.state === 'backoff' || stats.state === 'connecting'))
        return [{ reason: 'decoder-stalled', detail: `the decoder gave no frame for its stall timeout: reopening the source (${code})` }];
      return [{ reason: 'camera-down', detail: `camera ${stats.state}${code === null || stats.state === 'disabled' ? '' : ` (${code})`}` }];
    }
    const count = stats.capture?.framesPublished ?? 0;
    const last = this.#published.get(camera);
    if (last === undefined || last.count !== count) {
      this.#published.set(camera, { count, since: now });
      return [];
    }
    return now - last.since >= stallMs
      ? [{ reason: 'decoder-stalled', detail: `streaming, and no frame published for ${Math.round(stallMs / 1000)} s or more` }]
      : [];
  }

  /** Since when a streaming camera's picture has not changed (the tick its count last moved at); null: not known. */
  #pictureSince(camera: string, stats: Pick<CameraStats, 'state' | 'capture'>, now: number): number | null {
    const count = stats.capture?.pictureChanges;
    if (stats.state !== 'streaming' || count === undefined) {
      this.#pictures.delete(camera);
      return null;
    }
    const last = this.#pictures.get(camera);
    if (last !== undefined && last.count === count) return last.since;
    this.#pictures.set(camera, { count, since: now });
    return now;
  }

  #workerCauses(w: Watched, f: CameraStats['workers'][string]): SilenceCause[] {
    const causes: SilenceCause[] = [];
    if (f.model !== null) {
      const state = this.#o.modelState(f.model);
      if (state !== 'ready') causes.push({ reason: 'model-down', detail: `model ${f.model} ${state ?? 'missing'}` });
    }
    if (f.state !== 'running')
      causes.push({ reason: 'worker-down', detail: `worker ${f.state}${f.lastExit?.code === undefined ? '' : ` (${f.lastExit.code})`}` });
    if (w.withheldAt !== null && w.withheldAt > w.alarm.state.freshAt)
      causes.push({ reason: 'results-withheld', detail: "the output fence withholds its results (this node is fenced off the camera's cluster)" });
    return causes;
  }

  #forget(w: Watched): void {
    this.#watched.delete(keyOf(w.camera, w.worker));
    if (!w.alarm.state.silent) return;
    // Its alarm goes with it: whoever showed it raised is told it is over.
    const silence = { ...this.#silenceOf(w, this.#now()), silent: false, since: null };
    this.#o.emit(this.#event(w, 'cleared', silence));
  }

  #tell(w: Watched, change: SilenceChange | null): void {
    if (change === null) return;
    this.#o.emit(this.#event(w, change.kind, this.#silenceOf(w, this.#now())));
  }

  #event(w: Watched, kind: SilenceChange['kind'], silence: WorkerSilence): SilenceEvent {
    // A worker forgotten is out of status() already: the camera's silence is its other workers'.
    const cameraNow = this.status()[w.camera] ?? cameraSilence({});
    return { type: 'silence', at: Date.now(), camera: w.camera, worker: w.worker, state: kind, silence, cameraSilence: cameraNow };
  }

  #silenceOf(w: Watched, now: number): WorkerSilence {
    const s = w.alarm.state;
    const wall = (t: number): number => Math.round(Date.now() - (now - t));
    return {
      silent: s.silent,
      reason: s.reason,
      detail: s.detail,
      silenceSeconds: w.alarm.silenceMs / 1000,
      lastResultAt: s.anyResult ? wall(s.freshAt) : null,
      since: s.since === null ? null : wall(s.since),
    };
  }
}
