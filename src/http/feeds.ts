/**
 * Live JPEG feeds for viewers (dashboard sockets, MJPEG streams, snapshots):
 * latest-frame all the way to the viewer.
 *
 * Contract:
 * - A feed is one camera at one size (with or without boxes drawn). It
 *   exists while it has viewers: the first one opens a viewer mailbox on the
 *   camera (system.cameras.watch), the last one leaving closes it. No
 *   viewer: no read, no encode.
 * - It encodes at the rate viewers take frames: it reads the camera's newest
 *   frame only when at least one viewer is ready for one, and a frame goes
 *   only to the viewers ready for it. A viewer that is behind (its socket's
 *   buffer full) skips frames and, once ready again, gets the newest encoded
 *   frame: frames are never queued for it.
 * - A camera replaced: the feed follows the new camera; removed: its viewers
 *   are ended.
 * - A private camera's frame is encoded once its people on it are known (a
 *   whole-frame person result on it or a newer one, ADR 0165): its live view
 *   lags by the detector's time, and each frame says by how much (`heldMs`).
 */
import type { EventOf, VisionSystem } from '../pipeline/index.js';
import type { Frame, FrameSource } from '../supplier/index.js';
import { messageOf } from '../internal/abort.js';
import type { Logger } from '../internal/logger.js';
import { boxesOf, encodeFrame, type Box } from '../pictures/index.js';

export interface EncodedFrame {
  readonly camera: string;
  readonly seq: number;
  /** Wall clock of the frame's capture (Date.now() of the capturing process). */
  readonly wallTime: number;
  readonly width: number;
  readonly height: number;
  readonly jpeg: Buffer;
  /** How long it was held for its people to be known (ms): a private camera's live view lags by it; 0 for one with nothing private. */
  readonly heldMs: number;
}

export interface Viewer {
  /** True when it can take a frame now (nothing of its own backed up). */
  ready(): boolean;
  /** A frame for it; called only when ready(). */
  send(frame: EncodedFrame): void;
  /** Its camera is gone (removed, or the server closes). */
  end(reason: string): void;
}

export interface FeedKey {
  readonly camera: string;
  /** Target height; 0: the frame's own. */
  readonly height: number;
  readonly boxes: boolean;
}

interface ViewerState {
  lastSeq: number;
}

/** The latest boxes of every worker of every camera, from the system's result events. */
export class Detections {
  readonly #latest = new Map<string, Map<string, { boxes: Box[]; at: number }>>();

  update(e: EventOf<'result'>): Box[] {
    const boxes = boxesOf(e.output);
    let camera = this.#latest.get(e.camera);
    if (camera === undefined) {
      camera = new Map<string, { boxes: Box[]; at: number }>();
      this.#latest.set(e.camera, camera);
    }
    camera.set(e.worker, { boxes, at: e.wallTime });
    return boxes;
  }

  forget(camera: string): void {
    this.#latest.delete(camera);
  }

  /** Boxes of results on frames captured within maxAgeMs of now. */
  boxes(camera: string, maxAgeMs = 3_000, now = Date.now()): Box[] {
    const out: Box[] = [];
    for (const { boxes, at } of this.#latest.get(camera)?.values() ?? []) if (now - at <= maxAgeMs) out.push(...boxes);
    return out;
  }
}

let feedCounter = 0;

class Feed {
  readonly key: FeedKey;
  readonly #system: VisionSystem;
  readonly #detections: Detections;
  readonly #log: Logger;
  readonly #viewers = new Map<Viewer, ViewerState>();
  readonly #name = `feed${++feedCounter}`;
  #source: FrameSource | null = null;
  #latest: EncodedFrame | null = null;
  #wake: (() => void) | null = null;
  #running = false;
  #closed = false;
  /** Ends a private frame's wait for its people when the feed closes. */
  readonly #closing = new AbortController();

  constructor(key: FeedKey, system: VisionSystem, detections: Detections, log: Logger) {
    this.key = key;
    this.#system = system;
    this.#detections = detections;
    this.#log = log;
  }

  get size(): number {
    return this.#viewers.size;
  }

  get latest(): EncodedFrame | null {
    return this.#latest;
  }

