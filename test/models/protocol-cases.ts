/**
 * One table of the model-server protocol's behaviour (docs/protocol.md), run
 * against every server implementation by protocol-cases.test.ts: the Node
 * server and the Python package's. A case says what a client sends, as raw
 * bytes or messages on one or more real connections, and what the protocol
 * says comes back: each answer's error code (and field), the frame it names,
 * and whether the server ends the connection. Cases are grouped by the server
 * flags they need (the same flags for both servers).
 */
import { openSync, closeSync, writeSync, writeFileSync, mkdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { encodeFrame, encodeMessage, MessageDecoder, type PongResponse } from '../../src/ipc/index.js';
import { FrameStoreWriter } from '../../src/shm/index.js';

export const WIDTH = 64;
export const HEIGHT = 48;
const NV12_BYTES = (WIDTH * HEIGHT * 3) / 2;
const HALF_NV12_BYTES = (WIDTH / 2) * (HEIGHT / 2) * 1.5;

/** What a case may ask of its server's frame store directory and socket. */
export interface CaseContext {
  readonly socket: string;
  readonly shmDir: string;
  /**
   * A store of `frames` NV12 frames (ids 1..frames, written now) in `slots` slots; the frames' wall time may be set.
   * `thenHalf`: that many NV12 frames of half the width and height written after them (the camera's other stream).
   */
  store(name: string, frames: number, options?: { slots?: number; wallTimeMs?: number; thenHalf?: number }): string;
  /** A store file written byte by byte, with one slot whose header says what `slot` gives (for corrupt slots). */
  rawStore(name: string, slot: { frameId: number; width: number; height: number; format: number; byteLength: number }): string;
}

export interface Expected {
  /** null: an answer without error. 'pong': a pong. */
  readonly code: string | null;
  readonly field?: string;
  readonly frameId?: number | null;
  readonly requestId?: number | string;
}

/** One connection's part of a case. */
export interface Conversation {
  /** The bytes to send, in writes of their own (the server may read them split anywhere). */
  readonly send: (ctx: CaseContext) => Buffer[];
  readonly expect: readonly Expected[] | ((ctx: CaseContext) => readonly Expected[]);
  /** Kept open until every conversation of the case is over (to hold a connection slot). */
  readonly hold?: boolean;
  /** The server ends the connection after its answers (framing lost, refusal). */
  readonly closed?: boolean;
  /**
   * When this conversation starts, as the server's pong shows it (ordering between connections: a camera's
   * request waits, another is taken). Without it, it starts once the previous conversation has its answers.
   */
  readonly when?: (pong: PongResponse) => boolean;
}

export interface ProtocolCase {
  readonly name: string;
  readonly conversations: readonly Conversation[];
  /** The request_ids of the answers without error, in their order of arrival across connections (fairness). */
  readonly arrival?: readonly string[];
}

/** A request for frame `frameId` of `reference`. */
export function request(reference: string, frameId: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    frame_reference: reference,
    frame_metadata: { frame_id: frameId, width: WIDTH, height: HEIGHT, format: 'NV12' },
    camera_id: 'camera_1',
    model_id: 'mock',
    timestamp: 1735598400.123,
    ...extra,
  };
}

