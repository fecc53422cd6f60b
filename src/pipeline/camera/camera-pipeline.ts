/**
 * CameraPipeline: one camera's capture, supplier, frame store and supervisor
 * with its workers, each camera a pipeline of its own; how it is composed from
 * its config is camera-composition.ts's (create() calls it), what each part does
 * is apart (stream-switch.ts, crop-feed.ts, worker-group.ts, build-worker.ts). Cameras share nothing: a camera that
 * dies, a worker that crashes or a bad frame stays inside its pipeline.
 *
 * Contract: create() refuses what cannot run (a bad source or option, an
 * unknown model, a module that does not load) before anything starts. start()
 * starts the supplier, the capture and every enabled worker. close() ends the
 * capture first, then the supplier (every worker's next read is the end), lets
 * frames in flight finish for up to drainMs, then stops what is left. A file
 * that ends without `loop` ends the camera: its workers stop. The frame store
 * is the model-client workers' per-camera store (src/workers), written once
 * per frame for all the camera's models and removed with its last user.
 * maxFps is the workers' subscriptions' (gated frames are not drops).
 *
 * A camera with several streams (config `streams`, ADR 0053) is still one
 * camera: one id, one state (its main stream's), one set of events. Each
 * stream has its capture and supplier, and holds its packets undecoded while
 * no worker reads it (ADR 0052); each worker reads one stream through a
 * StreamSwitch (its `stream`, or auto: chosen from its readSize and the
 * streams that are up). picture() gives a snapshot from the stream asked,
 * decoded on demand, and stats() says per stream what it costs. A gated
 * worker on auto reads the stream its camera's motion reads (ADR 0113), so
 * main is decoded for crops and snapshots only; under overload a stream only
 * gated workers read can be shed (sheddable(), shedStream(): ADR 0115).
 */
import { CaptureError, StreamCapture, type CaptureStats, type StreamPicture, type StreamSize as ConvertSize } from '../../capture/index.js';
import type { Logger } from '../../internal/logger.js';
import { FrameSupplier, type Frame, type PixelFormat } from '../../supplier/index.js';
import type { CropFeed } from './crop-feed.js';
import {
  addCameraWorker,
  buildStreams,
  cameraMotionFor,
  switchStreamsOf,
  type CameraComposition,
  type CameraPipelineOptions,
  type CameraStream,
} from './camera-composition.js';
import type { StreamSwitch } from './stream-switch.js';
import {
  type CameraConfig,
  type CameraState,
  type SystemEvent,
  type WorkerProfile,
  workerDecodeStats,
  SHED_CAUSE,
  SHED_CODE,
  type ShedTarget,
} from '../base/index.js';
import { checkRunnableCamera, MAIN_STREAM } from '../../config/index.js';
import { WorkerGroup, type PipelineWorkerStats } from './worker-group.js';
import { type OutletHop } from '../../workers/index.js';
import { CameraMotion, type MotionReading } from './camera-motion.js';
import { MotionGate } from './motion-gate.js';

export { chooseDecoder, type CameraPipelineOptions } from './camera-composition.js';
export type { CameraStats } from './camera-stats.js';
import type { CameraStats } from './camera-stats.js';

export class CameraPipeline implements AsyncDisposable {
  readonly id: string;
  readonly config: CameraConfig;
  readonly enabled: boolean;
  readonly supplier: FrameSupplier;
  readonly decoder: 'native' | 'ffmpeg' | null;
  readonly #capture: StreamCapture | null;
  /** Every stream, main first (a camera with several streams), else empty. */
  readonly #streams: CameraStream[];
  readonly #switches = new Map<string, StreamSwitch>();
  readonly #workers: WorkerGroup;
  /** Cascades: the crops its workers read instead of frames (ADR 0051). */
  readonly #feeds: readonly CropFeed[];
  readonly #log: Logger;
  readonly #emit: (event: SystemEvent) => void;
  /** Motion detection and the gates of its gated workers, by worker id (ADR 0066). */
  readonly #motion: CameraMotion | null;
  readonly #gates: ReadonlyMap<string, MotionGate>;
  #started = false;
  #stopping: Promise<void> | null = null;

