/**
 * FALL-REPLAY: the fall rule on the real clips in seconds instead of the FALL bench's real time. FALL with
 * FALL_RECORD=<folder> writes, per clip, the person model's results as the worker got them (JSON Lines: a first
 * line with the clip and the still lead-in, then one a result: seq, capture time, output); this workload reads that
 * folder (FALL_REPLAY, default /tmp/fall-traces: derived keypoints of the shared clips stay outside the repository)
 * and puts each clip's results, in order and on their capture times, through the worker's tracked objects and the
 * fall rule as the system runs them (CameraObjects with the documented fall worker's tracker options, ticks
 * ending tracks by time once a second, a FallWatch with its fall options: replayClip). A rule change is checked on
 * every recorded clip in seconds; what the replay cannot change is the results themselves (a second look is made
 * when the recording's rule asked for one, ADR 0169), so the FALL bench is run once more at the end.
 *
 * A fall clip is detected by an alert raised by a frame captured at or after the fall's start (the label's frame,
 * on the recording's capture times); an alert before it, or on a clip without a fall, is a false alarm. Lines: one a
 * clip, then FALL's summaries (per source, per type, over all), each marked `replay: true`.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fallsOptionsOf, trackOptionsOf } from '../../src/config/index.js';
import { FallWatch, type FallKind } from '../../src/care/index.js';
import { CameraObjects, trackableDetections } from '../../src/objects/index.js';
import { emit, log, round } from '../stats.js';
import type { ClipOutcome } from './fall.js';
import type { FallClip } from './fall-clips.js';

/** One result as the FALL bench's worker got it. */
export interface RecordedResult {
  readonly seq: number;
  readonly captureTime: number;
  readonly output: unknown;
}

/** A recorded clip: its labels and sizes, the still lead-in before it (s), its results in order. */
export interface RecordedClip {
  readonly clip: FallClip;
  readonly leadS: number;
  readonly results: readonly RecordedResult[];
}

/** The file a clip's recording is written to: its name without folders. */
export const recordName = (file: string): string => `${file.replaceAll('/', '_')}.jsonl`;

/** The worker the FALL bench runs, whose tracker and fall options the replay takes. */
const WORKER = { id: 'people', model: 'person', maxFps: 5, falls: true } as const;
/** The tracked objects end tracks by time on a tick this often (ms), as the system's watch does. */
const TICK_MS = 1000;

export interface ReplayOutcome extends ClipOutcome {
  readonly alerts: readonly { readonly kind: FallKind; readonly at_s: number; readonly seen_down: boolean }[];
}

/**
 * The capture time of a clip's frame at `t` seconds, from the nearest result's (the source paced at the clip's
 * rate; the supplier's seq counts the source's frames from 1, the still lead-in `leadS` first), or null with none.
 */
export function clipFrameCapture(
  results: readonly { readonly seq: number; readonly captureTime: number }[],
  fps: number,
  leadS: number,
  t: number,
): number | null {
  const seq = Math.round(leadS * fps) + Math.round(t * fps) + 1;
  let near: { readonly seq: number; readonly captureTime: number } | null = null;
  for (const r of results) if (near === null || Math.abs(r.seq - seq) < Math.abs(near.seq - seq)) near = r;
  return near === null ? null : near.captureTime + ((seq - near.seq) * 1000) / fps;
}

/** A clip's outcome as FALL counts it: raised after its fall's start or not, alerts before it, the alert less the down frame (ms). */
export function clipOutcome(clip: FallClip, raised: boolean, falseAlarms: number, afterDownMs: number | null): ClipOutcome {
  return {
    clip: clip.file,
    source: clip.source,
    type: clip.type,
    is_fall: clip.isFall,
    detected: clip.isFall && raised,
    false_alarms: falseAlarms,
    event_after_down_ms: afterDownMs === null ? null : round(afterDownMs, 0),
  };
}

/** Writes a clip's recording into `dir` (recordName's file); returns its path. */
export function writeRecording(dir: string, recorded: RecordedClip): string {
  const path = join(dir, recordName(recorded.clip.file));
  writeFileSync(path, [JSON.stringify({ clip: recorded.clip, leadS: recorded.leadS }), ...recorded.results.map((r) => JSON.stringify(r))].join('\n') + '\n');
  return path;
}

