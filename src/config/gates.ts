/**
 * What a camera's motion-gated workers do (ADR 0066), from the config alone: the stream motion is measured on,
 * each gated worker's stationary recheck, and a line saying how it behaves, for `config check`. One definition
 * for the pipeline (which runs them) and the CLI (which explains them). Beside them, the age a camera that
 * decodes keyframes only adds to its frames (ADR 0070), said where the config is checked.
 */
import { TRACKER_DEFAULTS } from '../internal/tracker-defaults.js';
import { MAIN_STREAM, trackOptionsOf, type CameraConfig, type Config, type TrackOptionsConfig } from './schema.js';

/** The default long side motion reads at (the detector works at 160 px, four samples a working pixel). */
export const MOTION_READ_SIZE = 320;

/** Whether the camera measures motion: `motion` in its config (not turned off), or a gated worker. */
export function cameraMeasuresMotion(camera: CameraConfig): boolean {
  if (camera.motion?.enabled === false) return false;
  return camera.motion !== undefined || camera.workers.some((w) => 'gate' in w && w.gate !== undefined);
}

/**
 * The stream motion is measured on: the one `motion.stream` names, else the stream with the smallest declared
 * size, else the first substream, else main.
 */
export function motionStreamOf(camera: CameraConfig): string {
  const named = camera.motion?.stream;
  if (named !== undefined && named !== 'auto') return named;
  const further = Object.entries(camera.streams ?? {}).filter(([name]) => name !== MAIN_STREAM);
  if (further.length === 0) return MAIN_STREAM;
  let smallest: { name: string; area: number } | null = null;
  for (const [name, entry] of Object.entries(camera.streams ?? {})) {
    if (typeof entry !== 'object' || entry.width === undefined || entry.height === undefined) continue;
    const area = entry.width * entry.height;
    if (smallest === null || area < smallest.area) smallest = { name, area };
  }
  return smallest?.name ?? further[0]![0];
}

/**
 * A gated worker's stationary recheck, seconds: its own, else STATIONARY_SECONDS. Its tracker ends tracks on runs
 * that miss them, not on still time (ADR 0081), so the recheck only refreshes what it tracks.
 */
export function stationarySecondsOf(gate: 'motion' | { readonly stationarySeconds?: number | undefined }): number {
  return typeof gate === 'object' && gate.stationarySeconds !== undefined ? gate.stationarySeconds : STATIONARY_SECONDS;
}

/** A gated worker's stationary recheck unless it sets one: Frigate's (50 frames at its 5 fps). */
export const STATIONARY_SECONDS = 10;

/**
 * While an object a gated worker tracks was missed by its last run, one run per this many seconds: half its
 * tracker's endAfterSeconds (default 2), so it is looked for twice before its track ends.
 */
export function lostSecondsOf(track: TrackOptionsConfig | null): number {
  const endAfter = track?.endAfterSeconds;
  return (typeof endAfter === 'number' && endAfter > 0 ? endAfter : TRACKER_DEFAULTS.endAfterSeconds) / 2;
}

/** Crops cover at most this share of the frame (summed) before the whole frame is run instead: regionsWholeAbove's default. */
export const REGIONS_WHOLE_ABOVE = 0.5;

type GateSetting = 'motion' | { readonly regions?: 'auto' | 'off' | undefined; readonly regionsWholeAbove?: number | undefined };

/** A gated worker's run on regions (ADR 0069): on unless `regions: off`, and the share of the frame its crops may cover. */
export function gateRegionsOf(gate: GateSetting): { readonly on: boolean; readonly wholeAbove: number } {
  const setting = typeof gate === 'object' ? gate : {};
  return { on: setting.regions !== 'off', wholeAbove: setting.regionsWholeAbove ?? REGIONS_WHOLE_ABOVE };
}

/** One line per motion-gated worker of the config: how it behaves. */
export function explainGates(config: Config): string[] {
  const lines: string[] = [];
  for (const [id, camera] of Object.entries(config.cameras)) {
    for (const w of camera.workers) {
      if (!('gate' in w) || w.gate === undefined) continue;
      const where = `camera ${id}, worker ${w.id}`;
      if (!cameraMeasuresMotion(camera)) {
        lines.push(`${where}: gated by motion, and the camera's motion is off`);
        continue;
      }
      if ('crops' in w && w.crops !== undefined) {
        lines.push(`${where}: reads crops, so it is not gated (a cascade runs on what its first worker found)`);
        continue;
      }
      const rate = w.maxFps === undefined ? 'every frame' : `up to ${w.maxFps} fps`;
      const track = trackOptionsOf(w);
      const every = stationarySecondsOf(w.gate);
      const recheck =
        track !== null
          ? `every ${every} s on objects it tracks while nothing moves (every ${lostSecondsOf(track)} s while one was missed: its tracks end on runs that miss them, not while nothing moves)`
          : 'never on a still object (it does not track: add track to recheck one that stopped moving)';
      lines.push(
        `${where}: gated by motion on stream ${motionStreamOf(camera)} at ${camera.motion?.readSize ?? MOTION_READ_SIZE} px: runs its model on frames with new motion at ${rate} (the first after a still spell at once; motion that stays where the model last looked at it, again after ${every} s), ${recheck}, once per whole-picture change, and never on a still picture with nothing tracked; ${regionsLine(config, camera, w)}`,
      );
    }
  }
  return lines;
}

/** What a gated worker's frames look to its model (ADR 0069), for its `config check` line. */
function regionsLine(config: Config, camera: CameraConfig, w: CameraConfig['workers'][number]): string {
  if (!('gate' in w) || w.gate === undefined || !('model' in w)) return 'whole frames';
  const regions = gateRegionsOf(w.gate);
  if (!regions.on) return 'whole frames (regions: off)';
  const model = config.models[w.model] as object | undefined;
  if (model !== undefined && 'kserve' in model) return 'whole frames (its model is remote: crops go to a model server on this machine only)';
  const from = Object.keys(camera.streams ?? {}).some((name) => name !== MAIN_STREAM) ? "the main stream's picture" : 'the full-resolution frame';
  return `when its model's input is at most half the frame's long side, on crops around what moves and what it tracks, cut from ${from} at the model's input size, and on the whole frame when they would cover over ${Math.round(regions.wholeAbove * 100)} % of it (ADR 0069)`;
}

/**
 * One line per camera that trades age for CPU (ADR 0070): `decode: keyframes` or keyframesOnly. From the config
 * alone, so in terms of the keyframe interval; the dry run (?dryRun=true) probes the stream for the figure.
 */
export function explainDecode(config: Config): string[] {
  const lines: string[] = [];
  for (const [id, camera] of Object.entries(config.cameras)) {
    const capture = camera.capture;
    const key = capture?.keyframesOnly === true ? 'keyframesOnly: true' : capture?.decode === 'keyframes' ? 'decode: keyframes' : null;
    if (key === null) continue;
    lines.push(
      `camera ${id}: decodes keyframes only (${key}): each frame a worker takes is on average (keyframe interval − frame interval) ÷ 2 older than with decode: auto, about 950 ms with a keyframe every 2 s at 10 fps, up to twice that, for all but one frame a keyframe interval not decoded; a dry run (?dryRun=true) gives the stream's figure, and decode: auto adds none`,
    );
  }
  return lines;
}
