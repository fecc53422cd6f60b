/**
 * FALL (bench/README.md, "FALL a person down"): every clip in ../shared/data/falls (bench/objects/
 * fall-clips.ts: UP-Fall's lateral view, 31 clips of one person, 15 falls and 16 everyday movements, labels in
 * frames at 18 fps; and GMDCSA-24 subjects 1-2, 11 clips of two people in their own rooms by day and night, 6 falls
 * and 5 everyday, labels in seconds, 30 fps by day and 15 at night, 640 × 480 and 1280 × 720), each played once
 * through a real system: a camera whose source is the clip after a still lead-in (its first frame held LEAD_S
 * seconds) and before a still tail (its last frame held TAIL_S, as a camera keeps showing the floor), read there by
 * ffmpeg's lavfi `movie` filter (the clips are never copied), in real time at the clip's own rate; the person model
 * (handler person, its defaults: MoveNet MultiPose at 448, fp32, one thread) and one worker with `falls: true` at
 * `maxFps` FALL_FPS (default 5): the documented `{ model: person, maxFps: 5, falls: true }`. One system for every
 * clip, its model server ready before the first: a camera is added per clip and removed after it.
 *
 * Per clip: the `fall` alerts raised (their `new`), when each came out (this process's monotonic clock) and the
 * capture time of the clip's frame where the person is down (the supplier's seq counts the source's frames from
 * 1: the clip's frame at t seconds is seq LEAD_S × fps + round(t × fps) + 1; its capture time from the nearest
 * result's, at the clip's rate). A clip without a fall with an alert, or a fall clip with one raised before its
 * fall starts, is a false alarm; a fall clip with one raised after is detected, and its event_after_down_ms is the
 * alert's time out less the down frame's capture time. cpu_pct: the process tree's CPU (this process, the model
 * server, ffmpeg) over the clips' wall time, of one core; model_fps: the worker's results a second. A clip's line
 * also says the longest pause between two of its results (`longest_gap_ms`): a model that stalls past the tracker's
 * endAfterSeconds loses the person it tracked; and how many results were a second look (`second_looks`, ADR 0169:
 * crops where a person was lost while going down).
 *
 * Summary lines (summarize()): per source (`part: source`), per kind of fall or movement (`part: type`) and over
 * all (`part: all`): clips, falls, detected, sensitivity (detected over falls), everyday clips, specificity (the
 * share of everyday clips with no alert), false_alarms (alerts before a fall or on an everyday clip),
 * event_after_down_ms_p50 and _p99, beside cpu_pct, model_fps, fps (the worker's maxFps) and load_1m for the run.
 * A line per clip says what happened (misses and false alarms named). Without the clips (a fresh clone has no
 * ../shared): one line saying so, and nothing run. FALL_DATA names another folder; FALL_ONLY runs the clips whose
 * name contains one of its comma-separated parts (a run in chunks); FALL_SUMMARY names comma-separated files of
 * earlier runs' lines whose clip lines are summed up instead, nothing run; FALL_TRACE=1 logs every result's people
 * (posture, score, box) and which results were second looks. FALL_RECORD names a folder (outside the repository:
 * derived keypoints of the shared clips are never committed) where each clip's results are written as JSON Lines
 * (fall-replay.ts: its clip, then each result's seq, capture time and output), for FALL-REPLAY to put through the
 * rule again in seconds.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { FallAlert } from '../../src/care/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { statUsage, treeStats } from '../proc.js';
import { emit, log, percentile, round, sleep, sortedCopy } from '../stats.js';
import { fallDataOf, fallClips, type FallClip } from './fall-clips.js';
import { clipFrameCapture, clipOutcome, writeRecording, type RecordedResult } from './fall-replay.js';

const LEAD_S = 2;
const TAIL_S = 5;

/** What one clip's run came to: the fields of its line that the summaries add up. */
export interface ClipOutcome {
  readonly clip: string;
  readonly source: string;
  readonly type: string;
  readonly is_fall: boolean;
  readonly detected: boolean;
  readonly false_alarms: number;
  readonly event_after_down_ms: number | null;
}

