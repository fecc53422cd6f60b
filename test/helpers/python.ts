/**
 * The repository's Python package (python/) for tests: Debian's python3, the
 * package from its source tree with its SIGBUS-guard extension built in place
 * once (gitignored), and a model server started from a script.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './repo.js';

export const PYTHON = '/usr/bin/python3';
export const PYTHON_PACKAGE = join(REPO_ROOT, 'python');
export const PYTHON_SRC = join(PYTHON_PACKAGE, 'src');

let built = false;

/** The environment a Python child needs to import framesupplier from the source tree (the extension built first). */
export function pythonEnv(): NodeJS.ProcessEnv {
  if (!built) {
    const dir = join(PYTHON_SRC, 'framesupplier');
    if (!readdirSync(dir).some((f) => f.startsWith('_shmguard') && f.endsWith('.so'))) {
      execFileSync(PYTHON, ['setup.py', '-q', 'build_ext', '--inplace'], { cwd: PYTHON_PACKAGE, stdio: 'pipe', timeout: 120_000 });
    }
    built = true;
  }
  return { ...process.env, PYTHONPATH: PYTHON_SRC, PYTHONDONTWRITEBYTECODE: '1' };
}

/** A Python model server process: resolves once it prints its listening line. */
export class PythonServer {
  child: ChildProcess | null = null;
  listening: Record<string, unknown> | null = null;
  stderr = '';
  constructor(
    readonly script: string,
    readonly args: readonly string[],
  ) {}

  async start(): Promise<this> {
    if (!existsSync(this.script)) throw new Error(`no ${this.script}`);
    const child = spawn(PYTHON, [this.script, ...this.args], { stdio: ['ignore', 'pipe', 'pipe'], env: pythonEnv() });
    this.child = child;
    child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-20_000)));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', (line) => {
        this.listening = JSON.parse(line) as Record<string, unknown>;
        resolve();
      });
      child.once('exit', (code) => reject(new Error(`python server exited with ${code}: ${this.stderr}`)));
    });
    return this;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(signal);
    return exited;
  }
}
