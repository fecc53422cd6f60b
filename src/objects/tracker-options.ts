/**
 * The tracker's options: what each means, its default, and the one check of them (an InvalidArgumentError for a
 * value out of its domain), shared by the tracker and whoever checks a config before making one.
 */
import { TRACKER_DEFAULTS } from '../internal/tracker-defaults.js';
import { InvalidArgumentError } from '../supplier/index.js';

export interface TrackerOptions {
  /** Matches before a track is confirmed (reported). Default 3. */
  readonly confirmHits?: number;
  /** Capture time without a match that ends a track (seconds). Default 2. */
  readonly endAfterSeconds?: number;
  /** First-pass detections, and the least score that starts a track. Default 0.5. */
  readonly highScore?: number;
  /** Detections below are ignored; between lowScore and highScore they only keep tracks alive. Default 0.1. */
  readonly lowScore?: number;
  /** Least IoU with a track's predicted box for a first-pass match. Default 0.2. */
  readonly matchIou?: number;
  /** Least IoU for a low-score (second-pass) match. Default 0.5, ByteTrack's. */
  readonly lowMatchIou?: number;
  /** Fastest an object is expected to move (frame sizes per second): a new track's search radius per second. Default 1. */
  readonly maxSpeed?: number;
  /** Measurement noise as a fraction of box size. Default 0.05. */
  readonly measurementStd?: number;
  /** Acceleration noise, box sizes per second². Default 2. */
  readonly accelerationStd?: number;
  /** Least IoU with where it settled for an object to count as not moving. Default 0.8. */
  readonly stationaryIou?: number;
  /** Time not moving before an object is stationary (seconds). Default 10. */
  readonly stationarySeconds?: number;
  /**
   * For a worker given frames only now and then (a motion-gated worker): the longest time between its frames
   * while it tracks objects (seconds). Set, a track ends endAfterSeconds after the first frame that missed it,
   * not after endAfterSeconds of capture time; unset (default), every frame is a look and time alone ends tracks.
   */
  readonly recheckSeconds?: number;
  /**
   * A track its motion model's prediction does not match is also matched by where it was last seen (IoU), and
   * else to the nearest high-score detection within one box size of it: an object that stops at once, as a
   * person who falls does, keeps its id where the prediction carries its box on past it. Always on with
   * recheckSeconds. Default false.
   */
  readonly matchLastSeen?: boolean;
  /** Makes a track's id; given the capture time (ms) of its first detection. Default: t1, t2, … */
  readonly newId?: (time: number) => string;
}

const DEFAULTS = TRACKER_DEFAULTS;

export type ResolvedTrackerOptions = { -readonly [K in keyof typeof DEFAULTS]: number } & { recheckSeconds: number | null; matchLastSeen: boolean };

/** The options with their defaults, checked (InvalidArgumentError for one out of its domain). */
export function resolveTrackerOptions(options: TrackerOptions = {}): ResolvedTrackerOptions {
  const out: ResolvedTrackerOptions = { ...DEFAULTS, recheckSeconds: null, matchLastSeen: false };
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`tracker option ${key} must be a number ≥ 0`);
    out[key] = value;
  }
  if (!Number.isInteger(out.confirmHits) || out.confirmHits < 1) throw new InvalidArgumentError('tracker option confirmHits must be an integer ≥ 1');
  if (out.endAfterSeconds <= 0) throw new InvalidArgumentError('tracker option endAfterSeconds must be > 0');
  const recheck = options.recheckSeconds;
  if (recheck !== undefined) {
    if (typeof recheck !== 'number' || !Number.isFinite(recheck) || recheck <= 0)
      throw new InvalidArgumentError('tracker option recheckSeconds must be a number > 0');
    out.recheckSeconds = recheck;
  }
  if (options.matchLastSeen !== undefined) {
    if (typeof options.matchLastSeen !== 'boolean') throw new InvalidArgumentError('tracker option matchLastSeen must be true or false');
    out.matchLastSeen = options.matchLastSeen;
  }
  for (const key of ['highScore', 'lowScore', 'matchIou', 'lowMatchIou', 'stationaryIou'] as const)
    if (out[key] > 1) throw new InvalidArgumentError(`tracker option ${key} must be in 0–1`);
  if (out.lowScore > out.highScore) throw new InvalidArgumentError('tracker option lowScore must not exceed highScore');
  return out;
}