/** The summary lines of clip outcomes: per source, per type, and over all. */
export function summarize(outcomes: readonly ClipOutcome[]): Record<string, unknown>[] {
  const line = (part: string, key: string | null, of: readonly ClipOutcome[]): Record<string, unknown> => {
    const falls = of.filter((o) => o.is_fall);
    const everyday = of.filter((o) => !o.is_fall);
    const detected = falls.filter((o) => o.detected).length;
    const delays = sortedCopy(falls.flatMap((o) => (o.detected && o.event_after_down_ms !== null ? [o.event_after_down_ms] : [])));
    return {
      workload: 'FALL',
      impl: 'framesupplier',
      part,
      ...(key === null ? {} : { [part]: key }),
      clips: of.length,
      falls: falls.length,
      detected,
      sensitivity: falls.length === 0 ? null : round(detected / falls.length, 3),
      everyday: everyday.length,
      specificity: everyday.length === 0 ? null : round(everyday.filter((o) => o.false_alarms === 0).length / everyday.length, 3),
      false_alarms: of.reduce((n, o) => n + o.false_alarms, 0),
      missed: falls.filter((o) => !o.detected).map((o) => o.clip),
      event_after_down_ms_p50: delays.length === 0 ? null : round(percentile(delays, 50), 0),
      event_after_down_ms_p99: delays.length === 0 ? null : round(percentile(delays, 99), 0),
    };
  };
  const groups = (by: (o: ClipOutcome) => string): Map<string, ClipOutcome[]> => {
    const out = new Map<string, ClipOutcome[]>();
    for (const o of outcomes) out.set(by(o), [...(out.get(by(o)) ?? []), o]);
    return out;
  };
  return [
    ...[...groups((o) => o.source)].map(([k, v]) => line('source', k, v)),
    ...[...groups((o) => `${o.source}: ${o.type}`)].map(([k, v]) => line('type', k, v)),
    line('all', null, outcomes),
  ];
}

/** The process tree's CPU seconds now (this process and its children: the model server, ffmpeg). */
function treeCpuS(): number {
  let total = 0;
  for (const fields of treeStats(process.pid).values()) total += statUsage(fields).cpuS;
  return total;
}

