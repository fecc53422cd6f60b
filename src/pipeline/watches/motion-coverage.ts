/**
 * Whether each camera's motion keeps up with its stream (ADR 0115): a motion-gated worker is offered only the frames
 * its gate lets through, so when the camera's motion measures few of its stream's frames (the machine starved) the
 * gate sees little of what moves and the worker runs on nothing and misses nothing. The objective watch reads this
 * to say so: a gated worker whose camera's motion measured under MOTION_COVERAGE_MIN of its stream's frames over the
 * span misses its objective.
 *
 * Contract: fed the cameras' figures once a look (look()), each camera's frames published on its motion's stream
 * against the frames its motion measured, per second (an ObjectiveWindow: published offered, not measured missed);
 * figures that start over (a camera replaced) start its window over; a camera not seen in a look is forgotten. A
 * motion that cannot read its stream's format (its gates fail open) is never behind. No clock of its own.
 */
import { MIN_FRAMES_FOR_VERDICT, ObjectiveWindow, type MotionBehind } from '../base/index.js';

/** A gated worker's camera's motion measured under this share of its stream's frames: the gate is blind, the worker starves. */
export const MOTION_COVERAGE_MIN = 0.5;

/** What a camera's figures say of its motion: the stream it reads and the frames it measured; the streams' frames published. */
export interface MotionCoverageStats {
  readonly capture: { readonly framesPublished?: number } | null;
  readonly motion?: { readonly stream: string; readonly frames: number; readonly problem: string | null } | null;
  readonly streams?: Readonly<Record<string, { readonly framesPublished: number } | null>> | null;
}

interface Camera {
  readonly window: ObjectiveWindow;
  frames: number;
  published: number;
  seenAt: number;
}

export class MotionCoverage {
  readonly #cameras = new Map<string, Camera>();
  readonly #keepMs: number;

  /** `keepMs`: how long each camera's window keeps its figures (the longest span asked of behind()). */
  constructor(keepMs: number) {
    this.#keepMs = keepMs;
  }

  /** One look at every camera's figures, at `now` (monotonic ms). */
  look(now: number, cameras: Readonly<Record<string, MotionCoverageStats>>): void {
    for (const [camera, c] of Object.entries(cameras)) this.#look(now, camera, c);
    for (const [camera, m] of this.#cameras) if (m.seenAt < now) this.#cameras.delete(camera);
  }

  /** The camera's motion over the last `spanMs`, when it measured under MOTION_COVERAGE_MIN of its stream's frames; else null. */
  behind(now: number, camera: string, spanMs: number): MotionBehind | null {
    const m = this.#cameras.get(camera);
    if (m === undefined) return null;
    const span = m.window.stats(now, spanMs);
    if (span.offered < MIN_FRAMES_FOR_VERDICT || span.skipRatio === null || 1 - span.skipRatio >= MOTION_COVERAGE_MIN) return null;
    return { measuredShare: 1 - span.skipRatio, frames: span.offered, spanMs: span.spanMs };
  }

  #look(now: number, camera: string, c: MotionCoverageStats): void {
    const motion = c.motion ?? null;
    // A motion that cannot read its stream's format fails its gates open: not behind.
    if (motion === null || motion.problem !== null) return;
    const published = (c.streams?.[motion.stream] ?? (c.streams === null || c.streams === undefined ? c.capture : null))?.framesPublished;
    if (published === undefined) return;
    const m = this.#cameras.get(camera);
    // New, or figures that start over (a camera replaced): counted from now.
    if (m === undefined || motion.frames < m.frames || published < m.published) {
      this.#cameras.set(camera, { window: new ObjectiveWindow(this.#keepMs), frames: motion.frames, published, seenAt: now });
      return;
    }
    const offered = published - m.published;
    m.window.frames(now, offered, offered - (motion.frames - m.frames));
    m.frames = motion.frames;
    m.published = published;
    m.seenAt = now;
  }
}
