/**
 * framesupplier's KServe v2 gRPC server, started as a user is told
 * (`framesupplier model-server --handler mock --grpc 127.0.0.1:0`, token from
 * FRAMESUPPLIER_KSERVE_TOKEN), called by a stock client: Debian's
 * python3-grpcio with the proto compiled by protoc (test/kserve/standin/
 * grpc_client.py). And the server's limits, seen from our own gRPC client:
 * busy at once beyond maxInFlight, the call's deadline, a message too large.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { deferred } from '../../src/internal/abort.js';
import { KServeError, KServeGrpcClient, KServeGrpcServer, frameTensor } from '../../src/kserve/index.js';
import { createMockHandler } from '../../src/models/index.js';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { PYTHON } from './standin.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const CLIENT = fileURLToPath(new URL('../../../test/kserve/standin/grpc_client.py', import.meta.url));
const TOKEN = 'a-token-of-at-least-16-characters';

const code =
  (c: string) =>
  (e: unknown): boolean =>
    e instanceof KServeError && e.code === c;

interface Failure {
  status: string;
  details: string;
  code: string | null;
}

describe('the KServe v2 gRPC server', { timeout: 120_000 }, () => {
  let server: ManagedProcess;
  let target: string;

  before(async () => {
    server = spawnManaged(process.execPath, [MAIN, 'model-server', '--handler', 'mock', '--grpc', '127.0.0.1:0'], {
      env: { ...process.env, FRAMESUPPLIER_KSERVE_TOKEN: TOKEN },
    });
    target = await new Promise<string>((resolve, reject) => {
      let text = '';
      server.child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const line = text.split('\n').find((l) => l.includes('"grpc"'));
        if (line !== undefined) resolve((JSON.parse(line) as { grpc: string }).grpc);
      });
      void server.exited.then((exit) => reject(new Error(`model-server exited: ${JSON.stringify(exit)}`)));
    });
  });

  after(async () => {
    await server?.stop(5_000);
  });

  it("a stock Python client (python3-grpcio, protoc's stubs) gets the model's metadata and detections, raw and typed; refusals are Triton's statuses with our code", async () => {
    const { stdout } = await promisify(execFile)(PYTHON, [CLIENT, '--target', target, '--model', 'mock', '--token', TOKEN]);
    const out = JSON.parse(stdout) as Record<string, unknown>;
    assert.deepEqual(out.live, { live: true }, 'health needs no token');
    const noToken = out.no_token as Failure;
    assert.deepEqual([noToken.status, noToken.code], ['UNAUTHENTICATED', 'ERR_KSERVE_UNAUTHORIZED']);
    assert.deepEqual(out.metadata, {
      name: 'mock',
      versions: ['1'],
      platform: 'framesupplier-mock',
      inputs: [{ name: 'image', datatype: 'UINT8', shape: [1, -1, -1, -1] }],
      outputs: [
        { name: 'DETECTIONS', datatype: 'FP32', shape: [-1, 6] },
        { name: 'CLASS_NAMES', datatype: 'BYTES', shape: [-1] },
      ],
    });
    type Answer = { model_name: string; id: string; parameters: Record<string, unknown>; outputs: Record<string, { shape: number[]; values: unknown[] }> };
    const raw = out.infer_raw as Answer;
    const typed = out.infer_typed as Answer;
    assert.equal(raw.model_name, 'mock');
    assert.equal(raw.id, 'py-1');
    assert.equal(raw.parameters.camera_id, 'python');
    assert.equal(typeof raw.parameters.inference_time_ms, 'number');
    const n = raw.outputs.DETECTIONS!.shape[0]!;
    assert.deepEqual(raw.outputs.DETECTIONS!.shape, [n, 6]);
    assert.deepEqual(raw.outputs.CLASS_NAMES!.values, new Array(n).fill('person'));
    // The mock's detections depend on camera and frame id only: typed contents give the same answer as raw.
    assert.deepEqual(typed.outputs, raw.outputs);
    const refused = (name: string): Failure => out[name] as Failure;
    assert.deepEqual([refused('unknown_output').status, refused('unknown_output').code], ['INVALID_ARGUMENT', 'ERR_KSERVE_TENSOR']);
    assert.match(refused('unknown_output').details, /unexpected inference output "KEYPOINTS"/);
    assert.deepEqual([refused('unknown_input').status, refused('unknown_input').code], ['INVALID_ARGUMENT', 'ERR_KSERVE_TENSOR']);
    assert.deepEqual([refused('unknown_model').status, refused('unknown_model').code], ['NOT_FOUND', 'ERR_UNKNOWN_MODEL']);
    assert.deepEqual([refused('unknown_model_metadata').status, refused('unknown_model_metadata').code], ['NOT_FOUND', 'ERR_UNKNOWN_MODEL']);
  });

  it('our gRPC client against it: detections with the token, ERR_KSERVE_UNAUTHORIZED without', async () => {
    const client = new KServeGrpcClient({ url: `grpc://${target}`, model: 'mock', token: TOKEN });
    assert.equal(await client.live(), true);
    assert.equal(await client.ready(), true);
    const answer = await client.infer({
      parameters: { camera_id: 'cam', frame_id: 3, timestamp: 1700000000.25 },
      inputs: [frameTensor({ data: Buffer.alloc(8 * 6 * 3, 9), width: 8, height: 6, format: 'RGB24' })],
    });
    assert.deepEqual(
      answer.outputs.map((o) => o.name),
      ['DETECTIONS', 'CLASS_NAMES'],
    );
    client.close();
    const stranger = new KServeGrpcClient({ url: `grpc://${target}`, model: 'mock' });
    await assert.rejects(stranger.metadata(), code('ERR_KSERVE_UNAUTHORIZED'));
    stranger.close();
  });
});

describe('the gRPC server: the REST limits', { timeout: 60_000 }, () => {
  const held: (() => void)[] = [];
  let server: KServeGrpcServer;
  let url: string;
  const frame = frameTensor({ data: Buffer.alloc(12), width: 2, height: 2, format: 'RGB24' });

  before(async () => {
    const mock = createMockHandler({ modelId: 'slow' });
    server = await new KServeGrpcServer({
      handler: {
        ...mock,
        infer: async (f, r, s) => {
          const d = deferred<void>();
          held.push(() => d.resolve());
          await d.promise;
          return mock.infer(f, r, s);
        },
      },
      port: 0,
      maxInFlight: 2,
      maxMessageBytes: 1024 * 1024,
    }).start();
    url = `grpc://127.0.0.1:${server.address().port}`;
  });

  after(async () => {
    for (const release of held.splice(0)) release();
    await server?.close();
  });

  it('beyond maxInFlight a call is refused at once, ERR_KSERVE_BUSY; a deadline is ERR_TIMEOUT; a message over the cap is refused', async () => {
    const clients = [0, 1, 2].map(() => new KServeGrpcClient({ url, model: 'slow' }));
    const first = clients.slice(0, 2).map((c) => c.infer({ inputs: [frame] }));
    while (server.stats().inFlight < 2 || held.length < 2) await new Promise((r) => setImmediate(r));
    await assert.rejects(clients[2]!.infer({ inputs: [frame] }), code('ERR_KSERVE_BUSY'));
    for (const release of held.splice(0)) release();
    await Promise.all(first);
    // A call whose deadline passes: the client's ERR_TIMEOUT, and the server's handler is told (its signal aborts).
    await assert.rejects(clients[0]!.infer({ inputs: [frame] }, { timeoutMs: 100 }), code('ERR_TIMEOUT'));
    const big = frameTensor({ data: Buffer.alloc(1024 * 1024), width: 512, height: 512, format: 'GRAY' });
    await assert.rejects(clients[1]!.infer({ inputs: [big] }), code('ERR_MESSAGE_TOO_LARGE'));
    for (const release of held.splice(0)) release();
    for (const c of clients) c.close();
    assert.ok((server.stats().errors.ERR_KSERVE_BUSY ?? 0) >= 1);
  });

  it('beyond loopback without a token it does not start: ERR_KSERVE_TOKEN_REQUIRED', async () => {
    const open = new KServeGrpcServer({ handler: createMockHandler(), host: '0.0.0.0', port: 0 });
    await assert.rejects(open.start(), code('ERR_KSERVE_TOKEN_REQUIRED'));
    await open.close();
  });
});
