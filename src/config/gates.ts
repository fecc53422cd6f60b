/**
 * What a camera's motion-gated workers do (ADR 0066), from the config alone: the stream motion is measured on,
 * each gated worker's stationary recheck, and a line saying how it behaves, for `config check`. One definition
 * for the pipeline (which runs them) and the CLI (which explains them). Beside them, the age a camera that
 * decodes keyframes only adds to its frames (ADR 0070), said where the config is checked.
 */
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

/** A gated worker's stationary recheck, seconds: its own, else half its tracker's endAfterSeconds (default 2). */
export function stationarySecondsOf(gate: 'motion' | { readonly stationarySeconds?: number | undefined }, track: TrackOptionsConfig | null): number {
  if (typeof gate === 'object' && gate.stationarySeconds !== undefined) return gate.stationarySeconds;
  const endAfter = track?.endAfterSeconds;
  return (typeof endAfter === 'number' && endAfter > 0 ? endAfter : 2) / 2;
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
      const recheck =
        track !== null
          ? `every ${stationarySecondsOf(w.gate, track)} s on objects it tracks while nothing moves`
          : 'never on a still object (it does not track: add track to recheck one that stopped moving)';
      lines.push(
        `${where}: gated by motion on stream ${motionStreamOf(camera)} at ${camera.motion?.readSize ?? MOTION_READ_SIZE} px: runs its model on frames with motion at ${rate} (the first after a still spell at once), ${recheck}, once per whole-picture change, and never on a still picture with nothing tracked`,
      );
    }
  }
  return lines;
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
