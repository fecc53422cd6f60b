/**
 * StreamCapture against the real ffmpeg, real files and a real RTSP server.
 * Waits are on events (state changes, frames, process exits), never sleeps.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { StreamCapture } from '../../src/capture/index.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { eventually } from '../helpers/process.js';
import { alive, assertReconnects, capture, captures, corruptFile, ffmpegChildrenOf, frames, h264Clip, RtspServer, until, VTEST } from './fixtures.js';

after(async () => {
  await Promise.all(captures.map((c) => c.close()));
});

describe('capture: frames of the right size and format', { timeout: 180_000 }, () => {
  for (const [format, bytesPerPixel] of [
    ['rgb24', 3],
    ['bgr24', 3],
    ['gray', 1],
    ['nv12', 1.5],
  ] as const) {
    it(`a test pattern as ${format}, scaled in ffmpeg`, async () => {
      const { cap, sub } = capture({ source: 'lavfi:testsrc2=size=640x480:rate=30', output: { format, width: 320, height: 240 } });
      const got = await frames(sub, 3);
      for (const f of got) {
        assert.equal(f.width, 320);
        assert.equal(f.height, 240);
        assert.equal(f.format, format);
        assert.equal(f.payload.byteLength, 320 * 240 * bytesPerPixel);
        assert.equal(f.streamId, 'test-cam');
        assert.ok(f.payload.buffer instanceof SharedArrayBuffer, 'payloads are in shared memory');
      }
      assert.ok(got[1]!.captureTime > got[0]!.captureTime && got[2]!.captureTime > got[1]!.captureTime);
      assert.ok(Math.abs(got[0]!.wallTime - Date.now()) < 60_000);
      const stats = cap.stats();
      assert.equal(stats.state, 'streaming');
      assert.ok(stats.framesDecoded >= 3 && stats.framesPublished === stats.framesDecoded);
      assert.ok(stats.publishDelayUs !== null && stats.publishDelayUs.p50 >= 0);
      await cap.close();
      assert.equal(cap.state, 'stopped');
    });
  }

  it('JPEG frames, each one whole image from SOI to EOI', async () => {
    const { cap, sub } = capture({ source: VTEST, output: { format: 'jpeg', width: 384 } });
    for (const f of await frames(sub, 3)) {
      assert.equal(f.format, 'jpeg');
      assert.deepEqual([f.width, f.height], [384, 288]);
      assert.deepEqual([f.payload[0], f.payload[1]], [0xff, 0xd8]);
      assert.deepEqual([f.payload.at(-2), f.payload.at(-1)], [0xff, 0xd9]);
    }
    await cap.close();
  });

  it('a file at full speed, decimated in ffmpeg, then ends as configured', async () => {
    // vtest.avi: 795 frames at 10 fps. At most 5 fps out means about half of them leave ffmpeg.
    const supplier = new FrameSupplier().start();
    const counted = supplier.subscribe('count');
    let n = 0;
    const counting = (async () => {
      for await (const _ of counted) n++;
    })();
    const { cap } = capture({ source: VTEST, realtime: false, output: { fps: 5, width: 192, height: 144, format: 'gray' }, supplier });
    await until(cap, 'stopped');
    const stats = cap.stats();
    assert.equal(stats.stopReason, 'ended');
    assert.equal(stats.lastError?.code, 'ERR_SOURCE_ENDED');
    assert.ok(stats.framesDecoded >= 390 && stats.framesDecoded <= 405, `decimated to ${stats.framesDecoded} of 795`);
    assert.equal(stats.framesPublished, stats.framesDecoded);
    void supplier.close();
    await counting;
    assert.ok(n > 0);
  });
});

describe('capture: resilience with a real RTSP server', { timeout: 180_000 }, () => {
  let server: RtspServer;
  before(async () => {
    server = await new RtspServer(await h264Clip()).start();
  });
  after(async () => {
    await server.kill();
  });

  it('streams H.264 over RTSP/TCP, reconnects after the server dies and comes back', async () => {
    const { cap, sub } = capture({ source: server.url, output: { width: 384, height: 288 }, stallTimeoutMs: 3_000 });
    await assertReconnects(server, cap, sub);
    assert.ok(cap.stats().restarts >= 1);
    await cap.close();
  });

  it('RTSP over UDP when asked', async () => {
    const { cap, sub } = capture({ source: server.url, rtspTransport: 'udp', output: { width: 192, height: 144 } });
    assert.equal((await frames(sub, 2)).length, 2);
    await cap.close();
  });

  it('detects a stall (a server that stops sending) and restarts', async () => {
    const stalling = await new RtspServer(server.file).start();
    const { cap, sub } = capture({ source: stalling.url, output: { width: 192, height: 144 }, stallTimeoutMs: 1_000 });
    await frames(sub, 2);
    // Freeze the server: the TCP connection stays open and silent.
    const serverPid = stalling.pid;
    process.kill(serverPid, 'SIGSTOP');
    try {
      await until(cap, 'backoff');
      assert.equal(cap.stats().lastError?.code, 'ERR_SOURCE_STALLED');
    } finally {
      process.kill(serverPid, 'SIGCONT');
    }
    await cap.close();
    await stalling.kill();
  });

  it('a server that accepts but never answers fails the connect timeout and is retried', async () => {
    const frozen = await new RtspServer(server.file).start();
    process.kill(frozen.pid, 'SIGSTOP');
    try {
      const { cap } = capture({ source: frozen.url, connectTimeoutMs: 500 });
      await until(cap, 'backoff');
      assert.equal(cap.stats().lastError?.code, 'ERR_SOURCE_OPEN_FAILED');
      assert.match(cap.stats().lastError!.message, /connectTimeoutMs 500/);
      await cap.close();
    } finally {
      process.kill(frozen.pid, 'SIGCONT');
      await frozen.kill();
    }
  });

  it("the fixture's server that died of a signal on its own (gst-rtsp-server aborts now and then under load): kill() returns, and start() serves again", async () => {
    const aborting = await new RtspServer(server.file).start();
    const pid = aborting.pid;
    const gone = aborting.whenEnded();
    process.kill(pid, 'SIGKILL'); // as an abort() ends it: by a signal, its exit code null
    await gone;
    await aborting.kill(); // it hung here, waiting for an 'exit' that had fired, and a SOAK-CHURN's restarts stopped with it
    await aborting.start();
    const { cap, sub } = capture({ source: aborting.url, output: { width: 192, height: 144 } });
    assert.equal((await frames(sub, 2)).length, 2);
    await cap.close();
    await aborting.kill();
  });

  it('killing ffmpeg leads to a restart', async () => {
    const { cap, sub } = capture({ source: 'lavfi:testsrc2=size=160x120:rate=30' });
    await frames(sub, 2);
    const pid = cap.stats().pid!;
    process.kill(pid, 'SIGKILL');
    await until(cap, 'backoff');
    assert.match(cap.stats().lastError!.message, /SIGKILL/);
    assert.equal(cap.stats().lastError!.code, 'ERR_SOURCE_EXITED');
    await until(cap, 'streaming');
    assert.notEqual(cap.stats().pid, pid);
    assert.equal(cap.stats().restarts, 1);
    await cap.close();
  });
});

describe('capture: failures stay contained', { timeout: 180_000 }, () => {
  it('a corrupt file and a missing file go to backoff with their errors while another source keeps streaming', async () => {
    const supplier = new FrameSupplier().start();
    const good = capture({ source: 'lavfi:testsrc2=size=160x120:rate=30', supplier });
    const corrupt = capture({ source: corruptFile(), supplier: new FrameSupplier().start() });
    const missing = capture({ source: '/nonexistent/clip.mp4', supplier: new FrameSupplier().start() });
    for (const bad of [corrupt.cap, missing.cap]) {
      await until(bad, 'backoff');
      assert.equal(bad.stats().lastError?.code, 'ERR_SOURCE_OPEN_FAILED');
      await until(bad, 'connecting'); // it retries on its own
      await until(bad, 'backoff');
    }
    assert.match(missing.cap.stats().lastError!.message, /No such file/);
    assert.ok(corrupt.cap.stats().stderrTail.length > 0);
    const before = good.cap.stats().framesPublished;
    await frames(good.sub, 3);
    assert.ok(good.cap.stats().framesPublished > before, 'the healthy source kept streaming');
    assert.equal(good.cap.state, 'streaming');
    await Promise.all([good.cap.close(), corrupt.cap.close(), missing.cap.close()]);
  });

  it('refuses a missing ffmpeg, an unsupported scheme and malformed options at start, with codes', () => {
    const supplier = new FrameSupplier().start();
    assert.throws(() => new StreamCapture({ source: 'lavfi:testsrc2', supplier, ffmpegPath: '/nonexistent/ffmpeg' }).start(), {
      code: 'ERR_FFMPEG_NOT_FOUND',
    });
    assert.throws(() => new StreamCapture({ source: 'ftp://x/y', supplier }), { code: 'ERR_UNSUPPORTED_SOURCE' });
    assert.throws(() => new StreamCapture({ source: '/v.mp4', supplier, stallTimeoutMs: 0 }), { code: 'ERR_INVALID_CAPTURE_OPTION' });
    assert.throws(() => new StreamCapture({ source: '/v.mp4', supplier, backoff: { jitter: 2 } }), { code: 'ERR_INVALID_CAPTURE_OPTION' });
    assert.throws(() => new StreamCapture({ source: '/v.mp4', supplier: {} as never }), { code: 'ERR_INVALID_CAPTURE_OPTION' });
  });

  it('stops itself when its supplier stops', async () => {
    const supplier = new FrameSupplier().start();
    const { cap, sub } = capture({ source: 'lavfi:testsrc2=size=160x120:rate=30', supplier });
    await frames(sub, 1);
    const pid = cap.stats().pid!;
    void supplier.close();
    await until(cap, 'stopped');
    assert.equal(cap.stats().stopReason, 'supplier-stopped');
    assert.equal(alive(pid), false);
  });
});

describe('capture: no ffmpeg outlives its owner', { timeout: 180_000 }, () => {
  it('stop() reaps ffmpeg', async () => {
    const { cap, sub } = capture({ source: 'lavfi:testsrc2=size=160x120:rate=30' });
    await frames(sub, 1);
    const pid = cap.stats().pid!;
    assert.equal(alive(pid), true);
    await cap.close();
    assert.equal(alive(pid), false);
    assert.deepEqual(ffmpegChildrenOf(process.pid), []);
  });

  it('start() twice and close() twice are safe; `await using` reaps ffmpeg; start() after close() is ERR_CAPTURE_STOPPED; stop() is close()', async () => {
    const { cap, sub } = capture({ source: 'lavfi:testsrc2=size=160x120:rate=30' });
    assert.equal(cap.start(), cap, 'a second start() is the same capture');
    await frames(sub, 1);
    const pid = cap.stats().pid!;
    assert.equal(cap.stats().restarts, 0, 'the second start() launched nothing');
    await Promise.all([cap.close(), cap.close()]);
    await cap.close();
    assert.equal(alive(pid), false);
    assert.equal(cap.state, 'stopped');
    assert.throws(() => cap.start(), { code: 'ERR_CAPTURE_STOPPED' });
    let scopedPid: number;
    {
      await using scoped = capture({ source: 'lavfi:testsrc2=size=160x120:rate=30' }).cap;
      await until(scoped, 'streaming');
      scopedPid = scoped.stats().pid!;
    }
    assert.equal(alive(scopedPid), false, 'await using reaped ffmpeg');
    assert.deepEqual(ffmpegChildrenOf(process.pid), []);
  });

  it('ffmpeg dies when its owning process is SIGKILLed', async () => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./owner-child.js', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
    const pid = Number(/^FFMPEG (\d+)$/.exec(line)![1]);
    assert.equal(alive(pid), true);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    await eventually(() => !alive(pid), `ffmpeg ${pid} to die with its owner`);
  });
});
