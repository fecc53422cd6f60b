/**
 * The dashboard's one WebSocket (GET /api/ws): every camera's live frames,
 * their detections, the stats and the events, for one browser.
 *
 * Protocol (version 2; JSON text messages, frames binary):
 * - server → `{ type: 'hello', version, auth: 'none' | 'required' }`: nothing
 *   else before the socket is authenticated. With auth required, the
 *   client's first message must be `{ type: 'auth', token }`; a wrong or
 *   missing token closes with 4401, and a socket that sends none within the
 *   auth timeout is closed with 4408.
 * - server → `{ type: 'ready', cameras, events, skeleton }` once authenticated
 *   (at once when no auth is required), then the streams below; `events`
 *   says whether the server keeps tracked-object events (GET /api/events and
 *   their snapshots answer), so a page asks for them only then; `skeleton` is
 *   the pose skeleton to draw over keypoints (pairs of keypoint indexes), the
 *   server's own, so the page keeps no copy of it.
 * - client → `{ type: 'watch', cameras: [{ id, h }] }`: the cameras it shows
 *   and at what height (replaces the previous set); `{ type: 'ack', camera }`
 *   after drawing a frame of it.
 * - server → a binary message per frame: a 4-byte big-endian length, that
 *   many bytes of JSON `{ camera, seq, wallTime, width, height, heldMs, motion? }`,
 *   the JPEG (`heldMs`: how long a private camera's frame waited for its people
 *   to be known, what its live view lags by: ADR 0165); `motion`, for a camera that measures motion, is its motion as last
 *   measured `{ state, share, regions, wallTime }` (regions [x1, y1, x2, y2]
 *   in 0–1, largest first; system.cameras.motion), drawn when the page's
 *   motion toggle is on;
 *   `{ type: 'detections', camera, worker, seq, wallTime, boxes, tracks? }`
 *   per result with detections, `tracks` only for a worker with `track` on
 *   of a camera the page watches:
 *   its objects alive now `{ id, label, score, box, zones, stationary }`
 *   (system.objects.tracked, boxes normalised); `{ type: 'event', event }`
 *   per other event (tracked-object and zone-count events among them);
 *   `{ type: 'annotation', id, camera, worker, description?, attributes? }`
 *   per result about a tracked object (a vlm answer, a crop result);
 *   `{ type: 'stats', stats }` every statsIntervalMs.
 *
 * Latest-frame to the browser: a camera's next frame goes only once the
 * browser has acknowledged the one before and the socket's buffered bytes
 * are below the high-water mark; meanwhile frames are skipped (the feed's
 * newest is sent when it becomes ready), never queued.
 */
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { messageOf } from '../internal/abort.js';
import { OncePerKey } from '../internal/once-per-key.js';
import type { Logger } from '../internal/logger.js';
import { annotationOf, type SystemEvent, type VisionSystem } from '../pipeline/index.js';
import { tokenMatches } from './auth.js';
import type { EncodedFrame, FeedKey, Feeds, Viewer } from './feeds.js';
import { boxesOf } from '../pictures/index.js';
import { isId } from '../internal/ids.js';
import { SKELETON } from '../internal/detections.js';

export const SOCKET_PROTOCOL_VERSION = 2;

/** A tracked object as the live view draws it. */
interface DrawnTrack {
  readonly id: string;
  readonly label: string;
  readonly score: number;
  readonly box: readonly number[];
  readonly zones: readonly string[];
  readonly stationary: boolean;
}
/** Bytes buffered for a socket above which its frames are skipped. */
export const HIGH_WATER_BYTES = 256 * 1024;
const MAX_WATCHED = 64;
/** Motion regions sent with a frame, largest first: more would not be seen. */
const MAX_MOTION_REGIONS = 32;
const MAX_HEIGHT = 4320;

export interface DashboardSocketOptions {
  readonly socket: WebSocket;
  readonly system: VisionSystem;
  readonly feeds: Feeds;
  readonly log: Logger;
  /** The token, when reads need it. */
  readonly token: string | null;
  readonly statsIntervalMs: number;
  /** Closed (4408) if not authenticated within this. */
  readonly authTimeoutMs: number;
  /** Whether the server has an events store (GET /api/events answers): told in `ready`. */
  readonly eventsStored: boolean;
  /** Called once: when the socket authenticates, or closes before it does. */
  readonly onAuthSettled?: () => void;
}