  private constructor(
    options: CameraPipelineOptions,
    capture: StreamCapture | null,
    decoder: 'native' | 'ffmpeg' | null,
    supplier: FrameSupplier,
    workers: WorkerGroup,
    feeds: readonly CropFeed[],
    streams: CameraStream[],
    switches: Map<string, StreamSwitch>,
    motion: CameraMotion | null,
    gates: ReadonlyMap<string, MotionGate>,
  ) {
    this.#motion = motion;
    this.#gates = gates;
    this.#streams = streams;
    this.#switches = switches;
    this.id = options.id;
    this.config = options.config;
    this.enabled = options.config.enabled;
    this.supplier = supplier;
    this.decoder = decoder;
    this.#capture = capture;
    this.#workers = workers;
    this.#feeds = feeds;
    // Several streams: crops from the main stream's picture nearest each detection, as snapshots are (ADR 0053).
    if (streams.length > 0) for (const feed of feeds) feed.usePictures((near) => this.snapshotFrame(near));
    // Several streams: a gated worker's crops from the main stream's picture nearest its frame (ADR 0069).
    if (streams.length > 0) for (const gate of gates.values()) gate.regions?.usePictures((near) => this.snapshotFrame(near));
    this.#log = options.log;
    this.#emit = options.emit;
  }

  /** Checks and builds everything; starts nothing. Throws ERR_CONFIG (src/config's rules), ERR_WORKER_MODULE, or capture's codes for a bad source or option. */
  static async create(options: CameraPipelineOptions): Promise<CameraPipeline> {
    const { id, config } = options;
    // The config's rules, src/config's alone (a resolved config passed them; a JS caller's hand-made one is held to them here).
    checkRunnableCamera(id, config, options.models.keys());
    const enabled = config.enabled;
    const supplier = new FrameSupplier({ streamId: id, ...(options.idleThresholdMs === undefined ? {} : { idleThresholdMs: options.idleThresholdMs }) });
    const { capture: stream, decoder, streams } = enabled ? buildStreams(options, supplier) : { capture: null, decoder: null, streams: [] };
    const feeds: CropFeed[] = [];
    const switches = new Map<string, StreamSwitch>();
    const motion = enabled ? cameraMotionFor(id, config, supplier, streams, options.log) : null;
    const gates = new Map<string, MotionGate>();
    const workers = new WorkerGroup({
      supplier,
      camera: id,
      log: options.log,
      // Results go out first (tracking sees them), then to the crop feeds, which crop what they found.
      emit: (event) => {
        options.emit(event);
        if (event.type === 'result') {
          for (const feed of feeds) feed.onResult(event);
          gates.get(event.worker)?.onResult(event.captureTime, event.output);
        }
      },
      ...(options.idleThresholdMs === undefined ? {} : { idleThresholdMs: options.idleThresholdMs }),
    });
    // Several streams: a vlm worker's crops come from the main stream's picture (ADR 0072), as cascades' do; the
    // camera exists once its workers are built.
    let self: CameraPipeline | null = null;
    const composition: CameraComposition = {
      options,
      supplier,
      streams,
      switchStreams: switchStreamsOf(streams),
      switches,
      motion,
      gates,
      feeds,
      workers,
      mainPicture: streams.length === 0 ? null : (near: number) => self!.snapshotFrame(near),
    };
    for (const w of config.workers) await addCameraWorker(composition, w);
    self = new CameraPipeline(options, stream, decoder, supplier, workers, feeds, streams, switches, motion, gates);
    return self;
  }

  get state(): CameraState {
    return this.#capture?.state ?? 'disabled';
  }

  get workerIds(): string[] {
    return this.#workers.ids;
  }

  /** A result of worker `id` reached an outlet past the system when its frame was `ageMs` old (ADR 0041). */
  recordHop(id: string, hop: OutletHop, ageMs: number): void {
    this.#workers.recordHop(id, hop, ageMs);
  }

