/**
 * Real components for capture tests: media encoded by the real ffmpeg from
 * OpenCV's vtest.avi (test/helpers/media.ts), and a real RTSP server
 * (gst-rtsp-server via Debian's python3-gi) started and killed by the tests.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';
import { StreamCapture, type CaptureOptions, type CaptureState, type DecodeState } from '../../src/capture/index.js';
import { FrameSupplier, type Frame, type Subscription } from '../../src/supplier/index.js';
import { VTEST } from '../helpers/media.js';
import { endChild, ended } from '../helpers/process.js';

const run = promisify(execFile);
export { VTEST } from '../helpers/media.js';
const SERVER_SCRIPT = fileURLToPath(new URL('../../../test/capture/rtsp_server.py', import.meta.url));
const MEDIA_DIR = join(tmpdir(), 'framesupplier-test-media');

/** Encodes (once per machine) a file from vtest.avi with the given ffmpeg output arguments. */
export async function media(name: string, outputArgs: string[]): Promise<string> {
  mkdirSync(MEDIA_DIR, { recursive: true });
  const path = join(MEDIA_DIR, name);
  if (!existsSync(path)) {
    const partial = `${path}.partial${process.pid}${name.slice(name.lastIndexOf('.'))}`;
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', VTEST, ...outputArgs, partial]);
    await run('mv', [partial, path]);
  }
  return path;
}

