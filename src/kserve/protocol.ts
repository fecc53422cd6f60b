/**
 * Long file: one codec, the REST messages both ways with the binary extension, pure functions over one set of tensor rules; split, each half would import the other's checks.
 *
 * The KServe v2 / Open Inference Protocol's REST messages, with the binary
 * tensor data extension, as pure functions both the server and the client use.
 *
 * Spec (read, not guessed): kserve/open-inference-protocol's REST document and
 * its binary tensor data extension, the same text as Triton's
 * docs/protocol/extension_binary_data.md:
 *  - an inference request is `{ id?, parameters?, inputs: [{ name, shape,
 *    datatype, parameters?, data? }], outputs?: [{ name, parameters? }] }`;
 *    a response `{ model_name, model_version?, id?, parameters?, outputs: [...] }`;
 *    an error `{ error: "<message>" }` with a non-2xx status;
 *  - binary data: the body is the JSON header followed by each binary tensor's
 *    bytes, in the order of the tensors that carry `parameters.binary_data_size`;
 *    the `Inference-Header-Content-Length` header gives the JSON's byte length;
 *    a request output asks for binary with `parameters.binary_data: true`, or
 *    every output with the request parameter `binary_data_output: true`;
 *  - binary tensor data is little-endian, row major, no padding; BOOL is one
 *    byte; a BYTES element is a 4-byte little-endian length then its bytes.
 *
 * Inside the project a tensor always holds its elements as raw bytes in that
 * binary layout (JSON `data` is converted on the way in and out), so both
 * transports share one representation and one set of checks.
 *
 * Every parse function treats its input as untrusted: shapes, sizes and
 * datatypes are checked against each other, and any mismatch is a
 * KServeError with a code (ERR_INVALID_JSON, ERR_SCHEMA, ERR_KSERVE_TENSOR).
 */
import { KServeError } from './errors.js';

export const HEADER_LENGTH = 'inference-header-content-length';

export const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type Datatype = (typeof DATATYPES)[number];

/** Bytes per element; BYTES is variable (null). */
export const ELEMENT_BYTES: Readonly<Record<Datatype, number | null>> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
  BYTES: null,
};

/** Largest rank and element count the project accepts from the wire. */
const MAX_RANK = 8;
const MAX_ELEMENTS = 2 ** 31;
/** Parameters are scalars (the spec's $parameters: string, number or bool). */
export type Parameters = Readonly<Record<string, string | number | boolean>>;

export interface Tensor {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  /** The elements in the binary layout (see above). */
  readonly data: Uint8Array;
  readonly parameters?: Parameters;
}

export interface RequestedOutput {
  readonly name: string;
  readonly binary: boolean;
}

export interface InferRequest {
  readonly id?: string;
  readonly parameters?: Parameters;
  readonly inputs: readonly Tensor[];
  /** Absent: every output, as JSON unless parameters.binary_data_output. */
  readonly outputs?: readonly RequestedOutput[];
}

export interface InferResponse {
  readonly model_name: string;
  readonly model_version?: string;
  readonly id?: string;
  readonly parameters?: Parameters;
  readonly outputs: readonly Tensor[];
}

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
}

export interface ModelMetadata {
  readonly name: string;
  readonly versions?: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
}

/** An HTTP body: the bytes, and the Inference-Header-Content-Length to send with them (absent: all JSON). */
export interface EncodedBody {
  readonly body: Buffer;
  readonly headerLength?: number;
}

// ---------------------------------------------------------------- helpers

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

function schema(field: string, what: string): KServeError {
  return new KServeError('ERR_SCHEMA', `${field} ${what}`);
}

