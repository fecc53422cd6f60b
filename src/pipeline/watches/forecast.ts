/**
 * Admission before it hurts (ADR 0042): what adding or replacing a camera
 * would do to the models it shares, predicted from what the system measures
 * now: each model's capacity (its threads over its inference time), every
 * reader's demand (its maxFps, at most its camera's rate), and the max-min
 * fair shares a model server's round-robin gives them (fairShares). Each
 * model worker's predicted rate, skip share and whether it would then miss
 * its objective.
 *
 * Contract: pure and side-effect free: a forecast changes nothing. Rates are
 * predicted, ages are not (they depend on arrival phases no figure holds);
 * a model with no measured inference time yet, and any worker without a
 * model, is listed with why it has no prediction.
 *
 * A motion-gated worker (ADR 0066) asks its rate only while something moves:
 * a new one's demand is its rate times the expected activity share (the
 * dry run's `activity`, default DEFAULT_ACTIVITY), a running one's its rate
 * times the share of its frames it ran on (its gate's figures). For each
 * model, how many more cameras like this one its capacity takes beside the
 * others' demand.
 *
 * Decoding (ADR 0070): a camera that decodes keyframes only (`decode:
 * keyframes`, keyframesOnly) trades age for CPU, and the forecast says how
 * much from its keyframe interval (measured for a running camera, probed
 * otherwise) and frame rate: the mean age it adds to each frame a worker
 * takes ((keyframe interval − frame interval) ÷ 2, at most twice that), the
 * share of frames not decoded, and per worker with an age budget the share of
 * its results the added age would put over it (the newest keyframe is
 * uniformly 0 to one interval old), held to its skip tolerance. `auto` and
 * every frame add none.
 *
 * Streams (ADR 0114): a camera of several says what each of its streams would
 * cost to decode and which choice would be cheaper (`streams`, from
 * stream-forecast.ts; the caller gathers the figures).
 */
import { keyframesAddedAgeMs } from '../../capture/index.js';
import { demandLabels, fairShares, modelCapacityFps, type FreshnessObjective, type ModelLoad, type CallCost, type WorkerProfile } from '../base/index.js';
import type { WatchedSystem } from './freshness-watch.js';
import { modelLoad } from './model-demands.js';
import type { StreamsForecast } from './stream-forecast.js';

/** The share of the time something moves in front of a camera, unless a dry run says: about an eighth (a quiet home). */
export const DEFAULT_ACTIVITY = 0.125;

/** The camera as it would be: its id, its frame rate, and its workers' profiles. */
export interface CameraChange {
  readonly camera: string;
  /** Frames per second it would deliver, and where that figure comes from. */
  readonly fps: number;
  readonly fpsFrom: 'measured' | 'configured' | 'probed' | 'assumed';
  readonly workers: readonly (Pick<WorkerProfile, 'id' | 'model' | 'objective'> & { readonly maxFps: number | null; readonly gated?: boolean })[];
  /** The expected share of the time something moves (0–1), for its gated workers. Default DEFAULT_ACTIVITY. */
  readonly activity?: number;
  /** What it would decode: its `decode` setting (keyframesOnly is `keyframes`) and its keyframe interval, where known. Default auto. */
  readonly decode?: {
    readonly setting: 'auto' | 'all' | 'nonref' | 'keyframes';
    readonly keyframeIntervalMs: number | null;
    readonly keyframeIntervalFrom: 'measured' | 'probed' | null;
  };
  /** A camera of several streams: what each would cost to decode and the cheaper choice (ADR 0114). */
  readonly streams?: StreamsForecast | null;
}

/** What the camera's decoding would add to its frames' age and save (ADR 0070). */
export interface DecodeForecast {
  readonly setting: 'auto' | 'all' | 'nonref' | 'keyframes';
  readonly keyframeIntervalMs: number | null;
  readonly keyframeIntervalFrom: 'measured' | 'probed' | null;
  /** The mean and most age it would add to each frame a worker takes, ms; null: keyframes only at an interval not known. */
  readonly addedAgeMs: number | null;
  readonly maxAddedAgeMs: number | null;
  /** The share of the stream's frames it would not decode (keyframes only: all but one a keyframe interval); null: not known. */
  readonly framesNotDecodedShare: number | null;
  /** In words. */
  readonly note: string;
}

