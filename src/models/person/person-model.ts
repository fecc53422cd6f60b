/**
 * The person detector with 17-keypoint poses on ONNX Runtime, from the .onnx
 * files in the package's models/ (converted once from the TF.js graphs the
 * project used before, scripts/convert-models; nothing is downloaded). Two
 * networks (ADR 0017):
 * - `movenet-multipose` (the default): MoveNet MultiPose Lightning, people
 *   and their poses in one pass, at most 6 people. The frame is resized (not
 *   letterboxed) to `inputSize` on its long side, both sides multiples of 32.
 *   Each of its 6 rows is 17 × [y, x, score] then [ymin, xmin, ymax, xmax,
 *   score], normalised to the input, so to the frame.
 * - `centernet`: CenterNet (COCO) on the frame resized to 512 × 512 gives
 *   [x1, y1, x2, y2, score, class] in input pixels; then MoveNet Lightning on
 *   a 192 × 192 square crop per person gives 17 [y, x, score].
 *
 * Every resize and crop runs in ONNX Runtime too (preprocess.ts: TF's own
 * resize_bilinear and crop_and_resize as ONNX graphs, on the frame's RGB bytes
 * as they are), so no pixel loop runs here. Results mean what the TF.js
 * model's did: the same networks (test/models/person-onnx.test.ts holds the
 * outputs to TF.js's within 1e-4 on the same input), thresholds and decoding.
 *
 * Runs in a worker thread (person-worker.ts): a session's run would otherwise
 * hold the server's event loop.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type * as Ort from 'onnxruntime-node';
import { nonMaxSuppression } from '../onnx/yolo.js';
import { openSession, runtimeOf } from '../onnx/session.js';
import { cropModel, Preprocessor, resizeModel } from '../onnx/preprocess.js';
import { DataType } from '../onnx/onnx-proto.js';
import { POSE_KEYPOINTS } from './keypoints.js';
import { DEFAULT_MODEL_DIR, LOW_LIGHT_DEFAULT, modelFile, PERSON_NETWORK_DEFAULTS, type PersonModelOptions } from './options.js';
import { brightened } from '../../pictures/index.js';

export { POSE_KEYPOINTS };
export { PERSON_NETWORKS, PERSON_NETWORK_DEFAULTS, type PersonNetwork, type PersonModelOptions } from './options.js';

/** Milliseconds of the last detect(): frame to input tensors, the network (resizing in the graph, reading its output), decoding, poses. */
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

export { DEFAULT_MODEL_DIR, modelFile };

/** A coordinate held to 0–1. */
export const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));

/** Rounded to 1 / `scale` (1e4 for coordinates, 1e3 for scores: what the answers carry). */
export const round = (v: number, scale: number): number => Math.round(v * scale) / scale;

/**
 * MoveNet Lightning's 17 × [y, x, score] (0–1 of its input) as [x, y, score] keypoints in the frame's 0–1
 * coordinates, its input having been the frame's region `crop` ([y1, x1, y2, x2], 0–1; the whole frame by default).
 */
export function lightningKeypoints(raw: ArrayLike<number>, crop: readonly [number, number, number, number] = [0, 0, 1, 1]): [number, number, number][] {
  return Array.from({ length: POSE_KEYPOINTS.length }, (_, k): [number, number, number] => [
    round(clamp01(crop[1] + raw[3 * k + 1]! * (crop[3] - crop[1])), 1e4),
    round(clamp01(crop[0] + raw[3 * k]! * (crop[2] - crop[0])), 1e4),
    round(raw[3 * k + 2]!, 1e3),
  ]);
}

type Options = Required<Omit<PersonModelOptions, 'executionProviders' | 'intraOpThreads'>> & Pick<PersonModelOptions, 'executionProviders' | 'intraOpThreads'>;

export class PersonModel {
  readonly #o: Options;
  #detector: Ort.InferenceSession | null = null;
  #pose: Ort.InferenceSession | null = null;
  /** The frame to the detector's input: resized, int32 (MultiPose) or float (CenterNet). */
  #resize: Preprocessor | null = null;
  /** The person's square crop to Lightning's 192 × 192 int32 input. */
  #crop: Preprocessor | null = null;
  /** MultiPose input [height, width] per frame size. */
  readonly #inputShapes = new Map<string, [number, number]>();
  readonly timings: StageTimings = { preMs: 0, inferMs: 0, postMs: 0, poseMs: 0 };

