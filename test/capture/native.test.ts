/**
 * StreamCapture with decoder: 'native' (libav* in-process, native/decoder.c):
 * the same frames as the ffmpeg path, byte for byte; decimation and scaling;
 * a real RTSP server dying, coming back and stalling; errors with codes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { NativeDecoder, nativeDecoderUnavailable, StreamCapture } from '../../src/capture/index.js';
import { FrameSupplier, type Frame } from '../../src/supplier/index.js';
import { assertReconnects, capture, captures, corruptFile, frames, h264Clip, RtspServer, until, VTEST } from './fixtures.js';

const run = promisify(execFile);

after(async () => {
  await Promise.all(captures.map((c) => c.close()));
});

/** Every frame of a capture of a file, until it ends. */
async function allFrames(options: Parameters<typeof capture>[0]): Promise<{ frames: Frame[]; cap: StreamCapture }> {
  const supplier = new FrameSupplier({ streamId: 'all' }).start();
  const { cap, sub } = capture({ ...options, supplier });
  cap.on('state', (state) => state === 'stopped' && void supplier.close());
  const out: Frame[] = [];
  for await (const frame of sub.frames()) out.push(frame);
  return { frames: out, cap };
}

describe('capture: native decoder', { timeout: 120_000 }, () => {
  it('is built (scripts/setup.sh builds it)', () => {
    assert.equal(nativeDecoderUnavailable(), null);
  });

  it('gives the very bytes ffmpeg gives, and as many frames, decimated and scaled alike', async () => {
    const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', VTEST, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
      encoding: 'buffer',
      maxBuffer: 8 * 1024 * 1024,
    });
    const decoder = await NativeDecoder.open(VTEST, { format: 'rgb24' });
    const first = new Uint8Array(decoder.frameBytes);
    assert.notEqual(await decoder.decode(first), null);
    decoder.close();
    assert.equal(Buffer.compare(Buffer.from(first), stdout), 0, 'the first frame differs from ffmpeg’s');

    const output = { format: 'nv12', width: 384, fps: 4 } as const;
    const native = await allFrames({ source: VTEST, realtime: false, decoder: 'native', output });
    const piped = await allFrames({ source: VTEST, realtime: false, output });
    assert.equal(native.cap.stats().stopReason, 'ended');
    assert.equal(native.frames.length, piped.frames.length);
    assert.ok(native.frames.length > 250 && native.frames.length < 400, `${native.frames.length} frames at 4 fps of a 79.5 s clip`);
    const [n, p] = [native.frames[10]!, piped.frames[10]!];
    assert.deepEqual([n.width, n.height, n.format, n.payload.byteLength], [384, 288, 'nv12', (384 * 288 * 3) / 2]);
    assert.deepEqual([n.width, n.height, n.format], [p.width, p.height, p.format]);
    assert.ok(n.payload.buffer instanceof SharedArrayBuffer, 'decoded straight into the shared-memory pool');
    assert.equal(native.cap.stats().pid, null, 'no child process');
  });

  it('a missing or corrupt file goes to backoff with ERR_SOURCE_OPEN_FAILED; it retries on its own', async () => {
    for (const source of ['/nonexistent/clip.mp4', corruptFile()]) {
      const { cap } = capture({ source, decoder: 'native' });
      await until(cap, 'backoff');
      assert.equal(cap.stats().lastError?.code, 'ERR_SOURCE_OPEN_FAILED');
      await until(cap, 'connecting');
      await cap.close();
    }
  });

  it('refuses what it cannot do, at construction, with codes', () => {
    const supplier = new FrameSupplier().start();
    assert.throws(() => new StreamCapture({ source: 'lavfi:testsrc2', supplier, decoder: 'native' }), { code: 'ERR_INVALID_CAPTURE_OPTION' });
    assert.throws(() => new StreamCapture({ source: VTEST, supplier, decoder: 'native', output: { format: 'jpeg' } }), { code: 'ERR_INVALID_CAPTURE_OPTION' });
    assert.throws(() => new StreamCapture({ source: VTEST, supplier, decoder: 'gstreamer' as 'native' }), { code: 'ERR_INVALID_CAPTURE_OPTION' });
  });
});

describe('capture: native decoder with a real RTSP server', { timeout: 120_000 }, () => {
  let server: RtspServer;
  before(async () => {
    server = await new RtspServer(await h264Clip()).start();
  });
  after(async () => {
    await server.kill();
  });

  it('streams, reconnects after the server dies and comes back, and detects a stall', async () => {
    const { cap, sub } = capture({ source: server.url, decoder: 'native', output: { width: 384, height: 288 }, stallTimeoutMs: 1_000 });
    await assertReconnects(server, cap, sub);
    // Freeze the server: the connection stays open and silent; the blocked read is interrupted.
    process.kill(server.pid, 'SIGSTOP');
    try {
      await until(cap, 'backoff');
      assert.equal(cap.stats().lastError?.code, 'ERR_SOURCE_STALLED');
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
    await cap.close();
    assert.equal(cap.state, 'stopped');
  });

  it("dates a live picture by its own packet: frame threads' delay is in its age, and none by default", async () => {
    // The clip: 10 fps, no B-frames (x264's zerolatency), so a picture comes out of one thread on its own packet,
    // and out of three frame threads two packets later: 200 ms the `decoded` hop must show (ADR 0086).
    const decodedAge = async (decoderThreads?: number): Promise<number> => {
      const { cap, sub } = capture({
        source: server.url,
        decoder: 'native',
        output: { width: 384, height: 288 },
        ...(decoderThreads === undefined ? {} : { decoderThreads }),
      });
      await frames(sub, 30);
      const hop = cap.stats().hops.decoded;
      await cap.close();
      assert.ok(hop.p50Ms !== null && hop.count >= 30, JSON.stringify(hop));
      return hop.p50Ms;
    };
    const framed = await decodedAge(3);
    const plain = await decodedAge();
    assert.ok(framed >= 150, `three frame threads hold a picture two intervals (200 ms): decoded hop p50 ${framed} ms`);
    assert.ok(plain < 100, `slice threads hold none: decoded hop p50 ${plain} ms, under one interval`);
  });
});
