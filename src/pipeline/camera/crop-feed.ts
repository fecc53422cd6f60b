/**
 * Cascades on crops (ADR 0051): a worker with `crops: { of, labels, margin,
 * size, every }` reads, instead of its camera's frames, crops of what the
 * `of` worker of the same camera detected, cut from the camera's newest
 * frame at full resolution when the crop worker reads, scaled so its long
 * side is `size` (up or down: the second model's input).
 *
 * Contract: the feed reads its camera through a subscription of its own
 * (full size), keeping only the newest frame; each result of `of` makes one
 * crop per detection of the wanted labels, or with `every`, one per tracked
 * object of `of` at most once per `every` seconds, published into a supplier
 * of the feed's own whose stream is `<camera>.crops.<worker>` (so a model
 * worker's shared-memory store of crops is its own, written once per crop
 * and read by reference like frames). Crops are cut when the crop worker
 * reads (subscribe()): each read cuts the next box of the latest result from
 * the newest frame at that moment, or waits for a result. A newer result
 * replaces the boxes of the older one not cut yet (latest wins, counted as
 * `replaced`), so nothing queues, and no crop is cut that nobody reads.
 *
 * A camera of several streams (ADR 0053) gives its crops instead from its
 * main stream's picture nearest the detection's capture time (for a tracked
 * object, its latest box's), decoded on demand (ADR 0052), through the same
 * helper as event snapshots: the feed then reads no stream of its own, so a
 * main stream that only crops and snapshots want stays held between them.
 * When main has no picture within a frame of that time, the next stream's
 * is used, and the crop says which and why (`stream`, `fallback`).
 *
 * Each crop keeps its capture times (the newest frame's), and the feed
 * remembers what it showed (the object or detection, its box, the
 * detection's frame), so crop() can attach that to the crop worker's
 * result: `crop: { of, objectId, label, box, detectionSeq, detectionAgeMs,
 * frameSeq, frameAgeMs, frameGapMs, stream, fallback }`: both frames' ages,
 * and how much newer the cropped frame is than the detection's.
 */
import { RecentMap } from '../../internal/recent-map.js';
import { cropRgb, sendableRgb, type Privacy } from '../../pictures/index.js';
import { FrameSupplier, type Frame, type FrameSource, type ReadOptions, type SubscribeOptions, type Subscription } from '../../supplier/index.js';
import type { VlmScene, WorkerContext, WorkerKind } from '../../workers/index.js';
import { MAIN_STREAM } from '../../config/index.js';
import type { EventOf } from '../base/index.js';
import { followFrames } from './follow-frames.js';

export interface CropSettings {
  readonly of: string;
  readonly labels?: readonly string[];
  readonly margin: number;
  /** Long side of a crop (pixels): smaller crops are enlarged, larger ones shrunk. */
  readonly size: number;
  /** Per tracked object (of a worker that tracks), at most once per this many seconds; absent: every detection of every result. */
  readonly every?: number;
}

/** What a crop showed: attached to the crop worker's result as `crop`. */
export interface CropInfo {
  readonly of: string;
  /** The tracked object's id (with `every`), else null. */
  readonly objectId: string | null;
  readonly label: string;
  readonly box: readonly [number, number, number, number];
  /** The detection's frame (its seq on the camera's stream). */
  readonly detectionSeq: number;
  /** How old the detection's frame was when the crop was cut (ms). */
  readonly detectionAgeMs: number;
  /** The cropped frame's seq (the camera's newest when the crop was cut); null for a picture decoded on demand (several streams). */
  readonly frameSeq: number | null;
  /** How old the cropped frame was when the crop was cut (ms). */
  readonly frameAgeMs: number;
  /**
   * How much newer the cropped frame is than the detection's (ms; 0: the same frame). For a picture decoded on
   * demand (several streams), its distance from the box's own frame (a tracked object's last match), either way.
   */
  readonly frameGapMs: number;
  /** The camera's stream the crop was cut from (`main` for a camera of one stream). */
  readonly stream: string;
  /** Why the crop is not from the main stream's picture nearest the detection (several streams), or null. */
  readonly fallback: string | null;
}

