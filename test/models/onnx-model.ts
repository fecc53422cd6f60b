/**
 * Builds small YOLO-shaped ONNX models for the tests, encoding the ONNX
 * protobuf (onnx.proto3: ModelProto, GraphProto, NodeProto, TensorProto,
 * ValueInfoProto) by hand, so no Python or model download is needed.
 *
 * The model: images [1, 3, S, S] → output in the chosen YOLO layout, whose
 * boxes are constants and whose scores (objectness for v5, class scores for
 * v8) are constants × mean(images). A white frame (mean 1 after the handler's
 * 0–1 scaling) yields the constants' scores, a black one none: the pixels
 * really pass through the handler's preprocessing and the runtime.
 */

// --- protobuf wire format -------------------------------------------------
function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const key = (field: number, wire: number): number[] => varint((field << 3) | wire);
const int = (field: number, n: number): number[] => [...key(field, 0), ...varint(n)];
const bytes = (field: number, data: Uint8Array | number[]): number[] => [...key(field, 2), ...varint(data.length), ...data];
const str = (field: number, s: string): number[] => bytes(field, [...Buffer.from(s, 'utf8')]);
const msg = (field: number, parts: number[][]): number[] => bytes(field, parts.flat());

// --- ONNX messages --------------------------------------------------------
const FLOAT = 1;
const INT64 = 7;

function tensor(field: number, name: string, dims: number[], values: Float32Array): number[] {
  return msg(field, [...dims.map((d) => int(1, d)), int(2, FLOAT), str(8, name), bytes(9, [...new Uint8Array(values.buffer, values.byteOffset, values.byteLength)])]);
}

function int64Tensor(field: number, name: string, values: number[]): number[] {
  const raw = new BigInt64Array(values.map(BigInt));
  return msg(field, [int(1, values.length), int(2, INT64), str(8, name), bytes(9, [...new Uint8Array(raw.buffer)])]);
}

function valueInfo(field: number, name: string, dims: (number | string)[]): number[] {
  const dim = dims.map((d) => msg(1, [typeof d === 'number' ? int(1, d) : str(2, d)]));
  return msg(field, [str(1, name), msg(2, [msg(1, [int(1, FLOAT), msg(2, dim)])])]);
}

function node(op: string, inputs: string[], outputs: string[], attributes: number[][] = []): number[] {
  return msg(1, [...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, `${op}_${outputs[0]}`), str(4, op), ...attributes]);
}
/** AttributeProto: INT = 2, INTS = 7. */
const attrInt = (name: string, v: number): number[] => msg(5, [str(1, name), int(3, v), int(20, 2)]);
const attrInts = (name: string, v: number[]): number[] => msg(5, [str(1, name), ...v.map((x) => int(8, x)), int(20, 7)]);

export interface Candidate {
  /** Centre x, centre y, width, height in input pixels. */
  readonly box: [number, number, number, number];
  /** One score per class (before the image mean scales it). */
  readonly scores: number[];
  /** v5 only: objectness (before the image mean scales it). Default 1. */
  readonly objectness?: number;
}

export interface YoloModelSpec {
  readonly layout: 'v5' | 'v8';
  readonly inputSize: number;
  readonly classes: number;
  readonly candidates: readonly Candidate[];
  /** Leave H and W symbolic in the input's shape. */
  readonly dynamicInput?: boolean;
}

/** The model as ONNX bytes (opset 13). */
export function buildYoloModel(spec: YoloModelSpec): Uint8Array {
  const n = spec.candidates.length;
  const c = spec.classes;
  const s = spec.inputSize;
  const nodes: number[][] = [];
  const inits: number[][] = [];
  // mean over C, H, W → [1], then reshaped for broadcasting.
  nodes.push(node('ReduceMean', ['images'], ['mean'], [attrInts('axes', [1, 2, 3]), attrInt('keepdims', 0)]));
  inits.push(int64Tensor(5, 'shape3', [1, 1, 1]));
  nodes.push(node('Reshape', ['mean', 'shape3'], ['mean3']));
  let outDims: number[];
  if (spec.layout === 'v8') {
    // [1, 4 + C, N]: rows are channels, columns candidates.
    const boxes = new Float32Array(4 * n);
    const scores = new Float32Array(c * n);
    spec.candidates.forEach((cand, i) => {
      cand.box.forEach((v, k) => (boxes[k * n + i] = v));
      cand.scores.forEach((v, k) => (scores[k * n + i] = v));
    });
    inits.push(tensor(5, 'boxes', [1, 4, n], boxes), tensor(5, 'scores', [1, c, n], scores));
    nodes.push(node('Mul', ['scores', 'mean3'], ['scaled']));
    nodes.push(node('Concat', ['boxes', 'scaled'], ['output0'], [attrInt('axis', 1)]));
    outDims = [1, 4 + c, n];
  } else {
    // [1, N, 5 + C]: a row per candidate.
    const boxes = new Float32Array(n * 4);
    const obj = new Float32Array(n);
    const scores = new Float32Array(n * c);
    spec.candidates.forEach((cand, i) => {
      cand.box.forEach((v, k) => (boxes[i * 4 + k] = v));
      obj[i] = cand.objectness ?? 1;
      cand.scores.forEach((v, k) => (scores[i * c + k] = v));
    });
    inits.push(tensor(5, 'boxes', [1, n, 4], boxes), tensor(5, 'obj', [1, n, 1], obj), tensor(5, 'scores', [1, n, c], scores));
    nodes.push(node('Mul', ['obj', 'mean3'], ['scaled']));
    nodes.push(node('Concat', ['boxes', 'scaled', 'scores'], ['output0'], [attrInt('axis', 2)]));
    outDims = [1, n, 5 + c];
  }
  const inputDims: (number | string)[] = spec.dynamicInput ? [1, 3, 'height', 'width'] : [1, 3, s, s];
  const graph = msg(7, [...nodes, str(2, 'tiny_yolo'), ...inits, valueInfo(11, 'images', inputDims), valueInfo(12, 'output0', outDims)]);
  const model = [...int(1, 8), ...str(2, 'framesupplier-tests'), ...graph, ...msg(8, [str(1, ''), int(2, 13)])];
  return Uint8Array.from(model);
}