function tensorError(message: string): KServeError {
  return new KServeError('ERR_KSERVE_TENSOR', message);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/**
 * Parameters: absent or null (pydantic-made servers and clients, kserve's and
 * MLServer's, write `null` for an optional field left out) is none. A value
 * that is no scalar is refused in what we are sent to serve (strict), and
 * dropped from an answer we read (lenient: MLServer adds its own
 * `content_type`, `headers` objects).
 */
function parseParameters(value: unknown, field: string, lenient = false): Parameters | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw schema(field, 'must be an object');
  const out: Record<string, string | number | boolean> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = v;
    else if (!lenient) throw schema(`${field}.${key}`, 'must be a string, number or boolean');
  }
  return out;
}

/** An optional string field: absent or null is none. */
function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw schema(field, 'must be a string');
  return value;
}

function parseShape(value: unknown, field: string, allowWildcard: boolean): number[] {
  if (!Array.isArray(value) || value.length > MAX_RANK) throw schema(field, `must be an array of at most ${MAX_RANK} dimensions`);
  for (const d of value) {
    if (!Number.isSafeInteger(d) || (d as number) < (allowWildcard ? -1 : 0)) throw schema(field, `must hold integers ≥ ${allowWildcard ? -1 : 0}`);
  }
  const shape = value as number[];
  if (!allowWildcard && elementCount(shape) > MAX_ELEMENTS) throw tensorError(`${field} has more than ${MAX_ELEMENTS} elements`);
  return shape;
}

function parseDatatype(value: unknown, field: string): Datatype {
  if (!(DATATYPES as readonly unknown[]).includes(value)) throw schema(field, `must be one of ${DATATYPES.join(', ')}`);
  return value as Datatype;
}

/** Checks that `data` holds exactly the elements `shape` says (BYTES: walks the length prefixes). */
function checkSize(name: string, datatype: Datatype, shape: readonly number[], data: Uint8Array): void {
  const count = elementCount(shape);
  const size = ELEMENT_BYTES[datatype];
  if (size !== null) {
    if (data.byteLength !== count * size)
      throw tensorError(`tensor ${name}: ${data.byteLength} bytes, but ${datatype} ${JSON.stringify(shape)} needs ${count * size}`);
    return;
  }
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > data.byteLength) throw tensorError(`tensor ${name}: BYTES data ends inside element ${i} of ${count}`);
    offset += 4 + new DataView(data.buffer, data.byteOffset + offset, 4).getUint32(0, true);
    if (offset > data.byteLength) throw tensorError(`tensor ${name}: BYTES element ${i} runs past the data`);
  }
  if (offset !== data.byteLength) throw tensorError(`tensor ${name}: ${data.byteLength - offset} bytes after the last BYTES element`);
}

/** Flattens JSON `data` (flat or nested, row major) into at most `count` leaves. */
function flatten(value: unknown, field: string, count: number): unknown[] {
  const out: unknown[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (Array.isArray(v)) {
      if (depth > MAX_RANK) throw schema(field, `nests deeper than ${MAX_RANK}`);
      for (const item of v) walk(item, depth + 1);
      return;
    }
    if (out.length >= count) throw tensorError(`${field} has more elements than its shape's ${count}`);
    out.push(v);
  };
  walk(value, 0);
  return out;
}