/** A picture of the camera nearest a capture time (performance.now()), as a frame, with its stream and why not main's. */
export type PictureNear = (near: number) => Promise<{ readonly frame: Frame; readonly stream: string; readonly fallback: string | null }>;

const KEPT = 256;

interface PendingCrop {
  readonly objectId: string | null;
  readonly label: string;
  readonly box: readonly [number, number, number, number];
  readonly detectionSeq: number;
  readonly detectionWallTime: number;
  readonly detectionCaptureTime: number;
}

export class CropFeed {
  readonly camera: string;
  readonly worker: string;
  readonly settings: CropSettings;
  /** Where the crops are published: read them through subscribe(). */
  readonly supplier: FrameSupplier;
  readonly #source: FrameSupplier;
  readonly #scene: VlmScene | null;
  readonly #infos = new RecentMap<number, CropInfo>(KEPT);
  readonly #lastCropAt = new RecentMap<string, number>(KEPT);
  #subscription: Subscription | null = null;
  #newest: { frame: Frame; release: () => void; rgb: Uint8Array | null } | null = null;
  /** The latest result's boxes not cut yet: replaced by the next result's (latest wins), cut one per read. */
  #pending: PendingCrop[] = [];
  /** A read of the crop worker waits for a crop. */
  #waiting = false;
  /** Several streams: pictures nearest a detection, decoded on demand, instead of the newest frame. */
  #pictures: PictureNear | null = null;
  /** A picture is being decoded for the next crop. */
  #cutting = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** Crops cut. */
  crops = 0;
  /** Boxes of a result replaced by a newer result's before their turn came. */
  replaced = 0;
  /** Time spent cutting (ms, wall clock): with several streams, the picture's decoding included. */
  cutMs = 0;
  /** Boxes not cut because no stream could give a picture (several streams). */
  pictureFailures = 0;

  /** The camera's privacy (ADR 0139): every crop is cut from the frame with its people in private areas hidden. */
  readonly #privacy: Privacy;

  constructor(options: { camera: string; worker: string; settings: CropSettings; source: FrameSupplier; scene: VlmScene | null; privacy: Privacy }) {
    this.camera = options.camera;
    this.#privacy = options.privacy;
    this.worker = options.worker;
    this.settings = options.settings;
    this.#source = options.source;
    this.#scene = options.scene;
    this.supplier = new FrameSupplier({ streamId: `${options.camera}.crops.${options.worker}` });
  }

  /** A camera of several streams: crops from the picture nearest each detection, decoded on demand, not from a stream read all the time. Before start(). */
  usePictures(pictures: PictureNear): void {
    this.#pictures = pictures;
  }