export class DashboardSocket {
  readonly #o: DashboardSocketOptions;
  readonly #watched = new Map<string, { key: FeedKey; viewer: Viewer; awaitingAck: boolean }>();
  readonly #events = new AbortController();
  /** Events not sent for being unwritable as JSON, by camera/worker (or type): each said once. */
  readonly #unsendable = new OncePerKey(64);
  #authed: boolean;
  #timer: NodeJS.Timeout | null = null;
  #authTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: DashboardSocketOptions) {
    this.#o = options;
    this.#authed = options.token === null;
    const { socket } = options;
    socket.on('message', (data, isBinary) => this.#onMessage(isBinary || !Buffer.isBuffer(data) ? null : data.toString('utf8')));
    socket.on('close', () => this.close());
    socket.on('error', () => this.close());
    this.#send({ type: 'hello', version: SOCKET_PROTOCOL_VERSION, auth: this.#authed ? 'none' : 'required' });
    if (this.#authed) this.#start();
    else this.#authTimer = setTimeout(() => this.#fail(4408, 'ERR_HTTP_UNAUTHORIZED', `no token within ${options.authTimeoutMs} ms`), options.authTimeoutMs);
  }

  get authenticated(): boolean {
    return this.#authed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#settleAuth();
    this.#events.abort();
    if (this.#timer !== null) clearInterval(this.#timer);
    for (const { key, viewer } of this.#watched.values()) this.#o.feeds.remove(key, viewer);
    this.#watched.clear();
    if (this.#o.socket.readyState === this.#o.socket.OPEN) this.#o.socket.close(1000);
  }

  #settleAuth(): void {
    if (this.#authTimer !== null) clearTimeout(this.#authTimer);
    this.#authTimer = null;
    const settled = this.#o.onAuthSettled;
    if (settled !== undefined && !this.#authSettled) {
      this.#authSettled = true;
      settled();
    }
  }

  #authSettled = false;

  #start(): void {
    this.#settleAuth();
    this.#send({ type: 'ready', cameras: Object.keys(this.#o.system.stats().cameras), events: this.#o.eventsStored, skeleton: SKELETON });
    this.#sendStats();
    this.#timer = setInterval(() => this.#sendStats(), this.#o.statsIntervalMs);
    void this.#forwardEvents();
  }

  #fail(code: number, errorCode: string, message: string): void {
    this.#send({ type: 'error', code: errorCode, message });
    this.#o.socket.close(code, errorCode);
    this.close();
  }

  #onMessage(text: string | null): void {
    let message: Record<string, unknown>;
    try {
      const parsed: unknown = text === null ? null : JSON.parse(text);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      message = parsed as Record<string, unknown>;
    } catch {
      this.#fail(4400, 'ERR_HTTP_BAD_REQUEST', 'messages are JSON objects');
      return;
    }
    if (!this.#authed) {
      if (message.type === 'auth' && typeof message.token === 'string' && tokenMatches(this.#o.token!, message.token)) {
        this.#authed = true;
        this.#send({ type: 'auth-ok' });
        this.#start();
      } else this.#fail(4401, 'ERR_HTTP_UNAUTHORIZED', 'a valid token is needed: { "type": "auth", "token": … } first');
      return;
    }
    switch (message.type) {
      case 'watch':
        this.#watch(message.cameras);
        return;
      case 'ack': {
        const w = typeof message.camera === 'string' ? this.#watched.get(message.camera) : undefined;
        if (w === undefined) return;
        w.awaitingAck = false;
        this.#o.feeds.poke(w.key, w.viewer);
        return;
      }
      case 'auth':
        return;
      default:
        this.#fail(4400, 'ERR_HTTP_BAD_REQUEST', 'unknown message type');
    }
  }

  #watch(list: unknown): void {
    if (!Array.isArray(list) || list.length > MAX_WATCHED) {
      this.#fail(4400, 'ERR_HTTP_BAD_REQUEST', `watch: cameras must be a list of at most ${MAX_WATCHED} { id, h }`);
      return;
    }
    const wanted = new Map<string, FeedKey>();
    for (const item of list as unknown[]) {
      const { id, h } = (item ?? {}) as { id?: unknown; h?: unknown };
      const height = h === undefined ? 0 : h;
      if (typeof id !== 'string' || !isId(id) || typeof height !== 'number' || !Number.isInteger(height) || height < 0 || height > MAX_HEIGHT) {
        this.#fail(4400, 'ERR_HTTP_BAD_REQUEST', `watch: each camera is { id: a camera id, h: an integer 0–${MAX_HEIGHT} }`);
        return;
      }
      wanted.set(id, { camera: id, height, boxes: false });
    }
    for (const [id, w] of this.#watched) {
      const key = wanted.get(id);
      if (key !== undefined && key.height === w.key.height) continue;
      this.#o.feeds.remove(w.key, w.viewer);
      this.#watched.delete(id);
    }
    const cameras = this.#o.system.stats().cameras;
    for (const [id, key] of wanted) {
      if (this.#watched.has(id) || cameras[id] === undefined) continue;
      const entry = { key, viewer: this.#viewer(id), awaitingAck: false };
      this.#watched.set(id, entry);
      if (!this.#o.feeds.add(key, entry.viewer)) {
        this.#watched.delete(id);
        this.#send({ type: 'error', code: 'ERR_HTTP_TOO_MANY_VIEWERS', message: `the server serves no more live streams (camera ${id})` });
      }
    }
  }

  #viewer(camera: string): Viewer {
    const socket = this.#o.socket;
    return {
      ready: () => {
        const w = this.#watched.get(camera);
        return !this.#closed && w !== undefined && !w.awaitingAck && socket.readyState === socket.OPEN && socket.bufferedAmount < HIGH_WATER_BYTES;
      },
      send: (frame: EncodedFrame) => {
        const w = this.#watched.get(camera);
        if (w === undefined) return;
        w.awaitingAck = true;
        const motion = this.#motionOf(camera);
        const header = Buffer.from(
          JSON.stringify({
            camera: frame.camera,
            seq: frame.seq,
            wallTime: frame.wallTime,
            width: frame.width,
            height: frame.height,
            heldMs: frame.heldMs,
            ...(motion === null ? {} : { motion }),
          }),
        );
        const length = Buffer.alloc(4);
        length.writeUInt32BE(header.length);
        socket.send(Buffer.concat([length, header, frame.jpeg]), { binary: true }, () => this.#o.feeds.poke(w.key, w.viewer));
      },
      end: (reason: string) => {
        this.#watched.delete(camera);
        this.#send({ type: 'camera-gone', camera, reason });
      },
    };
  }

  /** The camera's motion as last measured, for the page's motion overlay (system.cameras.motion); null without motion detection. */
  #motionOf(camera: string): { state: string; share: number; regions: number[][]; wallTime: number } | null {
    const reading = this.#o.system.cameras.motion(camera);
    if (reading === null) return null;
    const round = (n: number): number => Math.round(n * 10_000) / 10_000;
    return {
      state: reading.state,
      share: round(reading.share),
      regions: reading.regions.slice(0, MAX_MOTION_REGIONS).map((box) => box.map(round)),
      wallTime: reading.wallTime,
    };
  }

  #send(message: unknown): void {
    const socket = this.#o.socket;
    if (socket.readyState !== socket.OPEN) return;
    socket.send(JSON.stringify(message));
  }

  #sendStats(): void {
    // Stats, like frames, are skipped for a socket that is behind.
    if (this.#o.socket.bufferedAmount >= HIGH_WATER_BYTES) return;
    this.#send({ type: 'stats', at: Date.now(), stats: this.#o.system.stats() });
  }

  async #forwardEvents(): Promise<void> {
    try {
      for await (const event of this.#o.system.events({ signal: this.#events.signal, bufferSize: 200 })) {
        try {
          this.#forward(event);
        } catch (error) {
          // One event that cannot be written as JSON (a worker's output with a BigInt or a cycle) is not sent; the
          // stream goes on (it used to end here, and the page got no event after it). Said once per worker.
          const key = event.type === 'result' ? `${event.camera}/${event.worker}` : event.type;
          if (this.#unsendable.first(key)) {
            this.#o.log.warn({ event: key, err: messageOf(error) }, 'dashboard socket: an event that cannot be written as JSON was not sent');
          }
        }
      }
    } catch (error) {
      this.#o.log.warn({ err: messageOf(error) }, 'dashboard socket: event stream ended');
    }
  }

