/**
 * A writer of small ONNX models (the onnx.proto3 messages ModelProto,
 * GraphProto, NodeProto, TensorProto, ValueInfoProto, AttributeProto, encoded
 * by hand): the pre-processing graphs the handlers run in ONNX Runtime
 * (preprocess.ts), the one-node model that checks an execution provider
 * (session.ts), and the tests' hand-built YOLO models. Writes only; nothing
 * here reads a user's model.
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
const f32 = (field: number, v: number): number[] => [...key(field, 5), ...new Uint8Array(Float32Array.of(v).buffer)];

// --- ONNX messages --------------------------------------------------------
/** TensorProto.DataType values. */
export const DataType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** One encoded message part (a NodeProto, an initializer, a value info). */
export type Part = number[];

/** An initializer: a float32 or int64 constant. */
export function tensor(name: string, dims: readonly number[], values: Float32Array | readonly number[], type: DataTypeCode = DataType.FLOAT): Part {
  const raw =
    type === DataType.INT64
      ? new Uint8Array(BigInt64Array.from(values as readonly number[], (v) => BigInt(v)).buffer)
      : new Uint8Array(Float32Array.from(values).buffer);
  return msg(5, [...dims.map((d) => int(1, d)), int(2, type), str(8, name), bytes(9, raw)]);
}

function valueInfo(field: number, name: string, type: DataTypeCode, dims: readonly (number | string)[]): Part {
  const dim = dims.map((d) => msg(1, [typeof d === 'number' ? int(1, d) : str(2, d)]));
  return msg(field, [str(1, name), msg(2, [msg(1, [int(1, type), msg(2, dim)])])]);
}
export const input = (name: string, type: DataTypeCode, dims: readonly (number | string)[]): Part => valueInfo(11, name, type, dims);
export const output = (name: string, type: DataTypeCode, dims: readonly (number | string)[]): Part => valueInfo(12, name, type, dims);

/** AttributeProto: FLOAT = 1, INT = 2, STRING = 3, INTS = 7. */
export type Attribute = Part;
export const attrInt = (name: string, v: number): Attribute => msg(5, [str(1, name), int(3, v), int(20, 2)]);
export const attrInts = (name: string, v: readonly number[]): Attribute => msg(5, [str(1, name), ...v.map((x) => int(8, x)), int(20, 7)]);
export const attrFloat = (name: string, v: number): Attribute => msg(5, [str(1, name), f32(2, v), int(20, 1)]);
export const attrString = (name: string, v: string): Attribute => msg(5, [str(1, name), str(4, v), int(20, 3)]);

export function node(op: string, inputs: readonly string[], outputs: readonly string[], attributes: readonly Attribute[] = []): Part {
  return msg(1, [...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, `${op}_${outputs[0]}`), str(4, op), ...attributes]);
}

export interface GraphSpec {
  readonly name: string;
  readonly nodes: readonly Part[];
  /** tensor() parts. */
  readonly initializers?: readonly Part[];
  /** input() parts. */
  readonly inputs: readonly Part[];
  /** output() parts. */
  readonly outputs: readonly Part[];
  /** Default 17. */
  readonly opset?: number;
}

/** The model's bytes (IR version 8). */
export function encodeModel(g: GraphSpec): Uint8Array {
  const graph = msg(7, [...g.nodes, str(2, g.name), ...(g.initializers ?? []), ...g.inputs, ...g.outputs]);
  return Uint8Array.from([...int(1, 8), ...str(2, 'framesupplier'), ...graph, ...msg(8, [str(1, ''), int(2, g.opset ?? 17)])]);
}