/** JSON `data` into the binary layout. */
export function jsonToBinary(name: string, datatype: Datatype, shape: readonly number[], value: unknown): Uint8Array {
  const field = `tensor ${name} data`;
  const count = elementCount(shape);
  // Flat data (Triton's and our own answers, a frame of 660 000 numbers) is taken as it is; only nested data is walked.
  const leaves = Array.isArray(value) && value.length === count && !value.some(Array.isArray) ? (value as unknown[]) : flatten(value, field, count);
  if (leaves.length !== count) throw tensorError(`${field} has ${leaves.length} elements; shape ${JSON.stringify(shape)} needs ${count}`);
  if (datatype === 'BYTES') {
    const parts = leaves.map((leaf) => {
      if (typeof leaf !== 'string') throw schema(field, 'must hold strings for BYTES');
      return Buffer.from(leaf, 'utf8');
    });
    return encodeBytesElements(parts);
  }
  if (datatype === 'FP16') throw tensorError(`${field}: FP16 has no JSON form (the spec's own note): send it as binary data`);
  const size = ELEMENT_BYTES[datatype]!;
  const out = Buffer.alloc(count * size);
  if (datatype === 'BOOL') {
    for (let i = 0; i < count; i++) {
      const leaf = leaves[i];
      if (typeof leaf !== 'boolean') throw schema(field, 'must hold booleans for BOOL');
      out[i] = leaf ? 1 : 0;
    }
    return out;
  }
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const float = datatype === 'FP32' || datatype === 'FP64';
  const signed = datatype.startsWith('INT');
  const bits = size * 8;
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  for (let i = 0; i < count; i++) {
    const leaf = leaves[i];
    if (typeof leaf !== 'number' || !Number.isFinite(leaf)) throw schema(field, `must hold finite numbers for ${datatype}`);
    if (!float) {
      if (!Number.isInteger(leaf)) throw schema(field, `must hold integers for ${datatype}`);
      if (leaf < min || leaf > max) throw schema(field, `holds ${leaf}, outside ${datatype}`);
    }
    const o = i * size;
    switch (datatype) {
      case 'UINT8':
        out[i] = leaf;
        break;
      case 'INT8':
        view.setInt8(o, leaf);
        break;
      case 'UINT16':
        view.setUint16(o, leaf, true);
        break;
      case 'INT16':
        view.setInt16(o, leaf, true);
        break;
      case 'UINT32':
        view.setUint32(o, leaf, true);
        break;
      case 'INT32':
        view.setInt32(o, leaf, true);
        break;
      case 'UINT64':
        view.setBigUint64(o, BigInt(leaf), true);
        break;
      case 'INT64':
        view.setBigInt64(o, BigInt(leaf), true);
        break;
      case 'FP32':
        view.setFloat32(o, leaf, true);
        break;
      default:
        view.setFloat64(o, leaf, true);
    }
  }
  return out;
}

/** The binary layout into JSON `data` (flat, as Triton answers). */
export function binaryToJson(tensor: Tensor): unknown[] {
  if (tensor.datatype === 'BYTES') return decodeBytesElements(tensor.data).map((b) => Buffer.from(b).toString('utf8'));
  if (tensor.datatype === 'FP16') throw tensorError(`tensor ${tensor.name}: FP16 has no JSON form: ask for it as binary data`);
  // A loop into a sized array: Array.from (with or without a mapper) is several times slower on a frame's 660 000 elements.
  const values = tensor.datatype === 'UINT8' ? tensor.data : numbers(tensor);
  const out = new Array<number | boolean>(values.length);
  if (tensor.datatype === 'BOOL') for (let i = 0; i < values.length; i++) out[i] = values[i] !== 0;
  else for (let i = 0; i < values.length; i++) out[i] = values[i]!;
  return out;
}

/** A numeric tensor's elements as numbers (64-bit integers beyond 2^53 lose precision). */
export function numbers(tensor: Tensor): Float64Array {
  const { data, datatype } = tensor;
  const size = ELEMENT_BYTES[datatype];
  if (size === null) throw tensorError(`tensor ${tensor.name} is BYTES, not numbers`);
  const count = data.byteLength / size;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const o = i * size;
    switch (datatype) {
      case 'BOOL':
      case 'UINT8':
        out[i] = view.getUint8(o);
        break;
      case 'INT8':
        out[i] = view.getInt8(o);
        break;
      case 'UINT16':
        out[i] = view.getUint16(o, true);
        break;
      case 'INT16':
        out[i] = view.getInt16(o, true);
        break;
      case 'UINT32':
        out[i] = view.getUint32(o, true);
        break;
      case 'INT32':
        out[i] = view.getInt32(o, true);
        break;
      case 'UINT64':
        out[i] = Number(view.getBigUint64(o, true));
        break;
      case 'INT64':
        out[i] = Number(view.getBigInt64(o, true));
        break;
      case 'FP16':
        out[i] = half(view.getUint16(o, true));
        break;
      case 'FP32':
        out[i] = view.getFloat32(o, true);
        break;
      default:
        out[i] = view.getFloat64(o, true);
    }
  }
  return out;
}

