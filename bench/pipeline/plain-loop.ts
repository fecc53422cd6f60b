/**
 * The yardsticks P1 and P2 report next to framesupplier (issue 32, item 6), run on the same media file in
 * the same bench run: the loop a user would write instead (plain_loop.py: Python + OpenCV, Debian's
 * python3-opencv, run with /usr/bin/python3), and the decode floor (ffmpeg alone decoding the file at its
 * own rate on one thread to the same pixel format: the least CPU a camera can cost). Each answers with the
 * figures of its own JSON line; neither throws for a missing tool: the line says why it has no figures.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PLAIN_LOOP = fileURLToPath(new URL('../../../bench/pipeline/plain_loop.py', import.meta.url));
/** Debian's interpreter, where python3-opencv is installed (not a pyenv python3 first on PATH). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export interface PlainLoopOptions {
  readonly file: string;
  readonly cameras: number;
  readonly seconds: number;
  readonly warmupS: number;
  readonly workload: 'P1' | 'P2';
}

/** Runs a child to its end: its stdout and stderr, and its exit code. */
function run(command: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', (error) => resolve({ code: null, stdout, stderr: stderr + String(error) }));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** plain_loop.py's arguments for a workload: P2 at maxFps 2 per camera; P1 with the light reader of every frame. */
export function plainLoopArgs(o: PlainLoopOptions): string[] {
  return [
    PLAIN_LOOP,
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
    ...(o.workload === 'P2' ? ['--max-fps', '2'] : ['--light']),
  ];
}

/** The plain loop's JSON line (its last line of output), or `{ error }` with why there is none. */
export async function plainLoop(o: PlainLoopOptions): Promise<Record<string, unknown>> {
  const { code, stdout, stderr } = await run(SYSTEM_PYTHON, plainLoopArgs(o));
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as Record<string, unknown>;
  } catch {
    return { error: `plain_loop.py exited ${String(code)}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` };
  }
}

/** ffmpeg decoding the file alone at its own rate (-re), looped, on one thread, to `pixFmt`: CPU % of a core (one camera). */
export async function decodeFloor(file: string, seconds: number, pixFmt: string): Promise<Record<string, unknown>> {
  const args = ['-hide_banner', '-nostats', '-benchmark', '-threads', '1', '-re', '-stream_loop', '-1', '-i', file];
  const { code, stderr } = await run('ffmpeg', [...args, '-t', String(seconds), '-threads', '1', '-f', 'rawvideo', '-pix_fmt', pixFmt, '-y', '/dev/null']);
  const bench = /bench: utime=([\d.]+)s stime=([\d.]+)s rtime=([\d.]+)s/.exec(stderr);
  if (bench === null) return { error: `ffmpeg exited ${String(code)}: ${stderr.trim().split('\n').slice(-2).join(' | ')}` };
  const [, utime, stime, rtime] = bench.map(Number) as [number, number, number, number];
  return { pix_fmt: pixFmt, seconds: rtime, cpu_pct_per_camera: Number((((utime + stime) / rtime) * 100).toFixed(2)) };
}
