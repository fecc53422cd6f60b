/**
 * A YOLOv8n-shaped network with random weights, written as ONNX by the
 * project's own writer, for speed figures only: Ultralytics' yolov8n.yaml
 * layer by layer (Conv = convolution with the batch norm folded in + SiLU,
 * C2f, SPPF, the PAN neck, the decoupled head with DFL), 80 classes, a fixed
 * square input, the [1, 84, anchors] output an export gives. Its detections
 * mean nothing; its arithmetic is the real network's (3.2 M parameters,
 * 8.7 GFLOPs at 640), so frames per CPU-second are what a trained YOLOv8n
 * gives on the same runtime. Torch and Ultralytics are not installable here,
 * which is why the network is written rather than exported.
 *
 * The class convolutions' biases start as Ultralytics initialises them
 * (log(5 / classes / (640 / stride)²)), so random features leave scores near
 * zero and few candidates past the threshold, as a trained model does on most
 * of a frame.
 */
import { attrInt, attrInts, DataType, encodeModel, input, node, output, tensor, type Part } from '../../src/models/onnx/onnx-proto.js';

const CLASSES = 80;
const REG_MAX = 16;
const STRIDES = [8, 16, 32] as const;

/** A deterministic normal generator (mulberry32 + Box–Muller): the same model on every run. */
function normals(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

class Graph {
  readonly nodes: Part[] = [];
  readonly inits: Part[] = [];
  #n = 0;
  readonly #random = normals(0x5eed);

  name(prefix: string): string {
    return `${prefix}_${this.#n++}`;
  }

  weights(dims: number[], std: number): string {
    const name = this.name('w');
    const size = dims.reduce((p, d) => p * d, 1);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = this.#random() * std;
    this.inits.push(tensor(name, dims, values));
    return name;
  }

  constant(values: Float32Array | number[], dims: number[], type: typeof DataType.FLOAT | typeof DataType.INT64 = DataType.FLOAT): string {
    const name = this.name('c');
    this.inits.push(tensor(name, dims, values, type));
    return name;
  }

  op(type: string, inputs: string[], attributes: Part[] = []): string {
    const out = this.name(type.toLowerCase());
    this.nodes.push(node(type, inputs, [out], attributes));
    return out;
  }

  /** Convolution with bias (batch norm folded in, as exports are), LeCun-normal weights so random activations stay in range. */
  conv(x: string, c1: number, c2: number, k: number, s: number, bias?: number, act = true): string {
    const w = this.weights([c2, c1, k, k], Math.sqrt(1 / (c1 * k * k)));
    const b = this.constant(new Float32Array(c2).fill(bias ?? 0), [c2]);
    const pad = Math.floor(k / 2);
    const y = this.op('Conv', [x, w, b], [attrInts('kernel_shape', [k, k]), attrInts('strides', [s, s]), attrInts('pads', [pad, pad, pad, pad])]);
    return act ? this.op('Mul', [y, this.op('Sigmoid', [y])]) : y;
  }

  c2f(x: string, c1: number, c2: number, n: number, shortcut: boolean): string {
    const c = c2 / 2;
    const y = this.conv(x, c1, 2 * c, 1, 1);
    const split = this.constant([c, c], [2], DataType.INT64);
    const a = this.name('split');
    const b = this.name('split');
    this.nodes.push(node('Split', [y, split], [a, b], [attrInt('axis', 1)]));
    const parts = [a, b];
    let last = b;
    for (let i = 0; i < n; i++) {
      const m = this.conv(this.conv(last, c, c, 3, 1), c, c, 3, 1);
      last = shortcut ? this.op('Add', [last, m]) : m;
      parts.push(last);
    }
    return this.conv(this.op('Concat', parts, [attrInt('axis', 1)]), (2 + n) * c, c2, 1, 1);
  }

  sppf(x: string, c1: number, c2: number): string {
    const c = c1 / 2;
    const y = this.conv(x, c1, c, 1, 1);
    const pool = (v: string): string =>
      this.op('MaxPool', [v], [attrInts('kernel_shape', [5, 5]), attrInts('strides', [1, 1]), attrInts('pads', [2, 2, 2, 2])]);
    const y1 = pool(y);
    const y2 = pool(y1);
    const y3 = pool(y2);
    return this.conv(this.op('Concat', [y, y1, y2, y3], [attrInt('axis', 1)]), 4 * c, c2, 1, 1);
  }

  upsample(x: string): string {
    const scales = this.constant([1, 1, 2, 2], [4]);
    return this.op('Resize', [x, '', scales], []);
  }

  concat(xs: string[]): string {
    return this.op('Concat', xs, [attrInt('axis', 1)]);
  }
}

/** YOLOv8n at a fixed square input (a multiple of 32): images [1, 3, S, S] → output0 [1, 84, anchors]. */
export function buildYolov8n(size: number): Uint8Array {
  if (size % 32 !== 0) throw new Error(`the input side must be a multiple of 32, got ${size}`);
  const g = new Graph();
  // Backbone.
  const p1 = g.conv('images', 3, 16, 3, 2);
  const p2 = g.c2f(g.conv(p1, 16, 32, 3, 2), 32, 32, 1, true);
  const p3 = g.c2f(g.conv(p2, 32, 64, 3, 2), 64, 64, 2, true);
  const p4 = g.c2f(g.conv(p3, 64, 128, 3, 2), 128, 128, 2, true);
  const p5 = g.sppf(g.c2f(g.conv(p4, 128, 256, 3, 2), 256, 256, 1, true), 256, 256);
  // Neck (PAN).
  const n4 = g.c2f(g.concat([g.upsample(p5), p4]), 384, 128, 1, false);
  const out3 = g.c2f(g.concat([g.upsample(n4), p3]), 192, 64, 1, false);
  const out4 = g.c2f(g.concat([g.conv(out3, 64, 64, 3, 2), n4]), 192, 128, 1, false);
  const out5 = g.c2f(g.concat([g.conv(out4, 128, 128, 3, 2), p5]), 384, 256, 1, false);
  // Head: per level a box branch (4 × 16 DFL bins) and a class branch, flattened and joined along the anchors.
  const levels = [out3, out4, out5];
  const channels = [64, 128, 256];
  const c2 = Math.max(16, channels[0]! / 4, 4 * REG_MAX);
  const c3 = Math.max(channels[0]!, Math.min(CLASSES, 100));
  const flat = g.constant([1, 4 * REG_MAX + CLASSES, -1], [3], DataType.INT64);
  const perLevel = levels.map((x, i) => {
    const ch = channels[i]!;
    const stride = STRIDES[i]!;
    const box = g.conv(g.conv(g.conv(x, ch, c2, 3, 1), c2, c2, 3, 1), c2, 4 * REG_MAX, 1, 1, 1, false);
    const clsBias = Math.log(5 / CLASSES / (640 / stride) ** 2);
    const cls = g.conv(g.conv(g.conv(x, ch, c3, 3, 1), c3, c3, 3, 1), c3, CLASSES, 1, 1, clsBias, false);
    return g.op('Reshape', [g.concat([box, cls]), flat]);
  });
  const all = g.op('Concat', perLevel, [attrInt('axis', 2)]);
  const anchors = STRIDES.reduce((n, s) => n + (size / s) ** 2, 0);
  const boxRaw = g.name('box');
  const clsRaw = g.name('cls');
  g.nodes.push(node('Split', [all, g.constant([4 * REG_MAX, CLASSES], [2], DataType.INT64)], [boxRaw, clsRaw], [attrInt('axis', 1)]));
  // DFL: a softmax over each side's 16 bins, their expectation the distance in strides.
  const bins = g.op('Softmax', [g.op('Reshape', [boxRaw, g.constant([1, 4, REG_MAX, anchors], [4], DataType.INT64)])], [attrInt('axis', 2)]);
  const range = g.constant(
    Float32Array.from({ length: REG_MAX }, (_, i) => i),
    [1, 1, REG_MAX, 1],
  );
  const dist = g.op('ReduceSum', [g.op('Mul', [bins, range]), g.constant([2], [1], DataType.INT64)], [attrInt('keepdims', 0)]);
  // dist2bbox: the anchor point minus left/top, plus right/bottom, as centre and size, times the stride.
  const points = new Float32Array(2 * anchors);
  const strides = new Float32Array(anchors);
  let a = 0;
  for (const s of STRIDES) {
    const side = size / s;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        points[a] = x + 0.5;
        points[anchors + a] = y + 0.5;
        strides[a++] = s;
      }
    }
  }
  const lt = g.name('lt');
  const rb = g.name('rb');
  g.nodes.push(node('Split', [dist, g.constant([2, 2], [2], DataType.INT64)], [lt, rb], [attrInt('axis', 1)]));
  const anchor = g.constant(points, [1, 2, anchors]);
  const x1y1 = g.op('Sub', [anchor, lt]);
  const x2y2 = g.op('Add', [anchor, rb]);
  const centre = g.op('Mul', [g.op('Add', [x1y1, x2y2]), g.constant([0.5], [])]);
  const wh = g.op('Sub', [x2y2, x1y1]);
  const stride = g.constant(strides, [1, 1, anchors]);
  const boxes = g.op('Mul', [g.concat([centre, wh]), stride]);
  g.nodes.push(node('Concat', [boxes, g.op('Sigmoid', [clsRaw])], ['output0'], [attrInt('axis', 1)]));
  return encodeModel({
    name: 'yolov8n-random',
    nodes: g.nodes,
    initializers: g.inits,
    inputs: [input('images', DataType.FLOAT, [1, 3, size, size])],
    outputs: [output('output0', DataType.FLOAT, [1, 4 + CLASSES, anchors])],
  });
}
