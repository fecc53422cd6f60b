/**
 * P4's figures from what an implementation did, scored against the clips' ground truth (p4-clip.ts): the same
 * code for framesupplier and the careful loop, from their runs (one per model run on a frame: its camera, the
 * clip frame it was about, its capture time, when its result was in hand, whether it found the object) and their
 * track ends, all on one monotonic clock (ms) per implementation.
 *
 * A camera's clock is fitted from its runs (or, where none read the display, from anchors: runs outside the window
 * whose clip frame is known, such as each worker's first frame in the warm-up): clip
 * frame f was captured at start + (f + k × frames) × frame interval for some loop k; `start` is the median over them (the capture times of a paced file are its due
 * times, or a little later when decoding fell behind). An object's appearance counts when it comes and goes
 * inside the measured window; its onset is the capture time of the first frame it is in the picture: the first frame
 * that holds any pixel of it (on the main picture), however thin the sliver at the edge it steps in from.
 * - missed: an appearance with no run that found it on a frame of that appearance;
 * - onset → detection: its onset to the first such result in hand; and where that time went (the `onset_*`
 *   breakdown): the frame the first result that found it was about (what a tester sees: its capture after the onset),
 *   the frames from the onset to the first run after it (motion detection and the gate), whether that run found it,
 *   its time from capture to the model less the model's queue (the gate, a crop's picture, the store), its wait in the
 *   model's queue, its call, and the time the runs after it added until one found the object (a miss waits for the
 *   next slot);
 * - ended early: a track ended while the object it last saw is still in the picture (the walker standing still,
 *   or any other): the object at the track's last sighting, and its appearance not over when the end was made;
 * - light change runs: runs on frames of the 5 s from the sudden light change (nothing else is in the picture
 *   then, by construction: every run there is the light's);
 * - false detections: runs that found something on a frame with nothing in the picture (nor on the frames beside it).
 * P4_ENDS=1 writes each track ended while its object was there, with the camera's runs before its end, to stderr.
 * P4_ONSETS=1 writes each onset's runs to stderr (ms from the onset: frame captured → result in hand, + found),
 * to tell a late motion trigger from a wait for the model.
 */
import { percentile, round, sortedCopy } from '../stats.js';
import { baseFrame, objectAt, type P4Schedule } from './p4-clip.js';

export interface P4Run {
  readonly camera: number;
  /** The clip frame the run was about (its display), or null when it could not be read. */
  readonly clipFrame: number | null;
  readonly captureTime: number;
  readonly doneTime: number;
  readonly found: boolean;
  /** Its wait in the model's queue and the model's call (ms), where the implementation says them. */
  readonly waitMs?: number | null;
  readonly inferenceMs?: number | null;
}

export interface P4End {
  readonly camera: number;
  /** When the end was made. */
  readonly at: number;
  /** Capture time of the ended track's last sighting. */
  readonly lastSeen: number;
}

export interface P4Score {
  readonly appearances: number;
  readonly objects_missed: number;
  readonly onset_to_detection_ms_p50: number | null;
  readonly onset_to_detection_ms_p99: number | null;
  readonly onset_to_detection_ms_max: number | null;
  /** The capture of the frame the first result that found the object was about, after its onset (first pixel). */
  readonly onset_found_frame_ms_p50: number | null;
  readonly onset_found_frame_ms_p99: number | null;
  /** Frames from the onset to the first run's frame after it: what motion detection and the gate took. */
  readonly onset_first_run_frames_p50: number | null;
  readonly onset_first_run_frames_p99: number | null;
  /** Appearances whose first run after the onset found the object. */
  readonly onset_first_run_found: number;
  /** The first run: capture → taken by the model, less its queue (the gate, a crop's picture, the store), and its queue. */
  readonly onset_first_run_before_model_ms_p50: number | null;
  readonly onset_first_run_before_model_ms_p99: number | null;
  readonly onset_first_run_model_wait_ms_p50: number | null;
  readonly onset_first_run_model_wait_ms_p99: number | null;
  /** The first run's model call (wall time: a starved machine stretches a call of 50 ms of CPU). */
  readonly onset_first_run_model_ms_p50: number | null;
  readonly onset_first_run_model_ms_p99: number | null;
  /** What the runs after the first added until one found the object (0 when the first did). */
  readonly onset_later_runs_ms_p50: number | null;
  readonly onset_later_runs_ms_p99: number | null;
  readonly stationary_ended_early: number;
  readonly track_ends: number;
  readonly light_changes: number;
  readonly light_change_model_runs: number | null;
  readonly light_change_model_runs_mean: number | null;
  readonly false_detections: number;
  readonly runs_unread: number;
}

export const LIGHT_WINDOW_MS = 5_000;

