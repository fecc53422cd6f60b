/**
 * Tracked-object events and their snapshots. Every `tracked-object` event of
 * the system is recorded (its latest side) in the events store, when there is
 * one. One that asks for a snapshot (its object's best score improved, at
 * most once a second per object: the tracker decides) gets the camera's next
 * frame encoded with the object's box drawn, then kept wherever it can be had:
 * saved beside the database (served by the API) and published retained on
 * `<camera>/objects/<label>/snapshot` (the MQTT sink). The system is told
 * only when at least one of them took it, and then sends the object's update
 * with has_snapshot true: has_snapshot means a snapshot of that object can be
 * had, so none is claimed when MQTT was away and there is no store. Without a
 * store and without MQTT nobody could have one, and the app runs no recorder.
 *
 * The frame is the camera's newest when the request comes, read through a
 * viewer subscription opened for it and closed after: a result arrives after
 * its frame, so the picture may be a frame or two later than the detection;
 * the box drawn is the detection's. A camera with several streams (ADR 0053)
 * gives instead its main stream's picture nearest the detection's capture
 * time, decoded on demand (ADR 0052), or another stream's when main has none
 * that near (logged with why). One snapshot in progress per object at a
 * time; a request meanwhile is dropped (the next improvement asks again).
 * A failure is logged and costs that snapshot or row only. The update that
 * says has_snapshot also says which picture it is (`snapshot`: stream, size,
 * capture time and its offset from the detection's, and why it is not the
 * main stream's when it is not), on MQTT, in the store and the API.
 *
 * Fall and person-down alerts (`fall` events, ADR 0132) are recorded the same
 * way, in the same store (filed by their kind as label), and the snapshot
 * their `new` asks for (the person down, by the alert's id) is made the same
 * way, saved, and published retained on `<camera>/person_down/snapshot`; the
 * system is told with fallSnapshotSaved().
 *
 * A vlm worker's answer about a tracked object (ADR 0050) is stored on the
 * object's event as `description` (Frigate's field) at once, a cascade's
 * result on its crop as one of its `attributes` (ADR 0051), and both are kept
 * on the rows its later events write.
 */
import { performance } from 'node:perf_hooks';
import { messageOf } from '../internal/abort.js';
import { MAIN_STREAM } from '../config/index.js';
import { codeOf } from '../internal/errors.js';
import type { Logger } from '../internal/logger.js';
import type { EventStore, SnapshotInfo, SnapshotRequest, TrackedEvent, TrackedObject } from '../objects/index.js';
import { annotationOf, frameOfPicture, ObjectAnnotations, type EventOf, type ObjectAnnotation, type VisionSystem } from '../pipeline/index.js';
import type { Frame } from '../supplier/index.js';

export interface EventRecorderOptions {
  readonly system: VisionSystem;
  /** The events store (the config's events section), or null: snapshots are then only published. */
  readonly store: EventStore | null;
  readonly log: Logger;
  /** Encodes a frame with the object's box drawn (src/pictures' encodeFrame, purpose 'snapshot'). */
  readonly encode: (frame: Frame, request: SnapshotRequest) => Promise<Buffer>;
  /** Publishes a snapshot (the MQTT sink), if any; false when it could not go. */
  readonly publish?: (camera: string, label: string, jpeg: Buffer) => boolean;
  /** Publishes a fall alert's snapshot (the MQTT sink), if any; false when it could not go. */
  readonly publishFall?: (camera: string, jpeg: Buffer) => boolean;
}

const READ_TIMEOUT_MS = 2_000;

interface Snapshot {
  readonly jpeg: Buffer;
  readonly info: SnapshotInfo;
}

/** Which picture a snapshot is: its stream, size, capture time, and its distance from the detection's. */
function snapshotInfo(stream: string, frame: Frame, request: SnapshotRequest, fallback: string | null): SnapshotInfo {
  return {
    stream,
    width: frame.width,
    height: frame.height,
    frame_time: frame.wallTime / 1000,
    offset_ms: Math.round(frame.wallTime - request.frame_time * 1000),
    fallback,
  };
}
/** The event with what results said about its object (`description`, `attributes`) on its latest side (the store keeps that side as it is). */
function annotated(event: TrackedEvent, annotation: ObjectAnnotation): TrackedEvent {
  const after: TrackedObject & ObjectAnnotation = { ...event.after, ...annotation };
  return { ...event, after };
}

export class EventRecorder {
  readonly #o: EventRecorderOptions;
  readonly #busy = new Set<string>();
  readonly #listener = (event: EventOf<'tracked-object'>): void => this.#onEvent(event);
  readonly #resultListener = (event: EventOf<'result'>): void => this.#onResult(event);
  readonly #fallListener = (event: EventOf<'fall'>): void => this.#onFall(event);
  readonly #annotations = new ObjectAnnotations();
  #started = false;
  #closed = false;
  readonly #pending = new Set<Promise<void>>();