export interface WorkerForecast {
  readonly camera: string | null;
  readonly worker: string;
  readonly model: string | null;
  /** Frames per second it asks, and would get; null: no prediction (see `note`). */
  readonly demandFps: number | null;
  readonly fps: number | null;
  /** Share of the frames offered it would miss, and as measured now (null: new, or not measured). */
  readonly skipRatio: number | null;
  readonly skipRatioNow: number | null;
  readonly objective: FreshnessObjective;
  /** True: it would miss its objective's skip tolerance; null: no prediction. */
  readonly wouldMiss: boolean | null;
  readonly note: string | null;
  /** A motion-gated worker: the share of its rate it is expected to ask (the activity); null when not gated. */
  readonly activity: number | null;
  /** The mean age its camera's decoding would add to each frame it takes, ms (ADR 0070); null: not known. */
  readonly addedAgeMs: number | null;
  /** The share of its results the added age would put over its age budget; null: no budget, or not known. */
  readonly lateShare: number | null;
}

export interface ModelForecast {
  readonly threads: number;
  readonly inferenceMs: number;
  /** Frames a second it serves with the readers it would have (a batched model's at the batches they make). */
  readonly capacityFps: number;
  /** Frames one call takes at most (1: per frame), and a batched model's call cost learned from its answers (ADR 0128). */
  readonly maxBatch: number;
  readonly callCost: CallCost | null;
  /** Demand label (camera, or camera/worker) → frames per second it gets now and would get. */
  readonly shares: Readonly<Record<string, { readonly demandFps: number; readonly nowFps: number | null; readonly thenFps: number }>>;
}

export interface Forecast {
  readonly dryRun: true;
  readonly camera: string;
  readonly change: 'camera-added' | 'camera-replaced';
  readonly cameraFps: number;
  readonly cameraFpsFrom: CameraChange['fpsFrom'];
  readonly models: Readonly<Record<string, ModelForecast | { readonly unknown: string }>>;
  readonly workers: readonly WorkerForecast[];
  /** Workers that would miss their objective (camera/worker, or shared/worker). */
  readonly wouldMiss: readonly string[];
  /** The activity share its gated workers were forecast at. */
  readonly activity: number;
  /**
   * Per model it uses: how many cameras like this one (its workers' demand on that model) the model's capacity takes
   * beside every other camera's demand, this one included; null while the model's inference time is not known.
   */
  readonly camerasLikeThis: Readonly<Record<string, number | null>>;
  /** What its decoding would add to each frame's age and save (ADR 0070). */
  readonly decode: DecodeForecast;
  /** A camera of several streams: what each would cost to decode, for whom, and the cheaper choice (ADR 0114); null for one stream. */
  readonly streams: StreamsForecast | null;
}

interface Reader {
  readonly camera: string | null;
  readonly worker: string;
  readonly cameraOfFrames: string;
  readonly model: string;
  readonly demandFps: number;
  readonly objective: FreshnessObjective;
  readonly skipRatioNow: number | null;
  readonly isNew: boolean;
  /** A gated worker: the share of its rate it asks. */
  readonly activity: number | null;
}

/**
 * The forecast of `change` over the system as `stats` shows it. `profile` answers for the workers running now;
 * `objectiveOf` gives a running worker's objective (ADR 0042).
 */
