/**
 * Several pictures of one object, and a camera of several streams, for a vlm
 * worker in the whole app (ADR 0072), against the stand-in OpenAI-compatible
 * server (test/helpers/vlm-server.ts, which records every image of each
 * request):
 *  - a red square crossing the picture for about four seconds, found in the
 *    pixels by a real detector and tracked, a worker with `frames.max: 3` and
 *    an `end` trigger: at the end the request carries three crops in one
 *    message, of three distinct frames of the object's life, oldest first,
 *    each captured after its first sighting; the answer lists them
 *    (`frames`: capture times, ages at the request), and the crops are
 *    forgotten once it is described;
 *  - a camera whose main stream is 640×480 and substream 320×240 (real H.264
 *    files, the in-process decoder), the detector and the vlm worker both on
 *    the substream: the crop sent is cut from the main stream's picture, at
 *    main's resolution (twice the substream's), and the answer says `main`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { createApp } from '../../src/app/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { EventOf } from '../../src/pipeline/index.js';
import type { VlmCounts, VlmOutput } from '../../src/workers/index.js';
import { FakeVlmServer } from '../helpers/vlm-server.js';
import { nextResults, resolvedConfig } from '../pipeline/helpers.js';

const DETECTOR = fileURLToPath(new URL('../objects/colour-detector.js', import.meta.url));
const FPS = 10;

/** Mean red and green of a JPEG's pixels. */
async function colourOf(jpeg: Buffer): Promise<{ r: number; g: number; width: number; height: number }> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  let r = 0;
  let g = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    r += data[i]!;
    g += data[i + 1]!;
  }
  const n = data.length / info.channels;
  return { r: r / n, g: g / n, width: info.width, height: info.height };
}