/** Where one onset's time went (ms unless said; null where the implementation does not say it). */
interface OnsetParts {
  readonly foundFrameMs: number;
  readonly firstRunFrames: number;
  readonly firstRunFound: boolean;
  readonly beforeModelMs: number | null;
  readonly modelWaitMs: number | null;
  readonly modelMs: number | null;
  readonly laterRunsMs: number;
}

/**
 * One onset's parts from the camera's runs: `found` is the first result in hand that found the object; the first run
 * is the first on a frame captured from the onset on (half a frame of the capture's lateness allowed).
 */
function onsetParts(runs: readonly P4Run[], onset: number, found: P4Run, interval: number): OnsetParts {
  const after = runs.filter((r) => r.captureTime >= onset - interval / 2);
  const first = after.reduce((a, r) => (r.captureTime < a.captureTime ? r : a), found);
  const wait = typeof first.waitMs === 'number' ? first.waitMs : null;
  const inference = typeof first.inferenceMs === 'number' ? first.inferenceMs : null;
  return {
    foundFrameMs: found.captureTime - onset,
    firstRunFrames: Math.max(0, Math.round((first.captureTime - onset) / interval)),
    firstRunFound: first.found,
    beforeModelMs: wait === null || inference === null ? null : Math.max(0, first.doneTime - first.captureTime - wait - inference),
    modelWaitMs: wait,
    modelMs: inference,
    laterRunsMs: Math.max(0, found.doneTime - first.doneTime),
  };
}

/** Capture time of clip frame 0 of some loop, fitted from the camera's runs; null without runs. */
export function fitStart(schedule: Pick<P4Schedule, 'frames' | 'fps'>, runs: readonly P4Run[]): number | null {
  const interval = 1000 / schedule.fps;
  const period = schedule.frames * interval;
  const starts = runs.filter((r) => r.clipFrame !== null).map((r) => r.captureTime - r.clipFrame! * interval);
  if (starts.length === 0) return null;
  const ref = starts[0]!;
  // Each start lies a whole number of periods from the others, give or take the capture's lateness.
  const offsets = sortedCopy(starts.map((s) => ((((s - ref) % period) + period * 1.5) % period) - period / 2));
  return ref + percentile(offsets, 50);
}

/**
 * `anchors`: more runs whose clip frame is known, for the cameras' clocks only (a run on regions cuts crops, which
 * hold no display: the clock is then fitted from the whole frames, such as each worker's first, warm-up included).
 */