export function forecastCamera(
  stats: WatchedSystem,
  change: CameraChange,
  profile: (camera: string | null, worker: string) => WorkerProfile | undefined,
): Forecast {
  const replaced = Object.hasOwn(stats.cameras, change.camera);
  const expected = change.activity ?? DEFAULT_ACTIVITY;
  const decode = decodeForecast(change);
  // The added age against a new worker's age budget: the newest keyframe is uniformly 0 to one interval old.
  const ageOf = (objective: FreshnessObjective): { addedAgeMs: number | null; lateShare: number | null } => {
    const key = decode.setting === 'keyframes' ? decode.keyframeIntervalMs : null;
    const late = objective.maxAgeMs === null || key === null ? null : Math.max(0, 1 - objective.maxAgeMs / key);
    return { addedAgeMs: decode.addedAgeMs, lateShare: late === null ? null : Math.round(late * 1000) / 1000 };
  };
  const lateMisses = (objective: FreshnessObjective, late: number | null): boolean =>
    late !== null && objective.maxSkipRatio !== null && late > objective.maxSkipRatio + 1e-9;
  /** The readers of models now; `then` holds the same but for the changed camera's own workers, replaced by its new ones. */
  const now: Reader[] = [];
  for (const [camera, c] of Object.entries(stats.cameras)) {
    for (const [worker, f] of Object.entries(c.workers)) {
      const p = profile(camera, worker);
      if (f.model === null || p === undefined || !f.enabled) continue;
      // A gated worker asks for the share of its frames it has run on (or the default before it has read any).
      const gate = f.gate ?? null;
      const ran = gate === null ? 0 : Object.values(gate.runs).reduce((a, b) => a + b, 0);
      const activity = gate === null ? null : ran + gate.still === 0 ? DEFAULT_ACTIVITY : ran / (ran + gate.still);
      now.push({
        camera,
        worker,
        cameraOfFrames: camera,
        model: f.model,
        activity,
        demandFps: Math.min(f.maxFps ?? Infinity, c.capture?.fps ?? 0) * (activity ?? 1),
        objective: p.objective,
        skipRatioNow: f.objective?.lastMinute.skipRatio ?? null,
        isNew: false,
      });
    }
  }
  const sharedNow: Reader[] = [];
  for (const [worker, f] of Object.entries(stats.shared)) {
    const p = profile(null, worker);
    if (f.model === null || p === undefined || !f.enabled) continue;
    for (const camera of f.cameras) {
      const reader = {
        camera: null,
        worker,
        cameraOfFrames: camera,
        model: f.model,
        objective: p.objective,
        skipRatioNow: f.objective?.lastMinute.skipRatio ?? null,
        isNew: false,
        activity: null,
      };
      // A shared worker reads a camera once it exists: now only the running ones, then the changed one at its new rate.
      if (Object.hasOwn(stats.cameras, camera)) now.push({ ...reader, demandFps: Math.min(f.maxFps ?? Infinity, stats.cameras[camera]?.capture?.fps ?? 0) });
      if (camera === change.camera) sharedNow.push({ ...reader, demandFps: Math.min(f.maxFps ?? Infinity, change.fps) });
    }
  }
  const readers: Reader[] = [...now.filter((r) => !(r.cameraOfFrames === change.camera)), ...sharedNow];
  const noModel: WorkerForecast[] = [];
  for (const w of change.workers) {
    if (w.model === null) {
      noModel.push({
        camera: change.camera,
        worker: w.id,
        model: null,
        demandFps: null,
        fps: null,
        skipRatio: null,
        skipRatioNow: null,
        objective: w.objective,
        wouldMiss: null,
        note: 'no model: its pace is measured once it runs',
        activity: null,
        ...ageOf(w.objective),
      });
      continue;
    }
    const activity = w.gated === true ? expected : null;
    readers.push({
      camera: change.camera,
      worker: w.id,
      cameraOfFrames: change.camera,
      model: w.model,
      activity,
      demandFps: Math.min(w.maxFps ?? Infinity, change.fps) * (activity ?? 1),
      objective: w.objective,
      skipRatioNow: null,
      isNew: true,
    });
  }

  const labelsOf = (all: readonly Reader[]): Map<Reader, string> => demandLabels(all, (r) => ({ model: r.model, camera: r.cameraOfFrames, worker: r.worker }));
  const models: Record<string, ModelForecast | { readonly unknown: string }> = {};
  const camerasLikeThis: Record<string, number | null> = {};
  const thenShare = new Map<Reader, number | null>();
  for (const model of new Set([...readers, ...now].map((r) => r.model))) {
    const mine = readers.filter((r) => r.model === model);
    if (mine.length === 0) continue;
    const load = modelLoad(model, stats.models[model], undefined);
    if (load === null) {
      models[model] = { unknown: `${model} has answered no request yet: its inference time is not known` };
      camerasLikeThis[model] = null;
      for (const r of mine) thenShare.set(r, null);
      continue;
    }
    // A batched model serves more the more readers fill its calls (ADR 0128): its capacity is read at each count.
    const asking = (list: readonly Reader[]): number => list.filter((r) => r.demandFps > 0).length;
    const capacityFps = modelCapacityFps(load, asking(mine));
    const ownReaders = mine.filter((r) => r.cameraOfFrames === change.camera);
    const own = ownReaders.reduce((a, r) => a + r.demandFps, 0);
    const others = mine.filter((r) => r.cameraOfFrames !== change.camera).reduce((a, r) => a + r.demandFps, 0);
    if (own > 0) camerasLikeThis[model] = camerasThatFit(load, others, asking(mine) - asking(ownReaders), own, asking(ownReaders));
    const before = now.filter((r) => r.model === model);
    const labelsBefore = labelsOf(before);
    const labelsThen = labelsOf(mine);
    const nowShares = fairShares(modelCapacityFps(load, asking(before)), new Map(before.map((r) => [labelsBefore.get(r)!, r.demandFps])));
    const thenShares = fairShares(capacityFps, new Map(mine.map((r) => [labelsThen.get(r)!, r.demandFps])));
    const shares: Record<string, { demandFps: number; nowFps: number | null; thenFps: number }> = {};
    for (const r of mine) {
      const label = labelsThen.get(r)!;
      const then = thenShares.get(label) ?? 0;
      thenShare.set(r, then);
      shares[label] = { demandFps: r.demandFps, nowFps: nowShares.get(label) ?? null, thenFps: then };
    }
    models[model] = {
      threads: load.threads,
      inferenceMs: load.inferenceMs,
      capacityFps,
      maxBatch: load.maxBatch ?? 1,
      callCost: load.cost ?? null,
      shares,
    };
  }

  // A shared worker's cameras together; a camera worker alone.
  const byWorker = new Map<string, Reader[]>();
  for (const r of readers) {
    const key = `${r.camera ?? ''}\0${r.worker}`;
    const list = byWorker.get(key);
    if (list === undefined) byWorker.set(key, [r]);
    else list.push(r);
  }
  const workers: WorkerForecast[] = [];
  for (const list of byWorker.values()) {
    const first = list[0]!;
    const shares = list.map((r) => thenShare.get(r));
    const known = shares.every((s) => s !== null && s !== undefined);
    const demand = list.reduce((a, r) => a + r.demandFps, 0);
    const fps = known ? shares.reduce<number>((a, s) => a + (s ?? 0), 0) : null;
    const skipRatio = fps === null ? null : demand <= 0 ? 0 : Math.max(0, 1 - fps / demand);
    const tolerance = first.objective.maxSkipRatio;
    // The changed camera's own workers carry its decoding's age; the others keep theirs.
    const age = first.cameraOfFrames === change.camera && first.camera !== null ? ageOf(first.objective) : { addedAgeMs: null, lateShare: null };
    const lateMiss = lateMisses(first.objective, age.lateShare);
    workers.push({
      camera: first.camera,
      worker: first.worker,
      model: first.model,
      demandFps: demand,
      fps,
      skipRatio,
      skipRatioNow: first.skipRatioNow,
      objective: first.objective,
      wouldMiss: lateMiss || (skipRatio === null ? null : tolerance !== null && skipRatio > tolerance + 1e-9),
      note: joinNotes(
        known
          ? first.activity === null
            ? null
            : `gated by motion: asks its rate ${Math.round(first.activity * 1000) / 10} % of the time`
          : 'its model has no measured inference time yet',
        lateNote(decode, age.lateShare, first.objective),
      ),
      activity: first.activity,
      ...age,
    });
  }
  for (const w of noModel) {
    const late = lateNote(decode, w.lateShare, w.objective);
    workers.push(lateMisses(w.objective, w.lateShare) ? { ...w, wouldMiss: true, note: joinNotes(w.note, late) } : { ...w, note: joinNotes(w.note, late) });
  }
  return {
    dryRun: true,
    camera: change.camera,
    change: replaced ? 'camera-replaced' : 'camera-added',
    cameraFps: change.fps,
    cameraFpsFrom: change.fpsFrom,
    models,
    workers,
    wouldMiss: workers.filter((w) => w.wouldMiss === true).map((w) => `${w.camera ?? 'shared'}/${w.worker}`),
    activity: expected,
    camerasLikeThis,
    decode,
    streams: change.streams ?? null,
  };
}