describe('a vlm worker: several pictures of an object, and the main stream of a camera of several streams', { timeout: 180_000 }, () => {
  let server: FakeVlmServer;
  let dir: string;
  before(async () => {
    server = await new FakeVlmServer().start();
    dir = mkdtempSync(join(tmpdir(), 'vlm-frames-'));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('end: described from three crops of distinct frames of its life, oldest first, each after its first sighting; the answer lists them', async () => {
    server.answer = () => 'a red square crossing from right to left';
    // a red square moving left at 60 px/s, out of the picture after about 4 s: its track ends 1 s later
    const crossing = "lavfi:color=c=white:s=320x240:r=10[bg];color=c=red:s=60x60:r=10[r];[bg][r]overlay=x='250-60*t':y=90";
    const config = resolvedConfig({
      cameras: {
        road: {
          source: crossing,
          capture: { output: { format: 'rgb24' } },
          workers: [
            { id: 'detector', module: DETECTOR, maxFps: 5, track: { confirmHits: 1, endAfterSeconds: 1 } },
            {
              id: 'vlm',
              vlm: {
                api: 'openai',
                url: server.url('openai'),
                model: 'llava',
                name: 'summary',
                prompt: 'These {{frames}} pictures show one {{label}} over time. What did it do?',
                image: { size: 64 },
                frames: { max: 3, everyMs: 500 },
                triggers: { objects: { of: 'detector', labels: ['red'], on: ['end'] } },
              },
            },
          ],
        },
      },
    });
    const app = createApp(config, { logger: createLogger({ level: 'silent' }) });
    const firstSeen = new Map<string, number>();
    app.system.on('tracked-object', (e: EventOf<'tracked-object'>) => {
      if (e.event.type === 'new') firstSeen.set(e.event.after.id, e.event.after.start_time * 1000);
    });
    const before = server.requests.length;
    try {
      const answered = nextResults(app.system, 'road', 'vlm', 1);
      await app.start();
      const [result] = await answered;
      const out = result!.output as VlmOutput;
      assert.equal(out.error, undefined, JSON.stringify(out.error));
      assert.deepEqual([out.trigger.kind, out.trigger.label, out.answer], ['end', 'red', 'a red square crossing from right to left']);
      const request = server.requests[before]!;
      assert.equal(request.jpegs.length, 3, 'three pictures in one request');
      const parts = (request.body.messages as { content: { type: string; text?: string }[] }[])[0]!.content;
      assert.deepEqual(
        parts.map((p) => p.type),
        ['text', 'image_url', 'image_url', 'image_url'],
        'one user message: the prompt, then the pictures',
      );
      assert.equal(parts[0]!.text, 'These 3 pictures show one red over time. What did it do?');
      for (const jpeg of request.jpegs) {
        const picture = await colourOf(jpeg);
        // the box is the tracker's latest, the frame a little newer: a moving square may sit a little off centre
        assert.ok(picture.r > 200 && picture.g < 160, `each picture is a crop of the red square (mean r ${picture.r}, g ${picture.g})`);
        assert.ok(Math.max(picture.width, picture.height) <= 64);
      }
      // The answer says which frames it saw: kept crops, oldest first, distinct frames, all after its first sighting.
      assert.equal(out.frames.length, 3);
      const first = firstSeen.get(out.trigger.objectId!);
      assert.ok(first !== undefined, 'its first sighting was seen');
      const times = out.frames.map((f) => f.captureTime!);
      for (const [i, f] of out.frames.entries()) {
        assert.equal(f.source, 'kept');
        assert.equal(f.stream, 'main');
        assert.ok(f.captureTime !== null && f.captureTime >= first, `frame ${i} captured at ${f.captureTime}, first seen at ${first}`);
        assert.ok(f.ageAtRequestMs !== null && f.ageAtRequestMs > 0);
        assert.ok(f.score !== null && f.score > 0.5, 'the detection’s score');
        if (i > 0) {
          assert.ok(times[i]! >= times[i - 1]! + 500, `oldest first, at least everyMs apart: ${times.join(', ')}`);
          assert.ok(f.ageAtRequestMs < out.frames[i - 1]!.ageAtRequestMs!, 'a newer picture is younger at the request');
        }
      }
      assert.ok(times.at(-1)! - times[0]! >= 1_000, `spread over its life: ${times.join(', ')}`);
      assert.equal(out.image.source, 'kept');
      // Described, its crops are forgotten.
      const asks = app.system.stats().cameras.road!.workers.vlm!.asks as VlmCounts;
      assert.ok(asks.kept.cut >= 3, JSON.stringify(asks.kept));
      assert.deepEqual([asks.kept.objects, asks.kept.crops, asks.kept.bytes], [0, 0, 0], JSON.stringify(asks.kept));
    } finally {
      await app.close();
    }
  });

  it("a camera of two streams: the crop is cut from the main stream's picture, at main's resolution, though the worker reads the substream", async () => {
    const main = join(dir, 'main.mp4');
    const sub = join(dir, 'sub.mp4');
    // one scene at two sizes: a red square a fifth of the picture wide, still
    const graph = (w: number, h: number): string =>
      `color=c=white:s=${w}x${h}:r=${FPS}:d=20[bg];color=c=red:s=${w / 5}x${w / 5}:r=${FPS}:d=20[r];[bg][r]overlay=x=${w / 4}:y=${h / 4}`;
    const encode = ['-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(FPS), '-bf', '0', '-pix_fmt', 'yuv420p'];
    await Promise.all(
      [
        [main, graph(640, 480)],
        [sub, graph(320, 240)],
      ].map(([path, filter]) => promisify(execFile)('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-filter_complex', filter!, ...encode, path!])),
    );
    server.answer = () => 'a red square';
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-vlm-frames-${process.pid}`,
      cameras: {
        gate: {
          source: main,
          // sizes declared: the workers on `any` read the substream from their first frame
          streams: { main: { width: 640, height: 480 }, sub: { source: sub, width: 320, height: 240 } },
          capture: { decoder: 'native', decoderThreads: 1, loop: true, output: { format: 'rgb24' } },
          workers: [
            { id: 'detector', module: DETECTOR, maxFps: 4, readSize: 'any', track: { confirmHits: 1 } },
            {
              id: 'vlm',
              readSize: 'any',
              vlm: {
                api: 'openai',
                url: server.url('openai'),
                model: 'llava',
                prompt: 'What is the {{label}}?',
                image: { margin: 0, size: 4096 },
                triggers: { objects: { of: 'detector', labels: ['red'], on: ['new'] } },
              },
            },
          ],
        },
      },
    });
    const app = createApp(config, { logger: createLogger({ level: 'silent' }) });
    const before = server.requests.length;
    try {
      const answered = nextResults(app.system, 'gate', 'vlm', 1);
      await app.start();
      const [result] = await answered;
      const out = result!.output as VlmOutput;
      assert.equal(out.error, undefined, JSON.stringify(out.error));
      const streams = app.system.stats().cameras.gate!.workerStreams!;
      assert.equal(streams.vlm?.stream, 'sub', 'the vlm worker reads the substream');
      assert.equal(streams.detector?.stream, 'sub');
      // The square is 128 px wide on main, 64 on the substream: the crop is main's (never enlarged: size 4096).
      assert.deepEqual([out.image.stream, out.image.fallback], ['main', null]);
      assert.ok(out.image.width >= 124 && out.image.width <= 136, `the crop is ${out.image.width} px wide: main's pixels`);
      assert.ok(out.image.height >= 124 && out.image.height <= 136, `the crop is ${out.image.height} px high`);
      const sent = await colourOf(server.requests[before]!.jpeg!);
      assert.deepEqual([sent.width, sent.height], [out.image.width, out.image.height], 'the picture sent is that crop');
      assert.ok(sent.r > 200 && sent.g < 90, `the crop is the red square (mean r ${sent.r}, g ${sent.g})`);
      assert.deepEqual(
        out.frames.map((f) => [f.source, f.stream, f.width]),
        [['frame', 'main', out.image.width]],
      );
      // main is decoded only for the pictures asked of it
      assert.ok(app.system.stats().cameras.gate!.streams!.main!.costs.snapshots >= 1);
    } finally {
      await app.close();
    }
  });
});
