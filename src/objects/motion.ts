/**
 * The motion model of a track: four independent constant-velocity Kalman
 * filters (box centre x and y, width, height), each predicted over the real
 * time since its last step, not over a frame count, so a dropped frame only
 * makes the step longer. Process noise is the continuous white-acceleration
 * model (it grows with dt³ for position), so the longer an object goes
 * unseen, the less its prediction is trusted. Noise scales with the box's
 * size, as ByteTrack's does: a big box jitters more in absolute terms.
 *
 * Velocity is started from the first two observations (two-point
 * initialisation): from then on, an object that truly moves at constant
 * velocity and is detected exactly is predicted exactly, whatever the gaps
 * between frames, which is what the tracker's property tests rely on.
 */
import type { Box } from './geometry.js';

export interface MotionOptions {
  /** Measurement noise, as a fraction of the box's size (ByteTrack: 1/20). */
  readonly measurementStd: number;
  /** Acceleration noise, in box sizes per second². */
  readonly accelerationStd: number;
}

/** One coordinate: position p, velocity v, covariance [[a, b], [b, c]]. */
class Axis {
  p: number;
  v = 0;
  a: number;
  b = 0;
  c: number;

  constructor(p: number, r: number, velocityVariance: number) {
    this.p = p;
    this.a = r;
    this.c = velocityVariance;
  }

  predict(dt: number, q: number): void {
    if (dt <= 0) return;
    this.p += this.v * dt;
    const dt2 = dt * dt;
    this.a += 2 * dt * this.b + dt2 * this.c + (q * dt2 * dt) / 3;
    this.b += dt * this.c + (q * dt2) / 2;
    this.c += q * dt;
  }

  update(z: number, r: number): void {
    const s = this.a + r;
    const k1 = this.a / s;
    const k2 = this.b / s;
    const y = z - this.p;
    this.p += k1 * y;
    this.v += k2 * y;
    const { a, b } = this;
    this.a = (1 - k1) * a;
    this.b = (1 - k1) * b;
    this.c -= k2 * b;
  }

  /** Two-point initialisation: position z, velocity from the previous position over dt. */
  restart(previous: number, z: number, dt: number, r: number): void {
    this.p = z;
    this.v = (z - previous) / dt;
    this.a = r;
    this.b = r / dt;
    this.c = (2 * r) / (dt * dt);
  }
}

/** Unknown velocity: up to a frame width a second either way. */
const INITIAL_VELOCITY_VARIANCE = 1;

export class MotionModel {
  readonly #options: MotionOptions;
  readonly #axes: [Axis, Axis, Axis, Axis];
  /** Capture time (ms) the state is at. */
  #time: number;
  #observations = 1;

  constructor(box: Box, time: number, options: MotionOptions) {
    this.#options = options;
    const [cx, cy, w, h] = toCentre(box);
    const r = this.#r(w, h);
    this.#axes = [new Axis(cx, r, INITIAL_VELOCITY_VARIANCE), new Axis(cy, r, INITIAL_VELOCITY_VARIANCE), new Axis(w, r, 0.01), new Axis(h, r, 0.01)];
    this.#time = time;
  }

  #size(w: number, h: number): number {
    return Math.max(w, h, 0.01);
  }

  #r(w: number, h: number): number {
    const s = this.#options.measurementStd * this.#size(w, h);
    return s * s;
  }

  /** Moves the state to `time` (ms); earlier times are ignored (the state never goes back). */
  predict(time: number): void {
    const dt = (time - this.#time) / 1000;
    if (!(dt > 0)) return;
    const size = this.#size(this.#axes[2].p, this.#axes[3].p);
    const sa = this.#options.accelerationStd * size;
    const q = sa * sa;
    for (const axis of this.#axes) axis.predict(dt, q);
    this.#time = time;
  }

  /** Corrects the state with a box seen at `time` (predicting to it first). */
  update(box: Box, time: number): void {
    const previous = this.box();
    const previousTime = this.#time;
    this.predict(time);
    const z = toCentre(box);
    const r = this.#r(z[2], z[3]);
    const dt = (time - previousTime) / 1000;
    if (this.#observations === 1 && dt > 0) {
      const p = toCentre(previous);
      for (let i = 0; i < 4; i++) this.#axes[i]!.restart(p[i]!, z[i]!, dt, r);
    } else {
      for (let i = 0; i < 4; i++) this.#axes[i]!.update(z[i]!, r);
    }
    this.#observations++;
  }

  /** Whether the velocity comes from observations (two or more) rather than the prior. */
  get hasVelocity(): boolean {
    return this.#observations >= 2;
  }

  /** The box at the state's time. */
  box(): Box {
    const [x, y, w, h] = this.#axes;
    const hw = Math.max(w.p, 0) / 2;
    const hh = Math.max(h.p, 0) / 2;
    return [x.p - hw, y.p - hh, x.p + hw, y.p + hh];
  }

  /** The box where the object would be at `time`, without moving the state. */
  boxAt(time: number): Box {
    const dt = Math.max(0, (time - this.#time) / 1000);
    const [x, y, w, h] = this.#axes;
    const cx = x.p + x.v * dt;
    const cy = y.p + y.v * dt;
    const hw = Math.max(w.p + w.v * dt, 0) / 2;
    const hh = Math.max(h.p + h.v * dt, 0) / 2;
    return [cx - hw, cy - hh, cx + hw, cy + hh];
  }

  /** The centre's velocity, frame widths and heights per second. */
  velocity(): readonly [number, number] {
    return [this.#axes[0].v, this.#axes[1].v];
  }
}

function toCentre(b: Box): [number, number, number, number] {
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1]];
}
