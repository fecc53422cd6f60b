/**
 * G1, one accelerator and many cameras (bench/README.md): the Python package's model server, per-frame and batched,
 * at 8, 32 and 64 cameras, against the accelerator-shaped stand-in (4 ms + 0.3 ms a frame, a sleep that releases
 * the GIL), with the stand-in's own ceiling and the server's own ceiling in the same run. The workload is
 * python/bench/g1.py (so a GPU machine with no Node runs the same program with a real network: `--device cuda`);
 * this runs it with Debian's python3 and passes its JSON lines on. G1_ARGS adds its flags (`--seconds 3`).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { emit, log } from '../stats.js';

const PYTHON = '/usr/bin/python3';
const PACKAGE = fileURLToPath(new URL('../../../python/', import.meta.url));

export async function g1(): Promise<void> {
  const args = [join(PACKAGE, 'bench', 'g1.py'), ...(process.env.G1_ARGS ?? '').split(' ').filter((a) => a !== '')];
  log(`G1: ${PYTHON} ${args.join(' ')}`);
  const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.trim() !== '') emit(JSON.parse(line) as Record<string, unknown>);
  }
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`python/bench/g1.py exited with ${String(code)}`);
}
