/**
 * Long file: association, the occlusion correction and the ending rules act on one track's state each frame, so they stay together.
 * A multi-object tracker on capture time. Latest-frame delivery drops frames
 * by design, so the tracker never counts frames: each update carries the
 * frame's capture time, motion is predicted over the real time since the
 * track's last step (motion.ts), a new track's first match is searched for
 * within the distance it could have moved in that time, tracks are confirmed
 * after `confirmHits` matches and ended after `endAfterSeconds` of capture
 * time without one. A frame older than the last one seen is ignored (the
 * state never goes back in time).
 *
 * Association, per label, as ByteTrack does it: detections scored at least
 * `highScore` are matched first to every track by IoU with its predicted box;
 * tracks left over get a second chance with the detections scored between
 * `lowScore` and `highScore` (an occluded object scores low; matching it
 * keeps its id rather than losing the track); detections left over that
 * score at least `highScore` start tentative tracks. A track seen once has no
 * velocity yet: it is matched to the nearest detection within its reach (the
 * speed limit times the real gap) and dies at its first miss; seen twice, it
 * waits `endAfterSeconds` like a confirmed one. Matching is greedy on IoU, best pair first: with predictions on real
 * time the right pair is the best overlap, and greedy costs a sort of the
 * overlapping pairs only.
 *
 * An object passing behind another shows only its part in the open: a box
 * shorter than predicted by about what another seen box covers of it
 * corrects the motion model at the predicted size, placed by its edge away
 * from the other, so the velocity survives the occlusion (ADR 0054).
 *
 * A worker that is not given every frame (a motion-gated one, ADR 0081) sees
 * a still scene through long gaps without frames, which are not misses: with
 * `recheckSeconds` set, a track ends `endAfterSeconds` after the first frame
 * that missed it (and was not matched since), never for a gap alone; a camera
 * that gave no frame at all for recheckSeconds + endAfterSeconds went quiet,
 * and expire() ends its tracks then. Such a worker's looks are far apart, so
 * an object that stood still and starts to move (no velocity to carry its
 * box) may be past matchIou one look later: a known track left unmatched is
 * given the nearest new high-score detection within one box size of where it
 * was last seen.
 *
 * Pure: no timers, no clock of its own. Ids come from `newId`, given the
 * capture time of the track's first detection.
 */
import { InvalidArgumentError } from '../supplier/index.js';
import type { Keypoint } from '../care/index.js';
import { boxArea, iou, type Box } from './geometry.js';
import { MotionModel } from './motion.js';
import { resolveTrackerOptions, type ResolvedTrackerOptions, type TrackerOptions } from './tracker-options.js';

export { resolveTrackerOptions, type ResolvedTrackerOptions, type TrackerOptions };

export interface Detection {
  readonly label: string;
  /** 0–1. */
  readonly score: number;
  readonly box: Box;
  /** A pose model's 17 keypoints (COCO order, [x, y, score] normalised), when it gives them. */
  readonly keypoints?: readonly Keypoint[];
}

/** What the tracker reports of a track. Times are capture times (ms). */
export interface Track {
  readonly id: string;
  readonly label: string;
  /** The latest matched detection's score and box. */
  readonly score: number;
  readonly box: Box;
  /** The best score seen, and the box it was seen with. */
  readonly topScore: number;
  readonly topBox: Box;
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** Centre velocity, frame widths and heights per second. */
  readonly velocity: readonly [number, number];
  readonly hits: number;
  readonly confirmed: boolean;
  readonly stationary: boolean;
  /** Capture time of the first frame since its last sighting that did not match it; null when the last frame did. */
  readonly missedSince: number | null;
  /** The latest matched detection's pose keypoints; null when it had none. */
  readonly keypoints: readonly Keypoint[] | null;
}

