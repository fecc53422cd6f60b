/**
 * Both KServe servers (the mock handler, real TCP on loopback) under a held
 * flood of 1 000 connections that send nothing and are reopened as the
 * server closes them: the servers hold no more than their bounds (in total,
 * and per client address, the flood coming from 127.0.0.2), and a client
 * that talks still gets health and an inference answered while the flood is
 * held (ADR 0036). About 1 100 file descriptors at a time.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { spawnManaged } from '../../src/process/index.js';
import { createMockHandler } from '../../src/models/index.js';
import { KServeClient, KServeGrpcClient, KServeGrpcServer, KServeServer, frameTensor } from '../../src/kserve/index.js';
import { flood } from '../helpers/silent-flood.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const FLOOD_PROCESS = fileURLToPath(new URL('../helpers/silent-flood.js', import.meta.url));
const FLOOD = 1_000;
const frame = frameTensor({ data: Buffer.alloc(8 * 6 * 3, 9), width: 8, height: 6, format: 'RGB24' });

/** A flood (test/helpers/silent-flood.ts) in a process of its own: held once it says so, stopped by ending its stdin. */
function floodProcess(port: number): { held: Promise<void>; stop(): Promise<void> } {
  const child = spawn(process.execPath, [FLOOD_PROCESS, String(port), String(FLOOD), '127.0.0.1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const held = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => line === 'held' && resolve());
    void exited.then(([code]) => reject(new Error(`the flood process exited (${String(code)}) before holding its connections`)));
  });
  return {
    held,
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}

function live(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/v2/health/live', agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('KServe servers under a flood of silent connections', { timeout: 120_000 }, () => {
  it('refuses bounds that are not positive integers, naming the server and the option', () => {
    const handler = createMockHandler({ modelId: 'mock' });
    const invalid = (name: string) => (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ARGUMENT' && (e as Error).message.includes(name);
    assert.throws(() => new KServeServer({ handler, maxConnectionsPerAddress: 0 }), invalid('KServeServer maxConnectionsPerAddress'));
    assert.throws(() => new KServeGrpcServer({ handler, maxConnections: 1.5 }), invalid('KServeGrpcServer maxConnections'));
    assert.throws(() => new KServeGrpcServer({ handler, headTimeoutMs: -1 }), invalid('KServeGrpcServer headTimeoutMs'));
  });

  it('REST: past the total bound a silent connection makes room, and a client that talks is answered', async () => {
    await using server = await new KServeServer({
      handler: createMockHandler({ modelId: 'mock' }),
      port: 0,
      maxConnections: 250,
      maxConnectionsPerAddress: 10_000,
    }).start();
    const { port } = server.address();
    const silent = await flood(port, FLOOD, '127.0.0.1');
    try {
      assert.ok(server.stats().connections.open <= 250, `open ${server.stats().connections.open}`);
      assert.equal(await live(port), 200);
      const answer = await new KServeClient({ url: `http://127.0.0.1:${port}`, model: 'mock' }).infer({ inputs: [frame] });
      assert.equal(answer.model_name, 'mock');
      assert.ok(silent.reopened() > 0);
      const { evicted, refused } = server.stats().connections;
      assert.ok(evicted > 0, `evicted ${evicted}`);
      assert.equal(refused, 0);
    } finally {
      await silent.stop();
    }
  });

  it('REST: one address holds at most its bound, the others are answered', async () => {
    await using server = await new KServeServer({
      handler: createMockHandler({ modelId: 'mock' }),
      port: 0,
      maxConnections: 10_000,
      maxConnectionsPerAddress: 50,
    }).start();
    const { port } = server.address();
    const silent = await flood(port, FLOOD, '127.0.0.2');
    try {
      assert.ok(server.stats().connections.open <= 50, `open ${server.stats().connections.open}`);
      assert.equal(await live(port), 200);
      const answer = await new KServeClient({ url: `http://127.0.0.1:${port}`, model: 'mock' }).infer({ inputs: [frame] });
      assert.equal(answer.model_name, 'mock');
      assert.ok(server.stats().connections.evicted > 0);
    } finally {
      await silent.stop();
    }
  });

  it('REST: with every connection talking, the newcomer is the one closed (counted)', async () => {
    await using server = await new KServeServer({ handler: createMockHandler({ modelId: 'mock' }), port: 0, maxConnections: 2 }).start();
    const { port } = server.address();
    // Two keep-alive connections that have been answered: they talk, so neither is evicted for a newcomer.
    const ask = async (socket: Socket): Promise<string> => {
      socket.write('GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n');
      const [data] = (await once(socket, 'data')) as [Buffer];
      return data.toString();
    };
    const talking = await Promise.all(
      [0, 1].map(async () => {
        const socket = connect({ port, host: '127.0.0.1' });
        await once(socket, 'connect');
        assert.match(await ask(socket), /^HTTP\/1\.1 200/);
        return socket;
      }),
    );
    try {
      const newcomer = connect({ port, host: '127.0.0.1' });
      newcomer.on('error', () => undefined);
      await once(newcomer, 'close');
      assert.equal(server.stats().connections.refused, 1);
      assert.equal(server.stats().connections.evicted, 0);
      assert.match(await ask(talking[0]!), /^HTTP\/1\.1 200/);
    } finally {
      for (const s of talking) s.destroy();
    }
  });

  it('gRPC: past the total bound a silent connection makes room, and a client that talks is answered', async () => {
    await using server = await new KServeGrpcServer({
      handler: createMockHandler({ modelId: 'mock' }),
      port: 0,
      maxConnections: 250,
      maxConnectionsPerAddress: 10_000,
    }).start();
    const { port } = server.address();
    const silent = await flood(port, FLOOD, '127.0.0.1');
    const client = new KServeGrpcClient({ url: `grpc://127.0.0.1:${port}`, model: 'mock' });
    try {
      assert.ok(server.stats().connections.open <= 250, `open ${server.stats().connections.open}`);
      assert.equal(await client.live(), true);
      const answer = await client.infer({ inputs: [frame] });
      assert.equal(answer.model_name, 'mock');
      assert.ok(server.stats().connections.evicted > 0);
      assert.ok(silent.reopened() > 0);
    } finally {
      client.close();
      await silent.stop();
    }
  });

  it('gRPC: one address holds at most its bound, and a silent connection is closed after headTimeoutMs', async () => {
    await using server = await new KServeGrpcServer({
      handler: createMockHandler({ modelId: 'mock' }),
      port: 0,
      maxConnections: 10_000,
      maxConnectionsPerAddress: 50,
      headTimeoutMs: 60_000,
    }).start();
    const { port } = server.address();
    const silent = await flood(port, FLOOD, '127.0.0.2');
    const client = new KServeGrpcClient({ url: `grpc://127.0.0.1:${port}`, model: 'mock' });
    try {
      assert.ok(server.stats().connections.open <= 50, `open ${server.stats().connections.open}`);
      assert.equal(await client.live(), true);
      assert.equal((await client.infer({ inputs: [frame] })).model_name, 'mock');
    } finally {
      client.close();
      await silent.stop();
    }
    await using quick = await new KServeGrpcServer({ handler: createMockHandler({ modelId: 'mock' }), port: 0, headTimeoutMs: 100 }).start();
    const lone = connect({ port: quick.address().port, host: '127.0.0.1' });
    lone.on('error', () => undefined);
    lone.resume();
    await once(lone, 'close');
    assert.equal(quick.stats().connections.idleClosed, 1);
  });

  it('model-server --http --grpc with --http-max-connections: both ports answer a client that talks while 1 000 silent connections are held on each', async () => {
    const proc = spawnManaged(process.execPath, [
      MAIN,
      'model-server',
      '--handler',
      'mock',
      '--http',
      '127.0.0.1:0',
      '--grpc',
      '127.0.0.1:0',
      '--http-max-connections',
      '200',
      '--http-max-connections-per-address',
      '200',
    ]);
    // 1 000 silent sockets against a bound of 200: the flood is still five times the bound, and a client that talks
    // has 199 flood reconnections of slack before its own connection would be the oldest silent one (ADR 0036): with
    // a bound of 20, a loaded machine that accepted 19 more before reading the client's request closed it.
    try {
      const listening = await new Promise<{ http: string; grpc: string }>((resolve, reject) => {
        let text = '';
        proc.child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const line = text.split('\n').find((l) => l.includes('"http"'));
          if (line !== undefined) resolve(JSON.parse(line) as { http: string; grpc: string });
        });
        void proc.exited.then((exit) => reject(new Error(`model-server exited: ${JSON.stringify(exit)}`)));
      });
      const httpPort = Number(listening.http.split(':').pop());
      const grpcPort = Number(listening.grpc.split(':').pop());
      // The floods in processes of their own: in this one, their reopening churn held back the client's own first
      // bytes until it was the oldest silent connection, which says nothing about the server.
      const floods = [floodProcess(httpPort), floodProcess(grpcPort)];
      await Promise.all(floods.map((f) => f.held));
      const client = new KServeGrpcClient({ url: `grpc://${listening.grpc}`, model: 'mock' });
      try {
        assert.equal(await live(httpPort), 200);
        assert.equal((await new KServeClient({ url: `http://${listening.http}`, model: 'mock' }).infer({ inputs: [frame] })).model_name, 'mock');
        assert.equal(await client.live(), true);
        assert.equal((await client.infer({ inputs: [frame] })).model_name, 'mock');
      } finally {
        client.close();
        await Promise.all(floods.map((f) => f.stop()));
      }
    } finally {
      await proc.stop(5_000);
    }
  });
});