const msg = (value: unknown): Buffer => encodeMessage(value);
const raw = (text: string | Buffer): Buffer => encodeFrame(Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'));
const length = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const ok = (frameId?: number, requestId?: number): Expected => ({
  code: null,
  ...(frameId === undefined ? {} : { frameId }),
  ...(requestId === undefined ? {} : { requestId }),
});
const schema = (field: string): Expected => ({ code: 'ERR_SCHEMA', field });

/** Requests pipelined on one connection, each its own camera (one camera's would supersede each other). */
const cams = (requests: Record<string, unknown>[]): Buffer[] => requests.map((r, i) => msg({ ...r, camera_id: `cam${i}` }));

/** A message split in two writes at `at`. */
function split(message: Buffer, at: number): Buffer[] {
  return [message.subarray(0, at), message.subarray(at)];
}

const missing = (name: string) => (ctx: CaseContext) => {
  const r = request(ctx.store('s', 1), 1);
  delete r[name];
  return [msg(r)];
};

/** Cases a server with default limits and an instant mock handler answers. */
export const PLAIN_CASES: readonly ProtocolCase[] = [
  {
    name: 'a ping is answered with a pong, request_id echoed',
    conversations: [{ send: () => [msg({ type: 'ping', request_id: 7 })], expect: [{ code: 'pong', requestId: 7 }] }],
  },
  {
    name: 'a request is answered with detections for its frame',
    conversations: [{ send: (c) => [msg(request(c.store('one', 3), 2, { request_id: 'a' }))], expect: [{ code: null, frameId: 2, requestId: 'a' }] }],
  },
  {
    name: 'framing: a ping split at every offset is read whole',
    conversations: [
      {
        send: () => {
          const m = msg({ type: 'ping', request_id: 1 });
          return Array.from({ length: m.length - 1 }, (_, i) => split(m, i + 1)).flat();
        },
        expect: Array.from({ length: msg({ type: 'ping', request_id: 1 }).length - 1 }, () => ({ code: 'pong' as const })),
      },
    ],
  },
  {
    name: 'framing: an inference request split at every offset is read whole',
    conversations: [
      {
        // One camera per copy: pipelined requests of one camera would supersede each other.
        send: (c) => {
          const m = (i: number) => msg(request(c.store('split', 1), 1, { camera_id: `s${String(i).padStart(4, '0')}` }));
          return Array.from({ length: m(0).length - 1 }, (_, i) => split(m(i), i + 1)).flat();
        },
        expect: (c) => Array.from({ length: msg(request(c.store('split', 1), 1, { camera_id: 's0000' })).length - 1 }, () => ok(1)),
      },
    ],
  },
  {
    name: 'a length of 0: ERR_BAD_LENGTH, connection ended',
    conversations: [{ send: () => [length(0)], expect: [{ code: 'ERR_BAD_LENGTH', frameId: null }], closed: true }],
  },
  {
    name: 'a length over the limit: ERR_MESSAGE_TOO_LARGE at once, connection ended',
    conversations: [{ send: () => [length(50 * 1024 * 1024)], expect: [{ code: 'ERR_MESSAGE_TOO_LARGE' }], closed: true }],
  },
  {
    name: 'requests read before a framing error are answered first',
    conversations: [
      { send: () => [msg({ type: 'ping', request_id: 1 }), length(0)], expect: [{ code: 'pong', requestId: 1 }, { code: 'ERR_BAD_LENGTH' }], closed: true },
    ],
  },
  {
    name: 'not JSON, not UTF-8, NaN: ERR_INVALID_JSON, and the connection goes on',
    conversations: [
      {
        send: () => [raw('{oops'), raw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), raw('NaN'), msg({ type: 'ping' })],
        expect: [{ code: 'ERR_INVALID_JSON' }, { code: 'ERR_INVALID_JSON' }, { code: 'ERR_INVALID_JSON' }, { code: 'pong' }],
      },
    ],
  },
  {
    name: 'ERR_SCHEMA names the first failure: not an object, each missing field, in order',
    conversations: [
      {
        send: (c) => [
          msg([1, 2]),
          msg('text'),
          msg(null),
          ...['frame_reference', 'frame_metadata', 'camera_id', 'model_id', 'timestamp'].flatMap((n) => missing(n)(c)),
        ],
        expect: [
          schema('request'),
          schema('request'),
          schema('request'),
          schema('frame_reference'),
          schema('frame_metadata'),
          schema('camera_id'),
          schema('model_id'),
          schema('timestamp'),
        ],
      },
    ],
  },
  {
    name: 'ERR_SCHEMA: a missing field is named before an invalid one; fields in the protocol order',
    conversations: [
      {
        send: (c) => {
          const ref = c.store('order', 1);
          const noCamera = request(ref, 1, { frame_reference: 5 });
          delete noCamera.camera_id;
          return [
            msg(noCamera),
            msg(request(ref, 1, { camera_id: '', model_id: '' })),
            msg(request(ref, 1, { type: 'infer', request_id: 1.5 })),
            msg(request(ref, 1, { type: 'detect' })),
            msg({ ...request(ref, 1), frame_metadata: [] }),
            msg({ ...request(ref, 1), frame_metadata: { frame_id: 1, width: 64, format: 'NV12' } }),
            msg({ ...request(ref, 1), frame_metadata: { frame_id: -1, width: 0, height: 48, format: 'NV12' } }),
            msg({ ...request(ref, 1), frame_metadata: { frame_id: 1, width: 64.5, height: 48, format: 'NV12' } }),
            msg({ ...request(ref, 1), frame_metadata: { frame_id: 1, width: 64, height: 16385, format: 'NV12' } }),
            msg({ ...request(ref, 1), frame_metadata: { frame_id: 1, width: 64, height: 48, format: 'nv12' } }),
            msg(request(ref, 1, { timestamp: '1' })),
            msg(request(ref, 1, { frame_reference: '' })),
            msg(request(ref, 1, { frame_select: 'oldest' })),
            msg(request(ref, 1, { max_age_ms: 0 })),
            msg(request(ref, 1, { max_age_ms: 86_400_001 })),
            msg(request(ref, 1, { max_age_ms: 0, urgent: 'yes' })),
            msg(request(ref, 1, { urgent: 1 })),
            msg({ type: 'ping', request_id: { a: 1 } }),
          ];
        },
        expect: [
          schema('camera_id'),
          schema('camera_id'),
          { ...schema('request_id'), frameId: 1 },
          schema('type'),
          { ...schema('frame_metadata'), frameId: null },
          schema('frame_metadata.height'),
          { ...schema('frame_metadata.frame_id'), frameId: null },
          schema('frame_metadata.width'),
          schema('frame_metadata.height'),
          schema('frame_metadata.format'),
          schema('timestamp'),
          schema('frame_reference'),
          schema('frame_select'),
          schema('max_age_ms'),
          schema('max_age_ms'),
          schema('max_age_ms'),
          schema('urgent'),
          schema('request_id'),
        ],
      },
    ],
  },
  {
    name: 'valid ids are echoed on errors, invalid ones are not; unknown fields are ignored',
    conversations: [
      {
        send: (c) =>
          cams([
            request(c.store('echo', 1), 1, { request_id: 12, model_id: 'other', extra: { x: 1 } }),
            request(c.store('echo', 1), 1, { request_id: 3, extra: true }),
          ]),
        expect: [{ code: 'ERR_UNKNOWN_MODEL', requestId: 12, frameId: 1 }, ok(1, 3)],
      },
    ],
  },
  {
    name: 'references outside the directory: ERR_REFERENCE_OUTSIDE, before saying whether they exist',
    conversations: [
      {
        send: (c) =>
          cams([
            request('relative/store.frames', 1),
            request('/etc/passwd', 1),
            request(`${c.shmDir}/../model.sock`, 1),
            request('/nonexistent-dir/x.frames', 1),
          ]),
        expect: [{ code: 'ERR_REFERENCE_OUTSIDE' }, { code: 'ERR_REFERENCE_OUTSIDE' }, { code: 'ERR_REFERENCE_OUTSIDE' }, { code: 'ERR_REFERENCE_OUTSIDE' }],
      },
    ],
  },
  {
    name: 'ERR_FRAME_NOT_FOUND: no store, frame 0, a frame not written yet, a file that is not a store',
    conversations: [
      {
        send: (c) => {
          const ref = c.store('nf', 2);
          const notStore = join(c.shmDir, 'not-a-store.frames');
          writeFileSync(notStore, Buffer.alloc(4096, 1));
          return cams([request(join(c.shmDir, 'missing.frames'), 1), request(ref, 0), request(ref, 3), request(ref, 99), request(notStore, 1)]);
        },
        expect: [
          { code: 'ERR_FRAME_NOT_FOUND' },
          { code: 'ERR_FRAME_NOT_FOUND', frameId: 0 },
          { code: 'ERR_FRAME_NOT_FOUND', frameId: 3 },
          { code: 'ERR_FRAME_NOT_FOUND', frameId: 99 },
          { code: 'ERR_FRAME_NOT_FOUND' },
        ],
      },
    ],
  },
  {
    name: 'a frame whose slot holds a newer one: ERR_FRAME_OVERWRITTEN',
    conversations: [
      {
        send: (c) => cams([request(c.store('ring', 5, { slots: 2 }), 1), request(c.store('ring2', 5, { slots: 2 }), 5)]),
        expect: [{ code: 'ERR_FRAME_OVERWRITTEN' }, ok(5)],
      },
    ],
  },
  {
    name: 'metadata that does not match the stored frame: ERR_SCHEMA on frame_metadata',
    conversations: [
      {
        send: (c) =>
          cams([
            { ...request(c.store('meta', 1), 1), frame_metadata: { frame_id: 1, width: 32, height: 48, format: 'NV12' } },
            { ...request(c.store('meta', 1), 1), frame_metadata: { frame_id: 1, width: 64, height: 48, format: 'GRAY' } },
          ]),
        expect: [schema('frame_metadata'), schema('frame_metadata')],
      },
    ],
  },
  {
    name: 'a slot that does not describe a frame it can hold: ERR_FRAME_CORRUPT',
    conversations: [
      {
        send: (c) =>
          cams([
            request(c.rawStore('bad-length', { frameId: 1, width: WIDTH, height: HEIGHT, format: 1, byteLength: NV12_BYTES - 1 }), 1),
            request(c.rawStore('bad-format', { frameId: 1, width: WIDTH, height: HEIGHT, format: 12, byteLength: NV12_BYTES }), 1),
            request(c.rawStore('too-long', { frameId: 1, width: WIDTH, height: HEIGHT, format: 8, byteLength: NV12_BYTES * 4 }), 1),
          ]),
        expect: [{ code: 'ERR_FRAME_CORRUPT' }, { code: 'ERR_FRAME_CORRUPT' }, { code: 'ERR_FRAME_CORRUPT' }],
      },
    ],
  },
  {
    name: 'max_age_ms: a frame older than the budget when taken is ERR_FRAME_STALE naming it; a fresh one is served',
    conversations: [
      {
        send: (c) =>
          cams([
            request(c.store('old', 2, { wallTimeMs: Date.now() - 60_000 }), 2, { max_age_ms: 1000, frame_select: 'newest' }),
            request(c.store('fresh', 1), 1, { max_age_ms: 30_000 }),
          ]),
        expect: [{ code: 'ERR_FRAME_STALE', frameId: 2 }, ok(1)],
      },
    ],
  },
  {
    name: 'frame_select newest: the newest complete frame when taken; none as new as frame_id is ERR_FRAME_NOT_FOUND',
    conversations: [
      {
        send: (c) => cams([request(c.store('newest', 6), 2, { frame_select: 'newest' }), request(c.store('newest', 6), 9, { frame_select: 'newest' })]),
        expect: [ok(6), { code: 'ERR_FRAME_NOT_FOUND' }],
      },
    ],
  },
  {
    name: "frame_select newest: frames of another size are passed over (the newest of the request's size and format); none left is ERR_FRAME_OVERWRITTEN",
    conversations: [
      {
        send: (c) =>
          cams([
            // Frames 1-3 of the request's size, then 4-5 half the size: frame 3 is the newest of its size.
            request(c.store('switched', 3, { thenHalf: 2 }), 2, { frame_select: 'newest' }),
            // Half the size asked about: frame 5.
            request(c.store('switched', 3, { thenHalf: 2 }), 4, {
              frame_select: 'newest',
              frame_metadata: { frame_id: 4, width: WIDTH / 2, height: HEIGHT / 2, format: 'NV12' },
            }),
            // Frames 1-2, then 3-6 half the size over every one of its 4 slots: none of the size asked about is left.
            request(c.store('switched-over', 2, { slots: 4, thenHalf: 4 }), 2, { frame_select: 'newest' }),
            // A frame there, of another size than the request says: the client's mistake, newest or exact.
            request(c.store('switched', 3, { thenHalf: 2 }), 5, { frame_select: 'newest' }),
            request(c.store('switched', 3, { thenHalf: 2 }), 5),
          ]),
        expect: [ok(3), ok(5), { code: 'ERR_FRAME_OVERWRITTEN' }, schema('frame_metadata'), schema('frame_metadata')],
      },
    ],
  },
  {
    name: 'pipelined requests of many cameras are answered in request order',
    conversations: [
      {
        send: (c) => {
          const ref = c.store('many', 4);
          return Array.from({ length: 20 }, (_, i) => msg(request(ref, 1 + (i % 4), { camera_id: `cam${i}`, request_id: i })));
        },
        expect: Array.from({ length: 20 }, (_, i) => ok(1 + (i % 4), i)),
      },
    ],
  },
];

