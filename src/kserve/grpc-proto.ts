/**
 * The KServe v2 gRPC service as both of our sides see it (ADR 0029): the
 * proto (grpc_predict_v2.proto) loaded once at run time with
 * @grpc/proto-loader, the gRPC status each of our codes is answered with and
 * the code a status (or our trailer) means, and the protocol's messages
 * converted to and from ours (protocol.ts), checked the same way as REST's.
 * Inputs come as raw contents or typed ones; outputs go as raw contents, as
 * Triton's do. The server (grpc-server.ts) and the client (grpc-client.ts)
 * use it; neither knows the other.
 */
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import { KServeError, KSERVE_ERROR_CODES, type KServeErrorCode } from './errors.js';
import {
  checkedTensor,
  datatypeOf,
  encodeBytesElements,
  jsonToBinary,
  type Datatype,
  type InferRequest,
  type InferResponse,
  type Parameters,
  type Tensor,
} from './protocol.js';

/** The proto ships in the package's src/ (package.json "files"); dist/src/kserve/ is two levels below the package. */
export const PROTO_PATH = fileURLToPath(new URL('../../../src/kserve/grpc_predict_v2.proto', import.meta.url));

/** The trailer our server puts its code in. */
export const CODE_TRAILER = 'framesupplier-code';

type ServiceClientConstructor = grpc.ServiceClientConstructor;
let grpcLibrary: Promise<typeof grpc> | null = null;
let service: Promise<ServiceClientConstructor> | null = null;

/**
 * grpc-js, loaded at the first gRPC client call or server start: with protobufjs and the proto loader it is about 3.5
 * MB of heap, which a system or model server that never speaks gRPC (most) does not carry.
 */
export function loadGrpc(): Promise<typeof grpc> {
  grpcLibrary ??= import('@grpc/grpc-js');
  return grpcLibrary;
}

/** The GRPCInferenceService definition, loaded once. */
export function inferenceService(): Promise<ServiceClientConstructor> {
  service ??= (async () => {
    const [grpcJs, protoLoader] = await Promise.all([loadGrpc(), import('@grpc/proto-loader')]);
    const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: Number, defaults: true, arrays: true, objects: true, oneofs: true });
    const loaded = grpcJs.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: ServiceClientConstructor } };
    return loaded.inference.GRPCInferenceService;
  })();
  return service;
}

/** The service's methods with their protobuf (de)serializers, as grpc-js uses them (for tests of the wire form). */
export async function inferenceMethods(): Promise<grpc.ServiceDefinition> {
  return (await inferenceService()).service;
}

/**
 * gRPC's status codes, the protocol's own numbers (grpc-js's `status`, checked against it by the compiler), named here
 * so that what this module says about statuses needs no grpc-js loaded.
 */
const STATUS: { readonly [K in keyof typeof grpc.status]: (typeof grpc.status)[K] } = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};
const STATUS_NAMES: ReadonlyMap<number, string> = new Map(
  (Object.keys(STATUS) as (keyof typeof STATUS)[]).map((name): [number, string] => [STATUS[name], name]),
);

/** The gRPC status each code is answered with. */
export const GRPC_STATUS: Readonly<Record<KServeErrorCode, grpc.status>> = {
  ERR_SCHEMA: STATUS.INVALID_ARGUMENT,
  ERR_INVALID_JSON: STATUS.INVALID_ARGUMENT,
  ERR_KSERVE_TENSOR: STATUS.INVALID_ARGUMENT,
  ERR_KSERVE_MODEL: STATUS.INVALID_ARGUMENT,
  ERR_KSERVE_REJECTED: STATUS.INVALID_ARGUMENT,
  ERR_UNKNOWN_MODEL: STATUS.NOT_FOUND,
  ERR_KSERVE_NOT_FOUND: STATUS.NOT_FOUND,
  ERR_MESSAGE_TOO_LARGE: STATUS.RESOURCE_EXHAUSTED,
  ERR_KSERVE_JSON_TOO_LARGE: STATUS.RESOURCE_EXHAUSTED,
  ERR_KSERVE_BUSY: STATUS.RESOURCE_EXHAUSTED,
  ERR_KSERVE_UNAUTHORIZED: STATUS.UNAUTHENTICATED,
  ERR_HANDLER_FAILED: STATUS.INTERNAL,
  ERR_KSERVE_RESPONSE: STATUS.INTERNAL,
  ERR_KSERVE_REMOTE: STATUS.INTERNAL,
  ERR_SHUTTING_DOWN: STATUS.UNAVAILABLE,
  ERR_SERVER_UNAVAILABLE: STATUS.UNAVAILABLE,
  ERR_SERVER_CLOSED: STATUS.UNAVAILABLE,
  ERR_CONNECTION_LOST: STATUS.UNAVAILABLE,
  ERR_TIMEOUT: STATUS.DEADLINE_EXCEEDED,
  ERR_KSERVE_TOKEN_REQUIRED: STATUS.INTERNAL,
};

