/**
 * KServeServer (the mock handler, real sockets) against KServeClient and raw
 * HTTP; and KServeClient against a stand-in for Triton that answers the
 * published protocol's fixtures (a raw YOLO head as binary data, the spec's
 * `{ "error": … }` without our code).
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createMockHandler, type InferenceHandler } from '../../src/models/index.js';
import {
  KServeClient,
  KServeError,
  KServeServer,
  fp32Tensor,
  frameTensor,
  encodeInferResponse,
  tensorsToDetections,
  parseInferRequest,
  type ServedHandler,
} from '../../src/kserve/index.js';
import { planFor, yoloDetections } from '../../src/workers/index.js';
import { deferred } from '../../src/internal/abort.js';

const code =
  (c: string) =>
  (e: unknown): boolean =>
    e instanceof KServeError && e.code === c;

function raw(
  port: number,
  method: string,
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: { error?: string; code?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(body.byteLength) }) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || '{}') as { error?: string; code?: string } }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('KServe server and client', { timeout: 60_000 }, () => {
  let server: KServeServer;
  let port: number;
  let client: KServeClient;
  /** A handler that holds every call until released: in-flight requests made visible. */
  const held: (() => void)[] = [];
  let slow: KServeServer;
  let slowPort: number;

  before(async () => {
    server = await new KServeServer({ handler: createMockHandler({ modelId: 'mock' }), port: 0 }).start();
    port = server.address().port;
    client = new KServeClient({ url: `http://127.0.0.1:${port}`, model: 'mock' });
    const mock = createMockHandler({ modelId: 'slow' });
    slow = await new KServeServer({
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
    }).start();
    slowPort = slow.address().port;
  });

  after(async () => {
    client?.close();
    for (const release of held) release();
    await server?.close();
    await slow?.close();
  });

  it('health, readiness and metadata', async () => {
    assert.equal(await client.live(), true);
    assert.equal(await client.ready(), true);
    const m = await client.metadata();
    assert.equal(m.name, 'mock');
    assert.equal(m.inputs[0]!.datatype, 'UINT8');
    // The mock gives no poses: its metadata has no KEYPOINTS, and the client asks only for what it lists.
    assert.deepEqual(
      m.outputs.map((o) => o.name),
      ['DETECTIONS', 'CLASS_NAMES'],
    );
    assert.deepEqual(planFor(m, {}), {
      input: 'image',
      size: 0,
      outputs: [
        { name: 'DETECTIONS', binary: true },
        { name: 'CLASS_NAMES', binary: true },
      ],
    });
    assert.throws(() => planFor(m, { outputs: 'yolo' }), code('ERR_KSERVE_MODEL'));
  });

  it("a frame as a binary tensor gives the handler's detections, as binary and as JSON outputs", async () => {
    const frame = frameTensor({ data: Buffer.alloc(8 * 6 * 3, 50), width: 8, height: 6, format: 'RGB24' });
    const binary = await client.infer({
      id: 'a',
      parameters: { camera_id: 'cam', frame_id: 7 },
      inputs: [frame],
      outputs: [
        { name: 'DETECTIONS', binary: true },
        { name: 'CLASS_NAMES', binary: true },
      ],
    });
    assert.equal(binary.id, 'a');
    const detections = tensorsToDetections(binary.outputs);
    // The mock's detections depend on (camera, frame id) only: the same as the Unix-socket server gives.
    const expected = (
      await createMockHandler().infer(
        { data: Buffer.alloc(144), width: 8, height: 6, format: 'RGB24', wallTimeMs: 0 },
        { frame_reference: 'x', frame_metadata: { frame_id: 7, width: 8, height: 6, format: 'RGB24' }, camera_id: 'cam', model_id: 'mock', timestamp: 0 },
        new AbortController().signal,
      )
    ).detections;
    assert.equal(detections.length, expected.length);
    detections.forEach((d, i) => assert.ok(Math.abs(d.confidence - expected[i]!.confidence) < 1e-6 && d.class_name === 'person'));
    const json = await client.infer({ parameters: { camera_id: 'cam', frame_id: 7 }, inputs: [frame] });
    assert.equal(tensorsToDetections(json.outputs).length, expected.length);
  });

  it("bad requests get the spec's error shape with our code and status", async () => {
    const infer = '/v2/models/mock/infer';
    let r = await raw(port, 'POST', infer, Buffer.from('{'));
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'ERR_INVALID_JSON');
    assert.match(r.json.error ?? '', /ERR_INVALID_JSON/);
    r = await raw(port, 'POST', '/v2/models/other/infer', Buffer.from('{}'));
    assert.deepEqual([r.status, r.json.code], [404, 'ERR_UNKNOWN_MODEL']);
    r = await raw(port, 'GET', '/v2/nothing');
    assert.deepEqual([r.status, r.json.code], [404, 'ERR_KSERVE_NOT_FOUND']);
    r = await raw(
      port,
      'POST',
      infer,
      Buffer.from(JSON.stringify({ inputs: [{ name: 'image', shape: [1, 2, 2, 3], datatype: 'FP32', data: new Array(12).fill(0) }] })),
    );
    assert.deepEqual([r.status, r.json.code], [400, 'ERR_KSERVE_TENSOR']);
    // What Triton refuses: an input the model does not have, an output it does not have (the mock has no KEYPOINTS).
    const image = { name: 'image', shape: [1, 1, 1, 3], datatype: 'UINT8', data: [1, 2, 3] };
    r = await raw(port, 'POST', infer, Buffer.from(JSON.stringify({ inputs: [{ ...image, name: 'INPUT0' }] })));
    assert.deepEqual([r.status, r.json.code], [400, 'ERR_KSERVE_TENSOR']);
    assert.match(r.json.error ?? '', /unexpected inference input "INPUT0"/);
    r = await raw(port, 'POST', infer, Buffer.from(JSON.stringify({ inputs: [image], outputs: [{ name: 'KEYPOINTS' }] })));
    assert.deepEqual([r.status, r.json.code], [400, 'ERR_KSERVE_TENSOR']);
    assert.match(r.json.error ?? '', /unexpected inference output "KEYPOINTS"/);
    r = await raw(port, 'POST', infer, Buffer.from(JSON.stringify({ inputs: [image], outputs: [{ name: 'DETECTIONS' }] })));
    assert.equal(r.status, 200);
    r = await raw(port, 'POST', infer, Buffer.from('{"inputs":[]}'), { 'inference-header-content-length': '999' });
    assert.deepEqual([r.status, r.json.code], [400, 'ERR_SCHEMA']);
    await assert.rejects(new KServeClient({ url: `http://127.0.0.1:${port}`, model: 'nope' }).metadata(), code('ERR_UNKNOWN_MODEL'));
  });

  it('no queue: beyond maxInFlight a request is answered 429 ERR_KSERVE_BUSY at once', async () => {
    const slowClient = (): KServeClient => new KServeClient({ url: `http://127.0.0.1:${slowPort}`, model: 'slow' });
    const frame = frameTensor({ data: Buffer.alloc(12), width: 2, height: 2, format: 'RGB24' });
    const clients = [slowClient(), slowClient(), slowClient()];
    const first = clients.slice(0, 2).map((c) => c.infer({ inputs: [frame] }));
    while (slow.stats().inFlight < 2 || held.length < 2) await new Promise((r) => setImmediate(r));
    await assert.rejects(clients[2]!.infer({ inputs: [frame] }), (e: unknown) => code('ERR_KSERVE_BUSY')(e) && (e as KServeError).status === 429);
    for (const release of held.splice(0)) release();
    await Promise.all(first);
    for (const c of clients) c.close();
  });

  it('a server that is not there is ERR_SERVER_UNAVAILABLE; one that answers too late ERR_TIMEOUT', async () => {
    const gone = new KServeClient({ url: 'http://127.0.0.1:1', model: 'x' });
    await assert.rejects(gone.ready(), code('ERR_SERVER_UNAVAILABLE'));
    const late = new KServeClient({ url: `http://127.0.0.1:${slowPort}`, model: 'slow', timeoutMs: 50 });
    await assert.rejects(late.infer({ inputs: [frameTensor({ data: Buffer.alloc(12), width: 2, height: 2, format: 'RGB24' })] }), code('ERR_TIMEOUT'));
    late.close();
    for (const release of held.splice(0)) release();
  });
});