/**
 * Cases for a server whose mock handler takes 600 ms (--delay-ms 600): supersede and fairness. They share one server,
 * whose turn order remembers each camera's last run: a case whose order depends on it names cameras of its own.
 */
export const SLOW_CASES: readonly ProtocolCase[] = [
  {
    name: "a camera's newer request supersedes its waiting one (ERR_SUPERSEDED), answers in request order",
    conversations: [
      {
        send: (c) => {
          const ref = c.store('sup', 4);
          return [1, 2, 3, 4].map((f) => msg(request(ref, f, { camera_id: 'flood', request_id: f })));
        },
        expect: [ok(1, 1), { code: 'ERR_SUPERSEDED', requestId: 2, frameId: 2 }, { code: 'ERR_SUPERSEDED', requestId: 3, frameId: 3 }, ok(4, 4)],
      },
    ],
  },
  {
    name: 'fairness (ADR 0172): the camera run least lately goes first; one that sends again keeps its place while waiting, goes behind once run',
    conversations: [
      { when: () => true, send: (c) => [msg(request(c.store('fair', 3), 1, { camera_id: 'A', request_id: 'A1' }))], expect: [ok(1)] },
      {
        when: (p) => p.running === 1,
        send: (c) => [msg(request(c.store('fair', 3), 2, { camera_id: 'A', request_id: 'A2' }))],
        expect: [{ code: 'ERR_SUPERSEDED' }],
      },
      { when: (p) => p.waiting === 1, send: (c) => [msg(request(c.store('fair', 3), 1, { camera_id: 'B', request_id: 'B1' }))], expect: [ok(1)] },
      { when: (p) => p.waiting === 2, send: (c) => [msg(request(c.store('fair', 3), 3, { camera_id: 'A', request_id: 'A3' }))], expect: [ok(3)] },
      {
        when: (p) => (p.cameras?.A?.served ?? 0) >= 2,
        send: (c) => [msg(request(c.store('fair', 3), 3, { camera_id: 'A', request_id: 'A4' }))],
        expect: [ok(3)],
      },
    ],
    arrival: ['A1', 'B1', 'A3', 'A4'],
  },
  {
    name: 'fairness (ADR 0172): a request refused when taken (stale) is no run: its camera stays ahead of one run since',
    conversations: [
      { when: () => true, send: (c) => [msg(request(c.store('ahead', 3), 1, { camera_id: 'S', request_id: 'S1' }))], expect: [ok(1)] },
      { when: (p) => p.running === 1, send: (c) => [msg(request(c.store('ahead', 3), 1, { camera_id: 'X', request_id: 'X1' }))], expect: [ok(1)] },
      {
        when: (p) => p.waiting === 1,
        send: (c) => [msg(request(c.store('ahead-old', 1, { wallTimeMs: Date.now() - 60_000 }), 1, { camera_id: 'S', request_id: 'S2', max_age_ms: 1000 }))],
        expect: [{ code: 'ERR_FRAME_STALE' }],
      },
      {
        when: (p) => (p.cameras?.S?.stale ?? 0) >= 1 && p.running === 0,
        send: (c) => [msg(request(c.store('ahead', 3), 1, { camera_id: 'busy', request_id: 'B1' }))],
        expect: [ok(1)],
      },
      { when: (p) => p.running === 1, send: (c) => [msg(request(c.store('ahead', 3), 2, { camera_id: 'X', request_id: 'X2' }))], expect: [ok(2)] },
      { when: (p) => p.waiting === 1, send: (c) => [msg(request(c.store('ahead', 3), 2, { camera_id: 'S', request_id: 'S3' }))], expect: [ok(2)] },
    ],
    arrival: ['S1', 'X1', 'B1', 'S3', 'X2'],
  },
  {
    name: "urgent (protocol 3): a camera's urgent request is served before the cameras already waiting, after the running one",
    conversations: [
      { when: () => true, send: (c) => [msg(request(c.store('urgent', 1), 1, { camera_id: 'urgent-busy', request_id: 'B1' }))], expect: [ok(1)] },
      { when: (p) => p.running === 1, send: (c) => [msg(request(c.store('urgent', 1), 1, { camera_id: 'urgent-A', request_id: 'A1' }))], expect: [ok(1)] },
      { when: (p) => p.waiting === 1, send: (c) => [msg(request(c.store('urgent', 1), 1, { camera_id: 'urgent-C', request_id: 'C1' }))], expect: [ok(1)] },
      {
        when: (p) => p.waiting === 2,
        send: (c) => [msg(request(c.store('urgent', 1), 1, { camera_id: 'urgent-U', request_id: 'U1', urgent: true }))],
        expect: [ok(1)],
      },
      {
        when: (p) => (p.cameras?.['urgent-C']?.served ?? 0) >= 1 && p.cameras?.['urgent-U']?.urgent === 1,
        send: () => [msg({ type: 'ping' })],
        expect: [{ code: 'pong' }],
      },
    ],
    arrival: ['B1', 'U1', 'A1', 'C1'],
  },
];