function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

export function encodeBytesElements(parts: readonly Uint8Array[]): Buffer {
  const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.byteLength, o);
    out.set(p, o + 4);
    o += 4 + p.byteLength;
  }
  return out;
}

export function decodeBytesElements(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let o = 0;
  while (o < data.byteLength) {
    if (o + 4 > data.byteLength) throw tensorError('BYTES data ends inside a length prefix');
    const n = view.getUint32(o, true);
    if (o + 4 + n > data.byteLength) throw tensorError('a BYTES element runs past the data');
    out.push(data.subarray(o + 4, o + 4 + n));
    o += 4 + n;
  }
  return out;
}

export function fp32Tensor(name: string, shape: readonly number[], values: ArrayLike<number>, parameters?: Parameters): Tensor {
  const data = Buffer.from(Float32Array.from(values).buffer);
  return { name, datatype: 'FP32', shape, data, ...(parameters === undefined ? {} : { parameters }) };
}

export function bytesTensor(name: string, values: readonly string[]): Tensor {
  return { name, datatype: 'BYTES', shape: [values.length], data: encodeBytesElements(values.map((v) => Buffer.from(v, 'utf8'))) };
}

// ---------------------------------------------------------------- bodies

/** Splits a body into its JSON header and the binary data after it. */
export function splitBody(body: Buffer, headerLength: string | undefined): { json: unknown; binary: Buffer } {
  let jsonBytes = body.byteLength;
  if (headerLength !== undefined) {
    const n = /^\d{1,15}$/.test(headerLength.trim()) ? Number(headerLength.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n > body.byteLength) {
      throw new KServeError(
        'ERR_SCHEMA',
        `the Inference-Header-Content-Length header (${JSON.stringify(headerLength.slice(0, 32))}) must be an integer from 0 to the body's ${body.byteLength} bytes`,
      );
    }
    jsonBytes = n;
  }
  let json: unknown;
  try {
    json = JSON.parse(body.subarray(0, jsonBytes).toString('utf8'));
  } catch (error) {
    throw new KServeError('ERR_INVALID_JSON', `the JSON header is not valid JSON: ${(error as Error).message}`);
  }
  return { json, binary: body.subarray(jsonBytes) };
}

/**
 * One tensor whose elements arrived apart from its description (gRPC's raw
 * contents, or typed contents already turned into the binary layout):
 * checked as a JSON one is.
 */
export function checkedTensor(
  t: { readonly name: unknown; readonly datatype: unknown; readonly shape: unknown },
  parameters: Parameters | undefined,
  data: Uint8Array,
  field: string,
): Tensor {
  if (typeof t.name !== 'string' || t.name.length === 0 || t.name.length > 256) throw schema(`${field}.name`, 'must be a string of 1–256 characters');
  const datatype = parseDatatype(t.datatype, `${field}.datatype`);
  const shape = parseShape(t.shape, `${field}.shape`, false);
  checkSize(t.name, datatype, shape, data);
  return { name: t.name, datatype, shape, data, ...(parameters === undefined || Object.keys(parameters).length === 0 ? {} : { parameters }) };
}

/** A tensor's datatype, checked (for typed contents, read before the elements). */
export function datatypeOf(value: unknown, field: string): Datatype {
  return parseDatatype(value, field);
}

