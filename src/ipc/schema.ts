/**
 * The protocol's messages (inference requests and their responses)
 * as JSON Schemas, validated with ajv. The schemas are exported so that
 * docs/protocol.md and other languages' clients use the very same definition.
 *
 * bbox is [x1, y1, x2, y2], normalised to 0–1 of the frame's width and height,
 * origin top left.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { MAX_FRAME_DIMENSION } from '../supplier/index.js';
import { FRAME_FORMATS, IpcError, MAX_AGE_BUDGET_MS, type FrameFormat, type FrameMetadata } from '../internal/ipc-errors.js';

/**
 * The protocol's version, announced in every pong (`protocol`). 1: the first
 * requests, a FIFO per server. 2: one waiting slot per camera, served
 * round-robin (ERR_SUPERSEDED), the frame read when a model thread takes the
 * request, `frame_select: "newest"`, `max_age_ms` (ERR_FRAME_STALE), and
 * per-camera figures in the pong. Version-1 requests are valid version-2
 * requests; a version-1 server ignores the new fields (it serves the named
 * frame_id, with no age budget). 3: `urgent`, a camera's waiting request
 * served before every waiting request not so marked (a motion onset, ADR
 * 0082), and an `urgent` count in the pong's per-camera figures; a version-2
 * server ignores the field and serves the request in its turn.
 */
export const MODEL_PROTOCOL_VERSION = 3;

export { FRAME_FORMATS, MAX_AGE_BUDGET_MS, type FrameFormat, type FrameMetadata };

export interface InferenceRequest {
  readonly type?: 'infer';
  /** Echoed in the response, for clients that match answers by id. */
  readonly request_id?: string | number;
  readonly frame_reference: string;
  readonly frame_metadata: FrameMetadata;
  readonly camera_id: string;
  readonly model_id: string;
  /** Seconds since the epoch, with a fraction (e.g. 1735598400.123). */
  readonly timestamp: number;
  /**
   * Protocol 2. "exact" (the default): the frame frame_metadata.frame_id
   * names. "newest": the store's newest complete frame when a model thread
   * takes the request, frame_metadata.frame_id being the oldest acceptable;
   * the answer's frame_id names the frame used.
   */
  readonly frame_select?: 'exact' | 'newest';
  /** Protocol 2. A frame older than this (from its capture time in the store) when taken is answered ERR_FRAME_STALE, without inference. */
  readonly max_age_ms?: number;
  /**
   * Protocol 3. The camera's request goes before every waiting request not so marked (among urgent ones, in the
   * order their cameras started waiting); a newer request of the camera that replaces it keeps the urgency. Never
   * interrupts a running inference. For the first frame after a still spell (a motion onset), at most: a camera
   * whose every request is urgent only makes itself first, and starves the others as often as it has one waiting.
   */
  readonly urgent?: boolean;
  /**
   * A hint, of any protocol version: the frame is a crop of a second look around a person just lost (ADR 0169,
   * 0186, 0187). A handler with a look of its own (the person handler's MoveNet Thunder) may answer it with that, and
   * says so in the answer's metadata (`look`); any other answers it as any frame, as a server that does not know
   * the field does (unknown fields are ignored), so the answer is right from either.
   */
  readonly look?: boolean;
}

export interface PingRequest {
  readonly type: 'ping';
  readonly request_id?: string | number;
}

export interface Detection {
  readonly class_id: number;
  readonly class_name: string;
  readonly confidence: number;
  /** [x1, y1, x2, y2], normalised 0–1, origin top left. */
  readonly bbox: readonly [number, number, number, number];
  /** Optional keypoints (pose models): [x, y, score], normalised like bbox. */
  readonly keypoints?: readonly (readonly [number, number, number])[];
  /** Optional, with 17 keypoints (the person model): the person's posture, upright, sitting, lying or unknown (ADR 0132), and how sure, 0–1. */
  readonly posture?: string;
  readonly posture_score?: number;
}

export interface WireError {
  readonly code: string;
  readonly message: string;
  /** ERR_SCHEMA: JSON path of the offending field. */
  readonly field?: string;
}

export interface InferenceResponse {
  readonly request_id?: string | number;
  readonly model_id: string;
  readonly camera_id: string | null;
  readonly frame_id: number | null;
  readonly detections: readonly Detection[];
  readonly metadata: { readonly inference_time_ms: number; readonly [key: string]: unknown };
  readonly error: WireError | null;
}

/** One camera's figures in a pong (protocol 2): since the server started, times over its recent requests. */
export interface PongCameraStats {
  /** Requests given to the handler. */
  readonly served: number;
  /** Requests replaced by a newer one of the camera while they waited (ERR_SUPERSEDED). */
  readonly superseded: number;
  /** Requests whose frame was older than their max_age_ms when taken (ERR_FRAME_STALE). */
  readonly stale: number;
  /** Protocol 3 (absent from a version-2 server): of the requests served, those taken ahead of others by urgency. */
  readonly urgent?: number;
  /** From reading the request to a model thread taking it, ms; null before the first. */
  readonly wait_ms_p50: number | null;
  readonly wait_ms_p99: number | null;
  /** The handler's time alone, ms. */
  readonly inference_ms_p50: number | null;
  readonly inference_ms_p99: number | null;
}