  #forward(event: SystemEvent): void {
    if (event.type !== 'result') {
      this.#send({ type: 'event', event });
      return;
    }
    // A vlm answer or a crop result about a tracked object: shown on the object's row (ADR 0050, 0051).
    const found = annotationOf(event);
    if (found !== null) this.#send({ type: 'annotation', id: found.id, camera: event.camera, worker: event.worker, ...found.annotation });
    // Boxes read the way the JPEG overlays read them, so the canvas and latest.jpg?boxes=1 agree.
    if (!Array.isArray((event.output as { detections?: unknown } | null)?.detections)) return;
    const boxes = boxesOf(event.output);
    // Tracks are drawn over a live view only: not looked up for a camera this page does not watch.
    const tracks = this.#watched.has(event.camera) ? this.#tracks(event.camera, event.worker, event.profile.tracksObjects) : null;
    const socket = this.#o.socket;
    if (socket.readyState !== socket.OPEN) return;
    const ageMs = performance.now() - event.captureTime;
    this.#send({
      type: 'detections',
      camera: event.camera,
      worker: event.worker,
      shared: event.shared,
      seq: event.seq,
      wallTime: event.wallTime,
      ageMs: Math.max(0, Math.round(ageMs)),
      boxes,
      ...(tracks === null ? {} : { tracks }),
    });
    this.#o.system.results.recordHop(event, 'sent', ageMs);
  }

  /**
   * A tracking worker's objects alive now, as the system has them when the
   * result is forwarded (latest-state: a result or two newer than this one at
   * most); null for a worker without `track`.
   */
  #tracks(camera: string, worker: string, tracksObjects: boolean): DrawnTrack[] | null {
    if (!tracksObjects) return null;
    const out: DrawnTrack[] = [];
    for (const o of this.#o.system.objects.tracked(camera)) {
      if (o.worker !== worker) continue;
      out.push({ id: o.id, label: o.label, score: o.score, box: o.box, zones: o.current_zones, stationary: o.stationary });
    }
    return out;
  }
}