/** A stock server's status as a code (ADR 0029), unless the trailer names one of ours. */
const STATUS_CODES: Readonly<Partial<Record<grpc.status, KServeErrorCode>>> = {
  [STATUS.INVALID_ARGUMENT]: 'ERR_KSERVE_REJECTED',
  [STATUS.UNIMPLEMENTED]: 'ERR_KSERVE_REJECTED',
  [STATUS.FAILED_PRECONDITION]: 'ERR_KSERVE_REJECTED',
  [STATUS.NOT_FOUND]: 'ERR_UNKNOWN_MODEL',
  [STATUS.RESOURCE_EXHAUSTED]: 'ERR_KSERVE_BUSY',
  [STATUS.UNAVAILABLE]: 'ERR_SERVER_UNAVAILABLE',
  [STATUS.CANCELLED]: 'ERR_CONNECTION_LOST',
  [STATUS.DEADLINE_EXCEEDED]: 'ERR_TIMEOUT',
  [STATUS.UNAUTHENTICATED]: 'ERR_KSERVE_UNAUTHORIZED',
  [STATUS.PERMISSION_DENIED]: 'ERR_KSERVE_UNAUTHORIZED',
};

export function errorOfStatus(where: string, error: grpc.ServiceError): KServeError {
  const trailer = error.metadata?.get(CODE_TRAILER)[0];
  let code: KServeErrorCode = STATUS_CODES[error.code] ?? 'ERR_KSERVE_REMOTE';
  if (typeof trailer === 'string' && (KSERVE_ERROR_CODES as readonly string[]).includes(trailer)) code = trailer as KServeErrorCode;
  // grpc-js's refusal of a message over a receive limit (the server's of our request, or ours of its answer): a size, not a busy server.
  else if (error.code === STATUS.RESOURCE_EXHAUSTED && /larger than max/i.test(error.details)) code = 'ERR_MESSAGE_TOO_LARGE';
  return new KServeError(code, `${where} answered ${STATUS_NAMES.get(error.code) ?? error.code}: ${error.details.slice(0, 500)}`, { cause: error });
}

// ---------------------------------------------------------------- messages

interface GrpcParameter {
  readonly parameter_choice?: string;
  readonly bool_param?: boolean;
  readonly int64_param?: number;
  readonly string_param?: string;
  readonly double_param?: number;
}
type GrpcParameters = Record<string, GrpcParameter>;

interface GrpcTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly parameters?: GrpcParameters;
  readonly contents?: Record<string, readonly unknown[]> | null;
}

export interface GrpcInferRequest {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly parameters: GrpcParameters;
  readonly inputs: readonly GrpcTensor[];
  readonly outputs: readonly { readonly name: string; readonly parameters?: GrpcParameters }[];
  readonly raw_input_contents: readonly Uint8Array[];
}

export interface GrpcInferResponse {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly parameters: GrpcParameters;
  readonly outputs: readonly GrpcTensor[];
  readonly raw_output_contents: readonly Uint8Array[];
}