  add(viewer: Viewer): void {
    this.#viewers.set(viewer, { lastSeq: -1 });
    if (!this.#running) void this.#run();
    this.poke(viewer);
  }

  /** False once it has no viewers left (the caller forgets it). */
  remove(viewer: Viewer): boolean {
    this.#viewers.delete(viewer);
    if (this.#viewers.size > 0) return true;
    this.close();
    return false;
  }

  /** A viewer may be ready again: hand it the newest frame if it has not had it, and wake the reader. */
  poke(viewer?: Viewer): void {
    const latest = this.#latest;
    if (viewer !== undefined && latest !== null) {
      const state = this.#viewers.get(viewer);
      if (state !== undefined && state.lastSeq < latest.seq && viewer.ready()) {
        state.lastSeq = latest.seq;
        viewer.send(latest);
      }
    }
    this.#wake?.();
  }

  /** The camera was replaced: read the new one. */
  follow(): void {
    void this.#source?.close();
    this.#source = null;
    this.#wake?.();
  }

  end(reason: string): void {
    const viewers = [...this.#viewers.keys()];
    this.#viewers.clear();
    this.close();
    for (const v of viewers) v.end(reason);
  }

  close(): void {
    this.#closed = true;
    this.#closing.abort();
    void this.#source?.close();
    this.#source = null;
    this.#wake?.();
  }

  #wanted(): boolean {
    const latest = this.#latest?.seq ?? -1;
    for (const [viewer, state] of this.#viewers) if (viewer.ready() && state.lastSeq <= latest) return true;
    return false;
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (!this.#closed) {
        if (!this.#wanted()) {
          await new Promise<void>((resolve) => (this.#wake = resolve));
          this.#wake = null;
          continue;
        }
        if (this.#source === null) {
          try {
            this.#source = this.#system.cameras.watch(this.key.camera, this.#name);
          } catch (error) {
            // A stopped camera (its file ended) or one being replaced: wait to be told (follow(), end()).
            this.#log.debug({ camera: this.key.camera, err: messageOf(error) }, 'feed: camera not readable');
            await new Promise<void>((resolve) => (this.#wake = resolve));
            this.#wake = null;
            continue;
          }
        }
        const source = this.#source;
        const frame = await source.read();
        if (frame === null) {
          // follow() ended it for a replaced camera: read the new one at once. Else the camera ended: wait to be told.
          if (this.#source !== source) continue;
          this.#source = null;
          if (!this.#closed) {
            await new Promise<void>((resolve) => (this.#wake = resolve));
            this.#wake = null;
          }
          continue;
        }
        await this.#encodeAndSend(source, frame);
      }
    } catch (error) {
      this.#log.error({ camera: this.key.camera, err: messageOf(error) }, 'feed failed');
      this.end('the feed failed');
    } finally {
      this.#running = false;
    }
  }

  async #encodeAndSend(source: FrameSource, frame: Frame): Promise<void> {
    const release = source.retain(frame); // valid even if the camera goes away mid-encode
    let encoded;
    try {
      encoded = await encodeFrame(frame, {
        // Its people hidden first, for a private camera (ADR 0139).
        privacy: this.#system.cameras.privacy(this.key.camera),
        signal: this.#closing.signal,
        ...(this.key.height > 0 ? { height: this.key.height } : {}),
        ...(this.key.boxes ? { boxes: this.#detections.boxes(this.key.camera) } : {}),
      });
    } catch (error) {
      this.#log.warn({ camera: this.key.camera, err: messageOf(error) }, 'feed: a frame could not be encoded');
      return;
    } finally {
      release();
    }
    const out: EncodedFrame = {
      camera: this.key.camera,
      seq: frame.seq,
      wallTime: frame.wallTime,
      width: encoded.width,
      height: encoded.height,
      jpeg: encoded.jpeg,
      heldMs: encoded.heldMs,
    };
    // A replaced camera's seqs start over: the latest is whatever came last.
    if (this.#latest !== null && out.seq <= this.#latest.seq) for (const state of this.#viewers.values()) state.lastSeq = -1;
    this.#latest = out;
    for (const [viewer, state] of this.#viewers) {
      if (state.lastSeq >= out.seq || !viewer.ready()) continue;
      state.lastSeq = out.seq;
      viewer.send(out);
    }
  }
}

export interface FeedsOptions {
  readonly system: VisionSystem;
  readonly log: Logger;
  /** Viewers at once over every feed; past it add() returns false. */
  readonly maxViewers: number;
}

/** Every feed of the server, by key. */
export class Feeds {
  readonly detections = new Detections();
  readonly #o: FeedsOptions;
  readonly #feeds = new Map<string, Feed>();
  readonly #onChange = (e: EventOf<'config-change'>): void => {
    if (e.camera === null) return;
    if (e.change === 'camera-replaced') for (const f of this.#of(e.camera)) f.follow();
    if (e.change === 'camera-removed') {
      this.detections.forget(e.camera);
      for (const f of this.#of(e.camera)) {
        this.#feeds.delete(keyOf(f.key));
        f.end(`camera ${e.camera} was removed`);
      }
    }
  };
  readonly #onResult = (e: EventOf<'result'>): void => void this.detections.update(e);

  constructor(options: FeedsOptions) {
    this.#o = options;
    options.system.on('config-change', this.#onChange);
    options.system.on('result', this.#onResult);
  }

  /** Viewers now, over every feed. */
  get viewers(): number {
    let n = 0;
    for (const f of this.#feeds.values()) n += f.size;
    return n;
  }

  /** Starts feeding the viewer; false when the server has all the viewers it takes. */
  add(key: FeedKey, viewer: Viewer): boolean {
    if (this.viewers >= this.#o.maxViewers) return false;
    const k = keyOf(key);
    let feed = this.#feeds.get(k);
    if (feed === undefined) this.#feeds.set(k, (feed = new Feed(key, this.#o.system, this.detections, this.#o.log)));
    feed.add(viewer);
    return true;
  }

  remove(key: FeedKey, viewer: Viewer): void {
    const k = keyOf(key);
    const feed = this.#feeds.get(k);
    if (feed !== undefined && !feed.remove(viewer)) this.#feeds.delete(k);
  }

  poke(key: FeedKey, viewer: Viewer): void {
    this.#feeds.get(keyOf(key))?.poke(viewer);
  }

  /** The newest frame a feed has encoded, if it runs. */
  latest(key: FeedKey): EncodedFrame | null {
    return this.#feeds.get(keyOf(key))?.latest ?? null;
  }

  close(): void {
    this.#o.system.off('config-change', this.#onChange);
    this.#o.system.off('result', this.#onResult);
    for (const f of this.#feeds.values()) f.end('the server is closing');
    this.#feeds.clear();
  }

  #of(camera: string): Feed[] {
    return [...this.#feeds.values()].filter((f) => f.key.camera === camera);
  }
}

const keyOf = (k: FeedKey): string => `${k.camera}\u0000${k.height}\u0000${k.boxes ? 1 : 0}`;
