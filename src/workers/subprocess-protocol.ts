/**
 * The subprocess worker protocol (docs/worker-protocol.md): length-prefixed
 * MessagePack on the worker's stdin (frames) and stdout (results), a
 * handshake with a protocol version, and one frame in flight at a time, so a
 * slow worker makes the supplier drop, never a pipe queue.
 *
 * This module holds the message shapes, their validation (anything a worker
 * writes that is not the protocol is malformed output, named precisely), and
 * `serveSubprocessWorker`, for writing a worker in Node.
 */
import { decode, encode } from '@msgpack/msgpack';
import { dirname } from 'node:path';
import { encodeFrame, LengthPrefixSplitter, type FrameFormat } from '../ipc/index.js';
import { readFrame } from '../shm/index.js';
import type { PixelFormat } from '../supplier/index.js';

export const WORKER_PROTOCOL_VERSION = 1;
/** Default largest message either side accepts: a 4K RGBA frame fits. */
export const DEFAULT_WORKER_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export type Transport = 'pipe' | 'shm';

/** Supervisor → worker, first message. */
export interface HelloRequest {
  readonly type: 'hello';
  readonly protocol: number;
  readonly worker_id: string;
  /** What the supervisor offers; the worker picks one. */
  readonly transports: readonly Transport[];
}

/** Supervisor → worker, one at a time: the next is sent once the result for this one arrived. */
export interface FrameMessage {
  readonly type: 'frame';
  readonly seq: number;
  readonly stream_id: string;
  /** Monotonic capture time, ms (the supervisor's clock; for ordering and age, not wall time). */
  readonly capture_time: number;
  /** Wall-clock capture time, ms since the epoch. */
  readonly wall_time: number;
  readonly width: number;
  readonly height: number;
  readonly format: PixelFormat;
  /** pipe transport: the pixels. */
  readonly data?: Uint8Array;
  /** shm transport: the frame store file and the frame in it (docs/protocol.md, "The frame store"). */
  readonly frame_reference?: string;
  readonly frame_id?: number;
}

/** Worker → supervisor, first message. */
export interface HelloReply {
  readonly type: 'hello';
  readonly protocol: number;
  readonly transport: Transport;
}

/** Worker → supervisor, one per frame, with the frame's seq. */
export interface ResultMessage {
  readonly type: 'result';
  readonly seq: number;
  readonly output: unknown;
}

export function encodeWorkerMessage(message: object): Buffer {
  return encodeFrame(encode(message, { ignoreUndefined: true }));
}

export function decodeWorkerBody(body: Uint8Array): unknown {
  return decode(body);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const show = (v: unknown): string => {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? `<${x.byteLength} bytes>` : x))?.slice(0, 200) ?? String(v);
  } catch {
    return String(v);
  }
};

/** The worker's hello, checked against what was offered; a string says what is wrong. */
export function checkHelloReply(message: unknown, offered: readonly Transport[]): HelloReply | string {
  if (!isObject(message) || message.type !== 'hello') return `expected a hello message first, got ${show(message)}`;
  if (message.protocol !== WORKER_PROTOCOL_VERSION) return `speaks protocol ${show(message.protocol)}; this supervisor speaks ${WORKER_PROTOCOL_VERSION}`;
  if (typeof message.transport !== 'string' || !(offered as readonly string[]).includes(message.transport)) {
    return `chose transport ${show(message.transport)}; offered: ${offered.join(', ')}`;
  }
  return { type: 'hello', protocol: WORKER_PROTOCOL_VERSION, transport: message.transport as Transport };
}

/** A result for the frame in flight; a string says what is wrong. */
export function checkResult(message: unknown, seq: number): ResultMessage | string {
  if (!isObject(message) || message.type !== 'result') return `expected a result for frame ${seq}, got ${show(message)}`;
  if (message.seq !== seq) return `answered frame ${show(message.seq)} while frame ${seq} was in flight`;
  return { type: 'result', seq, output: message.output ?? null };
}

/** Any message while nothing is outstanding (no hello asked for, no frame in flight). */
export function checkUnsolicited(message: unknown): string {
  const what = isObject(message) && message.type === 'result' ? `a result for frame ${show(message.seq)}` : show(message);
  return `sent ${what} while no frame was outstanding`;
}

/** What a Node subprocess worker's handler gets. `data` is valid until the handler returns (or its promise settles): copy what you keep. */
export interface SubprocessFrame {
  readonly seq: number;
  readonly streamId: string;
  readonly captureTime: number;
  readonly wallTime: number;
  readonly width: number;
  readonly height: number;
  readonly format: PixelFormat;
  readonly data: Uint8Array;
}

/**
 * Runs this process as a subprocess worker: handshake on stdin/stdout, then
 * one handler call per frame, its return value sent back as the result.
 * Resolves when stdin ends (the supervisor's end of stream).
 */
export async function serveSubprocessWorker(
  handler: (frame: SubprocessFrame) => unknown,
  options: { transport?: Transport; input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream } = {},
): Promise<void> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const splitter = new LengthPrefixSplitter({ maxMessageBytes: DEFAULT_WORKER_MAX_MESSAGE_BYTES });
  let transport: Transport | null = null;
  // One frame at a time, and the handler is done with it before the next: its buffer is reused
  // (a fresh multi-megabyte buffer per frame costs a page fault per 4 KiB).
  let spare: Buffer | null = null;
  const reuse = (n: number): Buffer => (spare !== null && spare.byteLength === n ? spare : (spare = Buffer.allocUnsafe(n)));
  const send = (message: object): void => void output.write(encodeWorkerMessage(message));
  for await (const chunk of input) {
    for (const framed of splitter.push(chunk as Buffer)) {
      if (!framed.ok) throw framed.error;
      const message = decodeWorkerBody(framed.body) as HelloRequest | FrameMessage;
      if (message.type === 'hello') {
        transport = options.transport !== undefined && message.transports.includes(options.transport) ? options.transport : (message.transports[0] ?? 'pipe');
        send({ type: 'hello', protocol: WORKER_PROTOCOL_VERSION, transport });
        continue;
      }
      const data =
        transport === 'shm'
          ? readFrame(
              message.frame_reference!,
              { frame_id: message.frame_id!, width: message.width, height: message.height, format: message.format.toUpperCase() as FrameFormat },
              dirname(message.frame_reference!),
              undefined,
              reuse,
            ).data
          : message.data!;
      const out = await handler({
        seq: message.seq,
        streamId: message.stream_id,
        captureTime: message.capture_time,
        wallTime: message.wall_time,
        width: message.width,
        height: message.height,
        format: message.format,
        data,
      });
      send({ type: 'result', seq: message.seq, output: out ?? null });
    }
  }
}