export function fromGrpcParameters(map: GrpcParameters | undefined | null): Parameters | undefined {
  if (map === undefined || map === null) return undefined;
  const out: Record<string, string | number | boolean> = {};
  for (const [key, p] of Object.entries(map)) {
    const choice = p.parameter_choice as keyof GrpcParameter | undefined;
    const value = choice === undefined ? undefined : p[choice];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

export function toGrpcParameters(parameters: Parameters | undefined): GrpcParameters {
  const out: GrpcParameters = {};
  for (const [key, v] of Object.entries(parameters ?? {})) {
    if (typeof v === 'boolean') out[key] = { bool_param: v };
    else if (typeof v === 'string') out[key] = { string_param: v };
    else if (Number.isSafeInteger(v)) out[key] = { int64_param: v };
    else if (Number.isFinite(v)) out[key] = { double_param: v };
  }
  return out;
}

/** The typed contents field of each datatype (FP16 has none). */
const CONTENTS: Readonly<Partial<Record<Datatype, string>>> = {
  BOOL: 'bool_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** Tensors of a message: each one's raw contents (in order) or typed contents, checked. */
function tensorsOf(tensors: readonly GrpcTensor[], raw: readonly Uint8Array[], field: string): Tensor[] {
  if (tensors.length > 64) throw new KServeError('ERR_SCHEMA', `${field} has more than 64 tensors`);
  if (raw.length > 0 && raw.length !== tensors.length)
    throw new KServeError('ERR_KSERVE_TENSOR', `${raw.length} raw contents for ${tensors.length} ${field}: one each, in order`);
  return tensors.map((t, i) => {
    const f = `${field}[${i}]`;
    const parameters = fromGrpcParameters(t.parameters);
    let data = raw[i];
    if (data === undefined) {
      const datatype = datatypeOf(t.datatype, `${f}.datatype`);
      const name = CONTENTS[datatype];
      if (name === undefined) throw new KServeError('ERR_KSERVE_TENSOR', `${f}: ${datatype} has no typed contents: send it as raw contents`);
      const values = t.contents?.[name] ?? [];
      data =
        datatype === 'BYTES'
          ? encodeBytesElements(values.map((v) => (v instanceof Uint8Array ? v : Buffer.from(String(v)))))
          : jsonToBinary(t.name, datatype, t.shape, values);
    }
    return checkedTensor(t, parameters, data, f);
  });
}

export function requestFromGrpc(message: GrpcInferRequest): InferRequest {
  const parameters = fromGrpcParameters(message.parameters);
  return {
    ...(message.id === '' ? {} : { id: message.id }),
    ...(parameters === undefined ? {} : { parameters }),
    inputs: tensorsOf(message.inputs, message.raw_input_contents, 'inputs'),
    ...(message.outputs.length === 0 ? {} : { outputs: message.outputs.map((o) => ({ name: o.name, binary: true })) }),
  };
}

export function responseFromGrpc(message: GrpcInferResponse): InferResponse {
  const parameters = fromGrpcParameters(message.parameters);
  return {
    model_name: message.model_name,
    ...(message.model_version === '' ? {} : { model_version: message.model_version }),
    ...(message.id === '' ? {} : { id: message.id }),
    ...(parameters === undefined ? {} : { parameters }),
    outputs: tensorsOf(message.outputs, message.raw_output_contents, 'outputs'),
  };
}

/** A request as a ModelInferRequest message: inputs as raw contents, outputs by name. */
export function requestToGrpc(request: InferRequest, model: string, version = ''): GrpcInferRequest {
  // Outputs always come raw over gRPC: the REST extension's binary parameters mean nothing here.
  const { binary_data_output: _, ...parameters } = request.parameters ?? {};
  return {
    model_name: model,
    model_version: version,
    id: request.id ?? '',
    parameters: toGrpcParameters(parameters),
    inputs: request.inputs.map(tensorToGrpc),
    outputs: (request.outputs ?? []).map((o) => ({ name: o.name })),
    raw_input_contents: request.inputs.map((t) => t.data),
  };
}

export function tensorToGrpc(t: Tensor): Omit<GrpcTensor, 'contents'> {
  return { name: t.name, datatype: t.datatype, shape: t.shape, parameters: toGrpcParameters(t.parameters) };
}
