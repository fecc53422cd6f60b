/** A real model server process started through the CLI, and a frame store for tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FrameStoreWriter } from '../../src/shm/index.js';
import { endChild } from '../helpers/process.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export function workspace(): { dir: string; shmDir: string; socket: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'fs-models-'));
  return { dir, shmDir: join(dir, 'shm'), socket: join(dir, 'model.sock'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export class ServerProcess {
  child: ChildProcess | null = null;
  /** The server's listening line, parsed. */
  listening: Record<string, unknown> | null = null;
  constructor(
    readonly socket: string,
    readonly shmDir: string,
    readonly extra: string[] = [],
  ) {}

  /** Starts the server; resolves when it says it listens. */
  async start(): Promise<this> {
    const handler = this.extra.includes('--handler') ? [] : ['--handler', 'mock'];
    const child = spawn(process.execPath, [CLI, 'model-server', ...handler, '--socket', this.socket, '--shm-dir', this.shmDir, ...this.extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', (line) => {
        this.listening = JSON.parse(line) as Record<string, unknown>;
        resolve();
      });
      child.once('exit', (code) => reject(new Error(`model server exited with ${code}: ${stderr}`)));
    });
    return this;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = this.child;
    if (child === null) return null;
    await endChild(child, signal);
    return child.exitCode;
  }
}

export function writeFrames(shmDir: string, camera: string, n: number, slots = 8) {
  const writer = new FrameStoreWriter(camera, { dir: shmDir, slots, slotBytes: 64 * 48 * 2 });
  const refs = Array.from({ length: n }, (_, i) => writer.write(new Uint8Array((64 * 48 * 3) / 2).fill(i), { width: 64, height: 48, format: 'NV12' }));
  return { writer, refs };
}
