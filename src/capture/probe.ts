/**
 * A source's frame rate and keyframe interval, asked of ffprobe before the
 * source is captured: for a forecast of what a camera not running yet would
 * ask of its models, and of the age decoding keyframes only would add.
 *
 * Contract: never throws; null when ffprobe cannot tell within the timeout
 * (an unreachable camera, a source it cannot open, no ffprobe). The source's
 * credentials never appear in what it returns.
 */
import { execFile } from 'node:child_process';
import { classifySource } from '../internal/source-kind.js';

/** Frames per second of the source's first video stream, or null. */
export function probeFrameRate(source: string, options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {}): Promise<number | null> {
  const c = classifySource(source.trim());
  if (!('kind' in c)) return Promise.resolve(null);
  const input = [
    ...(c.kind === 'lavfi' ? ['-f', 'lavfi'] : c.kind === 'v4l2' ? ['-f', 'v4l2'] : c.kind === 'rtsp' ? ['-rtsp_transport', 'tcp'] : []),
    '-i',
    c.input,
  ];
  const args = ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=avg_frame_rate,r_frame_rate', '-of', 'json', ...input];
  return new Promise((resolve) => {
    execFile('ffprobe', args, { timeout: options.timeoutMs ?? 5_000, ...(options.signal ? { signal: options.signal } : {}) }, (error, stdout) => {
      if (error !== null) return resolve(null);
      try {
        const stream = (JSON.parse(stdout) as { streams?: { avg_frame_rate?: string; r_frame_rate?: string }[] }).streams?.[0];
        resolve(rate(stream?.avg_frame_rate) ?? rate(stream?.r_frame_rate));
      } catch {
        resolve(null);
      }
    });
  });
}

/** "30000/1001" → 29.97; null for 0/0, nonsense or absent. */
function rate(text: string | undefined): number | null {
  const m = /^(\d+)(?:\/(\d+))?$/.exec(text ?? '');
  if (m === null) return null;
  const fps = Number(m[1]) / Number(m[2] ?? 1);
  return Number.isFinite(fps) && fps > 0 && fps <= 1000 ? fps : null;
}

/**
 * The interval between the source's keyframes, ms, from the packets ffprobe reads over its first `windowS` seconds
 * (the median of the intervals seen); null when it cannot tell (fewer than two keyframes in the window, a source it
 * cannot open, no ffprobe). What a forecast of `decode: keyframes` needs before the camera runs.
 */
export function probeKeyframeInterval(
  source: string,
  options: { readonly timeoutMs?: number; readonly windowS?: number; readonly signal?: AbortSignal } = {},
): Promise<number | null> {
  const c = classifySource(source.trim());
  if (!('kind' in c) || c.kind === 'lavfi') return Promise.resolve(null);
  const input = [...(c.kind === 'v4l2' ? ['-f', 'v4l2'] : c.kind === 'rtsp' ? ['-rtsp_transport', 'tcp'] : []), '-i', c.input];
  const window = options.windowS ?? 6;
  const args = [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-read_intervals',
    `%+${window}`,
    '-show_entries',
    'packet=pts_time,flags',
    '-of',
    'csv=p=0',
    ...input,
  ];
  return new Promise((resolve) => {
    execFile(
      'ffprobe',
      args,
      { timeout: options.timeoutMs ?? (window + 3) * 1000, maxBuffer: 16 * 1024 * 1024, ...(options.signal ? { signal: options.signal } : {}) },
      (error, stdout) => {
        if (error !== null) return resolve(null);
        resolve(keyframeIntervalOf(stdout));
      },
    );
  });
}

/** ffprobe's `pts_time,flags` lines → the median interval between keyframes (flags starting with K), ms; null with fewer than two. */
export function keyframeIntervalOf(csv: string): number | null {
  const keys: number[] = [];
  for (const line of csv.split('\n')) {
    const [pts, flags] = line.trim().split(',');
    const t = Number(pts);
    if (flags?.startsWith('K') === true && pts !== '' && Number.isFinite(t)) keys.push(t);
  }
  keys.sort((a, b) => a - b);
  const intervals: number[] = [];
  for (let i = 1; i < keys.length; i++) if (keys[i]! > keys[i - 1]!) intervals.push((keys[i]! - keys[i - 1]!) * 1000);
  if (intervals.length === 0) return null;
  intervals.sort((a, b) => a - b);
  return intervals[Math.floor(intervals.length / 2)]!;
}

/** A stream's decoding cost, measured by decoding a few of its frames: CPU per frame (one thread), and its size. */
export interface DecodeCost {
  readonly msPerFrame: number;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
}

/**
 * Decodes the source's first `frames` frames (default 30) with ffmpeg on one thread and measures the CPU each took
 * (`-benchmark_all`: the user and system time of every decode call, the first, which opens the codec, left out):
 * what decoding the stream all the time would cost, per frame, for a forecast of a camera not running yet (ADR 0114).
 * Null when it cannot tell within the timeout (an unreachable camera, no ffmpeg, fewer than two frames).
 */
export function probeDecodeCost(
  source: string,
  options: { readonly frames?: number; readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
): Promise<DecodeCost | null> {
  const c = classifySource(source.trim());
  if (!('kind' in c)) return Promise.resolve(null);
  const input = [
    ...(c.kind === 'lavfi' ? ['-f', 'lavfi'] : c.kind === 'v4l2' ? ['-f', 'v4l2'] : c.kind === 'rtsp' ? ['-rtsp_transport', 'tcp'] : []),
    '-threads',
    '1',
    '-i',
    c.input,
  ];
  const frames = options.frames ?? 30;
  const args = ['-hide_banner', '-nostdin', '-benchmark_all', ...input, '-map', '0:v:0', '-frames:v', String(frames), '-f', 'null', '-'];
  return new Promise((resolve) => {
    execFile(
      'ffmpeg',
      args,
      { timeout: options.timeoutMs ?? 10_000, maxBuffer: 16 * 1024 * 1024, ...(options.signal ? { signal: options.signal } : {}) },
      (error, _stdout, stderr) => resolve(error !== null ? null : decodeCostOf(String(stderr))),
    );
  });
}

/** ffmpeg's `-benchmark_all` stderr → the CPU per decoded frame (µs of user + system per decode call, the first left out) and the input's size. */
export function decodeCostOf(stderr: string): DecodeCost | null {
  const size = /Stream #0:\d+[^\n]*: Video: [^\n]*?, (\d{2,5})x(\d{2,5})/.exec(stderr);
  const frame = [...stderr.matchAll(/frame=\s*(\d+)/g)].at(-1);
  const calls = [...stderr.matchAll(/bench:\s+(\d+) user\s+(\d+) sys\s+\d+ real decode_video/g)];
  const decoded = frame === undefined ? 0 : Number(frame[1]);
  if (size === null || calls.length < 2 || decoded < 2) return null;
  const us = calls.slice(1).reduce((sum, m) => sum + Number(m[1]) + Number(m[2]), 0);
  return { msPerFrame: us / 1000 / (decoded - 1), width: Number(size[1]), height: Number(size[2]), frames: decoded };
}
