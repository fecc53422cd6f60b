/**
 * The protocol suite: one table of cases (protocol-cases.ts) run against the
 * Node model server (the CLI, mock handler) and the Python package's server
 * (python/tests/mock_server.py, the same mock), each a real process on a real
 * Unix socket reading real frame stores. Both must give every answer the
 * protocol specifies: codes, fields, frame ids, request order, supersede,
 * fairness, limits, and ending connections when framing is lost.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ModelClient } from '../../src/ipc/index.js';
import type { FrameStoreWriter } from '../../src/shm/index.js';
import { eventuallyAsync } from '../helpers/process.js';
import { PYTHON_PACKAGE, PythonServer } from '../helpers/python.js';
import { ServerProcess, workspace } from './fixtures.js';
import { caseContext, converse, SERVER_GROUPS, type Expected, type ProtocolCase } from './protocol-cases.js';

const ws = workspace();
after(() => ws.cleanup());

interface Running {
  readonly socket: string;
  readonly shmDir: string;
  stop(): Promise<number | null>;
}

type Implementation = { readonly name: string; start(dir: string, flags: readonly string[]): Promise<Running> };

const IMPLEMENTATIONS: readonly Implementation[] = [
  {
    name: 'node',
    async start(dir, flags) {
      const server = new ServerProcess(join(dir, 'model.sock'), join(dir, 'shm'), [...flags]);
      await server.start();
      return { socket: server.socket, shmDir: server.shmDir, stop: () => server.kill('SIGTERM') };
    },
  },
  {
    name: 'python',
    async start(dir, flags) {
      const socket = join(dir, 'model.sock');
      const shmDir = join(dir, 'shm');
      const server = new PythonServer(join(PYTHON_PACKAGE, 'tests', 'mock_server.py'), ['--socket', socket, '--shm-dir', shmDir, ...flags]);
      await server.start();
      return { socket, shmDir, stop: () => server.kill('SIGTERM') };
    },
  },
];

function describeAnswer(a: Record<string, unknown>): string {
  return JSON.stringify({
    code: a.type === 'pong' ? 'pong' : ((a.error as { code?: string } | null)?.code ?? null),
    field: (a.error as { field?: string } | null)?.field,
    frame_id: a.frame_id,
    request_id: a.request_id,
  });
}

function check(answer: Record<string, unknown> | undefined, expected: Expected, where: string): void {
  assert.ok(answer !== undefined, `${where}: no answer (expected ${JSON.stringify(expected)})`);
  const error = answer.error as { code: string; field?: string } | null;
  const code = answer.type === 'pong' ? 'pong' : (error?.code ?? null);
  assert.equal(code, expected.code, `${where}: ${describeAnswer(answer)} ${JSON.stringify(error)}`);
  if (expected.field !== undefined) assert.equal(error?.field, expected.field, `${where}: field of ${JSON.stringify(error)}`);
  if (expected.frameId !== undefined) assert.equal(answer.frame_id, expected.frameId, `${where}: frame_id`);
  if (expected.requestId !== undefined) assert.equal(answer.request_id, expected.requestId, `${where}: request_id`);
  if (code === 'pong') assert.equal(answer.protocol, 3);
  else assert.equal(answer.model_id, 'mock', `${where}: model_id is the server's own`);
}

async function runCase(server: Running, c: ProtocolCase, ctx: ReturnType<typeof caseContext>): Promise<void> {
  const arrivals: string[] = [];
  const held: Socket[] = [];
  const pending: Promise<void>[] = [];
  const client = new ModelClient({ socketPath: server.socket });
  try {
    for (const [i, conversation] of c.conversations.entries()) {
      if (conversation.when !== undefined) {
        const when = conversation.when;
        await eventuallyAsync(async () => when(await client.ping()), `${c.name}: conversation ${i}'s moment`, 30_000);
      }
      const expected = typeof conversation.expect === 'function' ? conversation.expect(ctx) : conversation.expect;
      const run = converse(server.socket, conversation.send(ctx), expected.length, conversation.closed === true, (a) => {
        if (a.error === null && typeof a.request_id === 'string') arrivals.push(a.request_id);
      }).then(({ answers, ended, socket }) => {
        assert.equal(answers.length, expected.length, `${c.name} #${i}: answers ${answers.map(describeAnswer).join(' ')}`);
        expected.forEach((e, k) => check(answers[k], e, `${c.name} #${i} answer ${k}`));
        if (conversation.closed === true) assert.ok(ended, `${c.name} #${i}: the server ends the connection`);
        if (conversation.hold === true) held.push(socket);
        else socket.destroy();
      });
      // Conversations without a moment of their own run one after another.
      if (conversation.when === undefined && c.conversations[i + 1]?.when === undefined) await run;
      else pending.push(run);
    }
    await Promise.all(pending);
    if (c.arrival !== undefined) assert.deepEqual(arrivals, c.arrival, `${c.name}: order served`);
  } finally {
    client.close();
    held.forEach((s) => s.destroy());
  }
}

describe('the protocol suite', { timeout: 600_000 }, () => {
  it('one lock name: a Node server and a Python server exclude each other on one socket path', async () => {
    const dir = join(ws.dir, 'lock');
    mkdirSync(dir, { recursive: true });
    const socket = join(dir, 'model.sock');
    const python = new PythonServer(join(PYTHON_PACKAGE, 'tests', 'mock_server.py'), ['--socket', socket, '--shm-dir', join(dir, 'shm')]);
    await python.start();
    try {
      const node = new ServerProcess(socket, join(dir, 'shm'));
      await assert.rejects(node.start(), /ERR_SOCKET_IN_USE/);
    } finally {
      assert.equal(await python.kill('SIGTERM'), 0);
    }
    const node = await new ServerProcess(socket, join(dir, 'shm')).start();
    try {
      const second = new PythonServer(join(PYTHON_PACKAGE, 'tests', 'mock_server.py'), ['--socket', socket, '--shm-dir', join(dir, 'shm')]);
      await assert.rejects(second.start(), /exited with 2: .*ERR_SOCKET_IN_USE/s);
    } finally {
      await node.kill('SIGTERM');
    }
  });

  for (const implementation of IMPLEMENTATIONS) {
    describe(`the ${implementation.name} model server`, () => {
      for (const [g, group] of SERVER_GROUPS.entries()) {
        describe(`flags: ${group.flags.join(' ') || '(defaults)'}`, () => {
          const dir = join(ws.dir, `${implementation.name}-${g}`);
          mkdirSync(dir, { recursive: true });
          const writers: FrameStoreWriter[] = [];
          let server: Running | null = null;
          let ctx: ReturnType<typeof caseContext> | null = null;
          after(async () => {
            writers.forEach((w) => w.close());
            if (server !== null) assert.equal(await server.stop(), 0, 'SIGTERM: a drain, then exit 0');
          });
          for (const c of group.cases) {
            it(c.name, async () => {
              if (server === null) {
                server = await implementation.start(dir, group.flags);
                ctx = caseContext(server.socket, server.shmDir, writers);
              }
              await runCase(server, c, ctx!);
            });
          }
        });
      }
    });
  }
});
