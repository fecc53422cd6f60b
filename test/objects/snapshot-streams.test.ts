/**
 * Snapshots of a camera with two streams, through the app: a real video (a red square moving right) encoded as
 * a 640 × 480 main stream and a 320 × 240 substream, the in-process decoder, a module worker that finds the
 * square in the pixels on the substream (readSize any: auto picks the smallest), tracking, and the events
 * store on disk. Expected: the object's snapshot is the main stream's picture nearest the detection, decoded
 * on demand (main otherwise decodes nothing), and its event says so: `snapshot` with stream main, main's size,
 * and a capture time within one frame interval of the detection's; the stored JPEG is main's size.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/app/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { TrackedObject } from '../../src/objects/index.js';
import type { EventOf } from '../../src/pipeline/index.js';
import { resolvedConfig } from '../pipeline/helpers.js';

const DETECTOR = fileURLToPath(new URL('./colour-detector.js', import.meta.url));
const FPS = 10;

/** A JPEG's size from its first start-of-frame marker. */
function jpegSize(bytes: Uint8Array): { width: number; height: number } {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) throw new Error(`not a JPEG marker at ${i}`);
    const marker = bytes[i + 1]!;
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (marker >= 0xc0 && marker <= 0xc3) return { height: (bytes[i + 5]! << 8) | bytes[i + 6]!, width: (bytes[i + 7]! << 8) | bytes[i + 8]! };
    i += 2 + length;
  }
  throw new Error('no start-of-frame marker');
}

describe('snapshots of a camera with a main stream and a substream', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-snapshot-streams-'));
  const main = join(dir, 'main.mp4');
  const sub = join(dir, 'sub.mp4');
  before(async () => {
    const graph = (w: number, h: number, q: number): string =>
      `color=c=black:s=${w}x${h}:r=${FPS}:d=30[bg];color=c=red:s=${q}x${q}:r=${FPS}:d=30[r];[bg][r]overlay=x='${q / 2}+${w / 16}*t':y=${h / 2}:eval=frame`;
    const encode = ['-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(FPS), '-bf', '0', '-pix_fmt', 'yuv420p'];
    await Promise.all(
      [
        [main, graph(640, 480, 64)],
        [sub, graph(320, 240, 32)],
      ].map(([path, filter]) => promisify(execFile)('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-filter_complex', filter!, ...encode, path!])),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the snapshot is main's picture nearest the detection, and the event says which stream, size and offset", async () => {
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-snapshot-streams-${process.pid}`,
      cameras: {
        gate: {
          source: main,
          streams: { sub },
          capture: { decoder: 'native', decoderThreads: 1, loop: true, output: { format: 'rgb24' } },
          workers: [{ id: 'colours', module: DETECTOR, maxFps: 4, readSize: 'any', track: { confirmHits: 2 } }],
        },
      },
      events: { database: join(dir, 'events.db') },
      http: { host: '127.0.0.1', port: 0 },
    });
    const app = createApp(config, { logger: createLogger({ level: 'silent' }), http: { config: config.http! } });
    try {
      const saved = new Promise<EventOf<'tracked-object'>>((resolve) => {
        const listener = (e: EventOf<'tracked-object'>): void => {
          if (e.event.after.snapshot === null) return;
          app.system.off('tracked-object', listener);
          resolve(e);
        };
        app.system.on('tracked-object', listener);
      });
      await app.start();
      const { event } = await saved;
      const camera = app.system.stats().cameras.gate!;
      assert.equal(camera.workerStreams?.colours?.stream, 'sub', 'the detector reads the substream');
      const info = event.after.snapshot!;
      assert.equal(info.stream, 'main');
      assert.deepEqual([info.width, info.height], [640, 480]);
      assert.equal(info.fallback, null);
      // the detection's own frame time: the snapshot's request carries the time of the frame with the best score
      assert.ok(Math.abs(info.offset_ms) <= 1000 / FPS + 10, `the picture is ${info.offset_ms} ms from the detection`);
      const main = camera.streams!.main!;
      assert.equal(main.decode?.mode, 'hold');
      assert.ok(main.costs.snapshots >= 1 && main.costs.burstFrames >= 1, 'main decoded in a burst for the snapshot');
      // the store and the API say it too, and the stored JPEG is main's size
      const base = app.dashboard!.url;
      const listed = (await (await fetch(new URL('/api/events?camera=gate', base))).json()) as { events: TrackedObject[] };
      const stored = listed.events.find((e) => e.id === event.after.id);
      assert.ok(stored?.snapshot != null, 'the stored event says which picture');
      assert.equal(stored.snapshot.stream, 'main');
      const jpeg = await fetch(new URL(`/api/events/${event.after.id}/snapshot.jpg`, base));
      assert.equal(jpeg.status, 200);
      assert.deepEqual(jpegSize(new Uint8Array(await jpeg.arrayBuffer())), { width: 640, height: 480 });
    } finally {
      await app.close();
    }
  });
});