/** Cases for a server with short limits: --delay-ms 2000 --handler-timeout-ms 300 --partial-message-timeout-ms 300 --max-connections 2. */
export const LIMIT_CASES: readonly ProtocolCase[] = [
  {
    name: 'an inference over handlerTimeoutMs: ERR_TIMEOUT, the connection stays open',
    conversations: [
      {
        send: (c) => [msg(request(c.store('slow', 1), 1, { request_id: 1 })), msg({ type: 'ping', request_id: 2 })],
        expect: [
          { code: 'ERR_TIMEOUT', requestId: 1, frameId: 1 },
          { code: 'pong', requestId: 2 },
        ],
      },
    ],
  },
  {
    name: 'a message not completed within partialMessageTimeoutMs: ERR_TIMEOUT, connection ended',
    conversations: [{ send: () => [Buffer.from([0, 0, 0, 9, 0x7b])], expect: [{ code: 'ERR_TIMEOUT' }], closed: true }],
  },
  {
    name: 'over maxConnections: ERR_TOO_MANY_CONNECTIONS at once, no request read',
    conversations: [
      { send: () => [msg({ type: 'ping' }), msg({ type: 'ping' })], expect: [{ code: 'pong' }, { code: 'pong' }], hold: true },
      { send: () => [msg({ type: 'ping' })], expect: [{ code: 'pong' }], hold: true },
      { send: () => [msg({ type: 'ping' })], expect: [{ code: 'ERR_TOO_MANY_CONNECTIONS', frameId: null }], closed: true },
    ],
  },
];