/**
 * How many cameras like this one (`own` frames a second from `ownReaders` readers) a model takes beside the others'
 * demand: the most m whose demand fits the capacity at the readers it would then have (a batched model's grows
 * with them, to its max_batch; counted up to MAX_CAMERAS_LIKE_THIS).
 */
export function camerasThatFit(load: ModelLoad, others: number, otherReaders: number, own: number, ownReaders: number): number {
  // Per frame the capacity does not depend on its readers.
  if ((load.maxBatch ?? 1) <= 1 || load.cost == null) return Math.floor(Math.max(0, modelCapacityFps(load, 1) - others) / own + 1e-9);
  let m = 0;
  while (m < MAX_CAMERAS_LIKE_THIS && others + (m + 1) * own <= modelCapacityFps(load, otherReaders + (m + 1) * ownReaders) + 1e-9) m++;
  return m;
}

/** The most cameras a forecast counts: a model that would take more is said to take this many. */
export const MAX_CAMERAS_LIKE_THIS = 10_000;

const joinNotes = (...notes: (string | null)[]): string | null => notes.filter((n): n is string => n !== null).join('; ') || null;

function lateNote(decode: DecodeForecast, late: number | null, objective: FreshnessObjective): string | null {
  if (late === null || decode.addedAgeMs === null || decode.addedAgeMs <= 0) return null;
  return `its camera decodes keyframes only: about ${Math.round(decode.addedAgeMs)} ms added to each frame's age, so ${Math.round(late * 100)} % of its results over its ${objective.maxAgeMs} ms budget (set decode: auto)`;
}

