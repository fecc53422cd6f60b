/**
 * CameraMotion: a camera's own motion detection (issue 44, ADR 0066). One reader of one of the camera's streams
 * (its smallest unless the config names one) reads every frame at a small size (the capture converts at the
 * reader's size, ADR 0031), measures it with the MotionDetector (ADR 0064), and keeps what its gated workers ask:
 * is there motion near a capture time, was there a whole-picture change they have not run on, is what it knows
 * recent at all. Onsets (motion after a still spell) and whole-picture changes are told to listeners at once, so a
 * gate can open its worker's slot without waiting for maxFps.
 *
 * Contract: start() and close() are idempotent; a frame the detector cannot read (a jpeg stream) stops the
 * measuring with one warning and leaves `live()` false, so gates pass every frame instead of none. Nothing here
 * throws into the camera.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../internal/logger.js';
import { MotionDetector, type MotionResult, type MotionState } from '../../motion/index.js';
import type { Box, Polygon } from '../../objects/index.js';
import { LumaReader } from '../../pictures/index.js';
import type { FrameSupplier, Subscription } from '../../supplier/index.js';
import { followFrames } from './follow-frames.js';

/** Motion seen this recently (capture time) still counts as motion: a slow walker's frames flicker between states. */
export const MOTION_HOLD_MS = 500;
/** No motion for this long (capture time) ends a spell of motion: the camera's `motion` event goes off. */
export const MOTION_OFF_MS = 3_000;
/** What the detector knows is older than this: gates pass every frame (the stream is down, or slower than this). */
export const MOTION_STALE_MS = 2_000;

export interface CameraMotionStats {
  readonly stream: string;
  /** The last frame's state, null before the first. */
  readonly state: MotionState | null;
  /** The last frame's share of the picture that moved (0–1) and its moving regions. */
  readonly share: number;
  readonly regions: number;
  /** Frames measured, with motion, with a whole-picture change, over the camera's life. */
  readonly frames: number;
  readonly motionFrames: number;
  readonly wholeFrames: number;
  /** Onsets: motion after a still spell. */
  readonly onsets: number;
  /** Share of the frames measured that had motion, 0–1: the camera's activity. */
  readonly activity: number;
  /** Mean regions on a frame with motion. */
  readonly regionsPerMotionFrame: number;
  /** Mean CPU time of one frame's measure (luma and detector), ms. */
  readonly msPerFrame: number;
  /** Why it does not measure (a frame it cannot read), else null. */
  readonly problem: string | null;
}

/** The last frame's motion as a live view draws it: where the picture moved, and when that frame was captured. */
export interface MotionReading {
  readonly stream: string;
  readonly state: MotionState;
  /** Share of the picture that moved (0–1). */
  readonly share: number;
  /** Moving regions, [x1, y1, x2, y2] in 0–1 frame coordinates (the same on every stream of the camera), largest first. */
  readonly regions: readonly (readonly number[])[];
  /** The frame's capture time: monotonic (performance.now()) and wall clock. */
  readonly captureTime: number;
  readonly wallTime: number;
}

/** Frames with motion whose regions are kept for regionsNear(): a second at 10 fps and more. */
const RECENT_REGIONS = 16;

/** Gaps between frames from this long on are not the stream's rate (a stall, a restart): left out of its frame interval. */
const INTERVAL_GAP_MAX_MS = 1_000;

/** onset: motion after MOTION_HOLD_MS without; whole: a whole-picture change; end: MOTION_OFF_MS without motion. */
export type MotionListener = (kind: 'onset' | 'whole' | 'end', captureTime: number) => void;

export interface CameraMotionOptions {
  readonly camera: string;
  readonly stream: string;
  readonly supplier: FrameSupplier;
  readonly readSize: number;
  readonly masks: readonly Polygon[];
  readonly log: Logger;
}

export class CameraMotion implements AsyncDisposable {
  readonly stream: string;
  readonly #o: CameraMotionOptions;
  readonly #detector: MotionDetector;
  readonly #listeners = new Set<MotionListener>();
  #subscription: Subscription | null = null;
  #running: Promise<void> | null = null;
  #closed = false;
  #last: MotionResult | null = null;
  #lastAt = Number.NEGATIVE_INFINITY;
  #lastWall = 0;
  #lastMotionAt = Number.NEGATIVE_INFINITY;
  /** Its stream's frame interval (ms, capture time), a moving mean of the gaps between frames measured; null before two. */
  #intervalMs: number | null = null;
  #wholeCount = 0;
  #frames = 0;
  #motionFrames = 0;
  #onsets = 0;
  /** In a spell of motion (from its first frame to MOTION_OFF_MS after its last). */
  #spell = false;
  #regionSum = 0;
  #cpuMs = 0;
  #problem: string | null = null;
  /** Frames to luma (src/pictures): gray, nv12 and yuv420p as they are, packed RGB converted into its one buffer. */
  readonly #luma = new LumaReader();
  /** The last frames with motion: their capture time and moving regions. */
  readonly #recent: { readonly at: number; readonly regions: readonly Box[] }[] = [];

  constructor(options: CameraMotionOptions) {
    this.#o = options;
    this.stream = options.stream;
    this.#detector = new MotionDetector({ masks: options.masks });
  }

