/**
 * The yardsticks P1, P2, P3 and D1 report next to framesupplier, run on the same media file in the same bench
 * run (issue 41 item 9, issue 43 items 4-5):
 * - the careful loop (plain_loop.py: Python + OpenCV, Debian's python3-opencv, run with /usr/bin/python3): a
 *   capture thread per camera grabbing every frame on the file's clock into a one-slot mailbox, one model
 *   thread serving the cameras round-robin, each camera's newest frame, retrieved only when taken;
 * - the decode floor (bench/floor/decode_floor.c, built by setup.sh bench or here on first use, with cc and libav*):
 *   libavcodec decoding the file alone, in process, at its own rate, one codec thread per stream, nothing
 *   converted: the least CPU a camera that decodes every frame can cost.
 * Each answers with the figures of its own JSON line; neither throws for a missing tool: the line says why it
 * has no figures.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { yardstickEnv } from './proc.js';

export const CAREFUL_LOOP = fileURLToPath(new URL('../../bench/pipeline/plain_loop.py', import.meta.url));
/** Debian's interpreter, where python3-opencv is installed (not a pyenv python3 first on PATH). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
const FLOOR_SOURCE = fileURLToPath(new URL('../../bench/floor/decode_floor.c', import.meta.url));
const FLOOR_BINARY = fileURLToPath(new URL('./floor/decode_floor', import.meta.url));

export interface CarefulLoopOptions {
  readonly file: string;
  readonly cameras: number;
  readonly seconds: number;
  readonly warmupS: number;
  /** The workload named in the line. P1: the light reader of every frame; P2, P3: maxFps 2; D1: as told. */
  readonly workload: 'P1' | 'P2' | 'P3' | 'D1';
  /** The shared model's service time (default 20 ms). */
  readonly modelMs?: number;
  /** Frames a second per camera to the model (default: 2 for P2 and P3, none otherwise). */
  readonly maxFps?: number;
  /** A light reader retrieving every frame (default: P1 only). */
  readonly light?: boolean;
  /** A file for one JSON line per frame served while measuring. */
  readonly trace?: string;
  /** Each camera's phase, ms after the first camera's frames (default: each camera's clock starts once its file is open). */
  readonly phasesMs?: readonly number[];
}

/** Runs a child to its end: its stdout and stderr, and its exit code. */
function run(command: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: yardstickEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', (error) => resolve({ code: null, stdout, stderr: stderr + String(error) }));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** plain_loop.py's arguments for a workload. */
export function carefulLoopArgs(o: CarefulLoopOptions): string[] {
  const maxFps = o.maxFps ?? (o.workload === 'P2' || o.workload === 'P3' ? 2 : 0);
  const light = o.light ?? o.workload === 'P1';
  return [
    CAREFUL_LOOP,
    '--file',
    o.file,
    '--cameras',
    String(o.cameras),
    '--seconds',
    String(o.seconds),
    '--warmup',
    String(o.warmupS),
    '--workload',
    o.workload,
    ...(o.modelMs === undefined ? [] : ['--model-ms', String(o.modelMs)]),
    ...(maxFps > 0 ? ['--max-fps', String(maxFps)] : []),
    ...(light ? ['--light'] : []),
    ...(o.trace === undefined ? [] : ['--trace', o.trace]),
    ...(o.phasesMs === undefined ? [] : ['--phases', o.phasesMs.join(',')]),
  ];
}

/** The careful loop's JSON line (its last line of output), or `{ error }` with why there is none. */
export async function carefulLoop(o: CarefulLoopOptions): Promise<Record<string, unknown>> {
  const { code, stdout, stderr } = await run(SYSTEM_PYTHON, carefulLoopArgs(o));
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as Record<string, unknown>;
  } catch {
    return { error: `plain_loop.py exited ${String(code)}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` };
  }
}

/** The decode floor's program, built from its source when missing or older (cc, pkg-config's libav* flags). */
export async function decodeFloorBinary(): Promise<string> {
  if (existsSync(FLOOR_BINARY) && statSync(FLOOR_BINARY).mtimeMs >= statSync(FLOOR_SOURCE).mtimeMs) return FLOOR_BINARY;
  const exec = promisify(execFile);
  const { stdout: flags } = await exec('pkg-config', ['--cflags', '--libs', 'libavformat', 'libavcodec', 'libavutil']);
  mkdirSync(dirname(FLOOR_BINARY), { recursive: true });
  await exec('cc', ['-std=c11', '-O2', '-Wall', '-o', FLOOR_BINARY, FLOOR_SOURCE, ...flags.trim().split(/\s+/), '-lpthread']);
  return FLOOR_BINARY;
}

/**
 * libavcodec decoding the file alone, in process, at its own rate, looped, one codec thread per stream, `streams`
 * streams at once: its JSON line (CPU % of a core in all and per camera, CPU µs per frame), or `{ error }`.
 */
export async function decodeFloor(file: string, streams: number, seconds: number): Promise<Record<string, unknown>> {
  let binary: string;
  try {
    binary = await decodeFloorBinary();
  } catch (error) {
    return { error: `the decode floor did not build (cc and libav* development headers): ${String(error)}` };
  }
  const { code, stdout, stderr } = await run(binary, [file, String(streams), String(seconds), '2']);
  try {
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  } catch {
    return { error: `decode_floor exited ${String(code)}: ${stderr.trim().split('\n').slice(-2).join(' | ')}` };
  }
}

/** framesupplier's figure over the yardstick's (below 1: framesupplier ahead), or null where either is missing. */
export function ratio(ours: number | null, theirs: unknown): number | null {
  return ours !== null && Number.isFinite(ours) && typeof theirs === 'number' && theirs > 0 ? Number((ours / theirs).toFixed(2)) : null;
}

/**
 * The `vs_careful_loop` ratios every workload prints: age p50/p99 (capture → result), CPU per camera, RSS at the end,
 * and PSS at the end where both sides have it (shared pages counted once over the processes that map them: Node's code
 * in the system and its model server, the frame stores both map).
 */
export function versusCarefulLoop(
  ours: { ageP50: number | null; ageP99: number | null; cpuPctPerCamera: number; rssMbEnd: number; pssMbEnd?: number },
  loop: Record<string, unknown>,
): Record<string, number | null> {
  return {
    age_ms_p50: ratio(ours.ageP50, loop.age_ms_p50),
    age_ms_p99: ratio(ours.ageP99, loop.age_ms_p99),
    cpu_pct_per_camera: ratio(ours.cpuPctPerCamera, loop.cpu_pct_per_camera),
    rss_mb_end: ratio(ours.rssMbEnd, loop.rss_mb_end),
    pss_mb_end: ratio(ours.pssMbEnd ?? null, loop.pss_mb_end),
  };
}
