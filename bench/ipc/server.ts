/** A model server started through the project's CLI for a benchmark, in its own process, on the bench's malloc (as the system's are). */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { systemEnv } from '../proc.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export type ServerChild = ChildProcessByStdio<null, Readable, null>;

/** Resolves once the server prints its listening line. */
export async function startModelServer(args: string[]): Promise<ServerChild> {
  return (await startModelServerWithLine(args)).server;
}

/** The same, with the listening line (JSON: the socket, and `http` with --http). */
export async function startModelServerWithLine(args: string[]): Promise<{ server: ServerChild; line: Record<string, unknown> }> {
  const server = spawn(process.execPath, [CLI, 'model-server', ...args], { env: systemEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: server.stdout }).once('line', resolve);
    server.once('exit', (code) => reject(new Error(`model server exited with ${code}`)));
  });
  return { server, line: JSON.parse(line) as Record<string, unknown> };
}

export async function stopModelServer(server: ServerChild): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  await exited;
}
