/**
 * Cameras out of phase, as real cameras are (each camera's clock is its own), for the benches whose cameras share a
 * model at maxFps (P2, AGE, P3): camera i's frames fall {i·φ} of a frame interval after the first camera's (φ the
 * golden ratio), the same on framesupplier's side and the careful loop's. Files opened at once would all be in
 * phase, the worst case for a shared model (every camera's turn at one of a slot's few frame instants), which no
 * set of cameras has. framesupplier's cameras are added to the running system one by one, two frame intervals
 * apart, each at its phase; the careful loop gets the phases as `--phases`. Each line says the phases measured.
 */
import { performance } from 'node:perf_hooks';
import type { VisionSystem } from '../../src/pipeline/index.js';
import { round, sleep } from '../stats.js';

/** The benches' cameras run at 10 fps. */
const FRAME_MS = 100;
/** φ − 1: multiples of it, modulo 1, spread with no two close, however many. */
const GOLDEN_RATIO_FRACTION = (Math.sqrt(5) - 1) / 2;

/** Camera i's phase, ms after the first camera's frames, within one frame interval. */
export function cameraPhasesMs(cameras: number, intervalMs: number = FRAME_MS): number[] {
  return Array.from({ length: cameras }, (_, i) => round(((i * GOLDEN_RATIO_FRACTION) % 1) * intervalMs, 3));
}

/** Each camera's measured phase within the frame interval, ms after the first camera's (circular means of capture times). */
export function measuredPhasesMs(captureTimes: readonly (readonly number[])[], intervalMs: number = FRAME_MS): (number | null)[] {
  const mean = (times: readonly number[]): number | null => {
    if (times.length === 0) return null;
    let c = 0;
    let s = 0;
    for (const t of times) {
      const a = (2 * Math.PI * (t % intervalMs)) / intervalMs;
      c += Math.cos(a);
      s += Math.sin(a);
    }
    return ((Math.atan2(s, c) / (2 * Math.PI)) * intervalMs + intervalMs) % intervalMs;
  };
  const phases = captureTimes.map(mean);
  const first = phases[0] ?? null;
  return phases.map((p) => (p === null || first === null ? null : round((p - first + intervalMs) % intervalMs, 1)));
}

/**
 * One bench run's cameras (`ids`, each `entry` as a config file has it) started out of phase, or all at once when
 * `inPhase` (the benches' `*_IN_PHASE=1`).
 */
export class PhasedCameras {
  /** The phases asked, null when the cameras start at once. */
  readonly asked: readonly number[] | null;
  readonly #ids: readonly string[];
  readonly #entry: unknown;
  readonly #captureTimes: Map<string, number[]>;

  constructor(ids: readonly string[], entry: unknown, inPhase: boolean) {
    this.#ids = ids;
    this.#entry = entry;
    this.asked = inPhase ? null : cameraPhasesMs(ids.length);
    this.#captureTimes = new Map(ids.map((id) => [id, []]));
  }

  /** The config's `cameras`: every camera when they start at once, none when each is added at its phase. */
  configCameras(): Record<string, unknown> {
    return Object.fromEntries((this.asked === null ? this.#ids : []).map((id) => [id, this.#entry]));
  }

  /**
   * Adds each camera to the running system at its phase, two frame intervals after the one before: an add takes
   * tens of ms, so cameras added within one interval would start when the add before ends. A file starts playing
   * when its camera is added. Nothing to do when they started at once.
   */
  async start(system: VisionSystem): Promise<void> {
    if (this.asked === null) return;
    const t0 = performance.now();
    for (const [i, id] of this.#ids.entries()) {
      const wait = t0 + 2 * FRAME_MS * i + this.asked[i]! - performance.now();
      if (wait > 0) await sleep(wait);
      await system.cameras.add(id, this.#entry);
    }
  }

  /** A result's capture time, for its camera's measured phase. */
  seen(camera: string, captureTime: number): void {
    this.#captureTimes.get(camera)?.push(captureTime);
  }

  /** The careful loop's options for the same phases. */
  loopOptions(): { phasesMs?: readonly number[] } {
    return this.asked === null ? {} : { phasesMs: this.asked };
  }

  /** The line's fields: each camera's phase as measured (ms after the first camera's frames), and as asked. */
  stats(): { frame_phases_ms: (number | null)[]; frame_phases_asked_ms: readonly number[] | null } {
    return { frame_phases_ms: measuredPhasesMs(this.#ids.map((id) => this.#captureTimes.get(id) ?? [])), frame_phases_asked_ms: this.asked };
  }
}
