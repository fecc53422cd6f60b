/**
 * FALL (bench/README.md, "FALL a person down"): the UP-Fall clips in ../shared/data/falls (their
 * README: 31 clips of one person, 15 falls and 16 everyday movements, labels.csv with the frames where each fall
 * starts and where the person is down), each played once through a real system: a camera whose source is the
 * clip after a still lead-in (its first frame held LEAD_S seconds) and before a still tail (its last frame held
 * TAIL_S), read there by ffmpeg's lavfi `movie` filter (the clips are never copied), in real time at the clip's
 * 18 fps; the person model (handler person, its defaults: MoveNet MultiPose at 448, fp32, one thread) and one
 * worker with `falls: true` at `maxFps` FALL_FPS (default 5). One system for every clip, its model server ready
 * before the first: a camera is added per clip and removed after it.
 *
 * Per clip: the `fall` alerts raised (their `new`), when each came out (this process's monotonic clock) and the
 * capture time of the clip's frame where the person is down (the supplier's seq counts the source's frames from
 * 1: the clip's frame k is seq LEAD_S × 18 + k + 1; its capture time from the nearest result's, at 18 a second).
 * A clip without a fall with an alert, or a fall clip with one raised before its fall starts, is a false alarm; a
 * fall clip with one raised after is detected, and its event_after_down_ms is the alert's time out less the
 * down frame's capture time. cpu_pct: the process tree's CPU (this process, the model server, ffmpeg) over the
 * clips' wall time, of one core; model_fps: the worker's results a second.
 *
 * A clip's line also says the longest pause between two of its results (`longest_gap_ms`): a model that stalls
 * past the tracker's endAfterSeconds loses the person it tracked.
 *
 * Fields of the summary line: clips, falls, detected, false_alarms, event_after_down_ms_p50, _p99, cpu_pct,
 * model_fps (bench/README.md), beside workload, fps (the worker's maxFps) and load_1m. A line per clip says what
 * happened (misses and false alarms named). Without the clips (a fresh clone has no ../shared): one line saying
 * so, and nothing run. FALL_DATA names another folder; FALL_ONLY runs the clips whose name contains it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { FallAlert } from '../../src/objects/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { statUsage, treeStats } from '../proc.js';
import { emit, log, percentile, round, sleep, sortedCopy } from '../stats.js';

/** dist/bench/objects → the checkout's parent. */
const DEFAULT_DATA = fileURLToPath(new URL('../../../../shared/data/falls/', import.meta.url));
const CLIP_FPS = 18;
const LEAD_S = 2;
const TAIL_S = 3;

/** A clip's row of labels.csv (frames 0-based; fallStart and down null for a clip without a fall). */
export interface Label {
  readonly file: string;
  readonly activity: string;
  readonly frames: number;
  readonly isFall: boolean;
  readonly fallStart: number | null;
  readonly down: number | null;
}

/** labels.csv of `dir`, its line ends LF or CRLF. */
export function labels(dir: string): Label[] {
  const [header, ...rows] = readFileSync(join(dir, 'labels.csv'), 'utf8').trim().split(/\r?\n/);
  const columns = header!.split(',').map((c) => c.trim());
  const at = (name: string): number => columns.indexOf(name);
  return rows.map((row) => {
    const cells = row.split(',').map((c) => c.trim());
    const number = (name: string): number | null => (cells[at(name)] === '' || cells[at(name)] === undefined ? null : Number(cells[at(name)]));
    return {
      file: cells[at('file')]!,
      activity: cells[at('activity')]!,
      frames: number('frames')!,
      isFall: cells[at('is_fall')] === '1',
      fallStart: number('fall_start_frame'),
      down: number('person_down_frame'),
    };
  });
}

/** The process tree's CPU seconds now (this process and its children: the model server, ffmpeg). */
function treeCpuS(): number {
  let total = 0;
  for (const fields of treeStats(process.pid).values()) total += statUsage(fields).cpuS;
  return total;
}

