/**
 * Capture workloads C1–C3 of bench/README.md: real ffmpeg, real
 * files and test patterns, the real StreamCapture.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { StreamCapture, type CaptureOptions } from '../../src/capture/index.js';
import { FrameSupplier, type Frame, type FrameInput } from '../../src/supplier/index.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';

const run = promisify(execFile);
const MEDIA = join(tmpdir(), 'framesupplier-bench-media');

/** A file made before the run by ffmpeg from its testsrc2 source with libx264 (cached between runs). */
export async function testClip(name: string, size: string, rate: number, seconds: number, encoderArgs: readonly string[] = []): Promise<string> {
  mkdirSync(MEDIA, { recursive: true });
  const path = join(MEDIA, name);
  if (!existsSync(path)) {
    log(`making ${name} (${size}, ${rate} fps, ${seconds} s) with libx264`);
    const partial = `${path}.partial.mp4`;
    await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${size}:rate=${rate}`,
      '-t',
      String(seconds),
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      ...encoderArgs,
      '-pix_fmt',
      'yuv420p',
      partial,
    ]);
    renameSync(partial, path);
  }
  return path;
}

/** Runs a capture of a file to its end; resolves with frames and seconds. */
async function captureToEnd(options: Omit<CaptureOptions, 'supplier'>): Promise<{ frames: number; seconds: number }> {
  const supplier = new FrameSupplier().start();
  const sub = supplier.subscribe('reader');
  const reading = (async () => {
    for await (const _ of sub) {
      /* one subscriber, reading as fast as frames come */
    }
  })();
  const capture = new StreamCapture({ ...options, supplier });
  const start = performance.now();
  await new Promise<void>((resolve) => {
    capture.on('state', (s) => s === 'stopped' && resolve());
    capture.start();
  });
  const seconds = (performance.now() - start) / 1000;
  const frames = capture.stats().framesPublished;
  void supplier.close();
  await reading;
  return { frames, seconds };
}

/** Seconds for ffmpeg alone to decode the file to rgb24 into its null output. */
async function ffmpegAlone(file: string): Promise<number> {
  const start = performance.now();
  const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-i', file, '-an', '-pix_fmt', 'rgb24', '-f', 'null', '-'], {
    stdio: 'ignore',
  });
  await new Promise((resolve) => child.once('exit', resolve));
  return (performance.now() - start) / 1000;
}

/**
 * Seconds for ffmpeg to decode the file to rgb24 raw frames on a pipe drained
 * by `cat` into /dev/null: the cost of getting pixels out of the decoder
 * process at all, with no Node on the other end.
 */
async function ffmpegToPipe(file: string): Promise<number> {
  const start = performance.now();
  const ffmpeg = spawn(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-i', file, '-an', '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-flush_packets', '1', 'pipe:1'],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const cat = spawn('cat', [], { stdio: [ffmpeg.stdout, 'ignore', 'ignore'] });
  await new Promise((resolve) => cat.once('exit', resolve));
  return (performance.now() - start) / 1000;
}

/**
 * C1: 1080p30 H.264, 60 s, decoded as fast as possible into the supplier,
 * against ffmpeg alone (null output), alternating, 3 pairs. Each round also
 * times ffmpeg writing the same raw frames to a pipe drained by cat, so the
 * Node side's own cost can be told apart from the cost of the pipe.
 */
export async function c1(pairs = 3): Promise<void> {
  const file = await testClip('testsrc2-1080p30-60s.mp4', '1920x1080', 30, 60);
  // Per decoder: fps through framesupplier, and its ratios to ffmpeg alone and to ffmpeg | cat, each round.
  const rounds = { native: [] as number[][], ffmpeg: [] as number[][] };
  const fpsAlone: number[] = [];
  const fpsPipe: number[] = [];
  let frames = 0;
  for (let i = 0; i < pairs; i++) {
    // Alternating within a round, so drifting machine load hits all alike.
    const native = await captureToEnd({ source: file, realtime: false, output: { format: 'rgb24' }, stallTimeoutMs: 60_000, decoder: 'native' });
    const aloneSeconds = await ffmpegAlone(file);
    const piped = await captureToEnd({ source: file, realtime: false, output: { format: 'rgb24' }, stallTimeoutMs: 60_000 });
    const pipeSeconds = await ffmpegToPipe(file);
    frames = piped.frames;
    const aloneFps = frames / aloneSeconds; // same file, same frame count
    const pipeFps = frames / pipeSeconds;
    fpsAlone.push(aloneFps);
    fpsPipe.push(pipeFps);
    for (const [name, run] of [
      ['native', native],
      ['ffmpeg', piped],
    ] as const) {
      const fps = run.frames / run.seconds;
      rounds[name].push([fps, fps / aloneFps, fps / pipeFps]);
    }
    log(
      `C1 round ${i + 1}: native ${(native.frames / native.seconds).toFixed(1)} fps, ffmpeg process ${(piped.frames / piped.seconds).toFixed(1)}, ` +
        `ffmpeg alone ${aloneFps.toFixed(1)}, ffmpeg | cat ${pipeFps.toFixed(1)}`,
    );
  }
  const med = (xs: number[]) => percentile(sortedCopy(xs), 50);
  for (const decoder of ['native', 'ffmpeg'] as const) {
    const r = rounds[decoder];
    emit({
      workload: 'C1',
      impl: 'framesupplier',
      decoder,
      frames,
      fps: round(med(r.map((x) => x[0]!)), 1),
      ffmpeg_alone_fps: round(med(fpsAlone), 1),
      ratio: round(med(r.map((x) => x[1]!)), 3),
      ffmpeg_pipe_fps: round(med(fpsPipe), 1),
      ratio_vs_pipe: round(med(r.map((x) => x[2]!)), 3),
      ratios: r.map((x) => round(x[1]!, 3)),
    });
  }
}

/** A supplier that records, for each frame, the time from its capture (last byte read) to publish() returning. */
class TimedSupplier extends FrameSupplier {
  readonly delaysUs: number[] = [];
  override publish(input: FrameInput): Frame {
    const frame = super.publish(input);
    this.delaysUs.push((performance.now() - frame.captureTime) * 1000);
    return frame;
  }
}

/** C2: a live 30 fps 720p rgb24 source for 30 s: last byte read → publish() returned. */
export async function c2(seconds = 30): Promise<void> {
  const supplier = new TimedSupplier().start();
  const sub = supplier.subscribe('reader');
  const reading = (async () => {
    for await (const _ of sub) {
      /* read every frame */
    }
  })();
  const capture = new StreamCapture({ source: 'lavfi:testsrc2=size=1280x720:rate=30', supplier, output: { format: 'rgb24' } }).start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await capture.close();
  void supplier.close();
  await reading;
  const sorted = sortedCopy(supplier.delaysUs);
  emit({
    workload: 'C2',
    impl: 'framesupplier',
    frames: sorted.length,
    delay_us_p50: round(percentile(sorted, 50), 1),
    delay_us_p99: round(percentile(sorted, 99), 1),
    delay_us_max: round(percentile(sorted, 100), 1),
  });
}

function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of /proc/PID/stat (index 11 and 12 after the name).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** C3: 16 streams of 720p at 10 fps (looping files) in one process for 60 s, one subscriber each. */
export async function c3(streams = 16, seconds = 60): Promise<void> {
  const file = await testClip('testsrc2-720p10-20s.mp4', '1280x720', 10, 20);
  const suppliers = Array.from({ length: streams }, (_, i) => new FrameSupplier({ streamId: `cam-${i}` }).start());
  const intervals: number[] = [];
  const lastPublish = new Array<number | null>(streams).fill(null);
  const readers = suppliers.map(async (supplier, i) => {
    for await (const frame of supplier.subscribe('reader')) {
      const previous = lastPublish[i];
      if (previous !== null && previous !== undefined) intervals.push(frame.publishTime - previous);
      lastPublish[i] = frame.publishTime;
    }
  });
  const captures = suppliers.map((supplier) => new StreamCapture({ source: file, loop: true, supplier, output: { format: 'rgb24' } }).start());
  await Promise.all(captures.map((c) => new Promise<void>((resolve) => (c.state === 'streaming' ? resolve() : c.once('state', () => resolve())))));
  // Measure from steady state: every stream connected.
  intervals.length = 0;
  const pids = () => captures.map((c) => c.stats().pid).filter((p): p is number => p !== null);
  const cpuStart = process.cpuUsage();
  const childStart = new Map(pids().map((p) => [p, cpuSecondsOf(p)]));
  const rssStart = process.memoryUsage().rss;
  const wallStart = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wall = (performance.now() - wallStart) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  let childCpu = 0;
  for (const p of pids()) childCpu += cpuSecondsOf(p) - (childStart.get(p) ?? 0);
  const rssEnd = process.memoryUsage().rss;
  const restarts = captures.reduce((n, c) => n + c.stats().restarts, 0);
  await Promise.all(captures.map((c) => c.close()));
  for (const s of suppliers) void s.close();
  await Promise.all(readers);
  const sorted = sortedCopy(intervals);
  const nodeCpu = (cpu.user + cpu.system) / 1e6;
  emit({
    workload: 'C3',
    impl: 'framesupplier',
    streams,
    cpu_pct_per_stream: round(((nodeCpu + childCpu) / wall / streams) * 100, 2),
    node_cpu_pct: round((nodeCpu / wall) * 100, 1),
    decoders_cpu_pct: round((childCpu / wall) * 100, 1),
    interval_ms_p50: round(percentile(sorted, 50), 2),
    interval_ms_p99: round(percentile(sorted, 99), 2),
    rss_mb_start: round(rssStart / 2 ** 20, 1),
    rss_mb_end: round(rssEnd / 2 ** 20, 1),
    restarts,
  });
}