/** Parses tensors of a request's inputs or a response's outputs, taking binary data in order. */
function parseTensors(value: unknown, field: string, binary: Buffer, cursor: { offset: number }, lenient = false): Tensor[] {
  if (!Array.isArray(value)) throw schema(field, 'must be an array');
  if (value.length > 64) throw schema(field, 'has more than 64 tensors');
  return value.map((t, i) => {
    const f = `${field}[${i}]`;
    if (!isObject(t)) throw schema(f, 'must be an object');
    if (typeof t.name !== 'string' || t.name.length === 0 || t.name.length > 256) throw schema(`${f}.name`, 'must be a string of 1–256 characters');
    const datatype = parseDatatype(t.datatype, `${f}.datatype`);
    const shape = parseShape(t.shape, `${f}.shape`, false);
    const parameters = parseParameters(t.parameters, `${f}.parameters`, lenient);
    const size = parameters?.binary_data_size;
    let data: Uint8Array;
    if (size !== undefined) {
      if (!Number.isSafeInteger(size) || (size as number) < 0) throw schema(`${f}.parameters.binary_data_size`, 'must be an integer ≥ 0');
      if (t.data !== undefined) throw schema(`${f}.data`, 'must be absent when binary_data_size is given');
      const end = cursor.offset + (size as number);
      if (end > binary.byteLength)
        throw tensorError(`${f}: binary_data_size ${String(size)} runs past the body's ${binary.byteLength - cursor.offset} remaining binary bytes`);
      data = binary.subarray(cursor.offset, end);
      cursor.offset = end;
    } else {
      if (t.data === undefined || t.data === null) throw schema(`${f}.data`, 'is required (or parameters.binary_data_size)');
      data = jsonToBinary(t.name, datatype, shape, t.data);
    }
    checkSize(t.name, datatype, shape, data);
    const { binary_data_size: _, ...rest } = parameters ?? {};
    return { name: t.name, datatype, shape, data, ...(Object.keys(rest).length === 0 ? {} : { parameters: rest }) };
  });
}

export function parseInferRequest(body: Buffer, headerLength: string | undefined): InferRequest {
  const { json, binary } = splitBody(body, headerLength);
  if (!isObject(json)) throw schema('request', 'must be a JSON object');
  const id = optionalString(json.id, 'id');
  const parameters = parseParameters(json.parameters, 'parameters');
  const cursor = { offset: 0 };
  const inputs = parseTensors(json.inputs, 'inputs', binary, cursor);
  if (cursor.offset !== binary.byteLength) throw tensorError(`${binary.byteLength - cursor.offset} bytes of binary data that no input claims`);
  let outputs: RequestedOutput[] | undefined;
  if (json.outputs !== undefined && json.outputs !== null) {
    if (!Array.isArray(json.outputs) || json.outputs.length > 64) throw schema('outputs', 'must be an array of at most 64');
    const all = parameters?.binary_data_output === true;
    outputs = json.outputs.map((o: unknown, i) => {
      if (!isObject(o) || typeof o.name !== 'string') throw schema(`outputs[${i}].name`, 'must be a string');
      const p = parseParameters(o.parameters, `outputs[${i}].parameters`);
      if (p?.binary_data !== undefined && typeof p.binary_data !== 'boolean') throw schema(`outputs[${i}].parameters.binary_data`, 'must be a boolean');
      return { name: o.name, binary: p?.binary_data === true || (p?.binary_data === undefined && all) };
    });
  }
  return {
    ...(id === undefined ? {} : { id }),
    ...(parameters === undefined ? {} : { parameters }),
    inputs,
    ...(outputs === undefined ? {} : { outputs }),
  };
}

export function parseInferResponse(body: Buffer, headerLength: string | undefined): InferResponse {
  const { json, binary } = splitBody(body, headerLength);
  if (!isObject(json)) throw schema('response', 'must be a JSON object');
  if (typeof json.model_name !== 'string') throw schema('model_name', 'must be a string');
  // kserve's and MLServer's pydantic answers carry `"model_version": null`, `"id": null`, `"parameters": null`.
  const modelVersion = optionalString(json.model_version, 'model_version');
  const id = optionalString(json.id, 'id');
  const parameters = parseParameters(json.parameters, 'parameters', true);
  const cursor = { offset: 0 };
  const outputs = parseTensors(json.outputs, 'outputs', binary, cursor, true);
  if (cursor.offset !== binary.byteLength) throw tensorError(`${binary.byteLength - cursor.offset} bytes of binary data that no output claims`);
  return {
    model_name: json.model_name,
    ...(modelVersion === undefined ? {} : { model_version: modelVersion }),
    ...(id === undefined ? {} : { id }),
    ...(parameters === undefined ? {} : { parameters }),
    outputs,
  };
}

