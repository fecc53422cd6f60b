/**
 * handlerTimeoutMs holds (docs/protocol.md, issue 41 item 12): one inference is bounded from the handler's call.
 * A real model server on its socket, a client written from the protocol's text alone (4-byte big-endian length,
 * UTF-8 JSON), and handlers that overrun by burning CPU: in a model thread (as person and onnx run), the answer is
 * ERR_TIMEOUT at the bound and the thread is replaced, so the next request is served by a new thread instead of
 * waiting behind a result nobody reads; in the server's own thread (synchronous work no timer can interrupt), the
 * answer is ERR_TIMEOUT, never the late result. The person handler given a huge frame (the case) converts
 * it in its model thread, so its ERR_TIMEOUT comes from the timer at the bound.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, describe, it } from 'node:test';
import { createPersonHandler, ModelServer, toRgb, type InferenceHandler } from '../../src/models/index.js';
import { FrameStoreWriter } from '../../src/shm/index.js';
import { ModelThreadPool } from '../../src/models/thread-pool.js';
import type { BurnResult } from './burn-model-worker.js';
import { workspace, writeFrames } from './fixtures.js';

const ws = workspace();
const frames = writeFrames(ws.shmDir, 'camera_1', 1);
after(() => {
  frames.writer.close();
  ws.cleanup();
});

/** A client as docs/protocol.md describes it: one connection, messages framed by a 4-byte big-endian length. */
class ProtocolClient {
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  readonly #waiting: ((message: Record<string, unknown>) => void)[] = [];
  readonly #ready: Promise<void>;

