/**
 * The shipped motion detector answers exactly as the plain one ADR 0064 first
 * wrote (reference-detector.ts) on any frames: textured pictures with noise,
 * changes of light, things that move, stop and stay, masks, strides, planes
 * at any offset in their buffer, every working size and sampling path; and on
 * the real pedestrian clip at its own size, at a 640-wide substream's and at
 * the camera's 320-wide luma. What it detects is that of the plain detector;
 * only what it costs differs (docs/benchmarks/notebook-2026-11-22-to-28.md, MOTION). So with its passes
 * in C (the framesupplier_shm addon, ADR 0099) and in JavaScript alike.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BLUR } from '../../src/motion/work.js';
import { MotionDetector, type MotionDetectorOptions, type MotionResult } from '../../src/motion/index.js';
import { VTEST } from '../helpers/media.js';
import { ReferenceMotionDetector } from './reference-detector.js';
import { xorshift } from './scene.js';

interface Clip {
  readonly width: number;
  readonly height: number;
  readonly stride: number;
  /** Where each plane starts in its buffer (a plane need not start on a word). */
  readonly offset: number;
  readonly frames: readonly Uint8Array[];
}

/** A textured room under changing light, with noise and up to three blocks that walk, stop and stay. */
function clip(random: () => number, width: number, height: number, count: number): Clip {
  const stride = random() < 0.3 ? width + 1 + Math.floor(random() * 8) : width;
  const offset = random() < 0.3 ? 1 + Math.floor(random() * 3) : 0;
  const room = Float64Array.from({ length: width * height }, (_, i) => {
    const x = i % width;
    const y = (i - x) / width;
    return 110 + 60 * Math.sin(x / (3 + 9 * random())) * Math.cos(y / 7) + 20 * (random() - 0.5);
  });
  const blocks = Array.from({ length: Math.floor(random() * 4) }, () => ({
    x: random() * width,
    y: random() * height,
    w: 2 + random() * width * 0.3,
    h: 2 + random() * height * 0.4,
    vx: (random() - 0.5) * width * 0.1,
    vy: (random() - 0.5) * height * 0.05,
    stopsOn: Math.floor(random() * count),
    luma: random() * 255,
  }));
  const noise = random() * 6;
  let light = 1;
  const frames: Uint8Array[] = [];
  for (let f = 0; f < count; f++) {
    if (random() < 0.08) light = 0.3 + random() * 0.9;
    const buffer = new Uint8Array(offset + stride * height);
    const plane = buffer.subarray(offset);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let v = room[y * width + x]! * light;
        for (const b of blocks) {
          const t = Math.min(f, b.stopsOn);
          const bx = b.x + b.vx * t;
          const by = b.y + b.vy * t;
          if (x >= bx && x < bx + b.w && y >= by && y < by + b.h) v = b.luma * light;
        }
        plane[y * stride + x] = Math.max(0, Math.min(255, Math.round(v + (random() - 0.5) * 2 * noise)));
      }
      // What lies between rows is never read.
      for (let x = width; x < stride; x++) plane[y * stride + x] = Math.floor(random() * 256);
    }
    frames.push(plane);
  }
  return { width, height, stride, offset, frames };
}

/** The shipped detector's answers with its C passes (ours) and its JavaScript ones (js), and the plain one's. */
function both(options: MotionDetectorOptions, clips: readonly Clip[]): { ours: MotionResult[]; js: MotionResult[]; plain: MotionResult[] } {
  const detector = new MotionDetector(options);
  assert.equal(detector.native, true, 'the C passes load here');
  const inJs = new MotionDetector({ ...options, native: false });
  assert.equal(inJs.native, false);
  const reference = new ReferenceMotionDetector(options);
  const ours: MotionResult[] = [];
  const js: MotionResult[] = [];
  const plain: MotionResult[] = [];
  for (const c of clips) {
    for (const luma of c.frames) {
      const plane = { luma, width: c.width, height: c.height, stride: c.stride };
      ours.push(detector.detect(plane));
      js.push(inJs.detect(plane));
      plain.push(reference.detect(plane));
    }
  }
  return { ours, js, plain };
}

describe('motion detector against the plain one', { timeout: 120_000 }, () => {
  it('rounds the blur by a multiplication exactly as by a division by 36, for every sum of 36 samples', () => {
    const wrong: number[] = [];
    for (let sum = 0; sum <= 36 * 255; sum++) if (Math.fround(sum * BLUR) !== Math.fround(sum / 36)) wrong.push(sum);
    assert.deepEqual(wrong, []);
  });

  it('answers as the plain detector on any frames', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), (seed) => {
        const random = xorshift(seed);
        const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
        const workWidth = pick([16, 24, 40, 64]);
        // Four and two times the working width take the word-reading paths; the rest, any width.
        const size = (): [number, number] => [pick([4 * workWidth, 2 * workWidth, 16 + Math.floor(random() * 250)]), 8 + Math.floor(random() * 120)];
        const options: MotionDetectorOptions = {
          workWidth,
          minThreshold: pick([1, 6, 12, 30]),
          noiseFactor: pick([1, 4]),
          backgroundRate: pick([0.05, 0.3, 1]),
          minRegionShare: pick([0, 0.0008, 0.01]),
          wholePictureShare: pick([0.2, 0.45, 1]),
          absorbAfterFrames: pick([1, 3, 20]),
          masks:
            random() < 0.4
              ? [
                  [
                    [random(), random()],
                    [random(), random()],
                    [random(), random()],
                  ],
                ]
              : [],
        };
        const [width, height] = size();
        const clips = [clip(random, width, height, 4 + Math.floor(random() * 30))];
        // A change of size starts the background again: the buffers are made anew.
        if (random() < 0.3) clips.push(clip(random, ...size(), 2 + Math.floor(random() * 10)));
        const { ours, js, plain } = both(options, clips);
        assert.deepEqual(ours, plain, `C passes: ${JSON.stringify({ seed, options, width, height })}`);
        assert.deepEqual(js, plain, `JavaScript passes: ${JSON.stringify({ seed, options, width, height })}`);
      }),
      { numRuns: 250 },
    );
  });

  it('answers as the plain detector on the real pedestrian clip, at its size, a substream’s and the camera’s', () => {
    for (const [width, height] of [
      [768, 576],
      [640, 360],
      [320, 180],
    ] as const) {
      const scale = width === 768 ? [] : ['-vf', `scale=${width}:${height}`];
      const dec = spawnSync('ffmpeg', ['-v', 'error', '-i', VTEST, '-frames:v', '120', ...scale, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], {
        maxBuffer: 1 << 28,
      });
      assert.equal(dec.status, 0, dec.stderr.toString());
      const frames: Uint8Array[] = [];
      for (let o = 0; o + width * height <= dec.stdout.length; o += width * height) frames.push(new Uint8Array(dec.stdout.subarray(o, o + width * height)));
      const c: Clip = { width, height, stride: width, offset: 0, frames };
      for (const options of [
        {},
        {
          masks: [
            [
              [0, 0.6],
              [1, 0.5],
              [1, 1],
              [0, 1],
            ] as const,
          ],
        },
      ]) {
        const { ours, js, plain } = both(options, [c]);
        assert.ok(
          ours.some((r) => r.state === 'motion'),
          'people walk',
        );
        assert.deepEqual(ours, plain, `C passes: ${width}×${height} ${JSON.stringify(options)}`);
        assert.deepEqual(js, plain, `JavaScript passes: ${width}×${height} ${JSON.stringify(options)}`);
      }
    }
  });
});
