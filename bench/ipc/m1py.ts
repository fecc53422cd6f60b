/**
 * M1PY: M1 through the Python package's model server beside the Node server
 * (issue 35): the same mock handler (python/tests/mock_server.py reads every
 * 4 KiB page of the frame, as the Node mock does), the same 1080p NV12 frame,
 * the same client, persistent at C = 8 and per-request at C = 32. Every
 * request names a camera of its own, so no request supersedes another (a
 * camera's pipelined requests would). The servers are measured in turn, the
 * order reversed every other round; medians over the rounds.
 */
import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { InferenceRequest } from '../../src/ipc/index.js';
import { emit, log, percentile, sortedCopy } from '../stats.js';
import { measure, shmDirIn, writeFrame } from './m1.js';
import { startModelServer, stopModelServer } from './server.js';
import { endChild } from '../../test/helpers/process.js';

const PYTHON = '/usr/bin/python3';
const median = (values: number[]): number => percentile(sortedCopy(values), 50);
const PACKAGE = fileURLToPath(new URL('../../../python/', import.meta.url));

async function startPythonServer(args: string[]): Promise<ChildProcessByStdio<null, Readable, null>> {
  const pkg = join(PACKAGE, 'src', 'framesupplier');
  if (!readdirSync(pkg).some((f) => f.startsWith('_shmguard') && f.endsWith('.so'))) {
    execFileSync(PYTHON, ['setup.py', '-q', 'build_ext', '--inplace'], { cwd: PACKAGE, stdio: 'ignore' });
  }
  const child = spawn(PYTHON, [join(PACKAGE, 'tests', 'mock_server.py'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PYTHONPATH: join(PACKAGE, 'src') },
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', () => resolve());
    child.once('exit', (code) => reject(new Error(`python model server exited with ${code}`)));
  });
  return child;
}

export async function m1Python(total = 3_000, warmup = 300, rounds = 3): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-m1py-'));
  const shmDir = shmDirIn(dir);
  const node = {
    socket: join(dir, 'node.sock'),
    child: await startModelServer(['--handler', 'mock', '--socket', join(dir, 'node.sock'), '--shm-dir', shmDir]),
  };
  const python = { socket: join(dir, 'python.sock'), child: await startPythonServer(['--socket', join(dir, 'python.sock'), '--shm-dir', shmDir]) };
  try {
    const base = await writeFrame(dir, shmDir);
    let n = 0;
    const request = (): InferenceRequest => ({ ...base(), camera_id: `camera_${n++ % 4096}` });
    const cases = [
      { mode: 'persistent', concurrency: 8 },
      { mode: 'per-request', concurrency: 32 },
    ] as const;
    const results = new Map<string, { rps: number[]; p50: number[]; p99: number[]; errors: number }>();
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [node, python] : [python, node];
      for (const server of order) {
        const impl = server === node ? 'node' : 'python';
        for (const c of cases) {
          const m = await measure(server.socket, c.mode, c.concurrency, request, total, warmup);
          const key = `${impl}|${c.mode}|${c.concurrency}`;
          const into = results.get(key) ?? { rps: [], p50: [], p99: [], errors: 0 };
          into.rps.push(m.rps);
          into.p50.push(m.lat_ms_p50);
          into.p99.push(m.lat_ms_p99);
          into.errors += m.errors;
          results.set(key, into);
          log(`M1PY round ${r + 1}: ${key} ${m.rps} rps, p99 ${m.lat_ms_p99} ms`);
        }
      }
    }
    for (const [key, v] of results) {
      const [impl, mode, concurrency] = key.split('|');
      emit({
        workload: 'M1PY',
        impl,
        mode,
        concurrency: Number(concurrency),
        rounds,
        rps: median(v.rps),
        lat_ms_p50: median(v.p50),
        lat_ms_p99: median(v.p99),
        errors: v.errors,
      });
    }
  } finally {
    await stopModelServer(node.child);
    await endChild(python.child);
    rmSync(dir, { recursive: true, force: true });
    rmSync(shmDir, { recursive: true, force: true });
  }
}