export interface TrackerUpdate {
  /** Capture time of the frame (ms). */
  readonly time: number;
  /** Confirmed tracks matched in this frame (the newly confirmed included). */
  readonly matched: readonly Track[];
  /** Tracks confirmed by this frame. */
  readonly confirmed: readonly Track[];
  /** Confirmed tracks that ended (unmatched for endAfterSeconds). */
  readonly ended: readonly Track[];
  /** Every confirmed track still alive, matched or not. */
  readonly active: readonly Track[];
  /** True when the frame was older than the last one and ignored. */
  readonly stale: boolean;
}

class TrackState {
  readonly id: string;
  readonly label: string;
  readonly motion: MotionModel;
  score: number;
  box: Box;
  topScore: number;
  topBox: Box;
  readonly firstSeen: number;
  lastSeen: number;
  hits = 1;
  confirmed = false;
  /** Where it settled, and since when (capture ms). */
  anchor: Box;
  anchorSince: number;
  stationary = false;
  missedSince: number | null = null;
  keypoints: readonly Keypoint[] | null;

  constructor(id: string, d: Detection, time: number, options: ResolvedTrackerOptions) {
    this.id = id;
    this.label = d.label;
    this.motion = new MotionModel(d.box, time, options);
    this.score = this.topScore = d.score;
    this.box = this.topBox = this.anchor = d.box;
    this.firstSeen = this.lastSeen = this.anchorSince = time;
    this.keypoints = d.keypoints ?? null;
  }

  view(): Track {
    return {
      id: this.id,
      label: this.label,
      score: this.score,
      box: this.box,
      topScore: this.topScore,
      topBox: this.topBox,
      firstSeen: this.firstSeen,
      lastSeen: this.lastSeen,
      velocity: this.motion.velocity(),
      hits: this.hits,
      confirmed: this.confirmed,
      stationary: this.stationary,
      missedSince: this.missedSince,
      keypoints: this.keypoints,
    };
  }
}

interface Pair {
  readonly track: TrackState;
  readonly det: number;
  readonly score: number;
}

/** The area two boxes share. */
function intersection(a: Box, b: Box): number {
  return Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])) * Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
}

/**
 * One side of a box seen beside another object: [lo, hi] seen, [plo, phi] predicted, [olo, ohi] the other's seen
 * side. When the seen side is shorter than predicted by about what the other covers of the prediction, it is the
 * part in the open: the predicted length, placed by the seen edge away from the other. Otherwise as seen: a box
 * a little off beside a neighbour is noise, not an occlusion, and reading it as one split tracks in crowds.
 */
function span(lo: number, hi: number, plo: number, phi: number, olo: number, ohi: number): [number, number] {
  const size = phi - plo;
  const missing = size - (hi - lo);
  const covered = Math.max(0, Math.min(phi, ohi) - Math.max(plo, olo));
  if (missing <= 0 || covered <= 0 || Math.abs(missing - covered) > 0.25 * covered + 0.03 * size) return [lo, hi];
  return olo + ohi < lo + hi ? [hi - size, hi] : [lo, lo + size];
}

let counter = 0;
const defaultId = (): string => `t${++counter}`;

export class Tracker {
  readonly options: ResolvedTrackerOptions;
  readonly #newId: (time: number) => string;
  #tracks: TrackState[] = [];
  #time = Number.NEGATIVE_INFINITY;

  constructor(options: TrackerOptions = {}) {
    this.options = resolveTrackerOptions(options);
    this.#newId = options.newId ?? defaultId;
  }

  /** Capture time of the latest frame taken (ms), or -Infinity before the first. */
  get time(): number {
    return this.#time;
  }

  /** Confirmed tracks alive now. */
  active(): Track[] {
    return this.#tracks.filter((t) => t.confirmed).map((t) => t.view());
  }

