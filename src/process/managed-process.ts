/**
 * Child processes that never outlive their owner (decoders, subprocess
 * workers): spawned with an argument array, never a shell, and reaped on stop.
 *
 * Contract: a child is started under `setpriv --pdeathsig KILL` where the
 * system has it (util-linux, on every Debian), so the kernel kills it if the
 * owning process dies, even by SIGKILL; children still alive when the owner
 * exits normally are killed on its 'exit' event as well. stop() sends SIGTERM,
 * then SIGKILL after a delay, and resolves once the child has exited.
 *
 * With `group: true` the child leads a process group of its own, and what it
 * starts (its children, theirs) dies with it: stop()'s signals go to the whole
 * group, the group is SIGKILLed once the child has exited, and a guardian
 * (one small shell per owner, not in the owner's process group) SIGKILLs every
 * group still registered when the owner dies, SIGKILL included: the kernel
 * closes the owner's end of the guardian's stdin, and the guardian reads EOF.
 * The parent-death signal alone reaches only the direct child.
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
/** Live children, and whether each leads its own process group. */
const live = new Map<Child, boolean>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [child, group] of live) signal(child, group, 'SIGKILL');
  });
}

/** Signals the child, or its whole process group; a group or child already gone is no error. */
function signal(child: Child, group: boolean, name: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    if (group) process.kill(-child.pid, name);
    else child.kill(name);
  } catch {
    // ESRCH: nothing left to signal
  }
}

/**
 * The guardian: reads "+PGID" and "-PGID" lines; at EOF (its owner is gone,
 * however it died) SIGKILLs every group still listed, and exits. It runs in a
 * session of its own so that no signal meant for the owner's group reaches it.
 */
const GUARDIAN_SCRIPT = `groups=' '
while read -r line; do
  case $line in
    +*) groups="$groups\${line#+} " ;;
    -*) g=\${line#-}; case $groups in *" $g "*) groups="\${groups%% $g *} \${groups#* $g }" ;; esac ;;
  esac
done
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
`;
let guardian: Writable | null | undefined;

/** Tells the guardian about a group: `+` to kill it if the owner dies, `-` once it is gone. */
function guard(sign: '+' | '-', pgid: number): void {
  if (guardian === undefined) {
    if (sign === '-') return; // no guardian to forget it
    const sh = findExecutable('/bin/sh');
    if (sh === null) {
      guardian = null;
      return;
    }
    const child = spawn(sh, ['-c', GUARDIAN_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    child.unref();
    (child.stdin as Writable & { unref?: () => void }).unref?.();
    child.stdin.on('error', () => undefined); // a guardian gone: the exit hook and pdeathsig still hold
    child.once('exit', () => {
      if (guardian === child.stdin) guardian = undefined; // the next spawn starts another
    });
    guardian = child.stdin;
    // A new guardian (the first, or a replacement for one that died) learns every live group, this one included.
    for (const [c, group] of live) if (group && c.pid !== undefined) guardian.write(`+${c.pid}\n`);
    return;
  }
  guardian?.write(`${sign}${pgid}\n`);
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
  /** The child leads its own process group, which dies with it and with its owner. Default false. */
  readonly group?: boolean;
}

export function spawnManaged(executable: string, args: readonly string[]): ManagedProcess;
export function spawnManaged(executable: string, args: readonly string[], options: SpawnManagedOptions & { stdin: 'pipe' }): ManagedProcess<Writable>;
export function spawnManaged(executable: string, args: readonly string[], options: SpawnManagedOptions & { stdin?: 'ignore' }): ManagedProcess;
export function spawnManaged(executable: string, args: readonly string[], options?: SpawnManagedOptions): ManagedProcess<Writable | null>;
export function spawnManaged(executable: string, args: readonly string[], options: SpawnManagedOptions = {}): ManagedProcess<Writable | null> {
  if (setprivPath === undefined) setprivPath = findExecutable('setpriv');
  installExitHook();
  const group = options.group === true;
  const spawnOptions = {
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'] as ['ignore' | 'pipe', 'pipe', 'pipe'],
    detached: group, // setsid(): a new process group, led by the child
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  };
  const child = (
    setprivPath !== null ? spawn(setprivPath, ['--pdeathsig', 'KILL', '--', executable, ...args], spawnOptions) : spawn(executable, args, spawnOptions)
  ) as Child;
  live.set(child, group);
  if (group && child.pid !== undefined) guard('+', child.pid);
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('error', (error) => {
      live.delete(child);
      resolve({ code: null, signal: null, error });
    });
    child.once('exit', (code, exitSignal) => {
      live.delete(child);
      if (group) {
        signal(child, true, 'SIGKILL'); // what the child left behind in its group
        if (child.pid !== undefined) guard('-', child.pid);
      }
      resolve({ code, signal: exitSignal });
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
        signal(child, group, 'SIGTERM');
        const timer = setTimeout(() => signal(child, group, 'SIGKILL'), killTimeoutMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