  /** Starts reading the camera (after its supplier started). Idempotent. */
  start(): void {
    if (this.supplier.state !== 'created' || this.#closed) return;
    this.supplier.start();
    if (this.#pictures !== null) return;
    this.#subscription = this.#source.subscribe(`${this.worker}.crops`, { criticality: 'best-effort', readSize: 'full' });
    void this.#follow(this.#subscription);
  }

  /** Ends the feed: its subscription to the camera and its own supplier. Idempotent: every call gets the same promise. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#newest?.release();
      this.#newest = null;
      this.#pending = [];
      await this.#subscription?.close();
      await this.supplier.close();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The crop a frame of this feed showed, by its seq. */
  info(seq: number): CropInfo | undefined {
    return this.#infos.get(seq);
  }

  /**
   * The crop worker's source: each read cuts the next box of the latest result from the camera's newest
   * frame at that moment (or waits for a result), so a crop is never older than the worker's readiness and
   * none is cut that the worker will not read.
   */
  subscribe(workerId: string, options: SubscribeOptions): FrameSource {
    const subscription = this.supplier.subscribe(workerId, options);
    const read = async (readOptions?: ReadOptions): Promise<Frame | null> => {
      // Waiting until the read returns: a result meanwhile cuts (a picture being decoded is not a crop yet).
      this.#waiting = true;
      this.#cutNext();
      try {
        return await subscription.read(readOptions);
      } finally {
        this.#waiting = false;
      }
    };
    const source: FrameSource = {
      workerId: subscription.workerId,
      get closed() {
        return subscription.closed;
      },
      read,
      frames: async function* (readOptions?: ReadOptions) {
        try {
          for (;;) {
            const frame = await read(readOptions);
            if (frame === null) return;
            yield frame;
          }
        } finally {
          await subscription.close();
        }
      },
      [Symbol.asyncIterator]: () => source.frames(),
      retain: (frame) => subscription.retain(frame),
      touch: () => subscription.touch(),
      stats: () => subscription.stats(),
      close: () => subscription.close(),
      setReadSize: (size) => subscription.setReadSize(size),
    };
    return source;
  }

  /** Keeps the newest frame of the camera, held until a newer one comes. */
  #follow(subscription: Subscription): Promise<void> {
    return followFrames(
      subscription,
      () => this.#closed,
      (frame) => {
        const release = subscription.retain(frame);
        this.#newest?.release();
        this.#newest = { frame, release, rgb: null };
      },
    );
  }

  /** A result of the camera's workers: when it is the `of` worker's and someone reads the crops, its boxes are the next to cut. */
  onResult(event: EventOf<'result'>): void {
    if (this.#closed || event.worker !== this.settings.of || event.camera !== this.camera) return;
    if (this.supplier.stats().workers.length === 0) return;
    const wanted = (label: string): boolean => this.settings.labels === undefined || this.settings.labels.includes(label);
    const boxes: PendingCrop[] = [];
    const detection = { detectionSeq: event.seq, detectionWallTime: event.wallTime, detectionCaptureTime: event.captureTime };
    if (this.settings.every !== undefined) {
      const now = Date.now();
      for (const o of this.#scene?.liveObjects(this.camera) ?? []) {
        if (o.worker !== this.settings.of || !wanted(o.label)) continue;
        const last = this.#lastCropAt.get(o.id);
        if (last !== undefined && now - last < this.settings.every * 1000) continue;
        boxes.push({ objectId: o.id, label: o.label, box: o.box, ...detection });
      }
      // The objects cropped longest ago first: with a worker slower than the results, they take turns.
      boxes.sort((a, b) => (this.#lastCropAt.get(a.objectId!) ?? 0) - (this.#lastCropAt.get(b.objectId!) ?? 0));
    } else {
      const detections = (event.output as { detections?: unknown } | null)?.detections;
      if (!Array.isArray(detections)) return;
      for (const d of detections as { class_name?: unknown; label?: unknown; bbox?: unknown }[]) {
        const label = typeof d?.class_name === 'string' ? d.class_name : typeof d?.label === 'string' ? d.label : null;
        const box = d?.bbox;
        if (label === null || !wanted(label) || !Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number')) continue;
        boxes.push({ objectId: null, label, box: box as unknown as readonly [number, number, number, number], ...detection });
      }
    }
    if (boxes.length === 0) return;
    this.replaced += this.#pending.length;
    this.#pending = boxes;
    if (this.#waiting) this.#cutNext();
  }

  /** Cuts the next pending box from the newest frame and publishes it, or starts cutting it from a picture; false when there is none to cut. */
  #cutNext(): boolean {
    if (this.#pictures !== null) return this.#startPictureCut(this.#pictures);
    const newest = this.#newest;
    if (newest === null || this.#closed) return false;
    for (;;) {
      const next = this.#pending.shift();
      if (next === undefined) return false;
      const started = performance.now();
      const box = this.#boxNow(next);
      if (box === null) continue;
      const frame = newest.frame;
      newest.rgb ??= sendableRgb(frame, this.#privacy);
      if (this.#publish(next, box, frame, newest.rgb, MAIN_STREAM, null, frame.seq)) {
        this.cutMs += performance.now() - started;
        return true;
      }
    }
  }

  /** Several streams: decodes the picture for the next pending box and cuts it, one at a time; true while one is under way. */
  #startPictureCut(pictures: PictureNear): boolean {
    if (this.#cutting) return true;
    if (this.#closed || this.#pending.length === 0) return false;
    this.#cutting = true;
    void this.#cutFromPictures(pictures).then((published) => {
      this.#cutting = false;
      // Nothing came of it (the objects gone, no picture): a read still waiting takes the next box.
      if (!published && this.#waiting) this.#cutNext();
    });
    return true;
  }

  async #cutFromPictures(pictures: PictureNear): Promise<boolean> {
    for (;;) {
      const next = this.#pending.shift();
      if (next === undefined || this.#closed) return false;
      const started = performance.now();
      const box = this.#boxNow(next);
      if (box === null) continue;
      let picture: Awaited<ReturnType<PictureNear>>;
      try {
        picture = await pictures(box.near);
      } catch {
        this.pictureFailures++;
        continue;
      }
      if (this.#closed) return false;
      const published = this.#publish(next, box, picture.frame, sendableRgb(picture.frame, this.#privacy), picture.stream, picture.fallback, null);
      this.cutMs += performance.now() - started;
      if (published) return true;
    }
  }

  /** The box to cut and the capture time it was seen at: a tracked object's latest (null when gone since), else the detection's. */
  #boxNow(next: PendingCrop): { box: readonly [number, number, number, number]; near: number; wall: number } | null {
    if (next.objectId === null) return { box: next.box, near: next.detectionCaptureTime, wall: next.detectionWallTime };
    const live = this.#scene?.liveObjects(this.camera).find((o) => o.id === next.objectId);
    if (live === undefined) return null;
    this.#lastCropAt.set(next.objectId, Date.now());
    // its box is from the frame of its last match: that frame's capture time, from its wall time
    if (live.frame_time === undefined) return { box: live.box, near: next.detectionCaptureTime, wall: next.detectionWallTime };
    const wall = live.frame_time * 1000;
    return { box: live.box, near: performance.now() - (Date.now() - wall), wall };
  }

  /** Cuts `box` from a frame's RGB (the same region a vlm worker crops: src/pictures) and publishes it with what it showed; false when the box has nothing to cut. */
  #publish(
    next: PendingCrop,
    { box, wall }: { box: readonly [number, number, number, number]; wall: number },
    frame: Frame,
    rgb: Uint8Array,
    stream: string,
    fallback: string | null,
    frameSeq: number | null,
  ): boolean {
    const crop = cropRgb(rgb, frame.width, frame.height, box, this.settings.margin, this.settings.size);
    if (crop === null) return false;
    const published = this.supplier.publish({ ...crop, format: 'rgb24', captureTime: frame.captureTime, wallTime: frame.wallTime });
    this.crops++;
    const now = Date.now();
    this.#infos.set(published.seq, {
      of: this.settings.of,
      objectId: next.objectId,
      label: next.label,
      box,
      detectionSeq: next.detectionSeq,
      detectionAgeMs: Math.max(0, now - next.detectionWallTime),
      frameSeq,
      frameAgeMs: Math.max(0, now - frame.wallTime),
      frameGapMs: frameSeq === null ? Math.round(frame.wallTime - wall) : Math.max(0, frame.wallTime - next.detectionWallTime),
      stream,
      fallback,
    });
    return true;
  }
}

/** The crop worker's kind, its results carrying what each crop showed (`crop`). */
export function withCropInfo(kind: WorkerKind, feed: CropFeed): WorkerKind {
  return {
    kind: kind.kind,
    run: (context: WorkerContext) =>
      kind.run({
        // The context's methods are its own: the wrapper only adds to what a result says.
        workerId: context.workerId,
        signal: context.signal,
        subscribe: () => context.subscribe(),
        subscribeThread: () => context.subscribeThread(),
        modelLedger: () => context.modelLedger(),
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- handed on for a wrapped kind that still calls it, until 0.2.0
        skip: (reason) => context.skip(reason),
        log: (line) => context.log(line),
        waitFor: (dependency, wait) => context.waitFor(dependency, wait),
        emit: (frame, output) => {
          const crop = feed.info(frame.seq);
          const shown = crop === undefined || output === null || typeof output !== 'object' || Array.isArray(output) ? output : { ...output, crop };
          context.emit(frame, shown);
        },
      }),
  };
}