  /** Takes a frame's detections, seen at capture time `time` (ms). */
  update(time: number, detections: readonly Detection[]): TrackerUpdate {
    if (!Number.isFinite(time)) throw new InvalidArgumentError("a frame's capture time must be a finite number");
    if (time < this.#time) return { time, matched: [], confirmed: [], ended: [], active: this.active(), stale: true };
    const o = this.options;
    const sparse = o.recheckSeconds !== null;
    const lastSeenToo = sparse || o.matchLastSeen;
    // Every frame a look: time alone ends a track. Frames now and then: only misses do, once matching is known.
    const ended = sparse ? [] : this.#expire(time);
    const dets = detections.filter((d) => d.score >= o.lowScore && boxArea(d.box) > 0);
    const taken = new Uint8Array(dets.length);
    const matched = new Map<TrackState, Detection>();
    const high: number[] = [];
    const low: number[] = [];
    for (let i = 0; i < dets.length; i++) (dets[i]!.score >= o.highScore ? high : low).push(i);

    for (const t of this.#tracks) t.motion.predict(time);
    const withVelocity = this.#tracks.filter((t) => t.motion.hasVelocity);
    const firstSighting = this.#tracks.filter((t) => !t.motion.hasVelocity);
    // 1: tracks whose motion is known, by IoU with the prediction, high scores
    this.#assign(this.#iouPairs(withVelocity, dets, high, o.matchIou), dets, time, taken, matched);
    // 2: ByteTrack's second pass: what is left of them, low scores, stricter IoU
    this.#assign(
      this.#iouPairs(
        withVelocity.filter((t) => !matched.has(t)),
        dets,
        low,
        o.lowMatchIou,
      ),
      dets,
      time,
      taken,
      matched,
    );
    // 3: tracks seen once: no velocity yet, so the nearest high score within reach
    this.#assign(this.#reachPairs(firstSighting, dets, high, time, this.#speedReach, sameArea), dets, time, taken, matched);
    // 4: frames now and then: an object that stood still and starts to move has no velocity to carry its box, and
    // one look later it may be past matchIou (a person who gets up, seen twice a second): the nearest high score
    // left within one box size of where it was last seen is still it, not a new object. So is one that stopped at
    // once (a person who fell) where its prediction carried on past it (matchLastSeen).
    if (lastSeenToo) {
      const left = withVelocity.filter((t) => !matched.has(t));
      this.#assign(this.#reachPairs(left, dets, high, time, longerSide, sameAreaOrLength), dets, time, taken, matched);
    }
    // Corrected once every match is known: a box beside another object is read against what is seen of it now.
    const seen = [...matched].sort((a, b) => a[1].box[0] - b[1].box[0]);
    let widest = 0;
    for (const [, d] of seen) widest = Math.max(widest, d.box[2] - d.box[0]);
    for (const [t, d] of matched) this.#observe(t, d, time, seen, widest);

    const confirmed: Track[] = [];
    const survivors: TrackState[] = [];
    const limit = o.endAfterSeconds * 1000;
    for (const t of this.#tracks) {
      if (matched.has(t)) {
        t.missedSince = null;
        if (!t.confirmed && t.hits >= o.confirmHits) {
          t.confirmed = true;
          confirmed.push(t.view());
        }
        survivors.push(t);
        continue;
      }
      t.missedSince ??= time;
      // a tentative track seen twice waits like a confirmed one
      if (!t.confirmed && t.hits <= 1) continue;
      if (sparse && time - t.missedSince >= limit) {
        if (t.confirmed) ended.push(t.view());
        continue;
      }
      survivors.push(t);
    }
    this.#tracks = survivors;
    for (const i of high) {
      if (taken[i] === 1) continue;
      const t = new TrackState(this.#newId(time), dets[i]!, time, o);
      if (o.confirmHits <= 1) {
        t.confirmed = true;
        confirmed.push(t.view());
        matched.set(t, dets[i]!);
      }
      this.#tracks.push(t);
    }
    this.#time = time;
    const matchedViews: Track[] = [];
    const active: Track[] = [];
    for (const t of this.#tracks) {
      if (!t.confirmed) continue;
      const v = t.view();
      active.push(v);
      if (matched.has(t)) matchedViews.push(v);
    }
    return { time, matched: matchedViews, confirmed, ended, active, stale: false };
  }

  /**
   * Ends the tracks unmatched for endAfterSeconds at `time`, with no frame (the camera went quiet). With
   * recheckSeconds, a gap is not a miss: every track ends once no frame came for recheckSeconds + endAfterSeconds.
   */
  expire(time: number): Track[] {
    if (!(time >= this.#time)) return [];
    const recheck = this.options.recheckSeconds;
    if (recheck === null) return this.#expire(time);
    if (time - this.#time < (recheck + this.options.endAfterSeconds) * 1000) return [];
    return this.endAll();
  }

  /** Ends every track now (the camera went away): the confirmed ones are returned. */
  endAll(): Track[] {
    const out = this.#tracks.filter((t) => t.confirmed).map((t) => t.view());
    this.#tracks = [];
    return out;
  }

  #expire(time: number): Track[] {
    const limit = this.options.endAfterSeconds * 1000;
    const ended: Track[] = [];
    this.#tracks = this.#tracks.filter((t) => {
      if (time - t.lastSeen < limit) return true;
      if (t.confirmed) ended.push(t.view());
      return false;
    });
    return ended;
  }

  /**
   * The box the motion model is corrected with: the part of an object in the open, as an object passing behind
   * another is seen (its box shrinks and its centre moves against its motion), is read as the object at its
   * predicted size by its seen edge away from the other; a model corrected with the part turned its velocity
   * around and lost the object once it was hidden. `seen` is the frame's matches by left edge.
   */
  #correctionBox(t: TrackState, box: Box, seen: readonly (readonly [TrackState, Detection])[], widest: number): Box {
    if (!t.motion.hasVelocity) return box;
    const predicted = t.motion.box();
    // Only a box smaller than predicted can be a partial view: most are not, and cost no search.
    if (box[2] - box[0] >= predicted[2] - predicted[0] && box[3] - box[1] >= predicted[3] - predicted[1]) return box;
    // The seen boxes by left edge: those overlapping the prediction start within the widest one's width of it.
    const from = predicted[0] - widest;
    let lo = 0;
    let hi = seen.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seen[mid]![1].box[0] < from) lo = mid + 1;
      else hi = mid;
    }
    let occluder: Box | null = null;
    let most = 0;
    for (let k = lo; k < seen.length; k++) {
      const [other, d] = seen[k]!;
      if (d.box[0] >= predicted[2]) break;
      if (other === t) continue;
      const overlap = intersection(d.box, predicted);
      if (overlap > most) {
        most = overlap;
        occluder = d.box;
      }
    }
    if (occluder === null) return box;
    const [x0, x1] = span(box[0], box[2], predicted[0], predicted[2], occluder[0], occluder[2]);
    const [y0, y1] = span(box[1], box[3], predicted[1], predicted[3], occluder[1], occluder[3]);
    return [x0, y0, x1, y1];
  }

  #iouPairs(tracks: readonly TrackState[], dets: readonly Detection[], candidates: readonly number[], least: number): Pair[] {
    const pairs: Pair[] = [];
    if (tracks.length === 0 || candidates.length === 0) return pairs;
    // candidates by left edge: a track's box can only overlap those starting
    // within the widest candidate's width of its own left edge, up to its right edge
    const byLeft = [...candidates].sort((i, j) => dets[i]!.box[0] - dets[j]!.box[0]);
    let widest = 0;
    for (const i of byLeft) widest = Math.max(widest, dets[i]!.box[2] - dets[i]!.box[0]);
    const lastSeenToo = this.options.recheckSeconds !== null || this.options.matchLastSeen;
    for (const t of tracks) {
      const predicted = t.motion.box();
      const from = lastSeenToo ? Math.min(predicted[0], t.box[0]) - widest : predicted[0] - widest;
      let lo = 0;
      let hi = byLeft.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (dets[byLeft[mid]!]!.box[0] < from) lo = mid + 1;
        else hi = mid;
      }
      for (let k = lo; k < byLeft.length; k++) {
        const i = byLeft[k]!;
        const d = dets[i]!;
        if (d.box[0] >= (lastSeenToo ? Math.max(predicted[2], t.box[2]) : predicted[2])) break;
        if (d.label !== t.label) continue;
        // Frames now and then: an object may have stopped in the gap its motion model carries it across; where
        // it was last seen is as good a guess (a gated worker's next frame after a gap comes once motion stopped,
        // a person who fell stopped at once: matchLastSeen).
        const overlap = lastSeenToo ? Math.max(iou(predicted, d.box), iou(t.box, d.box)) : iou(predicted, d.box);
        if (overlap >= least && overlap > 0) pairs.push({ track: t, det: i, score: overlap });
      }
    }
    return pairs;
  }

  /** A once-seen track's reach: the speed limit over the real gap, plus half the box (a detector's centre wobbles by that much). */
  readonly #speedReach = (box: Box, dt: number): number => this.options.maxSpeed * dt + longerSide(box) / 2;

  /**
   * Pairs of a track and a detection its centre could have reached (`reachOf` its last box and the gap) and whose
   * box could be the same object's (`sameSize`); nearer is better.
   */
  #reachPairs(
    tracks: readonly TrackState[],
    dets: readonly Detection[],
    candidates: readonly number[],
    time: number,
    reachOf: (box: Box, dt: number) => number,
    sameSize: (a: Box, b: Box) => boolean,
  ): Pair[] {
    const pairs: Pair[] = [];
    for (const t of tracks) {
      const a = t.box;
      const reach = reachOf(a, (time - t.lastSeen) / 1000);
      for (const i of candidates) {
        const d = dets[i]!;
        if (d.label !== t.label) continue;
        const b = d.box;
        const dx = (a[0] + a[2] - b[0] - b[2]) / 2;
        const dy = (a[1] + a[3] - b[1] - b[3]) / 2;
        const distance = Math.hypot(dx, dy);
        if (distance <= reach && sameSize(a, b)) pairs.push({ track: t, det: i, score: -distance });
      }
    }
    return pairs;
  }

  #assign(pairs: Pair[], dets: readonly Detection[], time: number, taken: Uint8Array, matched: Map<TrackState, Detection>): void {
    pairs.sort((x, y) => y.score - x.score);
    for (const p of pairs) {
      if (taken[p.det] === 1 || matched.has(p.track)) continue;
      taken[p.det] = 1;
      matched.set(p.track, dets[p.det]!);
    }
  }

  #observe(t: TrackState, d: Detection, time: number, seen: readonly (readonly [TrackState, Detection])[], widest: number): void {
    t.motion.update(this.#correctionBox(t, d.box, seen, widest), time);
    t.hits++;
    t.score = d.score;
    t.box = d.box;
    t.keypoints = d.keypoints ?? null;
    t.lastSeen = time;
    if (d.score > t.topScore) {
      t.topScore = d.score;
      t.topBox = d.box;
    }
    if (iou(t.anchor, d.box) >= this.options.stationaryIou) {
      t.stationary = time - t.anchorSince >= this.options.stationarySeconds * 1000;
    } else {
      t.anchor = d.box;
      t.anchorSince = time;
      t.stationary = false;
    }
  }
}

/** A box's longer side: a known track's reach when frames are sparse (one box size from where it was last seen). */
function longerSide(box: Box): number {
  return Math.max(box[2] - box[0], box[3] - box[1]);
}

/** A box of an area within 4× of another's (its sides within about 2×): more is another object. */
function sameArea(a: Box, b: Box): boolean {
  const ratio = boxArea(b) / Math.max(boxArea(a), 1e-12);
  return ratio < 4 && ratio > 0.25;
}

/**
 * A box of an area within 4× of another's, or whose longer side is within 2× of its: the same body, maybe turned. A
 * person who fell or got up keeps their length while the box turns from tall to wide, so its area can change more
 * than 4× (a body lying along the floor is a thin box), most of all where the last box before it was drawn a little
 * tall; a box drawn short keeps its area closer.
 */
function sameAreaOrLength(a: Box, b: Box): boolean {
  const ratio = longerSide(b) / Math.max(longerSide(a), 1e-12);
  return sameArea(a, b) || (ratio < 2 && ratio > 0.5);
}
