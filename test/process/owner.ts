/**
 * An owner for the process-group test: starts a grouped shell that forks a
 * grandchild, prints "GRANDCHILD <pid> CHILDREN <pids…>" (its own children:
 * the shell and the guardian), then waits to be killed.
 */
import { readFileSync } from 'node:fs';
import { spawnManaged } from '../../src/process/index.js';

const proc = spawnManaged('/bin/sh', ['-c', 'sleep 1000 & echo $!; wait'], { group: true });
proc.child.stdout.once('data', (data: Buffer) => {
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim();
  process.stdout.write(`GRANDCHILD ${data.toString().trim()} CHILDREN ${children}\n`);
});
setInterval(() => undefined, 1 << 30);
