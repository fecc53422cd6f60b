/**
 * Managed processes in a process group of their own: what the child starts
 * dies with it, on stop(), when it exits by itself, and when its owner is
 * SIGKILLed (a grandchild used to survive all three). Real shells and sleeps;
 * a process's end is seen in /proc.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { alive, eventually } from '../helpers/process.js';

const OWNER = fileURLToPath(new URL('./owner.js', import.meta.url));
const strays: number[] = [];
after(() => {
  for (const pid of strays) if (alive(pid)) process.kill(pid, 'SIGKILL'); // only after a failure
});

/** A grouped shell that forks `sleep 1000` and prints its pid; `then` runs after the fork. */
async function withGrandchild(then: string): Promise<{ proc: ManagedProcess<Writable | null>; grandchild: number }> {
  const proc = spawnManaged('/bin/sh', ['-c', `sleep 1000 & echo $!; ${then}`], { group: true });
  const line = await new Promise<string>((resolve) => createInterface({ input: proc.child.stdout }).once('line', resolve));
  const grandchild = Number(line);
  strays.push(grandchild);
  assert.equal(alive(grandchild), true);
  return { proc, grandchild };
}

describe('managed processes in their own process group', { timeout: 60_000 }, () => {
  it('stop() ends the child and everything it started', async () => {
    const { proc, grandchild } = await withGrandchild('wait');
    await proc.stop(2_000);
    await eventually(() => !alive(grandchild), `grandchild ${grandchild} to end with its parent`);
  });

  it('a child that exits by itself takes what it left behind with it', async () => {
    const { proc, grandchild } = await withGrandchild('exit 0');
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
    await eventually(() => !alive(grandchild), `grandchild ${grandchild} to end with its parent`);
  });

  it('an owner killed with SIGKILL leaves nothing behind: child, grandchild and guardian end', async () => {
    const owner = spawn(process.execPath, [OWNER], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => createInterface({ input: owner.stdout }).once('line', resolve));
    const [, grandchild, children] = /^GRANDCHILD (\d+) CHILDREN ([\d ]+)$/.exec(line)!;
    const pids = [Number(grandchild), ...children!.split(' ').map(Number)];
    strays.push(...pids);
    assert.equal(pids.length, 3, `the shell, its sleep and the guardian: ${line}`);
    for (const pid of pids) assert.equal(alive(pid), true);
    const exited = new Promise((resolve) => owner.once('exit', resolve));
    owner.kill('SIGKILL');
    await exited;
    for (const pid of pids) await eventually(() => !alive(pid), `process ${pid} to end with its owner`);
  });
});
