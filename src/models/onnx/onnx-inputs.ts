/**
 * A model file's graph inputs as it declares them (names and shapes, a
 * symbolic dimension by its name), read from its protobuf without a runtime:
 * what `config check` and a handler's load ask of a model before anything
 * runs it (whether its first input has a free batch axis, ADR 0127). Reads
 * only ModelProto.graph's `input` and `initializer` names (an input that is
 * also an initializer is a weight, not an input, in models before IR 4);
 * everything else is skipped by its length.
 *
 * Contract: a file that is not a protobuf of that shape throws
 * ModelLoadError naming the file; nothing is executed.
 */
import { readFileSync } from 'node:fs';
import { ModelBatchError, ModelLoadError } from '../errors.js';

export interface DeclaredInput {
  readonly name: string;
  /** Each dimension: a number, a symbolic name, or null when the model leaves it unnamed. */
  readonly shape: readonly (number | string | null)[];
}

interface Field {
  readonly field: number;
  readonly wire: number;
  /** A varint's value, or a length-delimited field's bytes. */
  readonly value: bigint | Uint8Array;
}

/** The fields of one protobuf message, in order. Throws on bytes that are not one. */
function fields(bytes: Uint8Array): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= bytes.length || shift > 63n) throw new Error('a varint runs past its message');
      const byte = bytes[at++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 2) {
      const length = Number(varint());
      if (at + length > bytes.length) throw new Error('a field runs past its message');
      out.push({ field, wire, value: bytes.subarray(at, at + length) });
      at += length;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error(`wire type ${wire} is not protobuf's`);
    if (at > bytes.length) throw new Error('a field runs past its message');
  }
  return out;
}

const bytesOf = (list: Field[], field: number): Uint8Array[] =>
  list.filter((f) => f.field === field && f.value instanceof Uint8Array).map((f) => f.value as Uint8Array);
const text = (bytes: Uint8Array | undefined): string => (bytes === undefined ? '' : Buffer.from(bytes).toString('utf8'));

/** A TensorShapeProto.Dimension: dim_value (1) or dim_param (2). */
function dimension(bytes: Uint8Array): number | string | null {
  const f = fields(bytes);
  const value = f.find((x) => x.field === 1 && x.wire === 0);
  if (value !== undefined) return Number(BigInt.asIntN(64, value.value as bigint));
  const param = bytesOf(f, 2)[0];
  return param === undefined ? null : text(param);
}

/** The graph's inputs that are not initializers, in order. */
export function declaredInputs(path: string): DeclaredInput[] {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new ModelLoadError(`cannot read the model file ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const graph = bytesOf(fields(bytes), 7)[0];
    if (graph === undefined) throw new Error('it has no graph');
    const g = fields(graph);
    const weights = new Set(bytesOf(g, 5).map((t) => text(bytesOf(fields(t), 8)[0])));
    const inputs: DeclaredInput[] = [];
    for (const info of bytesOf(g, 11)) {
      const f = fields(info);
      const name = text(bytesOf(f, 1)[0]);
      if (weights.has(name)) continue;
      const tensor = bytesOf(fields(bytesOf(f, 2)[0] ?? new Uint8Array()), 1)[0];
      const shape = tensor === undefined ? undefined : bytesOf(fields(tensor), 2)[0];
      inputs.push({ name, shape: shape === undefined ? [] : bytesOf(fields(shape), 1).map(dimension) });
    }
    return inputs;
  } catch (error) {
    throw new ModelLoadError(`${path} is not an ONNX model: ${(error as Error).message}`, { cause: error });
  }
}

/** Whether a declared first dimension is free (any batch size): symbolic, unnamed, or -1/0 as some exporters write. */
export const freeDimension = (dim: number | string | null | undefined): boolean => dim === undefined || typeof dim !== 'number' || dim <= 0;

/**
 * `batch: N` against a model's first input: ERR_MODEL_BATCH when N > 1 and its first axis is a fixed size, the
 * message naming the model, its input's shape and what would do.
 */
export function checkBatchAxis(
  what: string,
  input: { readonly name: string; readonly shape: readonly (number | string | null)[] },
  batch: number,
  fix: string,
): void {
  if (batch <= 1 || freeDimension(input.shape[0])) return;
  const shape = input.shape.map((d) => (d === null ? '?' : String(d))).join(', ');
  throw new ModelBatchError(`${what}: batch ${batch} needs an input with a free batch axis, and input ${JSON.stringify(input.name)} is [${shape}]: ${fix}`);
}

/** `batch: N` on an onnx model: ERR_MODEL_BATCH when its file's first input has a fixed batch axis (N > 1). */
export function checkOnnxBatch(what: string, modelPath: string, batch: number): void {
  if (batch <= 1) return;
  const input = declaredInputs(modelPath)[0];
  if (input === undefined) throw new ModelLoadError(`${what}: ${modelPath} declares no input`);
  checkBatchAxis(what, input, batch, "export it with a free batch axis (Ultralytics: export(format='onnx', dynamic=True)), or leave batch at 1");
}