/** The age and the frames decoding as configured would trade (ADR 0070). */
export function decodeForecast(change: Pick<CameraChange, 'fps' | 'decode'>): DecodeForecast {
  const setting = change.decode?.setting ?? 'auto';
  const key = change.decode?.keyframeIntervalMs ?? null;
  const from = change.decode?.keyframeIntervalFrom ?? null;
  const frameMs = change.fps > 0 ? 1000 / change.fps : null;
  if (setting !== 'keyframes') {
    const note =
      setting === 'auto'
        ? 'auto: decodes what each take needs, skipping only between takes: no age added'
        : setting === 'all'
          ? 'every frame decoded: no age added'
          : 'non-reference frames skipped: nothing refers to them, no age added';
    return {
      setting,
      keyframeIntervalMs: key,
      keyframeIntervalFrom: from,
      addedAgeMs: 0,
      maxAddedAgeMs: 0,
      framesNotDecodedShare: setting === 'all' ? 0 : null,
      note,
    };
  }
  if (key === null)
    return {
      setting,
      keyframeIntervalMs: null,
      keyframeIntervalFrom: null,
      addedAgeMs: null,
      maxAddedAgeMs: null,
      framesNotDecodedShare: null,
      note: 'keyframes only, at a keyframe interval not known (the source could not be probed): each frame a worker takes is on average half an interval older',
    };
  const added = keyframesAddedAgeMs(key, frameMs);
  const share = frameMs === null ? null : Math.max(0, 1 - frameMs / key);
  return {
    setting,
    keyframeIntervalMs: key,
    keyframeIntervalFrom: from,
    addedAgeMs: Math.round(added),
    maxAddedAgeMs: Math.round(2 * added),
    framesNotDecodedShare: share === null ? null : Math.round(share * 1000) / 1000,
    note: `keyframes only, a keyframe every ${Math.round(key)} ms (${from ?? 'given'}): about ${Math.round(added)} ms added to each frame's age (up to ${Math.round(2 * added)} ms)${share === null ? '' : ` for ${Math.round(share * 100)} % of frames not decoded`}; decode: auto adds none`,
  };
}