  hasWorker(id: string): boolean {
    return this.#workers.has(id);
  }

  /** Its workers' profiles, built with them. */
  get workerProfiles(): WorkerProfile[] {
    return this.#workers.profiles;
  }

  workerProfile(id: string): WorkerProfile | undefined {
    return this.#workers.profile(id);
  }

  workerEnabled(id: string): boolean {
    return this.#workers.enabled(id);
  }

  /** A fresh incarnation of the worker with a fresh restart budget (also of a failed or disabled one). */
  restartWorker(id: string): Promise<void> {
    return this.#workers.restart(id);
  }

  /** Disabled: stopped, its subscription closed; enabled again: a fresh incarnation and budget. */
  setWorkerEnabled(id: string, enabled: boolean): Promise<void> {
    return this.#workers.setEnabled(id, enabled);
  }

  /** Starts the capture and the workers. Throws capture's start codes (no ffmpeg, native decoder missing). Idempotent. */
  start(): this {
    if (this.#started || this.#capture === null || this.#stopping !== null) return this;
    this.#started = true;
    const capture = this.#capture;
    this.supplier.start();
    for (const feed of this.#feeds) feed.start();
    capture.on('state', (state, lastError) => {
      const level = state === 'backoff' ? 'warn' : 'info';
      this.#log[level]({ state, lastError: state === 'backoff' ? lastError : undefined }, `camera ${state}`);
      this.#emit({ type: 'camera-state', at: Date.now(), camera: this.id, state, lastError });
      // A file played to its end: the camera is done, and its workers with it.
      if (state === 'stopped' && capture.stats().stopReason === 'ended') void this.supplier.close();
    });
    for (const s of this.#streams.slice(1)) {
      s.supplier.start();
      // A stream down or back: auto readers choose again (a dead main stream leaves them on the substream).
      s.capture?.on('state', (state, lastError) => {
        if (state === 'backoff') this.#log.warn({ stream: s.name, lastError }, `stream ${s.name} down`);
        // Closing, the streams stop one by one: nobody moves to a stream that is about to stop too (and be decoded for it).
        if (this.#stopping === null) for (const sw of this.#switches.values()) sw.reconsider();
      });
    }
    if (this.#streams.length > 0) {
      capture.on('state', (state) => {
        if (state === 'backoff') this.#log.warn({ stream: MAIN_STREAM }, `stream ${MAIN_STREAM} down: auto readers move to another stream`);
        if (this.#stopping === null) for (const sw of this.#switches.values()) sw.reconsider();
      });
    }
    // The camera's motion on and off, for MQTT's motion binary_sensor (ADR 0066).
    let motionOn = false;
    this.#motion?.listen((kind) => {
      if (kind === 'whole' || (kind === 'onset') === motionOn) return;
      motionOn = kind === 'onset';
      this.#emit({ type: 'motion', at: Date.now(), camera: this.id, state: motionOn ? 'on' : 'off' });
    });
    this.#motion?.start();
    this.#workers.start();
    try {
      capture.start();
      for (const s of this.#streams.slice(1)) s.capture?.start();
    } catch (error) {
      this.#started = false;
      void this.close(0);
      throw error;
    }
    return this;
  }

  /** Ends capture, then lets workers finish their frame in flight for up to drainMs, then stops them. Idempotent. */
  close(drainMs = 5_000): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.all([this.#capture?.close(), ...this.#streams.slice(1).map((s) => s.capture?.close())]);
      // The end of the stream: every worker's next read is null, so it finishes its frame and ends (stopped).
      for (const sw of this.#switches.values()) void sw.close();
      void this.supplier.close();
      for (const s of this.#streams.slice(1)) void s.supplier.close();
      await this.#workers.close(drainMs);
      await Promise.all(this.#feeds.map((feed) => feed.close()));
      await this.#motion?.close();
    })();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Its cascades' crop feeds (crops cut, time spent cutting): for the C-CROP bench and tests. */
  get cropFeeds(): readonly CropFeed[] {
    return this.#feeds;
  }

  /** The main stream's width over its height, as its capture opened it (a substream has its aspect, ADR 0053); null before it knows. */
  frameAspect(): number | null {
    const stats = this.#capture?.stats();
    return stats?.width != null && stats.height != null && stats.height > 0 ? stats.width / stats.height : null;
  }

  stats(): CameraStats {
    const { workers: _, ...supplier } = this.supplier.stats();
    const workers: Record<string, PipelineWorkerStats> = {};
    const captures = new Map<string, CaptureStats | null>();
    const captureStats = (stream: string): CaptureStats | null => {
      if (!captures.has(stream)) captures.set(stream, this.#captureOf(stream)?.stats() ?? null);
      return captures.get(stream) ?? null;
    };
    for (const id of this.#workers.ids) {
      const figures = this.#workers.stats(id);
      const stream = this.#switches.get(id)?.choice.stream ?? MAIN_STREAM;
      workers[id] = { ...figures, gate: this.#gates.get(id)?.stats() ?? null, decode: workerDecodeStats(stream, captureStats(stream)) };
    }
    return {
      id: this.id,
      enabled: this.enabled,
      state: this.state,
      decoder: this.decoder,
      capture: captureStats(MAIN_STREAM),
      supplier: this.#capture === null ? null : supplier,
      workers,
      streams: this.#streams.length === 0 ? null : Object.fromEntries(this.#streams.map((s) => [s.name, captureStats(s.name)])),
      workerStreams: this.#streams.length === 0 ? null : Object.fromEntries([...this.#switches].map(([id, sw]) => [id, sw.choice])),
      motion: this.#motion?.stats() ?? null,
    };
  }

  /**
   * The picture for an event's snapshot (ADR 0053): the largest stream's (main) picture nearest the
   * detection's capture time `near`, decoded on demand; when main cannot give one within one frame interval
   * of it (down, or no frame that near), the next stream's, and `fallback` says why. Rejects with
   * ERR_STREAM_PICTURE_UNAVAILABLE when no stream can give one.
   */
  async snapshotPicture(
    near: number | null,
  ): Promise<{ readonly picture: StreamPicture; readonly format: PixelFormat; readonly stream: string; readonly fallback: string | null }> {
    const names = this.streamNames;
    let why: string | null = null;
    let lastError: unknown = null;
    for (const name of names) {
      try {
        const picture = await this.picture(name, { near });
        const fps = this.#captureOf(name)?.stats().costs.receivedFps ?? 0;
        const intervalMs = fps > 0 ? 1000 / fps : 100;
        const off = near === null ? 0 : Math.abs(picture.captureTime - near);
        const format = this.#captureOf(name)!.source.format;
        if (off <= intervalMs + 1 || name === names[names.length - 1]) return { picture, format, stream: name, fallback: why };
        why ??= `stream ${name}'s nearest frame was ${Math.round(off)} ms from the detection (one frame is ${Math.round(intervalMs)} ms)`;
      } catch (error) {
        lastError = error;
        why ??= `stream ${name}: ${(error as Error).message}`;
      }
    }
    throw lastError instanceof Error ? lastError : new CaptureError('ERR_STREAM_PICTURE_UNAVAILABLE', `camera ${this.id}: no stream gave a picture`);
  }

  /**
   * The picture an event's snapshot or a cascade's crop is cut from (one rule for both): snapshotPicture(),
   * as a frame of this camera.
   */
  async snapshotFrame(near: number | null): Promise<{ readonly frame: Frame; readonly stream: string; readonly fallback: string | null }> {
    const { picture, format, stream, fallback } = await this.snapshotPicture(near);
    return { frame: frameOfPicture(picture, format, this.id), stream, fallback };
  }

  /**
   * The streams whose decoding could be shed now (ADR 0115): each stream other than the one its motion reads whose
   * every reader is a gated worker (no other worker, viewer or shared worker reads it), while the motion's stream is
   * up; with what its decoding costs now.
   */
  sheddable(): ShedTarget[] {
    const to = this.#motion?.stream;
    if (to === undefined || this.#streams.length === 0 || this.#captureOf(to)?.state !== 'streaming') return [];
    const targets: ShedTarget[] = [];
    for (const s of this.#streams) {
      if (s.name === to) continue;
      const gated = [...this.#switches].filter(([id, sw]) => this.#gates.has(id) && !sw.closed && sw.choice.stream === s.name).map(([id]) => id);
      if (gated.length === 0 || gated.length !== s.supplier.readerCount) continue;
      const capture = s.capture?.stats() ?? null;
      const perFrame = capture?.costs.cpuMsPerDecodedFrame ?? null;
      targets.push({
        camera: this.id,
        stream: s.name,
        to,
        workers: gated,
        cpuPct: capture === null || perFrame === null ? null : Math.round(perFrame * capture.fps * 10) / 100,
      });
    }
    return targets;
  }

  /**
   * Sheds a stream's decoding (`on`): its gated readers read `to` (their motion's stream) whatever their settings,
   * so it holds its packets undecoded; or gives it back: they read what their settings choose again.
   */
  shedStream(stream: string, to: string, on: boolean): void {
    const reason = `${SHED_CODE} (${SHED_CAUSE}): reads ${to} while the machine cannot keep up, so ${stream} is not decoded for it; crops and snapshots from main on demand`;
    for (const [id, sw] of this.#switches) {
      if (!this.#gates.has(id)) continue;
      if (on && sw.choice.stream === stream) sw.divert({ stream: to, reason });
      // Given back whether it reads `to` now or not (that stream down for a moment): the divert must not come back with it.
      else if (!on) sw.divert(null);
    }
  }

  /** Its motion detection's last frame (state, share, regions), or null: motion off, or no frame measured yet. */
  motionReading(): MotionReading | null {
    return this.#motion?.reading() ?? null;
  }

  /**
   * The system's rule for the in-process decoder's threads, as the cameras' count changes (1 when cameras outnumber
   * cores, else 0: libav chooses): every stream's decoder opens with it from its next open on. A camera whose config
   * names `capture.decoderThreads` keeps its own.
   */
  adviseDecoderThreads(threads: number): void {
    if (this.config.capture.decoderThreads !== undefined || this.decoder !== 'native') return;
    const captures = this.#streams.length === 0 ? [this.#capture] : this.#streams.map((s) => s.capture);
    for (const capture of captures) capture?.setDecoderThreads(threads);
  }

  #captureOf(stream: string): StreamCapture | null {
    return stream === MAIN_STREAM ? this.#capture : (this.#streams.find((s) => s.name === stream)?.capture ?? null);
  }

  /** The camera's stream names, main first (one: main, for a camera of one stream). */
  get streamNames(): string[] {
    return this.#streams.length === 0 ? [MAIN_STREAM] : this.#streams.map((s) => s.name);
  }

  /**
   * A picture of one stream (default main) for a snapshot (ADR 0052): the one nearest the capture time `near`
   * (performance.now()), decoded on demand. Rejects with ERR_STREAM_PICTURE_UNAVAILABLE when that stream does
   * not stream or is decoded by ffmpeg.
   */
  picture(stream = MAIN_STREAM, options: { readonly near?: number | null; readonly size?: ConvertSize | null } = {}): Promise<StreamPicture> {
    const capture = this.#captureOf(stream);
    if (capture === null)
      return Promise.reject(new CaptureError('ERR_STREAM_PICTURE_UNAVAILABLE', `camera ${this.id} has no stream ${JSON.stringify(stream)}`));
    return capture.picture(options);
  }
}

/** A picture decoded on demand as a frame of camera `streamId` (it has no seq on any stream: 0). */
export function frameOfPicture(picture: StreamPicture, format: PixelFormat, streamId: string): Frame {
  return {
    seq: 0,
    payload: picture.payload,
    width: picture.width,
    height: picture.height,
    format,
    streamId,
    captureTime: picture.captureTime,
    wallTime: picture.wallTime,
    decodedTime: picture.captureTime,
    publishTime: picture.captureTime,
  };
}
