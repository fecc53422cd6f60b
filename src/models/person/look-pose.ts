/**
 * The person model's second look (ADR 0186, 0187): a single-pose MoveNet on one square crop of a frame, the
 * square cut around a person just lost (src/pipeline's SecondLook). MoveNet Thunder (256 px, models/movenet-thunder.onnx)
 * unless told; Lightning (192 px, models/movenet-lightning.onnx, the network CenterNet's poses use) stays
 * selectable. MoveNet always answers one pose; the crop is taken to show a person when the mean of its 17
 * keypoint scores is at least the network's found rule (LOOK_NETWORKS, measured on the squares of the shared fall
 * clips where nobody is: docs/benchmarks/2026-11-29-person-recall.md), and their box is the box of the keypoints
 * seen (score ≥ SEEN_SCORE), grown by a tenth each side.
 *
 * Contract: the picture (packed RGB, any size; a square one keeps its proportions) is scaled to the network's side
 * inside ONNX Runtime, as CenterNet's pose crops are; at most one person comes back, in the picture's own 0–1
 * coordinates, with its 17 keypoints and the mean score as its confidence. Thunder costs about half of MultiPose's
 * CPU at 448 a call, Lightning about a seventh.
 */
import { join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { openSession, runtimeOf, type RuntimeOptions } from '../onnx/session.js';
import { cropModel, Preprocessor } from '../onnx/preprocess.js';
import { brightened } from '../../pictures/index.js';
import { POSE_KEYPOINTS } from './keypoints.js';
import { DEFAULT_MODEL_DIR } from './options.js';
import { clamp01, lightningKeypoints, round, type PersonDetection } from './person-model.js';

/**
 * The look's networks: the file, its input side, and its found rule (the least mean of the 17 keypoint scores),
 * each chosen on the decoy squares of the shared fall clips (docs/benchmarks/2026-11-29-person-recall.md).
 * Thunder's 0.25 finds someone on about as many of them as Lightning's 0.3 (1.5 % against 1.4 %, ADR 0187).
 */
export const LOOK_NETWORKS = {
  thunder: { file: 'movenet-thunder.onnx', side: 256, minScore: 0.25, name: 'movenet-thunder' },
  lightning: { file: 'movenet-lightning.onnx', side: 192, minScore: 0.3, name: 'movenet-lightning' },
} as const;
export type LookNetwork = keyof typeof LOOK_NETWORKS;
/** The look's network unless told (ADR 0187). */
export const LOOK_NETWORK_DEFAULT: LookNetwork = 'thunder';

/** A keypoint scored at least this is seen: it counts in the person's box. */
const SEEN_SCORE = 0.2;
/** The seen keypoints' box is grown by this share of its size each side (keypoints are joints, not the body's edge). */
const BOX_MARGIN = 0.1;

export interface LookPoseOptions extends RuntimeOptions {
  readonly modelDir?: string;
  /** Default LOOK_NETWORK_DEFAULT. */
  readonly network?: LookNetwork;
  /** The found rule: the least mean keypoint score. Default the network's (LOOK_NETWORKS). */
  readonly minMeanScore?: number;
  /** A low-light crop is brightened first (src/pictures' low-light.ts), as the whole frame is. Default false. */
  readonly lowLight?: boolean;
}

/** The person a pose shows, or null: 17 × [y, x, score] of MoveNet's output, 0–1 of its input. */
export function personOfPose(raw: ArrayLike<number>, minMeanScore: number): PersonDetection | null {
  const keypoints = lightningKeypoints(raw);
  const mean = keypoints.reduce((sum, k) => sum + k[2], 0) / keypoints.length;
  const seen = keypoints.filter((k) => k[2] >= SEEN_SCORE);
  if (!(mean >= minMeanScore) || seen.length === 0) return null;
  const xs = seen.map((k) => k[0]);
  const ys = seen.map((k) => k[1]);
  const [x1, x2, y1, y2] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const mx = (x2 - x1) * BOX_MARGIN;
  const my = (y2 - y1) * BOX_MARGIN;
  const bbox: [number, number, number, number] = [
    round(clamp01(x1 - mx), 1e4),
    round(clamp01(y1 - my), 1e4),
    round(clamp01(x2 + mx), 1e4),
    round(clamp01(y2 + my), 1e4),
  ];
  return { confidence: round(mean, 1e3), bbox, keypoints };
}

export class LookPose {
  readonly #session: Ort.InferenceSession;
  readonly #scale: Preprocessor;
  readonly #network: LookNetwork;
  readonly #minMeanScore: number;
  readonly #lowLight: boolean;
  /** The mean keypoint score of the latest look, found or not (what the bench sweeps the rule over). */
  lastMeanScore = 0;

  private constructor(session: Ort.InferenceSession, scale: Preprocessor, network: LookNetwork, minMeanScore: number, lowLight: boolean) {
    this.#session = session;
    this.#scale = scale;
    this.#network = network;
    this.#minMeanScore = minMeanScore;
    this.#lowLight = lowLight;
  }

  static async open(options: LookPoseOptions = {}): Promise<LookPose> {
    const runtime = runtimeOf(options);
    const network = options.network ?? LOOK_NETWORK_DEFAULT;
    const spec = LOOK_NETWORKS[network];
    const session = await openSession(join(options.modelDir ?? DEFAULT_MODEL_DIR, spec.file), runtime);
    const scale = await Preprocessor.open(cropModel(spec.side), runtime, 'look');
    return new LookPose(session, scale, network, options.minMeanScore ?? spec.minScore, options.lowLight ?? false);
  }

  /** Which network answers, by its file's name (`movenet-thunder`). */
  get network(): string {
    return LOOK_NETWORKS[this.#network].name;
  }

  /** The person on this picture (packed RGB, `width` × `height`), or none. */
  async detect(rgb: Uint8Array, width: number, height: number): Promise<PersonDetection[]> {
    const whole = this.#scale.float32([0, 0, 0, 0, 1, 1, 1, 1]);
    const picture = this.#lowLight ? brightened(rgb, width, height) : rgb;
    const input = await this.#scale.run({ frame: this.#scale.frame(picture, width, height), roi: whole });
    const outputs = await this.#session.run({ [this.#session.inputNames[0]!]: input });
    const output = outputs[this.#session.outputNames[0]!]!;
    const raw = output.data as Float32Array;
    let mean = 0;
    for (let k = 0; k < POSE_KEYPOINTS.length; k++) mean += raw[3 * k + 2]! / POSE_KEYPOINTS.length;
    this.lastMeanScore = mean;
    const person = personOfPose(raw, this.#minMeanScore);
    input.dispose();
    output.dispose();
    return person === null ? [] : [person];
  }

  async close(): Promise<void> {
    await this.#session.release();
    await this.#scale.release();
  }
}
