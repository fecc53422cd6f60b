/**
 * A camera with two streams through the whole system (ADR 0052, 0053), with real parts: two real RTSP servers
 * (gst-rtsp-server) serving one scene as a 1280 × 720 main stream and a 640 × 360 substream, the in-process
 * decoder, a model server process (the mock handler with a 640 input, which it says in its pong). Workers on
 * auto land on the stream their readSize meets and move when it changes; the main stream, read by no worker,
 * decodes nothing until a snapshot asks for its picture; when the main stream dies, detection goes on on the
 * substream, a worker that read main moves to it, and snapshots fall back to it, said in stats. A thread worker
 * on auto reads the substream too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { RtspServer, twoStreamScene } from '../capture/fixtures.js';
import { eventually, nextEvent, nextResults, resolvedConfig } from './helpers.js';

const SHM_DIR = `/dev/shm/framesupplier-substreams-${process.pid}`;

describe('a camera with a main stream and a substream, through the system', { timeout: 240_000 }, () => {
  let system: VisionSystem;
  let main: RtspServer;
  let sub: RtspServer;
  const camera = () => system.stats().cameras.door!;
  const streamOf = (worker: string): string | undefined => camera().workerStreams?.[worker]?.stream;

  before(async () => {
    const scene = await twoStreamScene();
    main = await new RtspServer(scene.main).start();
    sub = await new RtspServer(scene.sub).start();
    const config = resolvedConfig({
      shmDir: SHM_DIR,
      models: { detector: { handler: 'mock', inputSize: 640 } },
      cameras: {
        door: {
          source: main.url,
          streams: { sub: sub.url },
          capture: { decoder: 'native', decoderThreads: 1, output: { format: 'nv12' }, stallTimeoutMs: 2_000, backoff: { initialMs: 200, maxMs: 1_000 } },
          workers: [
            { id: 'detect', model: 'detector', maxFps: 2 },
            { id: 'preview', module: 'builtin:motion', readSize: 'any' },
            { id: 'big', module: 'builtin:motion', readSize: 1280, enabled: false },
            // a module on a thread of its own chooses its stream as any other worker
            { id: 'threaded', module: 'builtin:motion', thread: true, readSize: 'any' },
          ],
        },
      },
    });
    system = new VisionSystem({ config, logger: createLogger({ level: 'warn' }), modelHealthIntervalMs: 500 });
    await system.start();
  });
  after(async () => {
    await system?.close();
    await Promise.all([main?.kill(), sub?.kill()]);
  });

  it('workers on auto land on the stream their size meets; the main stream nobody reads decodes nothing', async () => {
    // The model worker says 640 once its server answers: from then on it reads the 640 × 360 substream.
    await eventually(() => streamOf('detect') === 'sub', 'the detector on the substream');
    await eventually(() => streamOf('preview') === 'sub', 'the preview (any size) on the substream');
    await eventually(
      () => streamOf('threaded') === 'sub',
      `the thread worker (any size) on the substream: ${JSON.stringify(camera().workerStreams?.threaded)} ${JSON.stringify(camera().workers.threaded?.state)}`,
    );
    await nextResults(system, 'door', 'threaded', 2);
    await nextResults(system, 'door', 'detect', 2);
    const streams = camera().streams!;
    assert.deepEqual([streams.sub?.width, streams.sub?.height], [640, 360]);
    assert.equal(streams.main?.state, 'streaming');
    assert.equal(streams.main?.decode?.mode, 'hold');
    // Before the detector's size was known it read main (a frame or two); from then on main decodes nothing.
    const decoded = streams.main.costs.framesDecoded;
    const received = streams.main.costs.framesReceived;
    await eventually(() => camera().streams!.main!.costs.framesReceived >= received + 10, 'ten more packets of the main stream');
    assert.equal(camera().streams!.main!.costs.framesDecoded, decoded, 'the main stream decoded nothing while nobody read it');
    assert.ok(streams.main.costs.packetBufferBytes > 0 && streams.main.costs.packetBufferBytes <= streams.main.costs.packetBufferLimitBytes);
    assert.ok(camera().workerStreams?.detect?.reason.includes('640'));
  });

  it('a snapshot decodes one burst of the main stream: its picture nearest the time asked', async () => {
    const before = camera().streams!.main!.costs.framesDecoded;
    const near = performance.now() - 200;
    const { picture, stream, fallback } = await system.cameras.picture('door', near);
    assert.equal(stream, 'main', fallback ?? '');
    assert.equal(fallback, null);
    assert.deepEqual([picture.width, picture.height], [1280, 720]);
    assert.ok(Math.abs(picture.captureTime - near) <= 110, `asked ${near.toFixed(0)}, got ${picture.captureTime.toFixed(0)}`);
    // from the last keyframe, or from the one before when the time asked is older than the last (a 1 s GOP at 10 fps)
    assert.ok(picture.decoded >= 1 && picture.decoded <= 21, `${picture.decoded} pictures decoded`);
    assert.equal(camera().streams!.main!.costs.framesDecoded, before + picture.decoded, 'one burst decoded for it');
  });

  it('a worker whose readSize needs the main stream reads it; when main dies, it moves, detection goes on and snapshots fall back', async () => {
    await system.workers.setEnabled('door', 'big', true);
    await eventually(() => streamOf('big') === 'main', 'the 1280 reader on the main stream');
    await nextResults(system, 'door', 'big', 2);
    const down = nextEvent(system, 'camera-state', (e) => e.camera === 'door' && e.state === 'backoff');
    await main.kill();
    await down;
    await eventually(() => streamOf('big') === 'sub', 'the 1280 reader moved to the substream');
    assert.match(camera().workerStreams!.big!.reason, /down: main/);
    await nextResults(system, 'door', 'detect', 2);
    await nextResults(system, 'door', 'big', 2);
    const { picture, stream, fallback } = await system.cameras.picture('door', performance.now());
    assert.equal(stream, 'sub');
    assert.deepEqual([picture.width, picture.height], [640, 360]);
    assert.match(fallback ?? '', /stream main/);
  });
});