export function parseModelMetadata(json: unknown): ModelMetadata {
  if (!isObject(json)) throw schema('model metadata', 'must be a JSON object');
  if (typeof json.name !== 'string') throw schema('name', 'must be a string');
  const list = (value: unknown, field: string): TensorMetadata[] => {
    // MLServer leaves inputs and outputs out (or null) when the model's settings do not declare them.
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw schema(field, 'must be an array');
    return value.map((t: unknown, i) => {
      if (!isObject(t) || typeof t.name !== 'string') throw schema(`${field}[${i}].name`, 'must be a string');
      return { name: t.name, datatype: parseDatatype(t.datatype, `${field}[${i}].datatype`), shape: parseShape(t.shape, `${field}[${i}].shape`, true) };
    });
  };
  return {
    name: json.name,
    ...(Array.isArray(json.versions) ? { versions: json.versions.filter((v): v is string => typeof v === 'string') } : {}),
    platform: typeof json.platform === 'string' ? json.platform : '',
    inputs: list(json.inputs, 'inputs'),
    outputs: list(json.outputs, 'outputs'),
  };
}

/** Tensors as JSON objects, with binary ones' bytes appended in order. */
function encodeTensors(tensors: readonly Tensor[], binary: (t: Tensor) => boolean, chunks: Uint8Array[]): Record<string, unknown>[] {
  return tensors.map((t) => {
    const base = { name: t.name, shape: t.shape, datatype: t.datatype };
    if (binary(t)) {
      chunks.push(t.data);
      return { ...base, parameters: { ...t.parameters, binary_data_size: t.data.byteLength } };
    }
    return { ...base, ...(t.parameters === undefined ? {} : { parameters: t.parameters }), data: binaryToJson(t) };
  });
}

function body(json: Record<string, unknown>, chunks: readonly Uint8Array[]): EncodedBody {
  const header = Buffer.from(JSON.stringify(json), 'utf8');
  if (chunks.length === 0) return { body: header };
  return { body: Buffer.concat([header, ...chunks]), headerLength: header.byteLength };
}

/** A request whose inputs go as binary data (binaryInputs) or JSON, asking for the given outputs. */
export function encodeInferRequest(request: InferRequest, options: { binaryInputs?: boolean } = {}): EncodedBody {
  const chunks: Uint8Array[] = [];
  const inputs = encodeTensors(request.inputs, () => options.binaryInputs ?? true, chunks);
  return body(
    {
      ...(request.id === undefined ? {} : { id: request.id }),
      ...(request.parameters === undefined ? {} : { parameters: request.parameters }),
      inputs,
      // An output not asked for as binary carries no parameter at all: a server without the extension (MLServer) sees a plain request.
      ...(request.outputs === undefined
        ? {}
        : { outputs: request.outputs.map((o) => (o.binary ? { name: o.name, parameters: { binary_data: true } } : { name: o.name })) }),
    },
    chunks,
  );
}

export function encodeInferResponse(response: InferResponse, binary: (t: Tensor) => boolean): EncodedBody {
  const chunks: Uint8Array[] = [];
  const outputs = encodeTensors(response.outputs, binary, chunks);
  return body(
    {
      model_name: response.model_name,
      ...(response.model_version === undefined ? {} : { model_version: response.model_version }),
      ...(response.id === undefined ? {} : { id: response.id }),
      ...(response.parameters === undefined ? {} : { parameters: response.parameters }),
      outputs,
    },
    chunks,
  );
}