describe('KServe client against protocol fixtures (a Triton stand-in)', { timeout: 60_000 }, () => {
  let triton: Server;
  let url: string;
  const seen: { path: string; headerLength: string | undefined; body: Buffer }[] = [];

  before(async () => {
    triton = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const h = req.headers['inference-header-content-length'];
        seen.push({ path: req.url ?? '', headerLength: Array.isArray(h) ? h[0] : h, body: Buffer.concat(chunks) });
        if (req.url === '/v2/models/yolov8n') {
          res.setHeader('content-type', 'application/json');
          res.end(
            JSON.stringify({
              name: 'yolov8n',
              versions: ['1'],
              platform: 'onnxruntime_onnx',
              inputs: [{ name: 'images', datatype: 'FP32', shape: [1, 3, 32, 32] }],
              outputs: [{ name: 'output0', datatype: 'FP32', shape: [1, 6, 3] }],
            }),
          );
        } else if (req.url === '/v2/models/yolov8n/infer') {
          // v8 layout [1, 4 + 2 classes, 3 candidates]: one box of class 1 at the centre, score 0.9.
          const head = new Float32Array(6 * 3);
          const set = (k: number, i: number, v: number): void => void (head[k * 3 + i] = v);
          set(0, 0, 16);
          set(1, 0, 16);
          set(2, 0, 8);
          set(3, 0, 8);
          set(5, 0, 0.9);
          const body = encodeInferResponse({ model_name: 'yolov8n', model_version: '1', outputs: [fp32Tensor('output0', [1, 6, 3], head)] }, () => true);
          res.setHeader('Inference-Header-Content-Length', String(body.headerLength));
          res.end(body.body);
        } else if (req.url === '/v2/models/broken/infer') {
          res.end('{"model_name":"broken","outputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":99}}]}');
        } else {
          res.statusCode = 400;
          res.end(JSON.stringify({ error: 'unexpected inference input' }));
        }
      });
    });
    await new Promise<void>((r) => triton.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(triton.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((r) => triton.close(() => r())));

  it('sends a letterboxed FP32 binary tensor, decodes the raw YOLO head it gets back', async () => {
    const client = new KServeClient({ url, model: 'yolov8n' });
    const plan = planFor(await client.metadata(), { outputs: 'yolo' });
    assert.deepEqual(plan, { input: 'images', size: 32, outputs: [{ name: 'output0', binary: true }] });
    const answer = await client.infer({ inputs: [fp32Tensor('images', [1, 3, 32, 32], new Float32Array(3 * 32 * 32))] });
    const request = seen.at(-1)!;
    const parsed = parseInferRequest(request.body, request.headerLength);
    assert.equal(parsed.inputs[0]!.data.byteLength, 3 * 32 * 32 * 4, 'the tensor went as binary data, not a JSON array');
    assert.ok(request.headerLength !== undefined);
    const detections = yoloDetections(
      answer.outputs,
      { width: 32, height: 32 },
      { scale: 1, padX: 0, padY: 0 },
      { minConfidence: 0.25, iou: 0.45, classNames: ['a', 'b'] },
    );
    assert.equal(detections.length, 1);
    assert.equal(detections[0]!.class_name, 'b');
    assert.deepEqual(detections[0]!.bbox, [0.375, 0.375, 0.625, 0.625]);
    client.close();
  });

  it('a 400 without our code is ERR_KSERVE_REJECTED with the status; a body that lies about its sizes ERR_KSERVE_RESPONSE', async () => {
    const other = new KServeClient({ url, model: 'other' });
    await assert.rejects(
      other.infer({ inputs: [fp32Tensor('x', [1], [1])] }),
      (e: unknown) => code('ERR_KSERVE_REJECTED')(e) && (e as KServeError).status === 400 && /unexpected inference input/.test((e as Error).message),
    );
    const broken = new KServeClient({ url, model: 'broken' });
    await assert.rejects(broken.infer({ inputs: [fp32Tensor('x', [1], [1])] }), code('ERR_KSERVE_RESPONSE'));
    other.close();
    broken.close();
  });

  it("a URL's credentials never reach a message", async () => {
    const secret = new KServeClient({ url: 'http://user:hunter2@127.0.0.1:1', model: 'x' });
    await assert.rejects(secret.ready(), (e: unknown) => code('ERR_SERVER_UNAVAILABLE')(e) && !(e as Error).message.includes('hunter2'));
    assert.ok(!secret.shownUrl.includes('hunter2'));
  });
});

// The KServe servers take a model server's handler as it is: InferenceHandler has the shape they serve (a compile-time check).
export const handlerIsServable = (handler: InferenceHandler): ServedHandler => handler;
