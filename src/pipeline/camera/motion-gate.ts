/**
 * The motion gate (issue 44, ADR 0066, ADR 0081): what a gated model worker reads. It reads the worker's own source
 * (its subscription at maxFps, or its stream switch) and hands the worker only the frames its model should run on:
 * - a frame with motion near its capture time (CameraMotion.movingAt) that the model has not looked at: motion
 *   that stays inside where it moved when the model last ran (a thing that stopped and is still being learnt into
 *   the background, the room it uncovered on leaving, a screen's flicker) was looked at already, and is looked
 *   at again only after `stationaryMs`; maxFps still caps the rate while things move;
 * - the first frame with motion after a still spell at once: an onset opens the source's slot (openSlot), and its
 *   request goes `urgent` to the model server (urgentOf, ADR 0082), ahead of other cameras' requests waiting there;
 * - once per whole-picture change (a change of light the tone map could not explain): at most one model run;
 * - while an object it tracks was missed by its last run, one frame per `lostMs`, so the object is found again
 *   or its track ends (the tracker of a gated worker ends tracks on misses, never on still time: ADR 0081);
 * - while a fall worker's person is down (a fall to confirm, lying, an alert open: `watched`), one frame per
 *   `lostMs` however still they lie (ADR 0132): a fall is confirmed, and the person found up or gone, in time;
 * - while it tracks objects and nothing moves, a stationary recheck: the first frame once motion stopped (what
 *   moved has stopped or gone: the model looks which), then one frame per `stationaryMs`;
 * - the first frame of each incarnation (something may already be there), and every frame while motion is not
 *   known (no measure for MOTION_STALE_MS: a stream down, a format it cannot read): the gate fails open.
 * Every other frame is `still`: read and let pass, its own reason, never a drop, a gated frame or a miss. The
 * source's stats leave still frames out of `delivered`, so objectives and drop alerts count only the frames the
 * model should have run on.
 *
 * MotionGateStats live as long as the worker (every incarnation): runs by reason, still frames (model runs saved, and
 * of them those with motion the model had looked at), onsets and onset → first detection latency (capture of the
 * onset frame to the first result with a detection), model requests sent urgent, and with regions (ADR 0069,
 * gate-regions.ts) the frames run on crops, the model calls and the whole-frame runs.
 */
import { performance } from 'node:perf_hooks';
import { SampleWindow } from '../../internal/sample-window.js';
import type { Box } from '../../objects/index.js';
import { framesUntilEnd, type Frame, type FrameSource, type ReadOptions, type ReadSize, type WorkerStats } from '../../supplier/index.js';
import type { CameraMotion } from './camera-motion.js';
import type { GateReason } from './gate-reasons.js';
import type { GateRegions, RegionStats } from './gate-regions.js';

/**
 * An onset or a whole-picture change opens the slot for frames captured from this share of the motion stream's frame
 * interval before its frame on: the worker's stream's frame of the same instant (main's, dated a little apart), never
 * the frame before it, which shows nothing of what moved (ADR 0118). Before the interval is measured, of this one.
 */
const EVENT_SLACK_SHARE = 0.5;
const DEFAULT_INTERVAL_MS = 100;

/** What the gate knows of one object its worker tracks. */
export interface GateTrack {
  /** Its latest box, 0–1. */
  readonly box: Box;
  /** Capture time of the first run since its last sighting that missed it; null when the last run found it. */
  readonly missedSince: number | null;
  /** A fall worker's person down (ADR 0132): looked at every lostMs, however still. */
  readonly watched?: boolean;
}

/**
 * Margins around where the model last looked at motion: a region's jitter between frames (share of the frame: two
 * of the detector's working pixels at 160 wide; and of the region's size). A walker's region outgrows them within
 * a frame or two.
 */
const LOOKED_MARGIN = 0.0125;
const LOOKED_MARGIN_SHARE = 0.05;

/** Whether `inner` lies inside `outer` grown by the margins. */
function within(inner: Box, outer: Box): boolean {
  const mx = LOOKED_MARGIN + LOOKED_MARGIN_SHARE * (outer[2] - outer[0]);
  const my = LOOKED_MARGIN + LOOKED_MARGIN_SHARE * (outer[3] - outer[1]);
  return inner[0] >= outer[0] - mx && inner[1] >= outer[1] - my && inner[2] <= outer[2] + mx && inner[3] <= outer[3] + my;
}

