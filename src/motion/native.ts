/**
 * The motion detector's passes over its working picture in C (native/motion.c,
 * built into the framesupplier_shm addon): the same arithmetic as work.ts'
 * and detector.ts' JavaScript passes, so the same answers, at a fraction of
 * their cost (ADR 0099). The JavaScript keeps the buffers, the tone map and
 * every per-frame decision; the C only walks pixels. Where the addon does not
 * load (or is an older build without these functions), the detector runs its
 * JavaScript passes: nothing is lost but time.
 */
import { ADDON_REMEDY, addonCandidates, loadAddon } from '../internal/native-addon.js';

declare const handle: unique symbol;
/** One working size's buffers, as the C holds them (the JavaScript Work keeps the arrays alive). */
export type MotionHandle = { readonly [handle]: true };

export interface MotionPasses {
  motionWork(
    dims: Int32Array,
    cols: Int32Array,
    rows: Int32Array,
    masked: Uint8Array,
    sums: Int32Array,
    diff: Float64Array,
    rowChanged: Int32Array,
    moved: Uint8Array,
    grown: Uint8Array,
    movedRows: Uint8Array,
    labels: Int32Array,
    stack: Int32Array,
    movingFor: Uint16Array,
    movingRows: Uint8Array,
    residual: Uint32Array,
    tone: Uint32Array,
    boxes: Int32Array,
  ): MotionHandle;
  motionStart(work: MotionHandle, luma: Uint8Array, background: Float32Array): void;
  motionBlur(work: MotionHandle, background: Float32Array): void;
  /** Returns how many pixels went into the residual's histograms. */
  motionCompare(work: MotionHandle, luma: Uint8Array, background: Float32Array, next: Float32Array, rate: number, floor: number): number;
  motionRecompare(work: MotionHandle, background: Float32Array, next: Float32Array, rate: number, floor: number): number;
  /** Returns the unmasked pixels over the usual bar; out: moved count, first and last row with motion. */
  motionThreshold(work: MotionHandle, usual: number, threshold: number, out: Int32Array): number;
  /** Returns how many regions it wrote to the work's boxes (first and last column and row, in pixels). */
  motionRegions(work: MotionHandle, from: number, to: number, minPixels: number): number;
  motionLearn(work: MotionHandle, background: Float32Array, next: Float32Array, from: number, to: number, slow: number, absorb: number): void;
}

let passes: MotionPasses | string | undefined;

/** The C passes, or why not: the addon does not load, or it is an older build without them. */
function load(): MotionPasses | string {
  if (passes === undefined) {
    const found = loadAddon<Partial<MotionPasses>>(addonCandidates('framesupplier_shm'));
    if (found.addon === null) passes = `the addon framesupplier_shm is not built or does not load (${found.problems.join('; ')}); ${ADDON_REMEDY}`;
    else if (typeof found.addon.motionWork !== 'function' || typeof found.addon.motionLearn !== 'function') {
      passes = `the addon at ${found.path} was built before its motion passes: rebuild it (npm rebuild framesupplier; in a checkout, npm start)`;
    } else passes = found.addon as MotionPasses;
  }
  return passes;
}

/** The C passes, or null: the detector then runs its JavaScript ones. */
export function motionPasses(): MotionPasses | null {
  const found = load();
  return typeof found === 'string' ? null : found;
}

/** Why motion runs its JavaScript passes (the same answers, several times the cost), or null when it runs the C ones. */
export function motionPassesUnavailable(): string | null {
  const found = load();
  return typeof found === 'string' ? found : null;
}
