/**
 * JPEG encoders for the dashboard (ADR 0020): one vtest.avi frame (768×576
 * rgb24) encoded 200 times at full size and scaled to 288 lines, by sharp
 * (libvips, mozjpeg's libjpeg-turbo path) in process and by a long-lived
 * ffmpeg process (its MJPEG encoder, raw frames in on stdin, JPEGs out on
 * stdout). Per encode: p50/p99 ms, bytes, and CPU ms (this process's for
 * sharp, ffmpeg's own from /proc for ffmpeg).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { findSampleMedia } from '../../src/capture/index.js';
import { encodeFrame, NOT_PRIVATE } from '../../src/pictures/index.js';
import type { Frame } from '../../src/supplier/index.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';

const W = 768;
const H = 576;
const N = 200;

function frame(): Frame {
  const source = findSampleMedia() ?? 'testsrc2=size=768x576:rate=10';
  const lavfi = findSampleMedia() === null ? ['-f', 'lavfi'] : [];
  const payload = execFileSync(
    'ffmpeg',
    ['-v', 'error', ...lavfi, '-i', source, '-vf', 'select=eq(n\\,100)', '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-'],
    { maxBuffer: 1 << 24 },
  );
  return {
    seq: 1,
    payload: new Uint8Array(payload),
    width: W,
    height: H,
    format: 'rgb24',
    streamId: 'bench',
    captureTime: 0,
    wallTime: 0,
    decodedTime: 0,
    publishTime: 0,
  };
}

const cpuTicks = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, clock ticks (100/s)
};

async function viaSharp(f: Frame, height: number): Promise<void> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 10; i++) await encodeFrame(f, { height, privacy: NOT_PRIVATE });
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const { jpeg } = await encodeFrame(f, { height, privacy: NOT_PRIVATE });
    times.push(performance.now() - t0);
    bytes += jpeg.length;
  }
  const cpu = process.cpuUsage(cpu0);
  const sorted = sortedCopy(times);
  emit({
    workload: 'JPEG',
    encoder: 'sharp',
    height,
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    bytes: Math.round(bytes / N),
    cpu_ms_per_encode: round((cpu.user + cpu.system) / 1000 / N),
  });
}

async function viaFfmpeg(f: Frame, height: number): Promise<void> {
  // q:v 5 is about sharp's quality 75 in size.
  const child = spawn(
    'ffmpeg',
    [
      '-v',
      'error',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${W}x${H}`,
      '-i',
      '-',
      '-vf',
      `scale=-2:${height}`,
      '-c:v',
      'mjpeg',
      '-q:v',
      '5',
      '-threads',
      '1',
      '-flush_packets',
      '1',
      '-f',
      'image2pipe',
      '-',
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let pending: ((n: number) => void) | null = null;
  let buffered = Buffer.alloc(0);
  child.stdout.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    // A JPEG ends with FFD9; one frame in flight at a time, so the end of the buffer is the end of the frame.
    if (buffered.length >= 2 && buffered[buffered.length - 2] === 0xff && buffered[buffered.length - 1] === 0xd9) {
      const n = buffered.length;
      buffered = Buffer.alloc(0);
      pending?.(n);
    }
  });
  const one = (): Promise<number> =>
    new Promise((resolve) => {
      pending = resolve;
      child.stdin.write(f.payload);
    });
  for (let i = 0; i < 10; i++) await one();
  const ticks0 = cpuTicks(child.pid!);
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    bytes += await one();
    times.push(performance.now() - t0);
  }
  const ticks = cpuTicks(child.pid!) - ticks0;
  child.stdin.end();
  const sorted = sortedCopy(times);
  emit({
    workload: 'JPEG',
    encoder: 'ffmpeg-mjpeg',
    height,
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    bytes: Math.round(bytes / N),
    cpu_ms_per_encode: round((ticks * 10) / N),
  });
}

export async function jpegEncoders(): Promise<void> {
  const f = frame();
  for (const height of [H, 288]) {
    log(`JPEG: sharp at ${height} lines`);
    await viaSharp(f, height);
    log(`JPEG: ffmpeg at ${height} lines`);
    await viaFfmpeg(f, height);
  }
}