export interface MotionGateStats {
  readonly on: 'motion';
  readonly stationaryMs: number;
  /** While a tracked object was missed by the last run, one run per this many ms (half the tracker's endAfterSeconds). */
  readonly lostMs: number;
  /** Frames handed to the model worker, by why. */
  readonly runs: Readonly<Record<GateReason, number>>;
  /** Frames the model did not run on because nothing moved and nothing was due a recheck: model runs saved. */
  readonly still: number;
  /** Of the still frames, those with motion that stayed where the model had looked at it since its last run. */
  readonly stillLookedMotion: number;
  /** Share of the frames read that were still, 0–1. */
  readonly savedShare: number;
  /** Onsets seen, those answered with a detection, and onset → first detection latency (ms). */
  readonly onsets: number;
  readonly detectedOnsets: number;
  readonly onsetLatencyMs: { readonly last: number | null; readonly p50: number | null; readonly p99: number | null };
  /**
   * Model requests sent `urgent` (protocol 3, ADR 0082): an onset frame's, each of its crops with regions. A model
   * server of protocol 3 serves them before the requests waiting there and counts them in its pong (`urgent`).
   */
  readonly urgentRequests: number;
  /** Its run on regions (ADR 0069): crops per frame, model calls, whole-frame runs; null when it runs on whole frames (regions: off, a remote model). */
  readonly regions: RegionStats | null;
}

/** One gated worker's gate, over its life: it makes each incarnation's source. */
export interface MotionGateOptions {
  readonly motion: CameraMotion;
  /** While it tracks objects and nothing moves, one run per this many ms. */
  readonly stationaryMs: number;
  /** While a tracked object was missed by the last run, one run per this many ms. Default stationaryMs. */
  readonly lostMs?: number;
  /** The objects the worker tracks now. */
  readonly tracked: () => readonly GateTrack[];
}

export class MotionGate {
  readonly stationaryMs: number;
  readonly lostMs: number;
  readonly #motion: CameraMotion;
  readonly #tracked: () => readonly GateTrack[];
  readonly #runs: Record<GateReason, number> = { first: 0, motion: 0, onset: 0, whole: 0, lost: 0, down: 0, stationary: 0, unknown: 0 };
  #still = 0;
  #stillLookedMotion = 0;
  #onsets = 0;
  #detectedOnsets = 0;
  #urgentRequests = 0;
  /** The capture time of the onset not yet answered with a detection. */
  #pendingOnset: number | null = null;
  #lastLatency: number | null = null;
  readonly #latencies = new SampleWindow(256);
  /** Why each frame handed over went: its regions depend on it (motion: where it moves; stationary: where objects are). */
  readonly #reasons = new WeakMap<Frame, GateReason>();
  #regions: GateRegions | null = null;

  constructor(options: MotionGateOptions) {
    this.#motion = options.motion;
    this.stationaryMs = options.stationaryMs;
    this.lostMs = options.lostMs ?? options.stationaryMs;
    this.#tracked = options.tracked;
  }

  /** Its run on regions (ADR 0069), whose figures are the gate's. Once, before the worker starts. */
  useRegions(regions: GateRegions): void {
    this.#regions = regions;
  }

  /** Its run on regions, when it has one. */
  get regions(): GateRegions | null {
    return this.#regions;
  }

  /** Why `frame` went to the worker (undefined for a frame that did not pass this gate). */
  reasonOf(frame: Frame): GateReason | undefined {
    return this.#reasons.get(frame);
  }

