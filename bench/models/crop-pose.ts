/**
 * MoveNet Lightning (single pose, the shipped models/movenet-lightning.onnx) on a square crop, for PERSON-RECALL's
 * second-look candidates: the crop scaled to 192 × 192, its 17 [y, x, score] read back as [x, y, score] of the
 * crop (0–1). Lightning always answers a pose; a person is taken as found when the mean of its 17 scores is at
 * least `minMeanScore`, and their box is the seen keypoints' (score ≥ 0.2) grown by a tenth each side.
 */
import { join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { cutRgb, turnRgb, type PixelRegion, type Turn } from '../../src/pictures/index.js';
import { openSession } from '../../src/models/onnx/session.js';
import { loadOnnxRuntime } from '../../src/models/onnx/runtime.js';
import { DEFAULT_MODEL_DIR } from '../../src/models/person/options.js';

const SIDE = 192;

export interface CropPoseAnswer {
  readonly found: boolean;
  readonly meanScore: number;
  /** 17 × [x, y, score], 0–1 of the turned crop. */
  readonly keypoints: [number, number, number][];
  /** The seen keypoints' box, 0–1 of the turned crop; null when none is seen. */
  readonly box: [number, number, number, number] | null;
}

export class CropPose {
  readonly #session: Ort.InferenceSession;
  readonly #ort: typeof Ort;
  readonly minMeanScore: number;

  private constructor(ort: typeof Ort, session: Ort.InferenceSession, minMeanScore: number) {
    this.#ort = ort;
    this.#session = session;
    this.minMeanScore = minMeanScore;
  }

  static async open(minMeanScore = 0.3): Promise<CropPose> {
    const ort = await loadOnnxRuntime();
    return new CropPose(ort, await openSession(join(DEFAULT_MODEL_DIR, 'movenet-lightning.onnx'), { intraOpThreads: 1 }), minMeanScore);
  }

  /** Lightning on `region` of packed RGB `width` × `height`, turned by `turn` first. Null when the region cannot be cut. */
  async pose(rgb: Uint8Array, width: number, height: number, region: PixelRegion, turn: Turn): Promise<CropPoseAnswer | null> {
    const cut = cutRgb(rgb, width, height, region, SIDE);
    if (cut === null) return null;
    const turned = turnRgb(cut.payload, cut.width, cut.height, turn);
    // A square region gives a square crop; anything else is padded black at its right and bottom.
    const input = new Int32Array(SIDE * SIDE * 3);
    for (let y = 0; y < Math.min(SIDE, turned.height); y++)
      for (let x = 0; x < Math.min(SIDE, turned.width) * 3; x++) input[y * SIDE * 3 + x] = turned.payload[y * turned.width * 3 + x]!;
    const feeds = { [this.#session.inputNames[0]!]: new this.#ort.Tensor('int32', input, [1, SIDE, SIDE, 3]) };
    const outputs = await this.#session.run(feeds);
    const raw = outputs[this.#session.outputNames[0]!]!.data as Float32Array;
    const keypoints = Array.from({ length: 17 }, (_, k): [number, number, number] => [raw[3 * k + 1]!, raw[3 * k]!, raw[3 * k + 2]!]);
    const meanScore = keypoints.reduce((s, k) => s + k[2], 0) / 17;
    const seen = keypoints.filter((k) => k[2] >= 0.2);
    let box: [number, number, number, number] | null = null;
    if (seen.length > 0) {
      const xs = seen.map((k) => k[0]);
      const ys = seen.map((k) => k[1]);
      const [x1, x2, y1, y2] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
      const mx = (x2 - x1) * 0.1;
      const my = (y2 - y1) * 0.1;
      box = [Math.max(0, x1 - mx), Math.max(0, y1 - my), Math.min(1, x2 + mx), Math.min(1, y2 + my)];
    }
    return { found: meanScore >= this.minMeanScore, meanScore, keypoints, box };
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}