/** vtest.avi as H.264 in MP4, for the RTSP server (no transcoding there). */
export const h264Clip = (): Promise<string> =>
  media('vtest-h264.mp4', ['-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '10', '-pix_fmt', 'yuv420p']);

/**
 * One scene as a camera's two streams (ADR 0052): a 1280 × 720 main stream and a 640 × 360 substream, H.264 at
 * 10 fps with a keyframe a second and the same timestamps, 60 s. The scene: white squares on black at known
 * places (SQUARES, in main-stream pixels) and a small box moving 8 px a frame along the bottom.
 */
export async function twoStreamScene(): Promise<{ main: string; sub: string }> {
  const encode = ['-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-bf', '0', '-pix_fmt', 'yuv420p'];
  mkdirSync(MEDIA_DIR, { recursive: true });
  const main = join(MEDIA_DIR, 'scene-main-720p.mp4');
  const sub = join(MEDIA_DIR, 'scene-sub-360p.mp4');
  const boxes = SQUARES.map((q) => `drawbox=x=${q.x}:y=${q.y}:w=${q.width}:h=${q.height}:color=white:t=fill`).join(',');
  const graph = `color=black:s=1280x720:r=10:d=60,${boxes}[bg];color=white:s=16x16:r=10:d=60[dot];[bg][dot]overlay=x='mod(n*8,1200)':y=680:eval=frame`;
  for (const [path, scale] of [
    [main, ''],
    [sub, ',scale=640:360'],
  ] as const) {
    if (existsSync(path)) continue;
    const partial = `${path}.partial${process.pid}.mp4`;
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-filter_complex', graph + scale, ...encode, partial]);
    await run('mv', [partial, path]);
  }
  return { main, sub };
}

/** The scene's squares, in the main stream's pixels (halve them for the substream). */
export const SQUARES = [
  { x: 320, y: 180, width: 160, height: 160 },
  { x: 800, y: 300, width: 240, height: 120 },
] as const;

/** A file that is not a video at all. */
export function corruptFile(): string {
  mkdirSync(MEDIA_DIR, { recursive: true });
  const path = join(MEDIA_DIR, 'corrupt.mp4');
  writeFileSync(path, Buffer.from('this is not a video, only bytes pretending'.repeat(100)));
  return path;
}

export class RtspServer {
  #child: ChildProcess | null = null;
  port = 0;

  /** `more`: further files served at /<name> beside /stream (a camera's substreams). */
  constructor(
    readonly file: string,
    readonly more: Readonly<Record<string, string>> = {},
  ) {}

  /** The URL of a further stream (`more`). */
  urlOf(name: string): string {
    return `rtsp://127.0.0.1:${this.port}/${name}`;
  }

  get pid(): number {
    if (this.#child?.pid === undefined) throw new Error('server not running');
    return this.#child.pid;
  }

  get url(): string {
    return `rtsp://127.0.0.1:${this.port}/stream`;
  }

  /** Starts the server (on the same port as before, after a restart); resolves when it listens. */
  async start(): Promise<this> {
    const child = spawn(
      '/usr/bin/python3',
      [SERVER_SCRIPT, String(this.port), this.file, ...Object.entries(this.more).map(([name, file]) => `${name}=${file}`)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout });
    this.port = await new Promise<number>((resolve, reject) => {
      lines.on('line', (line) => {
        const m = /^READY (\d+)$/.exec(line);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`rtsp server exited with ${code}: ${stderr}`)));
      child.once('error', reject); // not started at all (EAGAIN and the like): no 'exit' follows
    });
    return this;
  }

  /** Resolves once the server's process has ended, whoever ended it (at once if it has, or none runs). */
  whenEnded(): Promise<void> {
    const child = this.#child;
    if (child === null || ended(child)) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    // Gone already maybe: gst-rtsp-server aborts on an assertion now and then under load (endChild returns at once).
    if (child !== null) await endChild(child, 'SIGKILL');
  }
}

/** Resolves when the capture reaches the state (now or later). */
export function until(capture: StreamCapture, state: CaptureState): Promise<void> {
  if (capture.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const on = (s: CaptureState) => {
      if (s === state) {
        capture.off('state', on);
        resolve();
      }
    };
    capture.on('state', on);
  });
}

/** True if a process with this pid exists and is not a zombie. */
export { alive } from '../helpers/process.js';

/** Pids of ffmpeg processes whose parent is the given pid. */
export function ffmpegChildrenOf(ppid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSyncSafe('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
      if (m && m[1] === 'ffmpeg' && Number(m[3]) === ppid && m[2] !== 'Z') found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A started capture with a fast backoff and a reader subscribed before it starts. */
/** Every capture the tests made, to stop after them. */
/**
 * A 320-pixel H.264 cut of the sample clip at 10 fps with a keyframe every `gop` frames (no scene-cut keyframes) and
 * `bFrames` B frames between references, none of them a reference (no pyramid): the decode-mode tests' streams.
 */
export const gopClip = (seconds: number, gop: number, bFrames: number): Promise<string> =>
  media(`vtest-${seconds}s-gop${gop}-b${bFrames}.mp4`, [
    ...['-an', '-t', String(seconds), '-vf', 'fps=10,scale=320:-2', '-c:v', 'libx264', '-preset', 'veryfast'],
    ...['-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-bf', String(bFrames)],
    ...(bFrames > 0 ? ['-x264-params', 'b-pyramid=none'] : []),
    ...['-pix_fmt', 'yuv420p'],
  ]);

/** The next decode state the capture tells that satisfies `wanted`. */
export function decodeState(cap: StreamCapture, wanted: (state: DecodeState) => boolean): Promise<DecodeState> {
  return new Promise((resolve) => {
    const on = (state: DecodeState): void => {
      if (!wanted(state)) return;
      cap.off('decode', on);
      resolve(state);
    };
    cap.on('decode', on);
  });
}

export const captures: StreamCapture[] = [];
export function capture(options: Omit<CaptureOptions, 'supplier'> & { supplier?: FrameSupplier }): {
  cap: StreamCapture;
  sub: Subscription;
  supplier: FrameSupplier;
} {
  const supplier = options.supplier ?? new FrameSupplier({ streamId: 'test-cam' }).start();
  const sub = supplier.subscribe(`reader-${captures.length}`);
  const cap = new StreamCapture({ backoff: { initialMs: 100, maxMs: 500 }, stallTimeoutMs: 5_000, ...options, supplier });
  captures.push(cap);
  return { cap: cap.start(), sub, supplier };
}

export async function frames(sub: Subscription, n: number): Promise<Frame[]> {
  const out: Frame[] = [];
  while (out.length < n) {
    const f = await sub.read();
    assert.ok(f !== null, 'stream ended early');
    out.push(f);
  }
  return out;
}

/** Waits until a poll of the system says yes; for conditions no event reports (another process's death). */

/**
 * The reconnection scenario, for either decoder: 384 × 288 rgb24 frames flow,
 * the RTSP server dies (backoff with an error), comes back, and frames flow
 * again with later seqs.
 */
export async function assertReconnects(server: RtspServer, cap: StreamCapture, sub: Subscription): Promise<void> {
  const first = await frames(sub, 3);
  assert.deepEqual([first[0]!.width, first[0]!.height, first[0]!.format], [384, 288, 'rgb24']);
  await server.kill();
  await until(cap, 'backoff');
  assert.ok(cap.stats().lastError !== null);
  await server.start();
  await until(cap, 'streaming');
  const again = await frames(sub, 3);
  assert.ok(again[0]!.seq > first[2]!.seq);
}
