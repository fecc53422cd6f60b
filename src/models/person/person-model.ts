/**
 * The person detector and pose model, on TF.js's WebAssembly backend, with
 * @vladmandic/human's CenterNet (COCO) and MoveNet Lightning weights, read from
 * disk (they ship inside the npm package; nothing is downloaded). Pre- and
 * post-processing follow Human's own: CenterNet takes a 512 × 512 float RGB
 * image (0–255) and gives [x1, y1, x2, y2, score, class] in input pixels;
 * MoveNet takes a 192 × 192 int32 square crop and gives 17 [y, x, score].
 *
 * Runs in a worker thread (person-worker.ts): WebAssembly kernels run
 * synchronously and would otherwise stall the server's event loop.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import '@tensorflow/tfjs-backend-wasm';
import type { io } from '@tensorflow/tfjs-core';

import { POSE_KEYPOINTS } from './keypoints.js';

export { POSE_KEYPOINTS };

export interface PersonModelOptions {
  /** Directory with centernet.json and movenet-lightning.json (+ .bin). Default: the @vladmandic/human package's models/. */
  readonly modelDir?: string;
  /**
   * Minimum detection score. Default 0.4: on the labelled vtest.avi frame (test/models/person.test.ts)
   * 0.3 also admits a rock (0.38) and a bag (0.32), while every true person found scores ≥ 0.47.
   */
  readonly minConfidence?: number;
  /** IoU above which overlapping boxes are merged. Default 0.4. */
  readonly iouThreshold?: number;
  readonly maxPeople?: number;
  /** Pose for the most confident people, up to this many (0: none). Default 5. */
  readonly poseMaxPeople?: number;
}

export interface PersonDetection {
  readonly confidence: number;
  /** [x1, y1, x2, y2], normalised 0–1. */
  readonly bbox: [number, number, number, number];
  readonly keypoints?: [number, number, number][];
}

export function defaultModelDir(): string {
  // dist/human.node.js → the package root → models/
  return join(dirname(dirname(createRequire(import.meta.url).resolve('@vladmandic/human'))), 'models');
}

/** Node's fetch has no file: scheme, so models are read from disk through an IOHandler. */
function fileHandler(path: string): io.IOHandler {
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

export class PersonModel {
  readonly #o: Required<Omit<PersonModelOptions, 'modelDir'>> & { modelDir: string };
  #detector: GraphModel | null = null;
  #pose: GraphModel | null = null;

  constructor(options: PersonModelOptions = {}) {
    this.#o = {
      modelDir: options.modelDir ?? defaultModelDir(),
      minConfidence: options.minConfidence ?? 0.4,
      iouThreshold: options.iouThreshold ?? 0.4,
      maxPeople: options.maxPeople ?? 50,
      poseMaxPeople: options.poseMaxPeople ?? 5,
    };
  }

  async load(): Promise<void> {
    await tf.setBackend('wasm');
    await tf.ready();
    this.#detector = await loadGraphModel(fileHandler(join(this.#o.modelDir, 'centernet.json')));
    if (this.#o.poseMaxPeople > 0) this.#pose = await loadGraphModel(fileHandler(join(this.#o.modelDir, 'movenet-lightning.json')));
    // One warm-up pass, so the first request is not the slow one.
    const warm = tf.zeros([1, 512, 512, 3]);
    const out = this.#detector.execute(warm, ['tower_0/detections']) as tf.Tensor;
    await out.data();
    tf.dispose([warm, out]);
  }

  /** People in one RGB frame (width × height × 3 bytes). */
  async detect(rgb: Uint8Array, width: number, height: number): Promise<PersonDetection[]> {
    const detector = this.#detector;
    if (detector === null) throw new Error('the person model is not loaded');
    const image = tf.tidy(() => tf.expandDims<tf.Tensor4D>(tf.cast(tf.tensor3d(rgb, [height, width, 3], 'int32'), 'float32'), 0));
    try {
      const input = tf.image.resizeBilinear(image, [512, 512]);
      const raw = detector.execute(input, ['tower_0/detections']) as tf.Tensor;
      input.dispose();
      const rows = (await raw.array()) as number[][][];
      raw.dispose();
      // Persons only (class 0 of COCO), then non-maximum suppression.
      const candidates = rows[0]!.filter((r) => r[5] === 0 && r[4]! >= this.#o.minConfidence);
      if (candidates.length === 0) return [];
      const boxes = tf.tensor2d(candidates.map((r) => [r[1]!, r[0]!, r[3]!, r[2]!]));
      const scores = tf.tensor1d(candidates.map((r) => r[4]!));
      const keep = await tf.image.nonMaxSuppressionAsync(boxes, scores, this.#o.maxPeople, this.#o.iouThreshold, this.#o.minConfidence);
      const kept = Array.from(await keep.data());
      tf.dispose([boxes, scores, keep]);
      const people = kept
        .map((i) => {
          const r = candidates[i]!;
          return { confidence: Math.round(r[4]! * 1000) / 1000, bbox: [r[0]!, r[1]!, r[2]!, r[3]!].map((v) => Math.round(clamp01(v / 512) * 1e4) / 1e4) as PersonDetection['bbox'] };
        })
        .sort((a, b) => b.confidence - a.confidence);
      const result: PersonDetection[] = [];
      for (const [rank, person] of people.entries()) {
        const withPose = this.#pose !== null && rank < this.#o.poseMaxPeople;
        result.push(withPose ? { ...person, keypoints: await this.#poseOf(image, person.bbox, width, height) } : person);
      }
      return result;
    } finally {
      image.dispose();
    }
  }

  /** MoveNet on a square crop around the person (20 % margin), mapped back to frame coordinates. */
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
      Math.round(clamp01((crop[1]! + x! * (crop[3]! - crop[1]!))) * 1e4) / 1e4,
      Math.round(clamp01((crop[0]! + y! * (crop[2]! - crop[0]!))) * 1e4) / 1e4,
      Math.round(score! * 1e3) / 1e3,
    ]);
  }
}
