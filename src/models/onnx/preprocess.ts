/**
 * A frame's pre-processing in ONNX Runtime instead of JavaScript (ADR 0024):
 * the resize, crop, letterbox, float conversion and layout change a network
 * needs, as small graphs this module writes (onnx-proto.ts) and a session
 * runs, on the frame's RGB bytes as they are (uint8 [1, H, W, 3]). Its
 * kernels are native and vectorised; the JS loops they replace took 2–15 ms
 * a frame (docs/benchmarks/notebook-2026-11-22-to-28.md, YOLO).
 *
 *   resize     TF's resize_bilinear without half-pixel centres (ONNX Resize
 *              `asymmetric`), to float or, truncated as tf.cast does, int32:
 *              what the TF.js person pipeline did before.
 *   crop       TF's crop_and_resize (`tf_crop_and_resize`; outside the frame 0).
 *   letterbox  Ultralytics' letterbox: resize keeping the aspect ratio
 *              (half-pixel centres, as OpenCV's INTER_LINEAR), centred on grey
 *              114, to NCHW float 0–1 (the onnx handler's YOLO input).
 */
import { loadOnnxRuntime } from './runtime.js';
import type * as Ort from 'onnxruntime-node';
import { attrFloat, attrInt as attrIntOf, attrInts, attrString, DataType, encodeModel, input, node, output, tensor, type Part } from './onnx-proto.js';
import { openSession, type RuntimeOptions } from './session.js';
import { letterboxGeometry, type Letterbox } from './yolo.js';

const FRAME = input('frame', DataType.UINT8, [1, 'height', 'width', 3]);

/** frame, sizes int64 [4] (1, h, w, 3) → out: float or int32 [1, h, w, 3]. */
export function resizeModel(to: typeof DataType.FLOAT | typeof DataType.INT32): Uint8Array {
  const nodes: Part[] = [
    node('Cast', ['frame'], ['pixels'], [castTo(DataType.FLOAT)]),
    node(
      'Resize',
      ['pixels', '', '', 'sizes'],
      [to === DataType.FLOAT ? 'out' : 'resized'],
      [attrString('mode', 'linear'), attrString('coordinate_transformation_mode', 'asymmetric')],
    ),
  ];
  if (to !== DataType.FLOAT) nodes.push(node('Cast', ['resized'], ['out'], [castTo(to)]));
  return encodeModel({ name: 'resize', nodes, inputs: [FRAME, input('sizes', DataType.INT64, [4])], outputs: [output('out', to, [1, 'h', 'w', 3])] });
}

/** frame, roi float [8] (0, y1, x1, 0, 1, y2, x2, 1; normalised) → out int32 [1, side, side, 3]. */
export function cropModel(side: number): Uint8Array {
  return encodeModel({
    name: 'crop',
    nodes: [
      node('Cast', ['frame'], ['pixels'], [castTo(DataType.FLOAT)]),
      node(
        'Resize',
        ['pixels', 'roi', '', 'sizes'],
        ['resized'],
        [attrString('mode', 'linear'), attrString('coordinate_transformation_mode', 'tf_crop_and_resize'), attrFloat('extrapolation_value', 0)],
      ),
      node('Cast', ['resized'], ['out'], [castTo(DataType.INT32)]),
    ],
    initializers: [tensor('sizes', [4], [1, side, side, 3], DataType.INT64)],
    inputs: [FRAME, input('roi', DataType.FLOAT, [8])],
    outputs: [output('out', DataType.INT32, [1, side, side, 3])],
  });
}

/**
 * frame, sizes int64 [4] (1, 3, h, w), pads int64 [8] (NCHW begins, then ends) → out float [1, 3, S, S], 0–1.
 * Planar before the resize: ONNX Runtime's linear Resize over NCHW planes took half the time of the same resize
 * over interleaved NHWC pixels (6.3 against 11.7 ms, 768 × 576 to 640; docs/benchmarks/notebook-2026-11-22-to-28.md, YOLO).
 */
export function letterboxModel(): Uint8Array {
  return encodeModel({
    name: 'letterbox',
    nodes: [
      node('Transpose', ['frame'], ['planar'], [attrInts('perm', [0, 3, 1, 2])]),
      node('Cast', ['planar'], ['pixels'], [castTo(DataType.FLOAT)]),
      node('Resize', ['pixels', '', '', 'sizes'], ['resized'], [attrString('mode', 'linear'), attrString('coordinate_transformation_mode', 'half_pixel')]),
      node('Pad', ['resized', 'pads', 'grey'], ['padded'], [attrString('mode', 'constant')]),
      node('Mul', ['padded', 'scale'], ['out']),
    ],
    initializers: [tensor('grey', [], [114]), tensor('scale', [], [1 / 255])],
    inputs: [FRAME, input('sizes', DataType.INT64, [4]), input('pads', DataType.INT64, [8])],
    outputs: [output('out', DataType.FLOAT, [1, 3, 'side', 'side'])],
  });
}

function castTo(type: number): Part {
  // AttributeProto INT named `to`.
  return attrIntOf('to', type);
}

type OrtModule = typeof Ort;

/** One pre-processing session and the runtime to make its tensors. */
export class Preprocessor {
  readonly #ort: OrtModule;
  readonly #session: Ort.InferenceSession;

  private constructor(ort: OrtModule, session: Ort.InferenceSession) {
    this.#ort = ort;
    this.#session = session;
  }

  /** Pre-processing runs on the CPU, in the session's thread count, whatever the network's providers. */
  static async open(model: Uint8Array, o: RuntimeOptions, name: string): Promise<Preprocessor> {
    const ort = await loadOnnxRuntime();
    return new Preprocessor(
      ort,
      await openSession(model, { ...(o.intraOpThreads === undefined ? {} : { intraOpThreads: o.intraOpThreads }) }, `pre-processing (${name})`),
    );
  }

  frame(rgb: Uint8Array, width: number, height: number): Ort.Tensor {
    return new this.#ort.Tensor('uint8', rgb, [1, height, width, 3]);
  }

  int64(values: readonly number[]): Ort.Tensor {
    return new this.#ort.Tensor(
      'int64',
      BigInt64Array.from(values, (v) => BigInt(v)),
      [values.length],
    );
  }

  float32(values: readonly number[]): Ort.Tensor {
    return new this.#ort.Tensor('float32', Float32Array.from(values), [values.length]);
  }

  async run(feeds: Record<string, Ort.Tensor>): Promise<Ort.Tensor> {
    const { out } = await this.#session.run(feeds);
    return out!;
  }

  async release(): Promise<void> {
    await this.#session.release();
  }
}

/** A frame letterboxed into a [1, 3, size, size] input by a letterboxModel() session, and where it landed (for mapping boxes back). */
export async function letterboxed(
  pre: Preprocessor,
  rgb: Uint8Array,
  width: number,
  height: number,
  size: number,
): Promise<{ input: Ort.Tensor; box: Letterbox }> {
  const g = letterboxGeometry(width, height, size);
  const frame = pre.frame(rgb, width, height);
  const sizes = pre.int64([1, 3, g.h, g.w]);
  const pads = pre.int64([0, 0, g.padY, g.padX, 0, 0, size - g.h - g.padY, size - g.w - g.padX]);
  const input = await pre.run({ frame, sizes, pads });
  for (const t of [frame, sizes, pads]) t.dispose();
  return { input, box: { scale: g.scale, padX: g.padX, padY: g.padY } };
}