  start(): void {
    if (this.#running !== null || this.#closed) return;
    const subscription = this.#o.supplier.subscribe(`${this.#o.camera}:motion`, { criticality: 'best-effort', readSize: { longSide: this.#o.readSize } });
    this.#subscription = subscription;
    this.#running = this.#loop(subscription);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await this.#subscription?.close();
    await this.#running;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Called at each onset and whole-picture change, with the capture time of its frame; returns the unsubscribe. */
  listen(listener: MotionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Whether it knows the picture near capture time `at`: it measures, and its last frame is recent. */
  live(at: number): boolean {
    return this.#problem === null && this.#lastAt >= at - MOTION_STALE_MS;
  }

  /** Motion seen at or after `at − MOTION_HOLD_MS`. */
  movingAt(at: number): boolean {
    return this.#lastMotionAt >= at - MOTION_HOLD_MS;
  }

  /**
   * The moving regions (0–1) of the frame with motion captured nearest `at`, within MOTION_HOLD_MS of it; none
   * when there is no such frame. What a gated worker's crops are cut around (ADR 0069).
   */
  regionsNear(at: number): readonly Box[] {
    let nearest: { readonly at: number; readonly regions: readonly Box[] } | null = null;
    for (const r of this.#recent) {
      if (Math.abs(r.at - at) > MOTION_HOLD_MS) continue;
      if (nearest === null || Math.abs(r.at - at) < Math.abs(nearest.at - at)) nearest = r;
    }
    return nearest?.regions ?? [];
  }

  /**
   * Its stream's frame interval (ms of capture time) as measured, or null before two frames: how far apart two of
   * the camera's frames of one instant may be dated (half of it) and still be one instant (the gate's onset, ADR 0118).
   */
  get frameIntervalMs(): number | null {
    return this.#intervalMs;
  }

  /** Whole-picture changes so far (a gate runs once per change it has not seen). */
  get wholeCount(): number {
    return this.#wholeCount;
  }

  /** The last frame measured: its state, share and regions; null before the first (or once it cannot measure). */
  reading(): MotionReading | null {
    const last = this.#last;
    if (last === null || this.#problem !== null) return null;
    return { stream: this.stream, state: last.state, share: last.share, regions: last.regions, captureTime: this.#lastAt, wallTime: this.#lastWall };
  }

  stats(): CameraMotionStats {
    const last = this.#last;
    return {
      stream: this.stream,
      state: last?.state ?? null,
      share: last?.share ?? 0,
      regions: last?.regions.length ?? 0,
      frames: this.#frames,
      motionFrames: this.#motionFrames,
      wholeFrames: this.#wholeCount,
      onsets: this.#onsets,
      activity: this.#frames === 0 ? 0 : this.#motionFrames / this.#frames,
      regionsPerMotionFrame: this.#motionFrames === 0 ? 0 : this.#regionSum / this.#motionFrames,
      msPerFrame: this.#frames === 0 ? 0 : this.#cpuMs / this.#frames,
      problem: this.#problem,
    };
  }

  #loop(subscription: Subscription): Promise<void> {
    return followFrames(
      subscription,
      () => this.#closed,
      async (frame) => {
        const started = performance.now();
        const plane = this.#luma.planeOf(frame);
        if (plane === null) {
          this.#problem = `motion reads raw frames, not ${frame.format}: set the camera's capture.output.format to gray, nv12, rgb24 or bgr24`;
          this.#o.log.warn({ stream: this.stream, format: frame.format }, this.#problem);
          await subscription.close();
          return false;
        }
        let result: MotionResult;
        try {
          result = this.#detector.detect(plane);
        } catch (error) {
          this.#o.log.warn({ stream: this.stream, err: (error as Error).message }, 'motion: a frame could not be measured');
          return true;
        }
        this.#cpuMs += performance.now() - started;
        this.#lastWall = frame.wallTime;
        this.#record(result, frame.captureTime);
        return true;
      },
    );
  }

  #record(result: MotionResult, at: number): void {
    this.#frames++;
    const gap = at - this.#lastAt;
    // A gap of a second or more is the stream stalled or restarted, not its rate.
    if (gap > 0 && gap < INTERVAL_GAP_MAX_MS) this.#intervalMs = this.#intervalMs === null ? gap : 0.9 * this.#intervalMs + 0.1 * gap;
    this.#last = result;
    this.#lastAt = at;
    if (result.state === 'whole') {
      this.#wholeCount++;
      this.#tell('whole', at);
    } else if (result.state === 'motion') {
      this.#motionFrames++;
      this.#regionSum += result.regions.length;
      this.#recent.push({ at, regions: result.regions });
      if (this.#recent.length > RECENT_REGIONS) this.#recent.shift();
      const onset = !this.movingAt(at);
      this.#lastMotionAt = at;
      this.#spell = true;
      if (onset) {
        this.#onsets++;
        this.#tell('onset', at);
      }
    } else if (this.#spell && at - this.#lastMotionAt >= MOTION_OFF_MS) {
      this.#spell = false;
      this.#tell('end', at);
    }
  }

  #tell(kind: 'onset' | 'whole' | 'end', at: number): void {
    for (const listener of this.#listeners) {
      try {
        listener(kind, at);
      } catch (error) {
        this.#o.log.error({ err: (error as Error).message }, 'a motion listener threw');
      }
    }
  }
}