  constructor(options: EventRecorderOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#o.system.on('tracked-object', this.#listener);
    this.#o.system.on('result', this.#resultListener);
    this.#o.system.on('fall', this.#fallListener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.system.off('tracked-object', this.#listener);
    this.#o.system.off('result', this.#resultListener);
    this.#o.system.off('fall', this.#fallListener);
    await Promise.allSettled([...this.#pending]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onResult(event: EventOf<'result'>): void {
    const found = annotationOf(event);
    if (found === null) return;
    const annotation = this.#annotations.note(found.id, found.annotation);
    const store = this.#o.store;
    const stored = store?.get(found.id) ?? null;
    if (store == null || stored === null) return;
    try {
      store.record(annotated({ type: 'update', before: stored, after: stored }, annotation));
    } catch (error) {
      this.#o.log.warn({ code: 'ERR_EVENT_STORE', err: messageOf(error) }, 'events: a description could not be stored');
    }
  }

  #onEvent(event: EventOf<'tracked-object'>): void {
    try {
      const annotation = this.#annotations.of(event.event.after.id);
      this.#o.store?.record(annotation === undefined ? event.event : annotated(event.event, annotation));
    } catch (error) {
      this.#o.log.warn({ code: 'ERR_EVENT_STORE', err: messageOf(error) }, 'events: an event could not be stored');
    }
    const request = event.snapshot;
    if (request === null) return;
    const worker = event.worker;
    this.#snapshotOf(
      request,
      (jpeg) => this.#o.publish?.(request.camera, request.label, jpeg) ?? false,
      (info) => this.#o.system.objects.snapshotSaved(request.camera, worker, request.id, info),
    );
  }

  /** A fall alert's event: recorded; its `new` asks for a snapshot of the person down. */
  #onFall(event: EventOf<'fall'>): void {
    try {
      this.#o.store?.record(event.event);
    } catch (error) {
      this.#o.log.warn({ code: 'ERR_EVENT_STORE', err: messageOf(error) }, 'events: a fall alert could not be stored');
    }
    const request = event.snapshot;
    if (request === null) return;
    this.#snapshotOf(
      request,
      (jpeg) => this.#o.publishFall?.(request.camera, jpeg) ?? false,
      (info) => this.#o.system.objects.fallSnapshotSaved(request.id, info),
    );
  }

  /** Makes a snapshot for `request` (one at a time per id), keeps it where it can be had, and says so when it was kept. */
  #snapshotOf(request: SnapshotRequest, publish: (jpeg: Buffer) => boolean, saved: (info: SnapshotInfo) => void): void {
    if (this.#busy.has(request.id) || this.#closed) return;
    this.#busy.add(request.id);
    const run = this.#snapshot(request, publish, saved)
      .catch((error: unknown) => this.#o.log.warn({ camera: request.camera, err: messageOf(error) }, 'events: a snapshot could not be made'))
      .finally(() => {
        this.#busy.delete(request.id);
        this.#pending.delete(run);
      });
    this.#pending.add(run);
  }

  async #snapshot(request: SnapshotRequest, publish: (jpeg: Buffer) => boolean, kept: (info: SnapshotInfo) => void): Promise<void> {
    const made = this.#o.system.cameras.streamNames(request.camera).length > 1 ? await this.#fromStreams(request) : await this.#fromViewer(request);
    if (made === null) return;
    const published = publish(made.jpeg);
    const saved = await this.#save(request, made.jpeg);
    if (saved || published) kept(made.info);
  }

  /**
   * A camera with several streams (ADR 0053): the main stream's picture nearest the detection's capture time,
   * decoded on demand; the box is normalised, so it lands on any stream's size. When main gave none that
   * near, the log says which stream the snapshot is from and why.
   */
  async #fromStreams(request: SnapshotRequest): Promise<Snapshot> {
    const near = performance.now() - (Date.now() - request.frame_time * 1000);
    const { picture, format, stream, fallback } = await this.#o.system.cameras.picture(request.camera, near);
    if (fallback !== null) this.#o.log.warn({ camera: request.camera, stream, why: fallback }, `events: snapshot from stream ${stream}`);
    const frame = frameOfPicture(picture, format, request.camera);
    return { jpeg: await this.#o.encode(frame, request), info: snapshotInfo(stream, frame, request, fallback) };
  }

  async #fromViewer(request: SnapshotRequest): Promise<Snapshot | null> {
    const source = this.#o.system.cameras.watch(request.camera, `snapshot-${request.id}`);
    try {
      const frame = await source.read({ signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
      if (frame === null) return null;
      return { jpeg: await this.#o.encode(frame, request), info: snapshotInfo(MAIN_STREAM, frame, request, null) };
    } finally {
      await source.close();
    }
  }

  /** Into the store, if there is one: false when there is none or it failed (logged; the one on MQTT still counts). */
  async #save(request: SnapshotRequest, jpeg: Buffer): Promise<boolean> {
    if (this.#o.store === null) return false;
    try {
      await this.#o.store.saveSnapshot(request.id, jpeg);
      return true;
    } catch (error) {
      this.#o.log.warn({ camera: request.camera, code: codeOf(error), err: messageOf(error) }, 'events: a snapshot could not be saved');
      return false;
    }
  }
}
