/**
 * Helpers for tests about processes: is one alive, waiting for a condition
 * only the OS can tell, a free loopback port for a server a test starts, a
 * line a child process prints, a child's output and exit code once it ends,
 * ending a child that may have ended, and
 * `framesupplier run` started on a config file until it prints its address.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManagedProcess } from '../../src/process/index.js';

/**
 * `framesupplier run <config> --view none` (the built CLI, `main`), in a process group of its own (end it with
 * endChild(run, 'SIGTERM', { group: true })): resolves once it printed the dashboard's address, with that address
 * and everything it wrote so far and from then on; rejects if it ends before.
 */
export function startRun(main: string, config: string): Promise<{ run: ChildProcess; base: string; output: () => string }> {
  const run = spawn(process.execPath, [main, 'run', config, '--view', 'none'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  run.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (m === null) return;
      run.stdout.off('data', onData);
      resolve({ run, base: m[1]!, output: () => output });
    };
    run.stdout.on('data', onData);
    run.once('exit', () => reject(new Error(`run ended before printing the dashboard's address:\n${output}`)));
  });
}

/** Whether a child has ended, by an exit or by a signal (a child killed by one keeps a null exitCode). */
export function ended(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Sends `signal` to a child (with `group`, to the process group it leads) and resolves once it has ended; at once
 * for one that has ended already, however: its 'exit' has fired, and waiting for another hangs the caller (a fixture
 * whose server aborted on its own stalled a bench so).
 */
export async function endChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', options: { readonly group?: boolean } = {}): Promise<void> {
  if (ended(child) || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    if (options.group === true) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    // ESRCH: the group went between the check and the kill; 'exit' follows
  }
  await exited;
}

/** True while the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

/**
 * Waits until check() holds. For facts with no event to wait on (a process
 * gone, seen only in /proc); fails after timeoutMs so a regression cannot hang.
 */
export async function eventually(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A port nobody listens on right now on 127.0.0.1 (the server a test starts binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once the process prints a line matching `pattern` (stdout or stderr; keeps draining both after); rejects if it exits first. */
export function lineFrom(proc: ManagedProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const on = (chunk: Buffer): void => {
      text = (text + chunk.toString()).slice(-20_000);
      if (pattern.test(text)) resolve();
    };
    proc.child.stdout.on('data', on);
    proc.child.stderr.on('data', on);
    void proc.exited.then((exit) => reject(new Error(`exited before ${String(pattern)}: ${JSON.stringify(exit)} ${text.slice(-500)}`)));
  });
}

/**
 * eventually() for a check that must ask something (a KV read, an HTTP call): one check at a time, its answer
 * used once it comes; a check that fails or hangs counts as not yet, so the timeout still fires.
 */
export async function eventuallyAsync(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  let ok = false;
  let checking = false;
  await eventually(
    () => {
      if (!checking) {
        checking = true;
        void check().then(
          (r) => {
            ok = r;
            checking = false;
          },
          () => {
            checking = false;
          },
        );
      }
      return ok;
    },
    what,
    timeoutMs,
  );
}

/** The runtime directories (model sockets) of a `framesupplier run` (or a system in it) still in the temporary directory. */
export function runtimeDirsOf(pid: number): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith(`framesupplier-${pid}-`));
}

/** Those a killed run left, removed: a SIGKILLed process cannot. */
export function removeRuntimeDirs(pid: number): void {
  for (const name of runtimeDirsOf(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
}

/** What a child with piped stdout and stderr wrote, and its exit code, once it exits. */
export async function outputOf(child: ChildProcessByStdio<null, Readable, Readable>): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out, err };
}
