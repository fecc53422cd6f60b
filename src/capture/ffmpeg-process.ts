/**
 * Child processes for decoders: spawned with an argument array, reaped on
 * stop, and never outliving their owner.
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
import type { Readable } from 'node:stream';
import { CaptureError } from './errors.js';

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
const live = new Set<ChildProcessByStdio<null, Readable, Readable>>();
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

export interface ManagedProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly pid: number | undefined;
  /** Resolves with how the process ended. */
  readonly exited: Promise<ProcessExit>;
  /** SIGTERM, then SIGKILL after killTimeoutMs; resolves when the process is gone. */
  stop(killTimeoutMs: number): Promise<void>;
}

export function spawnManaged(executable: string, args: readonly string[]): ManagedProcess {
  if (setprivPath === undefined) setprivPath = findExecutable('setpriv');
  installExitHook();
  const child =
    setprivPath !== null
      ? spawn(setprivPath, ['--pdeathsig', 'KILL', '--', executable, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(executable, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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

export function requireExecutable(name: string): string {
  const found = findExecutable(name);
  if (found === null) {
    throw new CaptureError(
      'ERR_FFMPEG_NOT_FOUND',
      `${name} was not found${name.includes('/') ? '' : ' on PATH'}: install it (Debian: apt-get install ffmpeg) or set ffmpegPath`,
    );
  }
  return found;
}
