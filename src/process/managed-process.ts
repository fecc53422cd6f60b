/**
 * Child processes that never outlive their owner (decoders, subprocess
 * workers): spawned with an argument array, never a shell, and reaped on stop.
 *
 * Contract: a child is started under `setpriv --pdeathsig KILL` where the
 * system has it (util-linux, on every Debian), so the kernel kills it if the
 * owning process dies, even by SIGKILL; children still alive when the owner
 * exits normally are killed on its 'exit' event as well. stop() sends SIGTERM,
 * then SIGKILL after a delay, and resolves once the child has exited.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** Finds an executable on PATH (or checks an explicit path); null if absent. */
export function findExecutable(name: string): string | null {
  const candidates = isAbsolute(name) || name.includes('/') ? [name] : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

let setprivPath: string | null | undefined;
type Child = ChildProcessByStdio<Writable | null, Readable, Readable>;
const live = new Set<Child>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  readonly error?: Error;
}

export interface ManagedProcess<In extends Writable | null = null> {
  readonly child: ChildProcessByStdio<In, Readable, Readable>;
  readonly pid: number | undefined;
  /** Resolves with how the process ended. */
  readonly exited: Promise<ProcessExit>;
  /** SIGTERM, then SIGKILL after killTimeoutMs; resolves when the process is gone. */
  stop(killTimeoutMs: number): Promise<void>;
}

export interface SpawnManagedOptions {
  /** 'pipe' gives the child a stdin to write to. Default 'ignore'. */
  readonly stdin?: 'ignore' | 'pipe';
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export function spawnManaged(executable: string, args: readonly string[]): ManagedProcess;
export function spawnManaged(executable: string, args: readonly string[], options: SpawnManagedOptions & { stdin: 'pipe' }): ManagedProcess<Writable>;
export function spawnManaged(executable: string, args: readonly string[], options?: SpawnManagedOptions): ManagedProcess<Writable | null>;
export function spawnManaged(executable: string, args: readonly string[], options: SpawnManagedOptions = {}): ManagedProcess<Writable | null> {
  if (setprivPath === undefined) setprivPath = findExecutable('setpriv');
  installExitHook();
  const spawnOptions = {
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'] as ['ignore' | 'pipe', 'pipe', 'pipe'],
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  };
  const child = (
    setprivPath !== null ? spawn(setprivPath, ['--pdeathsig', 'KILL', '--', executable, ...args], spawnOptions) : spawn(executable, args, spawnOptions)
  ) as Child;
  live.add(child);
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('error', (error) => {
      live.delete(child);
      resolve({ code: null, signal: null, error });
    });
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  let stopping: Promise<void> | null = null;
  return {
    child,
    pid: child.pid,
    exited,
    stop: (killTimeoutMs) => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
          await exited;
          return;
        }
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), killTimeoutMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