  /**
   * Whether the model request about `frame` goes urgent: the onset's frame (each of its crops). Asked once per request
   * as it goes out (the model-client worker's urgentOf): each true is a request sent urgent, counted.
   */
  urgentOf(frame: Frame): boolean {
    if (this.#reasons.get(frame) !== 'onset') return false;
    this.#urgentRequests++;
    return true;
  }

  /** The source an incarnation reads: `inner` (its subscription or stream switch) behind the gate. */
  source(inner: FrameSource): FrameSource {
    return new GatedSource(inner, this, this.#motion);
  }

  /** A result of the worker: the first with a detection after an onset gives the onset's latency. */
  onResult(captureTime: number, output: unknown): void {
    const onset = this.#pendingOnset;
    if (onset === null || captureTime < onset) return;
    const detections = (output as { detections?: unknown } | null)?.detections;
    if (!Array.isArray(detections) || detections.length === 0) return;
    this.#pendingOnset = null;
    this.#detectedOnsets++;
    this.#lastLatency = Math.max(0, performance.now() - onset);
    this.#latencies.record(this.#lastLatency);
  }

  stats(): MotionGateStats {
    const runs = Object.values(this.#runs).reduce((a, b) => a + b, 0);
    return {
      on: 'motion',
      stationaryMs: this.stationaryMs,
      lostMs: this.lostMs,
      runs: { ...this.#runs },
      still: this.#still,
      stillLookedMotion: this.#stillLookedMotion,
      savedShare: runs + this.#still === 0 ? 0 : this.#still / (runs + this.#still),
      onsets: this.#onsets,
      detectedOnsets: this.#detectedOnsets,
      onsetLatencyMs: { last: this.#lastLatency, p50: this.#latencies.percentile(50), p99: this.#latencies.percentile(99) },
      urgentRequests: this.#urgentRequests,
      regions: this.#regions?.stats() ?? null,
    };
  }

  /** @internal An onset reached the gate: its latency is counted from its frame's capture. */
  onset(at: number): void {
    this.#onsets++;
    this.#pendingOnset ??= at;
  }

  /** @internal Whether the frame goes to the model, and why; `state` is the incarnation's. */
  judge(frame: Frame, state: IncarnationState): GateReason | 'still' {
    const at = frame.captureTime;
    const motion = this.#motion;
    const moving = state.lastPassAt !== null && motion.live(at) && motion.movingAt(at);
    const regions = moving ? motion.regionsNear(at) : [];
    let reason: GateReason | 'still';
    let lookedMotion = false;
    if (state.lastPassAt === null) reason = 'first';
    else if (!motion.live(at)) reason = 'unknown';
    else if (state.awaiting !== null && at < state.awaiting - this.eventSlackMs()) reason = 'still';
    else if (motion.wholeCount > state.wholeSeen) reason = 'whole';
    else if (moving && state.onsetOpen) reason = 'onset';
    else if (moving && !(lookedMotion = this.#looked(regions, at, state))) reason = 'motion';
    else reason = this.#recheck(at, state, moving);
    if (reason === 'still') {
      this.#still++;
      if (lookedMotion) this.#stillLookedMotion++;
      return reason;
    }
    this.#runs[reason]++;
    this.#reasons.set(frame, reason);
    state.lastPassAt = at;
    state.wholeSeen = motion.wholeCount;
    state.onsetOpen = false;
    state.awaiting = null;
    // Where it moves as the model looks: motion that stays inside it later has been looked at.
    state.looked = moving ? regions : [];
    state.passedMoving = moving;
    return reason;
  }

  /**
   * How long before an onset's or a whole-picture change's frame a frame of the worker's stream may be captured and
   * still be of its instant: half the motion stream's frame interval.
   */
  eventSlackMs(): number {
    return EVENT_SLACK_SHARE * (this.#motion.frameIntervalMs ?? DEFAULT_INTERVAL_MS);
  }

  /**
   * Motion the model has looked at: every moving region lies inside where it moved when the model last ran, and
   * that run is less than stationaryMs old. Motion with no region to compare is new.
   */
  #looked(regions: readonly Box[], at: number, state: IncarnationState): boolean {
    if (regions.length === 0 || state.looked.length === 0 || state.lastPassAt === null) return false;
    if (at - state.lastPassAt >= this.stationaryMs) return false;
    return regions.every((r) => state.looked.some((l) => within(r, l)));
  }

  /**
   * No new motion: a recheck of what it tracks when one is due, else still. Due: a missed object every lostMs; a
   * person down (a fall worker's) every lostMs; the first frame once motion stopped (what moved has stopped or
   * gone: the model looks which); then every stationaryMs.
   */
  #recheck(at: number, state: IncarnationState, moving: boolean): GateReason | 'still' {
    const tracks = this.#tracked();
    if (tracks.length === 0 || state.lastPassAt === null) return 'still';
    const since = at - state.lastPassAt;
    if (since >= this.lostMs && tracks.some((t) => t.missedSince !== null)) return 'lost';
    if (since >= this.lostMs && tracks.some((t) => t.watched === true)) return 'down';
    if (state.passedMoving && !moving) return 'stationary';
    return since >= this.stationaryMs ? 'stationary' : 'still';
  }
}

interface IncarnationState {
  lastPassAt: number | null;
  wholeSeen: number;
  /** An onset opened the slot and no frame has gone since. */
  onsetOpen: boolean;
  /**
   * The capture time of the newest onset or whole-picture change no frame has gone for yet, else null: a frame
   * captured before it (less eventSlackMs()) shows nothing of it and is let pass, the slot kept open for one that does.
   */
  awaiting: number | null;
  /** Where it moved when the last frame went to the model (0–1 boxes; none when nothing moved then). */
  looked: readonly Box[];
  /** Whether it moved when the last frame went to the model: once it stops, the model looks again. */
  passedMoving: boolean;
}

/** One incarnation's gated source. */
class GatedSource implements FrameSource {
  readonly workerId: string;
  readonly #inner: FrameSource;
  readonly #gate: MotionGate;
  readonly #unlisten: () => void;
  readonly #state: IncarnationState;
  /** Still frames of this incarnation: out of the inner source's delivered. */
  #still = 0;

  constructor(inner: FrameSource, gate: MotionGate, motion: CameraMotion) {
    this.workerId = inner.workerId;
    this.#inner = inner;
    this.#gate = gate;
    this.#state = { lastPassAt: null, wholeSeen: motion.wholeCount, onsetOpen: false, awaiting: null, looked: [], passedMoving: false };
    this.#unlisten = motion.listen((kind, at) => {
      if (kind === 'end') return;
      if (kind === 'onset') {
        gate.onset(at);
        this.#state.onsetOpen = true;
      }
      this.#state.awaiting = Math.max(this.#state.awaiting ?? at, at);
      this.#openForEvent();
    });
  }

  get closed(): boolean {
    return this.#inner.closed;
  }

  async read(options?: ReadOptions): Promise<Frame | null> {
    for (;;) {
      const frame = await this.#inner.read(options);
      if (frame === null) return null;
      if (this.#gate.judge(frame, this.#state) !== 'still') return frame;
      this.#still++;
      // A frame from before the onset (or change) it waits for: the slot stays open for the frame of its instant.
      if (this.#state.awaiting !== null) this.#openForEvent();
    }
  }

  /** The frame of the onset (or of the change) goes now, not at the next maxFps slot: from its instant on. */
  #openForEvent(): void {
    if (this.#state.awaiting !== null) this.#inner.openSlot?.(this.#state.awaiting - this.#gate.eventSlackMs());
  }

  frames(options?: ReadOptions): AsyncGenerator<Frame, void, undefined> {
    return framesUntilEnd(this, options);
  }

  [Symbol.asyncIterator](): AsyncGenerator<Frame, void, undefined> {
    return this.frames();
  }

  retain(frame: Frame): () => void {
    return this.#inner.retain(frame);
  }

  touch(): void {
    this.#inner.touch();
  }

  stats(): WorkerStats {
    const s = this.#inner.stats();
    return { ...s, delivered: Math.max(0, s.delivered - this.#still) };
  }

  async close(): Promise<void> {
    this.#unlisten();
    await this.#inner.close();
  }

  setReadSize(size: ReadSize): void {
    this.#inner.setReadSize?.(size);
  }

  freshSlots(): void {
    this.#inner.freshSlots?.();
  }

  turnWaited(waitedMs: number, callMs: number, random?: () => number): void {
    this.#inner.turnWaited?.(waitedMs, callMs, random);
  }

  openSlot(since: number): void {
    this.#inner.openSlot?.(since);
  }
}
