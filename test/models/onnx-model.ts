/**
 * Builds small YOLO-shaped ONNX models for the tests with the project's own
 * ONNX writer (src/models/onnx/onnx-proto.ts), so no Python or model download
 * is needed.
 *
 * The model: images [1, 3, S, S] → output in the chosen YOLO layout, whose
 * boxes are constants and whose scores (objectness for v5, class scores for
 * v8, the score column for e2e) are constants × mean(images). A white frame
 * (mean 1 after the handler's 0–1 scaling) yields the constants' scores, a
 * black one none: the pixels really pass through the handler's preprocessing
 * and the runtime.
 */
import { attrInt, attrInts, DataType, encodeModel, input, node, output, tensor, type Part } from '../../src/models/onnx/onnx-proto.js';

export interface Candidate {
  /** v5/v8: centre x, centre y, width, height in input pixels; e2e: x1, y1, x2, y2 in input pixels. */
  readonly box: [number, number, number, number];
  /** One score per class (before the image mean scales it); e2e: the first is the score, its index in `classId`. */
  readonly scores: number[];
  /** v5 only: objectness (before the image mean scales it). Default 1. */
  readonly objectness?: number;
  /** e2e only: the class column. Default 0. */
  readonly classId?: number;
}

export interface YoloModelSpec {
  readonly layout: 'v5' | 'v8' | 'e2e';
  readonly inputSize: number;
  readonly classes: number;
  readonly candidates: readonly Candidate[];
  /** Leave H and W symbolic in the input's shape. */
  readonly dynamicInput?: boolean;
  /** The output's shape as declared (default: the layout's); a test of a shape no layout fits gives its own. */
  readonly outputDims?: readonly (number | string)[];
  /** v8 only: a free batch axis (an export with dynamic=True): images [batch, 3, S, S] → [batch, 4 + C, N], each image's scores its own mean's. */
  readonly batchAxis?: boolean;
}

/** The model as ONNX bytes (opset 13). */
export function buildYoloModel(spec: YoloModelSpec): Uint8Array {
  const n = spec.candidates.length;
  const c = spec.classes;
  const s = spec.inputSize;
  // mean over C, H, W → [1], then reshaped for broadcasting.
  const nodes: Part[] = [
    node('ReduceMean', ['images'], ['mean'], [attrInts('axes', [1, 2, 3]), attrInt('keepdims', 0)]),
    node('Reshape', ['mean', 'shape3'], ['mean3']),
  ];
  const inits: Part[] = [tensor('shape3', [3], [spec.batchAxis === true ? -1 : 1, 1, 1], DataType.INT64)];
  let outDims: number[];
  if (spec.batchAxis === true) {
    if (spec.layout !== 'v8') throw new Error('a batch axis is built for the v8 layout only');
    // [batch, 4 + C, N]: the boxes repeated per image (× ones of [batch, 1, 1]), the scores × each image's mean.
    const boxes = new Float32Array(4 * n);
    const scores = new Float32Array(c * n);
    spec.candidates.forEach((cand, i) => {
      cand.box.forEach((v, k) => (boxes[k * n + i] = v));
      cand.scores.forEach((v, k) => (scores[k * n + i] = v));
    });
    inits.push(tensor('boxes', [1, 4, n], boxes), tensor('scores', [1, c, n], scores), tensor('zero', [], [0]), tensor('one', [], [1]));
    nodes.push(
      node('Mul', ['mean3', 'zero'], ['zeros']),
      node('Add', ['zeros', 'one'], ['ones']),
      node('Mul', ['boxes', 'ones'], ['boxesEach']),
      node('Mul', ['scores', 'mean3'], ['scaled']),
      node('Concat', ['boxesEach', 'scaled'], ['output0'], [attrInt('axis', 1)]),
    );
    return encodeModel({
      name: 'tiny_yolo_batch',
      nodes,
      initializers: inits,
      inputs: [input('images', DataType.FLOAT, ['batch', 3, s, s])],
      outputs: [output('output0', DataType.FLOAT, ['batch', 4 + c, n])],
      opset: 13,
    });
  }
  if (spec.layout === 'v8') {
    // [1, 4 + C, N]: rows are channels, columns candidates.
    const boxes = new Float32Array(4 * n);
    const scores = new Float32Array(c * n);
    spec.candidates.forEach((cand, i) => {
      cand.box.forEach((v, k) => (boxes[k * n + i] = v));
      cand.scores.forEach((v, k) => (scores[k * n + i] = v));
    });
    inits.push(tensor('boxes', [1, 4, n], boxes), tensor('scores', [1, c, n], scores));
    nodes.push(node('Mul', ['scores', 'mean3'], ['scaled']), node('Concat', ['boxes', 'scaled'], ['output0'], [attrInt('axis', 1)]));
    outDims = [1, 4 + c, n];
  } else if (spec.layout === 'v5') {
    // [1, N, 5 + C]: a row per candidate.
    const boxes = new Float32Array(n * 4);
    const obj = new Float32Array(n);
    const scores = new Float32Array(n * c);
    spec.candidates.forEach((cand, i) => {
      cand.box.forEach((v, k) => (boxes[i * 4 + k] = v));
      obj[i] = cand.objectness ?? 1;
      cand.scores.forEach((v, k) => (scores[i * c + k] = v));
    });
    inits.push(tensor('boxes', [1, n, 4], boxes), tensor('obj', [1, n, 1], obj), tensor('scores', [1, n, c], scores));
    nodes.push(node('Mul', ['obj', 'mean3'], ['scaled']), node('Concat', ['boxes', 'scaled', 'scores'], ['output0'], [attrInt('axis', 2)]));
    outDims = [1, n, 5 + c];
  } else {
    // [1, N, 6]: x1 y1 x2 y2 score class, as end-to-end exports give (rows past the last detection are zeros).
    const boxes = new Float32Array(n * 4);
    const score = new Float32Array(n);
    const cls = new Float32Array(n);
    spec.candidates.forEach((cand, i) => {
      cand.box.forEach((v, k) => (boxes[i * 4 + k] = v));
      score[i] = cand.scores[0] ?? 0;
      cls[i] = cand.classId ?? 0;
    });
    inits.push(tensor('boxes', [1, n, 4], boxes), tensor('score', [1, n, 1], score), tensor('cls', [1, n, 1], cls));
    nodes.push(node('Mul', ['score', 'mean3'], ['scaled']), node('Concat', ['boxes', 'scaled', 'cls'], ['output0'], [attrInt('axis', 2)]));
    outDims = [1, n, 6];
  }
  return encodeModel({
    name: 'tiny_yolo',
    nodes,
    initializers: inits,
    inputs: [input('images', DataType.FLOAT, spec.dynamicInput ? [1, 3, 'height', 'width'] : [1, 3, s, s])],
    outputs: [output('output0', DataType.FLOAT, spec.outputDims ?? outDims)],
    opset: 13,
  });
}