export async function fall(): Promise<void> {
  const dir = process.env.FALL_DATA ?? DEFAULT_DATA;
  if (!existsSync(join(dir, 'labels.csv'))) {
    log(`FALL: no clips at ${dir} (they live beside the checkout, in ../shared/data/falls, and never in it): nothing run`);
    emit({ workload: 'FALL', impl: 'framesupplier', missing: dir });
    return;
  }
  const fps = Number(process.env.FALL_FPS ?? 5);
  const only = process.env.FALL_ONLY;
  const clips = labels(dir).filter((c) => only === undefined || c.file.includes(only));
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
  const latencies: number[] = [];
  let detected = 0;
  let falseAlarms = 0;
  let cpuS = 0;
  let wallS = 0;
  let results = 0;
  try {
    for (const [i, clip] of clips.entries()) {
      const camera = `clip${i}`;
      const seen: { seq: number; captureTime: number }[] = [];
      const alerts: { at: number; alert: FallAlert }[] = [];
      let missedObjective = 0;
      const onResult = (e: { camera: string; worker: string; seq: number; captureTime: number }): void => {
        if (e.camera === camera && e.worker === 'people') seen.push({ seq: e.seq, captureTime: e.captureTime });
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
      await sleep((LEAD_S + clip.frames / CLIP_FPS + TAIL_S) * 1000);
      const cpu1 = treeCpuS();
      const t1 = performance.now();
      await system.cameras.remove(camera);
      system.off('result', onResult);
      system.off('fall', onFall);
      system.off('objective', onObjective);
      cpuS += cpu1 - cpu0;
      wallS += (t1 - t0) / 1000;
      results += seen.length;

      /** The capture time of the clip's frame k, from the nearest result's (the source paced at 18 a second). */
      const captureOf = (k: number): number | null => {
        const seq = LEAD_S * CLIP_FPS + k + 1;
        let near: { seq: number; captureTime: number } | null = null;
        for (const r of seen) if (near === null || Math.abs(r.seq - seq) < Math.abs(near.seq - seq)) near = r;
        return near === null ? null : near.captureTime + ((seq - near.seq) * 1000) / CLIP_FPS;
      };
      const start = clip.fallStart === null ? null : captureOf(clip.fallStart);
      const down = clip.down === null ? null : captureOf(clip.down);
      const early = start === null ? alerts : alerts.filter((a) => a.at < start);
      const after = start === null ? [] : alerts.filter((a) => a.at >= start);
      falseAlarms += early.length;
      const first = after[0];
      const latency = first !== undefined && down !== null ? first.at - down : null;
      if (clip.isFall && first !== undefined) {
        detected++;
        if (latency !== null) latencies.push(latency);
      }
      emit({
        workload: 'FALL',
        impl: 'framesupplier',
        part: 'clip',
        clip: clip.file,
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
        // the longest pause between two of the worker's results in the clip (capture times): a model that stalls
        // longer than the tracker's endAfterSeconds loses the person it tracked
        longest_gap_ms: round(longestGap(seen.map((r) => r.captureTime)), 0),
        objective_missed: missedObjective,
      });
      log(
        `FALL ${clip.file}: ${clip.isFall ? (first === undefined ? 'MISSED' : `detected, ${round(latency ?? NaN, 0)} ms after down`) : early.length > 0 ? `FALSE ALARM ×${early.length}` : 'ok'}`,
      );
    }
  } finally {
    await system.close();
    rmSync(shmDir, { recursive: true, force: true });
  }
  const sorted = sortedCopy(latencies);
  emit({
    workload: 'FALL',
    impl: 'framesupplier',
    clips: clips.length,
    falls: clips.filter((c) => c.isFall).length,
    detected,
    false_alarms: falseAlarms,
    event_after_down_ms_p50: sorted.length === 0 ? null : round(percentile(sorted, 50), 0),
    event_after_down_ms_p99: sorted.length === 0 ? null : round(percentile(sorted, 99), 0),
    cpu_pct: wallS === 0 ? null : round((cpuS / wallS) * 100, 1),
    model_fps: wallS === 0 ? null : round(results / wallS, 2),
    fps,
    load_1m: [round(load, 2), round(loadavg()[0]!, 2)],
  });
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