  constructor(options: PersonModelOptions = {}) {
    const network = options.network ?? 'movenet-multipose';
    const defaults = PERSON_NETWORK_DEFAULTS[network];
    this.#o = {
      network,
      modelDir: options.modelDir ?? DEFAULT_MODEL_DIR,
      precision: options.precision ?? 'fp32',
      minConfidence: options.minConfidence ?? defaults.minConfidence,
      inputSize: options.inputSize ?? defaults.inputSize,
      iouThreshold: options.iouThreshold ?? 0.4,
      maxPeople: options.maxPeople ?? 50,
      poseMaxPeople: options.poseMaxPeople ?? 5,
      lowLight: options.lowLight ?? LOW_LIGHT_DEFAULT,
      ...runtimeOf(options),
    };
  }

  async load(): Promise<void> {
    const open = (name: string): Promise<Ort.InferenceSession> => openSession(join(this.#o.modelDir, modelFile(name, this.#o.precision)), this.#o);
    const multipose = this.#o.network === 'movenet-multipose';
    this.#detector = await open(this.#o.network);
    this.#resize = await Preprocessor.open(resizeModel(multipose ? DataType.INT32 : DataType.FLOAT), this.#o, 'resize');
    if (!multipose && this.#o.poseMaxPeople > 0) {
      this.#pose = await open('movenet-lightning');
      this.#crop = await Preprocessor.open(cropModel(192), this.#o, 'crop');
    }
    // One warm-up pass, so the first request is not the slow one (kernels are set up on first use).
    await this.detect(new Uint8Array(64 * 48 * 3), 64, 48);
  }

  async close(): Promise<void> {
    for (const s of [this.#detector, this.#pose, this.#resize, this.#crop]) await s?.release();
    this.#detector = this.#pose = null;
    this.#resize = this.#crop = null;
  }

  /** People in one RGB frame (width × height × 3 bytes), most confident first; stage times in `timings`. */
  async detect(rgb: Uint8Array, width: number, height: number): Promise<PersonDetection[]> {
    const detector = this.#detector;
    if (detector === null) throw new Error('the person model is not loaded');
    this.timings.poseMs = 0;
    const picture = this.#o.lowLight ? brightened(rgb, width, height) : rgb;
    return this.#o.network === 'movenet-multipose' ? this.#multipose(detector, picture, width, height) : this.#centernet(detector, picture, width, height);
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

  /** Runs a session and returns its first output's floats, the tensors freed. */
  async #run(session: Ort.InferenceSession, feeds: Record<string, Ort.Tensor>): Promise<Float32Array> {
    const outputs = await session.run(feeds);
    const data = outputs[session.outputNames[0]!]!.data as Float32Array;
    for (const t of [...Object.values(feeds), ...Object.values(outputs)]) t.dispose();
    return data;
  }

  async #multipose(detector: Ort.InferenceSession, rgb: Uint8Array, width: number, height: number): Promise<PersonDetection[]> {
    const t0 = performance.now();
    const [h, w] = this.#inputShape(width, height);
    const resize = this.#resize!;
    const input = await resize.run({ frame: resize.frame(rgb, width, height), sizes: resize.int64([1, h, w, 3]) });
    const t1 = performance.now();
    const rows = await this.#run(detector, { [detector.inputNames[0]!]: input });
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

  async #centernet(detector: Ort.InferenceSession, rgb: Uint8Array, width: number, height: number): Promise<PersonDetection[]> {
    const t0 = performance.now();
    const resize = this.#resize!;
    const frame = resize.frame(rgb, width, height);
    const input = await resize.run({ frame, sizes: resize.int64([1, 512, 512, 3]) });
    const t1 = performance.now();
    const rows = await this.#run(detector, { [detector.inputNames[0]!]: input });
    const t2 = performance.now();
    // Persons only (class 0 of COCO), then non-maximum suppression; rows are [x1, y1, x2, y2, score, class] in the 512 × 512 input.
    const candidates = [];
    for (let r = 0; r + 6 <= rows.length; r += 6) {
      if (rows[r + 5] === 0 && rows[r + 4]! >= this.#o.minConfidence) {
        candidates.push({ classId: 0, score: rows[r + 4]!, bbox: [rows[r]!, rows[r + 1]!, rows[r + 2]!, rows[r + 3]!] as [number, number, number, number] });
      }
    }
    const people: PersonDetection[] = nonMaxSuppression(candidates, this.#o.iouThreshold, this.#o.maxPeople).map((c) => ({
      confidence: round(c.score, 1e3),
      bbox: c.bbox.map((v) => round(clamp01(v / 512), 1e4)) as PersonDetection['bbox'],
    }));
    people.sort((a, b) => b.confidence - a.confidence);
    const t3 = performance.now();
    const result: PersonDetection[] = [];
    for (const [rank, person] of people.entries()) {
      const withPose = this.#pose !== null && rank < this.#o.poseMaxPeople;
      result.push(withPose ? { ...person, keypoints: await this.#poseOf(frame, person.bbox, width, height) } : person);
    }
    Object.assign(this.timings, { preMs: t1 - t0, inferMs: t2 - t1, postMs: t3 - t2, poseMs: performance.now() - t3 });
    return result;
  }

  /** MoveNet Lightning on a square crop around the person (20 % margin; outside the frame is black), mapped back to frame coordinates. */
  async #poseOf(frame: Ort.Tensor, bbox: [number, number, number, number], width: number, height: number): Promise<[number, number, number][]> {
    const [x1, y1, x2, y2] = [bbox[0] * width, bbox[1] * height, bbox[2] * width, bbox[3] * height];
    const side = Math.max(x2 - x1, y2 - y1) * 1.2;
    const cx = (x1 + x2) / 2;
    const cy = (y1 + y2) / 2;
    const crop = [(cy - side / 2) / height, (cx - side / 2) / width, (cy + side / 2) / height, (cx + side / 2) / width] as const;
    const pose = this.#pose!;
    const input = await this.#crop!.run({ frame, roi: this.#crop!.float32([0, crop[0], crop[1], 0, 1, crop[2], crop[3], 1]) });
    return lightningKeypoints(await this.#run(pose, { [pose.inputNames[0]!]: input }), crop);
  }
}