export const SERVER_GROUPS: readonly { readonly flags: readonly string[]; readonly cases: readonly ProtocolCase[] }[] = [
  { flags: [], cases: PLAIN_CASES },
  { flags: ['--delay-ms', '600'], cases: SLOW_CASES },
  { flags: ['--delay-ms', '2000', '--handler-timeout-ms', '300', '--partial-message-timeout-ms', '300', '--max-connections', '2'], cases: LIMIT_CASES },
];

/** The context for one server: stores in its directory, made once per name. */
export function caseContext(socket: string, shmDir: string, writers: FrameStoreWriter[]): CaseContext {
  const made = new Map<string, string>();
  return {
    socket,
    shmDir,
    store(name, frames, options = {}) {
      const known = made.get(name);
      if (known !== undefined) return known;
      const writer = new FrameStoreWriter(name, { dir: shmDir, slots: options.slots ?? 8, slotBytes: NV12_BYTES });
      writers.push(writer);
      let reference = '';
      for (let i = 0; i < frames; i++) {
        reference = writer.write(new Uint8Array(NV12_BYTES).fill(i * 7), {
          width: WIDTH,
          height: HEIGHT,
          format: 'NV12',
          ...(options.wallTimeMs === undefined ? {} : { wallTimeMs: options.wallTimeMs }),
        }).frame_reference;
      }
      for (let i = 0; i < (options.thenHalf ?? 0); i++) {
        writer.write(new Uint8Array(HALF_NV12_BYTES).fill(i * 5), {
          width: WIDTH / 2,
          height: HEIGHT / 2,
          format: 'NV12',
        });
      }
      made.set(name, reference);
      return reference;
    },
    rawStore(name, slot) {
      mkdirSync(shmDir, { recursive: true });
      const slots = 2;
      const slotBytes = NV12_BYTES * 2;
      const file = Buffer.alloc(64 + slots * (64 + slotBytes));
      [0x53465346, 1, slots, slotBytes, 64, 64].forEach((v, i) => file.writeUInt32LE(v, i * 4));
      const at = 64 + (slot.frameId % slots) * (64 + slotBytes);
      file.writeUInt32LE(2, at);
      file.writeBigUInt64LE(BigInt(slot.frameId), at + 8);
      file.writeUInt32LE(slot.width, at + 16);
      file.writeUInt32LE(slot.height, at + 20);
      file.writeUInt32LE(slot.format, at + 24);
      file.writeUInt32LE(slot.byteLength, at + 28);
      file.writeDoubleLE(Date.now(), at + 32);
      const path = join(shmDir, `${name}.frames`);
      const fd = openSync(path, 'w', 0o600);
      writeSync(fd, file);
      closeSync(fd);
      return path;
    },
  };
}