export function scoreP4(
  schedules: readonly P4Schedule[],
  runs: readonly P4Run[],
  ends: readonly P4End[],
  window: { from: number; to: number },
  anchors: readonly P4Run[] = [],
): P4Score {
  const latencies: number[] = [];
  const parts: OnsetParts[] = [];
  let appearances = 0;
  let missed = 0;
  let endedEarly = 0;
  let falseDetections = 0;
  const lightRuns: number[] = [];
  for (const [camera, schedule] of schedules.entries()) {
    const mine = runs.filter((r) => r.camera === camera);
    // A frame next to an appearance may hold a sliver of the object (the drawing rounds its position): not false.
    const near = (f: number): boolean => [f - 1, f, f + 1].some((g) => objectAt(schedule, (g + schedule.frames) % schedule.frames) !== null);
    for (const r of mine) if (r.found && r.clipFrame !== null && !near(r.clipFrame)) falseDetections++;
    // The anchors only where the window's runs read no display: a worker's first frame may be of another stream (main,
    // before a switch to the substream), whose file is paced from its own opening, a frame or two apart.
    const start = fitStart(schedule, mine.some((r) => r.clipFrame !== null) ? mine : anchors.filter((r) => r.camera === camera));
    if (start === null) continue;
    const interval = 1000 / schedule.fps;
    const period = schedule.frames * interval;
    // Base frame b of loop k is captured at start + (b + offset + k × frames) × interval.
    const at = (base: number, k: number): number => start + (base + schedule.offsetFrames + k * schedule.frames) * interval;
    const kFrom = Math.floor((window.from - start) / period) - 2;
    const kTo = Math.ceil((window.to - start) / period) + 1;
    for (let k = kFrom; k <= kTo; k++) {
      for (const object of schedule.objects) {
        const onset = at(object.firstFrame, k);
        const gone = at(object.lastFrame, k);
        if (onset < window.from || gone > window.to) continue;
        appearances++;
        const seen = mine.filter((r) => r.found && r.captureTime >= onset - interval / 2 && r.captureTime <= gone + interval * 1.5);
        if (seen.length === 0) {
          missed++;
          continue;
        }
        const first = seen.reduce((a, r) => (r.doneTime < a.doneTime ? r : a));
        const latency = first.doneTime - onset;
        latencies.push(latency);
        parts.push(onsetParts(mine, onset, first, interval));
        if (process.env.P4_ONSETS === '1') {
          // Diagnosis: each onset's runs near it (ms from the onset: frame captured, result in hand, found or not).
          const near = mine.filter((r) => r.captureTime >= onset - 300 && r.captureTime <= onset + 700);
          process.stderr.write(
            `onset camera ${camera} ${object.id} k ${k}: ${Math.round(latency)} ms; runs ${near
              .map((r) => `${Math.round(r.captureTime - onset)}→${Math.round(r.doneTime - onset)}${r.found ? '+' : '-'}`)
              .join(' ')}\n`,
          );
        }
      }
      const light = schedule.lightFrame === null ? null : at(schedule.lightFrame, k);
      if (light !== null && light >= window.from && light + LIGHT_WINDOW_MS <= window.to) {
        lightRuns.push(mine.filter((r) => r.captureTime >= light - interval / 2 && r.captureTime < light + LIGHT_WINDOW_MS).length);
      }
    }
    for (const end of ends.filter((e) => e.camera === camera && e.at >= window.from && e.at <= window.to)) {
      // Clip frames on the camera's one timeline (loops counted on): its last sighting's and the end's.
      const seenFrame = Math.round((end.lastSeen - start) / interval);
      const endFrame = Math.round((end.at - start) / interval);
      const object = objectAt(schedule, seenFrame);
      if (object === null) continue;
      // Frames from the sighting to the end of that object's appearance.
      const left = object.lastFrame - baseFrame(schedule, seenFrame);
      if (endFrame <= seenFrame + left) {
        endedEarly++;
        if (process.env.P4_ENDS === '1') {
          // Diagnosis: the camera's runs from a second before the last sighting to the end (ms from the last sighting).
          const around = mine.filter((r) => r.captureTime >= end.lastSeen - 1000 && r.captureTime <= end.at);
          process.stderr.write(
            `ended early camera ${camera} ${object.id}: seen at clip frame ${baseFrame(schedule, seenFrame)} (appearance ${object.firstFrame}-${object.lastFrame}), ended ${Math.round(end.at - end.lastSeen)} ms after; runs ${around
              .map(
                (r) =>
                  `${Math.round(r.captureTime - end.lastSeen)}→${Math.round(r.doneTime - end.lastSeen)}${r.found ? '+' : '-'}${r.clipFrame === null ? '' : `@${r.clipFrame}`}`,
              )
              .join(' ')}\n`,
          );
        }
      }
    }
  }
  const sorted = sortedCopy(latencies);
  const p = (values: readonly (number | null)[], q: number): number | null => {
    const known = sortedCopy(values.filter((v): v is number => v !== null));
    return known.length === 0 ? null : round(percentile(known, q), 1);
  };
  const of = <K extends keyof OnsetParts>(key: K): (number | null)[] => parts.map((part) => part[key] as number | null);
  return {
    appearances,
    objects_missed: missed,
    onset_to_detection_ms_p50: sorted.length === 0 ? null : round(percentile(sorted, 50), 1),
    onset_to_detection_ms_p99: sorted.length === 0 ? null : round(percentile(sorted, 99), 1),
    onset_to_detection_ms_max: sorted.length === 0 ? null : round(sorted[sorted.length - 1]!, 1),
    onset_found_frame_ms_p50: p(of('foundFrameMs'), 50),
    onset_found_frame_ms_p99: p(of('foundFrameMs'), 99),
    onset_first_run_frames_p50: p(of('firstRunFrames'), 50),
    onset_first_run_frames_p99: p(of('firstRunFrames'), 99),
    onset_first_run_found: parts.filter((part) => part.firstRunFound).length,
    onset_first_run_before_model_ms_p50: p(of('beforeModelMs'), 50),
    onset_first_run_before_model_ms_p99: p(of('beforeModelMs'), 99),
    onset_first_run_model_wait_ms_p50: p(of('modelWaitMs'), 50),
    onset_first_run_model_wait_ms_p99: p(of('modelWaitMs'), 99),
    onset_first_run_model_ms_p50: p(of('modelMs'), 50),
    onset_first_run_model_ms_p99: p(of('modelMs'), 99),
    onset_later_runs_ms_p50: p(of('laterRunsMs'), 50),
    onset_later_runs_ms_p99: p(of('laterRunsMs'), 99),
    stationary_ended_early: endedEarly,
    track_ends: ends.filter((e) => e.at >= window.from && e.at <= window.to).length,
    light_changes: lightRuns.length,
    light_change_model_runs: lightRuns.length === 0 ? null : Math.max(...lightRuns),
    light_change_model_runs_mean: lightRuns.length === 0 ? null : round(lightRuns.reduce((a, b) => a + b, 0) / lightRuns.length, 2),
    false_detections: falseDetections,
    runs_unread: runs.filter((r) => r.clipFrame === null).length,
  };
}