export async function fall(): Promise<void> {
  const summaryOf = process.env.FALL_SUMMARY;
  if (summaryOf !== undefined) {
    const outcomes = summaryOf
      .split(',')
      .flatMap((file) => readFileSync(file, 'utf8').split('\n'))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as ClipOutcome & { workload?: string; part?: string })
      .filter((l) => l.workload === 'FALL' && l.part === 'clip');
    for (const summary of summarize(outcomes)) emit(summary);
    return;
  }
  const dir = fallDataOf('FALL');
  if (dir === null) return;
  const fps = Number(process.env.FALL_FPS ?? 5);
  const trace = process.env.FALL_TRACE === '1';
  const record = process.env.FALL_RECORD;
  if (record !== undefined) mkdirSync(record, { recursive: true });
  const only = process.env.FALL_ONLY?.split(',').filter((part) => part.length > 0);
  const clips: FallClip[] = fallClips(dir).filter((c) => only === undefined || only.some((part) => c.file.includes(part)));
  for (const c of clips) {
    if (/[':,;[\]\\]/.test(join(dir, c.file))) throw new Error(`FALL: ${c.file}'s path has a character a filter graph would read as its own`);
  }
  const shmDir = mkdtempSync(join(tmpdir(), 'fs-bench-fall-'));
  const config = parseConfig(
    JSON.stringify({
      version: 1,
      logLevel: 'warn',
      shmDir,
      models: { person: { handler: 'person', threads: 1 } },
      cameras: {},
    }),
    { env: {}, fileName: 'FALL config' },
  );
  const system = new VisionSystem({ config, logger: createLogger({ level: 'warn' }) });
  // The clips are measured on a model that runs, not one loading: its server is ready before the first camera.
  const ready = new Promise<void>((resolve) =>
    system.on('model-state', (e) => {
      if (e.model === 'person' && e.to === 'ready') resolve();
    }),
  );
  await system.start();
  await ready;
  const load = loadavg()[0]!;
  let cpuS = 0;
  let wallS = 0;
  let results = 0;
  const outcomes: ClipOutcome[] = [];
  try {
    for (const [i, clip] of clips.entries()) {
      const camera = `clip${i}`;
      const seen: { seq: number; captureTime: number }[] = [];
      const alerts: { at: number; alert: FallAlert }[] = [];
      const recorded: RecordedResult[] = [];
      let missedObjective = 0;
      let looks = 0;
      const onResult = (e: { camera: string; worker: string; seq: number; captureTime: number; output: unknown }): void => {
        if (e.camera !== camera || e.worker !== 'people') return;
        seen.push({ seq: e.seq, captureTime: e.captureTime });
        // A result made of crops (a second look, ADR 0169) says so by its regions.
        const output = e.output as { regions?: unknown; detections?: { bbox: number[]; posture?: string; confidence: number }[] } | null;
        if (output?.regions !== undefined) looks++;
        if (record !== undefined) recorded.push({ seq: e.seq, captureTime: e.captureTime, output: e.output });
        if (trace)
          log(
            `FALL trace ${clip.file} seq ${e.seq}${output?.regions === undefined ? '' : ' look'}: ${JSON.stringify((output?.detections ?? []).map((d) => [d.posture, round(d.confidence, 2), d.bbox.map((v) => round(v, 2))]))}`,
          );
      };
      const onFall = (e: { event: { type: string; after: FallAlert } }): void => {
        if (e.event.type === 'new' && e.event.after.camera === camera) alerts.push({ at: performance.now(), alert: e.event.after });
      };
      const onObjective = (e: { camera: string | null; state: string }): void => {
        if (e.camera === camera && e.state === 'missed') missedObjective++;
      };
      system.on('result', onResult);
      system.on('fall', onFall);
      system.on('objective', onObjective);
      const source = `lavfi:movie=${join(dir, clip.file)},tpad=start_duration=${LEAD_S}:start_mode=clone:stop_duration=${TAIL_S}:stop_mode=clone`;
      const cpu0 = treeCpuS();
      const t0 = performance.now();
      await system.cameras.add(camera, {
        source,
        capture: { decoder: 'ffmpeg', output: { format: 'rgb24' } },
        workers: [{ id: 'people', model: 'person', maxFps: fps, falls: true }],
      });
      await sleep((LEAD_S + clip.frames / clip.fps + TAIL_S) * 1000);
      const cpu1 = treeCpuS();
      const t1 = performance.now();
      await system.cameras.remove(camera);
      system.off('result', onResult);
      system.off('fall', onFall);
      system.off('objective', onObjective);
      if (record !== undefined) writeRecording(record, { clip, leadS: LEAD_S, results: recorded });
      cpuS += cpu1 - cpu0;
      wallS += (t1 - t0) / 1000;
      results += seen.length;

      const captureOf = (t: number): number | null => clipFrameCapture(seen, clip.fps, LEAD_S, t);
      const start = clip.fallStartS === null ? null : captureOf(clip.fallStartS);
      const down = clip.downS === null ? null : captureOf(clip.downS);
      const early = start === null ? alerts : alerts.filter((a) => a.at < start);
      const after = start === null ? [] : alerts.filter((a) => a.at >= start);
      const first = after[0];
      const latency = first !== undefined && down !== null ? first.at - down : null;
      emit({
        workload: 'FALL',
        impl: 'framesupplier',
        part: 'clip',
        clip: clip.file,
        source: clip.source,
        type: clip.type,
        activity: clip.activity,
        is_fall: clip.isFall,
        alerts: alerts.map((a) => a.alert.kind),
        detected: clip.isFall && first !== undefined,
        false_alarms: early.length,
        event_after_down_ms: latency === null ? null : round(latency, 0),
        // on capture time: the alert's fall start and first sighting down against the clip's labels (ms, + is later)
        fall_start_vs_label_ms:
          first === undefined || start === null || first.alert.fall_time === null ? null : round(first.alert.fall_time * 1000 - wallOf(first, start), 0),
        down_vs_label_ms: first === undefined || down === null ? null : round(first.alert.down_time * 1000 - wallOf(first, down), 0),
        results: seen.length,
        second_looks: looks,
        // the longest pause between two of the worker's results in the clip (capture times): a model that stalls
        // longer than the tracker's endAfterSeconds loses the person it tracked
        longest_gap_ms: round(longestGap(seen.map((r) => r.captureTime)), 0),
        objective_missed: missedObjective,
      });
      outcomes.push(clipOutcome(clip, first !== undefined, early.length, latency));
      log(
        `FALL ${clip.file}: ${clip.isFall ? (first === undefined ? 'MISSED' : `detected, ${round(latency ?? NaN, 0)} ms after down`) : early.length > 0 ? `FALSE ALARM ×${early.length}` : 'ok'}`,
      );
    }
  } finally {
    await system.close();
    rmSync(shmDir, { recursive: true, force: true });
  }
  const run = {
    cpu_pct: wallS === 0 ? null : round((cpuS / wallS) * 100, 1),
    model_fps: wallS === 0 ? null : round(results / wallS, 2),
    fps,
    load_1m: [round(load, 2), round(loadavg()[0]!, 2)],
  };
  for (const summary of summarize(outcomes)) emit({ ...summary, ...run });
}

/** A capture time (monotonic ms) on the wall clock, by the alert's own pair of times (its raising frame's). */
function wallOf(a: { at: number; alert: FallAlert }, monotonic: number): number {
  // raised_at is the wall clock when it was raised, `at` the monotonic time it came out: the same instant within a tick
  return a.alert.raised_at * 1000 - (a.at - monotonic);
}

/** The longest gap between consecutive times (ms), 0 for fewer than two. */
export function longestGap(times: readonly number[]): number {
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i]! - times[i - 1]!);
  return longest;
}