/** One conversation on a real connection: its writes (each given its own turn of the event loop), then its answers until it has them all (and, if `closed`, until the server ends it). */
export async function converse(
  socketPath: string,
  writes: readonly Buffer[],
  expected: number,
  closed: boolean,
  onAnswer: (answer: Record<string, unknown>) => void,
): Promise<{ answers: Record<string, unknown>[]; ended: boolean; socket: Socket }> {
  const socket: Socket = connect(socketPath);
  const decoder = new MessageDecoder({ maxMessageBytes: 16 * 1024 * 1024 });
  const answers: Record<string, unknown>[] = [];
  let ended = false;
  socket.on('error', () => undefined);
  const finished = new Promise<void>((resolve) => {
    const check = () => {
      if (answers.length >= expected && (!closed || ended)) resolve();
    };
    socket.on('data', (chunk) => {
      for (const d of decoder.push(chunk)) {
        const a = (d.ok ? d.message : { error: { code: 'CLIENT_DECODE', message: d.error.message } }) as Record<string, unknown>;
        answers.push(a);
        onAnswer(a);
      }
      check();
    });
    socket.on('end', () => {
      ended = true;
      resolve();
    });
    socket.on('close', () => resolve());
  });
  await new Promise((r) => socket.once('connect', r));
  for (const w of writes) {
    if (socket.destroyed) break;
    if (!socket.write(w)) await new Promise((r) => socket.once('drain', r));
    await new Promise((r) => setImmediate(r));
  }
  await finished;
  return { answers, ended, socket };
}