export interface PongResponse {
  readonly type: 'pong';
  readonly request_id?: string | number;
  readonly model_id: string;
  readonly handler: string;
  readonly uptime_s: number;
  readonly connections: number;
  /** Protocol 2 (absent from a version-1 server): the fields below; 3 from a server that serves `urgent` requests first. */
  readonly protocol?: number;
  /** Inferences the server runs at once (its handler's model threads). */
  readonly concurrency?: number;
  /** Inferences running now, and cameras with a request waiting. */
  readonly running?: number;
  readonly waiting?: number;
  readonly cameras?: Readonly<Record<string, PongCameraStats>>;
  /**
   * The long side, in pixels, of the frames the handler reads to full effect (it fits every frame into its
   * network's input): a client may send frames this size instead of larger ones. Absent: every pixel may count.
   */
  readonly frame_long_side?: number;
  /** The server process's memory, bytes (Node's figures: where a growth is, heap, buffers or native). */
  readonly memory?: PongMemory;
  /**
   * Frames one model call takes together at most (docs/protocol.md, "Batches"): 1, per frame; more, the server batches
   * every waiting request up to this many whenever its model is free, never waiting for more. Absent: 1.
   */
  readonly max_batch?: number;
  readonly error: null;
}

export interface PongMemory {
  readonly rss: number;
  readonly heap_total: number;
  readonly heap_used: number;
  readonly external: number;
  readonly array_buffers: number;
}

const id = { type: ['string', 'integer'] } as const;

export const INFERENCE_REQUEST_SCHEMA = {
  $id: 'https://framesupplier.dev/schemas/inference-request.json',
  type: 'object',
  required: ['frame_reference', 'frame_metadata', 'camera_id', 'model_id', 'timestamp'],
  properties: {
    type: { const: 'infer' },
    request_id: id,
    frame_reference: { type: 'string', minLength: 1, maxLength: 4096 },
    frame_metadata: {
      type: 'object',
      required: ['frame_id', 'width', 'height', 'format'],
      properties: {
        frame_id: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        width: { type: 'integer', minimum: 1, maximum: MAX_FRAME_DIMENSION },
        height: { type: 'integer', minimum: 1, maximum: MAX_FRAME_DIMENSION },
        format: { enum: FRAME_FORMATS },
      },
    },
    camera_id: { type: 'string', minLength: 1, maxLength: 256 },
    model_id: { type: 'string', minLength: 1, maxLength: 256 },
    timestamp: { type: 'number' },
    frame_select: { enum: ['exact', 'newest'] },
    max_age_ms: { type: 'number', exclusiveMinimum: 0, maximum: MAX_AGE_BUDGET_MS },
    urgent: { type: 'boolean' },
    look: { type: 'boolean' },
  },
} as const;

export const PING_REQUEST_SCHEMA = {
  $id: 'https://framesupplier.dev/schemas/ping-request.json',
  type: 'object',
  required: ['type'],
  properties: { type: { const: 'ping' }, request_id: id },
} as const;

const number01 = { type: 'number', minimum: 0, maximum: 1 } as const;
export const INFERENCE_RESPONSE_SCHEMA = {
  $id: 'https://framesupplier.dev/schemas/inference-response.json',
  type: 'object',
  required: ['model_id', 'camera_id', 'frame_id', 'detections', 'metadata', 'error'],
  properties: {
    request_id: id,
    model_id: { type: 'string' },
    camera_id: { type: ['string', 'null'] },
    frame_id: { type: ['integer', 'null'] },
    detections: {
      type: 'array',
      items: {
        type: 'object',
        required: ['class_id', 'class_name', 'confidence', 'bbox'],
        properties: {
          class_id: { type: 'integer', minimum: 0 },
          class_name: { type: 'string' },
          confidence: number01,
          bbox: { type: 'array', items: number01, minItems: 4, maxItems: 4 },
          keypoints: { type: 'array', items: { type: 'array', items: { type: 'number' }, minItems: 3, maxItems: 3 } },
        },
      },
    },
    metadata: { type: 'object', required: ['inference_time_ms'], properties: { inference_time_ms: { type: 'number', minimum: 0 } } },
    error: {
      oneOf: [
        { type: 'null' },
        { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } },
      ],
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
const validateRequest = ajv.compile<InferenceRequest>(INFERENCE_REQUEST_SCHEMA);
const validatePing = ajv.compile<PingRequest>(PING_REQUEST_SCHEMA);
const validateResponse = ajv.compile<InferenceResponse>(INFERENCE_RESPONSE_SCHEMA);

function schemaError(errors: ErrorObject[] | null | undefined, what: string): IpcError {
  const e = errors?.[0];
  if (e === undefined) return new IpcError('ERR_SCHEMA', `${what} is not valid`, { field: '' });
  const missing = e.keyword === 'required' ? `/${String((e.params as { missingProperty: string }).missingProperty)}` : '';
  const field = `${e.instancePath}${missing}`;
  const name = field.length === 0 ? what : field.slice(1).replaceAll('/', '.');
  const allowed = e.keyword === 'enum' ? `: one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` : '';
  return new IpcError('ERR_SCHEMA', `${name} ${missing ? 'is required' : (e.message ?? 'is not valid')}${allowed}`, { field: name });
}

export type ParsedRequest = { kind: 'infer'; request: InferenceRequest } | { kind: 'ping'; request: PingRequest };

/** Checks a decoded message against the request schemas; throws IpcError ERR_SCHEMA naming the field. */
export function parseRequest(message: unknown): ParsedRequest {
  if (message !== null && typeof message === 'object' && (message as { type?: unknown }).type === 'ping') {
    if (validatePing(message)) return { kind: 'ping', request: message };
    throw schemaError(validatePing.errors, 'ping request');
  }
  if (validateRequest(message)) return { kind: 'infer', request: message };
  throw schemaError(validateRequest.errors, 'request');
}

/** Checks a response (the client does, so a broken server is reported, not trusted). */
export function parseResponse(message: unknown): InferenceResponse | PongResponse {
  if (message !== null && typeof message === 'object' && (message as { type?: unknown }).type === 'pong') return message as PongResponse;
  if (validateResponse(message)) return message;
  throw schemaError(validateResponse.errors, 'response');
}