  constructor(path: string) {
    this.#socket = connect(path);
    this.#ready = new Promise((resolve, reject) => {
      this.#socket.once('connect', resolve);
      this.#socket.once('error', reject);
    });
    this.#socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 4 && this.#buffer.length >= 4 + this.#buffer.readUInt32BE(0)) {
        const length = this.#buffer.readUInt32BE(0);
        const message = JSON.parse(this.#buffer.subarray(4, 4 + length).toString('utf8')) as Record<string, unknown>;
        this.#buffer = this.#buffer.subarray(4 + length);
        this.#waiting.shift()?.(message);
      }
    });
  }

  async send(message: unknown): Promise<Record<string, unknown>> {
    await this.#ready;
    const body = Buffer.from(JSON.stringify(message), 'utf8');
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(body.length);
    const answer = new Promise<Record<string, unknown>>((resolve) => this.#waiting.push(resolve));
    this.#socket.write(Buffer.concat([prefix, body]));
    return answer;
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** An inference request for the store's frame, from `camera` (the burn handlers read how long to burn from it). */
function inferRequest(camera: string, id: number): Record<string, unknown> {
  const ref = frames.refs[0]!;
  return { request_id: id, ...ref, camera_id: camera, model_id: 'burn', timestamp: Date.now() / 1000 };
}

/** Clock ticks a second, for /proc's CPU times. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/**
 * CPU time (ms) this process's main thread has used, the thread the model server runs on here: /proc's utime +
 * stime of the task whose id is the pid (Linux). What a worker thread does is not in it.
 */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

const burnMs = (camera: string): number => Number(/^burn-(\d+)$/.exec(camera)?.[1] ?? 0);
const errorCode = (answer: Record<string, unknown>): string | null => (answer.error as { code: string } | null)?.code ?? null;

describe('handlerTimeoutMs bounds one inference', { timeout: 120_000 }, () => {
  it('a model thread that overruns: ERR_TIMEOUT at the bound, its thread replaced, the next request served by a new one', async () => {
    const pool = new ModelThreadPool<BurnResult>({ workerUrl: new URL('./burn-model-worker.js', import.meta.url), workerData: {}, threads: 1, name: 'burn' });
    const handler: InferenceHandler = {
      name: 'burn',
      modelId: 'burn',
      concurrency: 1,
      load: async () => void (await pool.start()),
      close: () => pool.close(),
      infer: async (frame, request, signal) => {
        frame.release?.();
        const result = await pool.run({ rgb: new ArrayBuffer(3), width: burnMs(request.camera_id), height: 1 }, signal);
        return { detections: [], metadata: { thread_id: result.threadId, burned_ms: result.burnedMs } };
      },
    };
    const timeoutMs = 1_000;
    await using server = await new ModelServer({ socketPath: ws.socket, shmDir: ws.shmDir, handler, handlerTimeoutMs: timeoutMs }).start();
    const client = new ProtocolClient(ws.socket);
    try {
      const first = await client.send(inferRequest('burn-0', 1));
      assert.equal(first.error, null, JSON.stringify(first));
      const firstThread = (first.metadata as { thread_id: number }).thread_id;

      // 10 minutes of CPU against a 1 s bound, far past this test's own timeout: an answer at all came from the bound.
      const sent = performance.now();
      const overrun = await client.send(inferRequest('burn-600000', 2));
      const tookMs = performance.now() - sent;
      assert.equal(errorCode(overrun), 'ERR_TIMEOUT', JSON.stringify(overrun));
      assert.equal(overrun.request_id, 2);
      assert.equal((overrun.error as { message: string }).message, `inference took longer than ${timeoutMs} ms`, "the bound's timer answered");
      assert.ok(tookMs >= timeoutMs, `answered after ${Math.round(tookMs)} ms, before the bound of ${timeoutMs} ms`);

      // The thread counts as free again because it was replaced: the next request runs at once on a new thread,
      // not after the overrun's 30 s (it would time out behind it).
      const next = await client.send(inferRequest('burn-0', 3));
      assert.equal(next.error, null, JSON.stringify(next));
      assert.notEqual((next.metadata as { thread_id: number }).thread_id, firstThread, 'a new thread served it');
      assert.equal(pool.replaced, 1);
      assert.equal(server.stats().errors.ERR_TIMEOUT, 1);
      const pong = await client.send({ type: 'ping' });
      assert.equal(pong.running, 0);
    } finally {
      client.close();
    }
  });

  it("the person handler given a huge frame: ERR_TIMEOUT at the bound, the conversion to RGB in its model thread, not the server's", async () => {
    const side = 6144; // GRAY: ~0.4 s to convert to RGB on a quiet core, far past the bound; a copy of it, ~40 ms
    const shmDir = `/dev/shm/framesupplier-handler-timeout-${process.pid}`;
    const writer = new FrameStoreWriter('huge', { dir: shmDir, slots: 1, slotBytes: side * side });
    const pixels = new Uint8Array(side * side).fill(90);
    const ref = writer.write(pixels, { width: side, height: side, format: 'GRAY' });
    // The CPU the conversion alone costs this thread (the server's: it runs in this process). CPU time, not wall time:
    // a loaded machine stretches the wall clock, not the work a thread does.
    const converting = mainThreadCpuMs();
    toRgb(pixels, side, side, 'GRAY');
    const conversionCpuMs = mainThreadCpuMs() - converting;
    try {
      const timeoutMs = 100;
      await using server = await new ModelServer({
        socketPath: join(ws.dir, 'person.sock'),
        shmDir,
        handler: createPersonHandler({ modelId: 'burn', threads: 1 }),
        handlerTimeoutMs: timeoutMs,
      }).start();
      const client = new ProtocolClient(server.socketPath);
      try {
        const sent = mainThreadCpuMs();
        const answer = await client.send({ request_id: 1, ...ref, camera_id: 'huge', model_id: 'burn', timestamp: Date.now() / 1000 });
        const requestCpuMs = mainThreadCpuMs() - sent;
        assert.equal(errorCode(answer), 'ERR_TIMEOUT', JSON.stringify(answer));
        // At the bound, by its timer: not a late result dropped after the server's thread was held.
        assert.equal((answer.error as { message: string }).message, `inference took longer than ${timeoutMs} ms`);
        // The server's thread did less work for the whole request (the frame's copy, the answer) than the conversion
        // alone costs it: the conversion ran in the model thread.
        assert.ok(
          requestCpuMs < conversionCpuMs,
          `the server's thread spent ${requestCpuMs} ms of CPU on the request; converting the frame costs it ${conversionCpuMs} ms`,
        );
      } finally {
        client.close();
      }
    } finally {
      writer.close();
      rmSync(shmDir, { recursive: true, force: true });
    }
  });

  it("a handler that holds the server's own thread past the bound: ERR_TIMEOUT, never its late result", async () => {
    const handler: InferenceHandler = {
      name: 'burn',
      modelId: 'burn',
      infer: async (frame, request) => {
        frame.release?.();
        // Synchronous, as a conversion of a huge frame is: no timer can fire until it ends.
        const until = Date.now() + burnMs(request.camera_id);
        while (Date.now() < until);
        return { detections: [{ class_id: 0, class_name: 'late', confidence: 1, bbox: [0, 0, 1, 1] }] };
      },
    };
    await using server = await new ModelServer({ socketPath: ws.socket, shmDir: ws.shmDir, handler, handlerTimeoutMs: 300 }).start();
    const client = new ProtocolClient(ws.socket);
    try {
      const overrun = await client.send(inferRequest('burn-1200', 1));
      assert.equal(errorCode(overrun), 'ERR_TIMEOUT', JSON.stringify(overrun));
      assert.deepEqual(overrun.detections, [], 'the late result is dropped');
      assert.match((overrun.error as { message: string }).message, /longer than 300 ms/);
      const quick = await client.send(inferRequest('burn-0', 2));
      assert.equal(quick.error, null, JSON.stringify(quick));
      assert.equal(server.stats().errors.ERR_TIMEOUT, 1);
    } finally {
      client.close();
    }
  });
});
