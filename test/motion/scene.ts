/**
 * Scenes for the motion tests, drawn frame by frame in luma and then put
 * through a real encoder and decoder (ffmpeg, H.264 at a camera's quality),
 * so the detector sees compression's flicker as well as the scene's sensor
 * noise. The scene knows where its person is on every frame: the truth the
 * detector's regions are checked against.
 *
 * A textured still room, lit at `light(frame)` (0–1), with sensor noise of
 * `noise` grey levels; a person (a 40 × 110 block with its own texture, lit
 * as the room is) walking in from the left from `personFrom`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Box } from '../../src/objects/index.js';

export const WIDTH = 640;
export const HEIGHT = 360;
export const FPS = 10;

export interface SceneOptions {
  readonly frames: number;
  readonly light?: (frame: number) => number;
  readonly noise?: number;
  /** The first frame the person steps in on; never if undefined. */
  readonly personFrom?: number;
  /** Pixels a frame the person walks. */
  readonly personSpeed?: number;
  /** The person's luma when fully lit (0–255). */
  readonly personLuma?: number;
  readonly personY?: number;
  /** The person stands still with their left edge at this x (pixels) instead of walking in: one who fell and lies still. */
  readonly personStillAt?: number;
  /** The walking person stops on this frame and stands there from then on (someone who came in and stays). */
  readonly personStopsOn?: number;
  /** The person who stopped walks on from this frame, out of the picture (someone who stood a while and left). */
  readonly personLeavesOn?: number;
  readonly seed?: number;
}

export interface Scene {
  /** Decoded luma planes, WIDTH × HEIGHT each. */
  readonly frames: readonly Uint8Array[];
  /** Where the person is on each frame (0–1 coordinates), or null when not in the picture. */
  readonly person: readonly (Box | null)[];
}

/** A seeded xorshift32 in [0, 1): the same scene for the same seed. */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const PERSON_W = 40;
const PERSON_H = 110;

export function personBox(o: SceneOptions, frame: number): Box | null {
  if (o.personFrom === undefined || frame < o.personFrom) return null;
  const x = personX(o, frame);
  const y = o.personY ?? 220;
  const x1 = Math.max(0, x);
  const x2 = Math.min(WIDTH, x + PERSON_W);
  if (x2 <= x1) return null;
  return [x1 / WIDTH, y / HEIGHT, x2 / WIDTH, Math.min(HEIGHT, y + PERSON_H) / HEIGHT];
}

function personX(o: SceneOptions, frame: number): number {
  const stops = o.personStopsOn;
  const leaves = o.personLeavesOn;
  const walked = stops === undefined ? frame : leaves !== undefined && frame >= leaves ? stops + frame - leaves : Math.min(frame, stops);
  return o.personStillAt ?? -PERSON_W + (walked - o.personFrom! + 1) * (o.personSpeed ?? 8);
}

/** Draws the scene's raw frames (before encoding). */
export function drawScene(o: SceneOptions): Uint8Array[] {
  const random = xorshift(o.seed ?? 7);
  const room = new Float32Array(WIDTH * HEIGHT);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      room[y * WIDTH + x] = 110 + 45 * Math.sin(x / 23) * Math.cos(y / 17) + 30 * Math.sin((x + 2 * y) / 41) + 24 * (random() - 0.5);
    }
  }
  const cloth = new Float32Array(PERSON_W * PERSON_H);
  for (let i = 0; i < cloth.length; i++) cloth[i] = (o.personLuma ?? 200) + 20 * (random() - 0.5);
  const frames: Uint8Array[] = [];
  const noise = o.noise ?? 3;
  for (let f = 0; f < o.frames; f++) {
    const light = o.light?.(f) ?? 1;
    const out = new Uint8Array(WIDTH * HEIGHT);
    for (let i = 0; i < out.length; i++) {
      // Box–Muller-free noise: the sum of three uniforms has a standard deviation of 0.5.
      const n = (random() + random() + random() - 1.5) * 2 * noise;
      out[i] = Math.max(0, Math.min(255, Math.round(room[i]! * light + n)));
    }
    const box = personBox(o, f);
    if (box !== null) {
      const x0 = personX(o, f);
      const y0 = o.personY ?? 220;
      for (let y = 0; y < PERSON_H && y0 + y < HEIGHT; y++) {
        for (let x = 0; x < PERSON_W; x++) {
          const X = x0 + x;
          if (X < 0 || X >= WIDTH) continue;
          out[(y0 + y) * WIDTH + X] = Math.max(0, Math.min(255, Math.round(cloth[y * PERSON_W + x]! * light)));
        }
      }
    }
    frames.push(out);
  }
  return frames;
}

/** Encodes raw luma frames with ffmpeg into `file` (H.264, CRF 26, a keyframe every 2 s): a camera's clip. */
export function encodeToFile(raw: readonly Uint8Array[], file: string): void {
  const size = `${WIDTH}x${HEIGHT}`;
  const enc = spawnSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'gray',
      '-s',
      size,
      '-r',
      String(FPS),
      '-i',
      '-',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '26',
      '-g',
      String(2 * FPS),
      '-pix_fmt',
      'yuv420p',
      '-y',
      file,
    ],
    { input: Buffer.concat(raw.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength))), maxBuffer: 1 << 30 },
  );
  if (enc.status !== 0) throw new Error(`ffmpeg could not encode the scene: ${enc.stderr.toString()}`);
}

/** Encodes raw luma frames with ffmpeg (H.264, CRF 26, a keyframe every 2 s) and decodes them back. */
export function encodeAndDecode(raw: readonly Uint8Array[]): Uint8Array[] {
  const dir = mkdtempSync(join(tmpdir(), 'fs-motion-'));
  try {
    const file = join(dir, 'scene.mp4');
    encodeToFile(raw, file);
    const dec = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { maxBuffer: 1 << 30 });
    if (dec.status !== 0) throw new Error(`ffmpeg could not decode the scene: ${dec.stderr.toString()}`);
    const bytes = dec.stdout;
    const frame = WIDTH * HEIGHT;
    const out: Uint8Array[] = [];
    for (let o = 0; o + frame <= bytes.length; o += frame) out.push(new Uint8Array(bytes.subarray(o, o + frame)));
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function scene(o: SceneOptions): Scene {
  const frames = encodeAndDecode(drawScene(o));
  return { frames, person: frames.map((_, f) => personBox(o, f)) };
}

/** True when the two boxes overlap. */
export const overlaps = (a: Box, b: Box): boolean => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];

/**
 * The scene's person as a model would answer it: the box of the pixels brighter than any of the room's (225 and up
 * in luma, at least 200 of them), or none.
 */
export function findBrightBlock(frame: { readonly data: Uint8Array; readonly width: number; readonly height: number }): {
  class_id: number;
  class_name: string;
  confidence: number;
  bbox: readonly [number, number, number, number];
}[] {
  const { data, width, height } = frame;
  let [x1, y1, x2, y2, n] = [width, height, -1, -1, 0];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[y * width + x]! < 225) continue;
      n++;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
    }
  }
  return n < 200 ? [] : [{ class_id: 0, class_name: 'person', confidence: 0.9, bbox: [x1 / width, y1 / height, (x2 + 1) / width, (y2 + 1) / height] as const }];
}