/** Reads a recording (recordName's file). */
export function readRecording(path: string): RecordedClip {
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'));
  const head = JSON.parse(lines[0] ?? '{}') as { clip?: FallClip; leadS?: number };
  if (head.clip === undefined || typeof head.leadS !== 'number') throw new Error(`FALL-REPLAY: ${path} has no clip line first`);
  return { clip: head.clip, leadS: head.leadS, results: lines.slice(1).map((l) => JSON.parse(l) as RecordedResult) };
}

/** One recorded clip through the tracked objects and the fall rule; its outcome as FALL counts it. */
export function replayClip(recorded: RecordedClip): ReplayOutcome {
  const { clip, leadS, results } = recorded;
  const { snapshotSeconds: _s, updateSeconds: _u, ...tracker } = trackOptionsOf(WORKER)!;
  const objects = new CameraObjects({ camera: 'replay', worker: WORKER.id, tracker });
  const watch = new FallWatch(fallsOptionsOf(WORKER)!);
  const aspect = clip.width / clip.height;
  const raised: { kind: FallKind; time: number; seenDown: boolean }[] = [];
  let tick = Number.NEGATIVE_INFINITY;
  const feed = (time: number, people: Parameters<FallWatch['update']>[0]['people'], ended: readonly string[]): void => {
    for (const r of watch.update({ time, people, ended }).raised) raised.push({ kind: r.kind, time: r.time, seenDown: r.seenDown });
  };
  for (const result of results) {
    // The ticks between two results end tracks by time, dated by the latest frame (object-tracking.ts).
    while (Number.isFinite(tick) && tick + TICK_MS <= result.captureTime) {
      tick += TICK_MS;
      const latest = objects.tracker.time;
      const out = objects.expire(tick, tick);
      const ended = out.events.filter((e) => e.type === 'end').map((e) => e.after.id);
      if (ended.length > 0) feed(latest, [], ended);
    }
    if (!Number.isFinite(tick)) tick = result.captureTime;
    const detections = trackableDetections(result.output);
    if (detections === null) continue;
    const out = objects.update({ time: result.captureTime, wallTime: result.captureTime, detections, aspect });
    feed(
      result.captureTime,
      out.people,
      out.events.filter((e) => e.type === 'end').map((e) => e.after.id),
    );
  }
  const captureOf = (t: number): number | null => clipFrameCapture(results, clip.fps, leadS, t);
  const start = clip.fallStartS === null ? null : captureOf(clip.fallStartS);
  const down = clip.downS === null ? null : captureOf(clip.downS);
  const early = start === null ? raised : raised.filter((a) => a.time < start);
  const first = start === null ? undefined : raised.find((a) => a.time >= start);
  const origin = results[0]?.captureTime ?? 0;
  return {
    ...clipOutcome(clip, first !== undefined, early.length, first === undefined || down === null ? null : first.time - down),
    alerts: raised.map((a) => ({ kind: a.kind, at_s: round((a.time - origin) / 1000 - leadS, 2), seen_down: a.seenDown })),
  };
}

/** The workload: every recording under FALL_REPLAY through the rule; a line a clip, then FALL's summaries. */
export async function fallReplay(): Promise<void> {
  const dir = process.env.FALL_REPLAY ?? '/tmp/fall-traces';
  if (!existsSync(dir)) {
    log(`FALL-REPLAY: no recordings at ${dir} (FALL with FALL_RECORD=${dir} makes them): nothing run`);
    emit({ workload: 'FALL-REPLAY', missing: dir });
    return;
  }
  const { summarize } = await import('./fall.js');
  const outcomes: ReplayOutcome[] = [];
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith('.jsonl'))
    .sort()) {
    const outcome = replayClip(readRecording(join(dir, name)));
    outcomes.push(outcome);
    emit({ workload: 'FALL', impl: 'framesupplier', part: 'clip', replay: true, ...outcome });
  }
  for (const summary of summarize(outcomes)) emit({ ...summary, replay: true });
}
