/**
 * The native decoder's own threads: dead cameras (a server that accepts TCP
 * and never answers RTSP), more of them than libuv's pool has threads, leave
 * fs, dns and a healthy camera alone; stop() and an AbortSignal end a pending
 * open at once; closing with a call pending, the end of a worker thread and
 * process exit are safe. Order of events is the proof, never the clock.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as dns } from 'node:dns';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { after, describe, it } from 'node:test';
import { CaptureError, NativeDecoder, StreamCapture, type CaptureState } from '../../src/capture/index.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { eventually } from '../helpers/process.js';
import { capture, captures, VTEST } from './fixtures.js';
import { decoderThreads, SilentServer } from './native-fixtures.js';

/** libuv's pool size in this process (UV_THREADPOOL_SIZE, 4 by default). */
const POOL_THREADS = Number(process.env.UV_THREADPOOL_SIZE) || 4;
/** Longer than any test here may take: a stop or an abort that returns at all returned before it. */
const NEVER_MS = 3_600_000;

const servers: SilentServer[] = [];
async function silentServer(): Promise<SilentServer> {
  const server = await SilentServer.start();
  servers.push(server);
  return server;
}

after(async () => {
  await Promise.all(captures.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.close()));
});

describe('native decoder threads', { timeout: 120_000 }, () => {
  it(`${POOL_THREADS + 2} dead cameras leave fs, dns and a healthy camera alone, and stop at once`, async () => {
    const server = await silentServer();
    const deadCount = POOL_THREADS + 2;
    const events: string[] = [];
    const dead: StreamCapture[] = [];
    try {
      for (let i = 0; i < deadCount; i++) {
        const supplier = new FrameSupplier({ streamId: `dead-${process.pid}-${i}` }).start();
        // A dead camera that times out would report it as 'backoff' (after 15 s).
        const { cap } = capture({ source: server.url(`dead-${i}`), decoder: 'native', supplier, connectTimeoutMs: 15_000 });
        cap.on('state', (state) => events.push(`dead ${state}`));
        dead.push(cap);
      }
      // Every dead camera is inside its open, waiting for an RTSP answer that never comes.
      await server.acceptedAtLeast(deadCount);
      events.push('dead cameras connected');

      const healthy = capture({ source: VTEST, decoder: 'native', output: { width: 384 } });
      await Promise.all([
        readFile(VTEST).then(() => events.push('readFile')),
        dns.lookup('localhost').then(() => events.push('dns.lookup')),
        healthy.sub.read().then((frame) => {
          assert.ok(frame !== null);
          events.push('healthy first frame');
        }),
      ]);
      // No dead camera changed state (a timeout would be 'backoff') before these three.
      const middle = events.splice(1, 3).sort();
      assert.deepEqual(middle, ['dns.lookup', 'healthy first frame', 'readFile'], `before any dead camera timed out: ${JSON.stringify(events)}`);

      await Promise.all(dead.map((cap) => cap.close()));
      await healthy.cap.close();
      assert.deepEqual(events, ['dead cameras connected', ...Array<string>(deadCount).fill('dead stopped')]);
      for (const cap of dead) assert.equal(cap.stats().lastError, null, 'stopped, not timed out');
    } finally {
      await Promise.all(dead.map((cap) => cap.close()));
    }
    // Every decoder's thread is joined once its decoder is released.
    await eventually(() => decoderThreads() === 0, 'the decoder threads to end');
  });

  it('stop() during a pending open resolves at once: stopped, never timed out', async () => {
    const server = await silentServer();
    const { cap } = capture({ source: server.url('pending'), decoder: 'native', connectTimeoutMs: NEVER_MS });
    await server.acceptedAtLeast(server.accepted + 1);
    const states: CaptureState[] = [];
    cap.on('state', (state) => states.push(state));
    await cap.close();
    assert.deepEqual(states, ['stopped']);
    assert.equal(cap.stats().lastError, null);
    assert.equal(cap.stats().stopReason, 'stopped');
  });

  it('an aborted signal ends a pending open at once, rejecting with its reason', async () => {
    const server = await silentServer();
    const controller = new AbortController();
    const before = server.accepted;
    const opening = NativeDecoder.open(server.url('abort'), {
      format: 'rgb24',
      avOptions: { rtsp_transport: 'tcp', timeout: String(NEVER_MS * 1000) },
      signal: controller.signal,
    });
    await server.acceptedAtLeast(before + 1);
    const reason = new CaptureError('ERR_CAPTURE_STOPPED', 'given up');
    controller.abort(reason);
    await assert.rejects(opening, (error) => error === reason);
    // Already aborted: refused before any thread starts.
    await assert.rejects(NativeDecoder.open(VTEST, { format: 'rgb24', signal: controller.signal }), (error) => error === reason);
  });

  it('close() with a decode pending settles that decode and frees the decoder; an aborted decode rejects with the reason', async () => {
    const decoder = await NativeDecoder.open(VTEST, { format: 'rgb24' });
    const target = new Uint8Array(decoder.frameBytes);
    const pending = decoder.decode(target);
    decoder.close();
    // Either the frame was done or the read was interrupted; it settles, and the decoder refuses more.
    await pending.then(
      (frame) => assert.notEqual(frame, undefined),
      (error: unknown) => assert.ok(error instanceof CaptureError),
    );
    await assert.rejects(decoder.decode(target), { code: 'ERR_SOURCE_EXITED' });

    const controller = new AbortController();
    const second = await NativeDecoder.open(VTEST, { format: 'rgb24', signal: controller.signal });
    assert.notEqual(await second.decode(target), null);
    const reason = new Error('aborted here');
    const running = second.decode(target);
    controller.abort(reason);
    await assert.rejects(running, (error) => error === reason);
    await assert.rejects(second.decode(target), (error) => error === reason);
    second.close();
    await eventually(() => decoderThreads() === 0, 'the decoder threads to end');
  });

  it("the decoder's threads block every signal but those a fault raises on the faulting thread (SIGBUS, SIGSEGV, SIGFPE, SIGILL)", async () => {
    const decoder = await NativeDecoder.open(VTEST, { format: 'rgb24' });
    try {
      const target = new Uint8Array(decoder.frameBytes);
      assert.notEqual(await decoder.decode(target), null);
      // The converter names itself when it first runs, which a loaded machine may not have scheduled yet: wait on
      // the names, not a time.
      const named = (): string[] =>
        readdirSync('/proc/self/task')
          .map((task) => {
            try {
              return readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim();
            } catch {
              return ''; // a thread of the process ended meanwhile
            }
          })
          .filter((name) => name === 'fs-decoder' || name === 'fs-convert');
      await eventually(() => new Set(named()).size === 2, 'both decoder threads to have named themselves');
      // Each thread's blocked signals as the kernel has them (SigBlk: bit n-1 is signal n). A fault signal blocked on the
      // thread that faults kills the process without its handler (the store's SIGBUS guard) running.
      const masks = new Map<string, bigint>();
      for (const task of readdirSync('/proc/self/task')) {
        const name = readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim();
        if (name !== 'fs-decoder' && name !== 'fs-convert') continue;
        const blocked = /^SigBlk:\s+([0-9a-f]+)$/m.exec(readFileSync(`/proc/self/task/${task}/status`, 'utf8'))?.[1];
        masks.set(name, BigInt(`0x${blocked}`));
      }
      assert.deepEqual([...masks.keys()].sort(), ['fs-convert', 'fs-decoder']);
      for (const [name, mask] of masks) {
        for (const signal of [constants.signals.SIGBUS, constants.signals.SIGSEGV, constants.signals.SIGFPE, constants.signals.SIGILL])
          assert.equal((mask >> BigInt(signal - 1)) & 1n, 0n, `${name} blocks signal ${signal}`);
        for (const signal of [constants.signals.SIGINT, constants.signals.SIGTERM, constants.signals.SIGCHLD])
          assert.equal((mask >> BigInt(signal - 1)) & 1n, 1n, `${name} lets signal ${signal} in: it is the JavaScript thread's`);
      }
    } finally {
      decoder.close();
    }
  });

  it('a worker thread ended with decoders open, pending or decoding leaves this process well', async () => {
    const server = await silentServer();
    const before = server.accepted;
    const worker = new Worker(fileURLToPath(new URL('./native-threads-worker.js', import.meta.url)), {
      workerData: { dead: server.url('worker'), file: VTEST },
    });
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    await server.acceptedAtLeast(before + 1);
    await ready;
    const exitCode = await worker.terminate();
    assert.equal(exitCode, 1);
    await eventually(() => decoderThreads() === 0, 'the worker’s decoder threads to end');
    // The addon still works in this thread.
    const decoder = await NativeDecoder.open(VTEST, { format: 'gray' });
    assert.notEqual(await decoder.decode(new Uint8Array(decoder.frameBytes)), null);
    decoder.close();
  });

  for (const how of ['exit', 'natural'] as const) {
    const what = how === 'exit' ? 'calling process.exit() with opens pending and a decode running' : 'whose decoder is idle and never closed';
    it(`a process ${what} ends at once, cleanly`, async () => {
      const child = spawn(process.execPath, [fileURLToPath(new URL('./native-exit-child.js', import.meta.url)), how, VTEST], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
      assert.deepEqual([code, signal], [how === 'exit' ? 7 : 0, null]);
      assert.equal(out, 'READY\n');
    });
  }
});
