/**
 * How a camera is composed from its config (CameraPipeline.create builds one with these, and nothing here starts
 * anything): its streams' captures (main, and each further stream holding its packets undecoded while no worker
 * reads it, ADR 0052/0053), what a worker's stream switch sees of them, the camera's motion (ADR 0066), and each
 * worker with what it is made of: its motion gate and regions (ADR 0066, 0069), its model or module built, a
 * cascade's crop feed (ADR 0051), the source it reads (its feed, its gate, or a StreamSwitch: ADR 0113), all added
 * to the camera's worker group.
 *
 * Contract: pure construction, in the order create() calls it; errors are the config's or capture's codes
 * (ERR_CONFIG, ERR_WORKER_MODULE, ERR_STREAM_PICTURE_UNAVAILABLE…), thrown before anything runs.
 */
import {
  CaptureError,
  nativeDecoderUnavailable,
  NATIVE_FORMATS,
  resolveSource,
  StreamCapture,
  type CaptureOptions,
  type OutputOptions,
} from '../../capture/index.js';
import type { StreamSize as ConvertSize } from '../../capture/index.js';
import type { Logger } from '../../internal/logger.js';
import { FrameSupplier, type FrameSource, type SubscribeOptions } from '../../supplier/index.js';
import { CropFeed, withCropInfo } from './crop-feed.js';
import { StreamSwitch, type SwitchStream } from './stream-switch.js';
import { type CameraConfig, type CaptureConfig, type SystemEvent, workerProfile } from '../base/index.js';
import {
  cameraMeasuresMotion,
  careOf,
  fallsOptionsOf,
  gateRegionsOf,
  MAIN_STREAM,
  MOTION_READ_SIZE,
  motionStreamOf,
  lostSecondsOf,
  stationarySecondsOf,
  trackOptionsOf,
} from '../../config/index.js';
import type { ModelService } from '../model-host/index.js';
import type { WorkerGroup } from './worker-group.js';
import { frameStoreLender, type MainPicture } from '../../workers/index.js';
import { buildWorkerKind } from './build-worker.js';
import type { VlmObject, VlmScene } from '../../workers/index.js';
import { GateRegions } from './gate-regions.js';
import { SecondLook, type LostSighting, type SweepSighting } from './second-look.js';
import { CameraMotion } from './camera-motion.js';
import { MotionGate, type GateTrack } from './motion-gate.js';
import type { Polygon } from '../../objects/index.js';
import type { Privacy } from '../../pictures/index.js';

export interface CameraPipelineOptions {
  readonly id: string;
  readonly config: CameraConfig;
  readonly models: ReadonlyMap<string, ModelService>;
  readonly shmDir: string;
  /** The camera's logger (a child tagged with it). */
  readonly log: Logger;
  readonly emit: (event: SystemEvent) => void;
  /** Workers' hung threshold (default 30 000 ms). */
  readonly idleThresholdMs?: number;
  /** What vlm workers see of tracked objects (the system's). */
  readonly scene?: VlmScene | null;
  /** The camera's privacy (ADR 0139): its vlm workers' pictures and cascades' crops are made with it. */
  readonly privacy: Privacy;
  /** A worker's tracks now (the system's tracking): what its motion gate rechecks. */
  readonly tracks?: (camera: string, worker: string) => readonly GateTrack[];
  /** A fall worker's people lost while going down (the system's fall alerts): where its second look looks (ADR 0169). */
  readonly lost?: (camera: string, worker: string) => readonly LostSighting[];
  /** A fall worker's sweep at a capture time (the system's fall alerts): the picture looked over in tiles (ADR 0189). */
  readonly sweep?: (camera: string, worker: string, time: number) => SweepSighting | null;
  /** Values the camera's config took from the environment: masked in its captures' stats, logs and errors. */
  readonly secrets?: readonly string[];
}

/** A further stream of a camera, built with it. */
export interface CameraStream {
  readonly name: string;
  readonly supplier: FrameSupplier;
  readonly capture: StreamCapture | null;
  /** Its size as declared in the config, until its decoder says. */
  readonly declared: ConvertSize | null;
}

/** A camera's captures: main's (null while the camera is disabled), the decoder it got, and every stream, main first, when it has several. */
export interface CameraCaptures {
  readonly capture: StreamCapture | null;
  readonly decoder: 'native' | 'ffmpeg' | null;
  readonly streams: CameraStream[];
}

/** The captures of an enabled camera: main's, and each further stream's with its own supplier (ADR 0053). */
export function buildStreams(options: CameraPipelineOptions, supplier: FrameSupplier): CameraCaptures {
  const { id, config } = options;
  const { capture } = config;
  const further = Object.entries(config.streams ?? {}).filter(([name]) => name !== MAIN_STREAM);
  const streams: CameraStream[] = [];
  {
    const choice = chooseDecoder(config.source, capture);
    const decoder = choice.decoder;
    // Several streams: each holds its packets undecoded while no worker reads it (in-process decoder only).
    const holdUnread = further.length > 0 && decoder === 'native';
    const captureOptions: CaptureOptions = {
      source: config.source,
      ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
      holdUnread,
      supplier,
      streamId: id,
      decoder,
      // Frames converted straight into the model's store of the camera's frames, once a model worker writes one (ADR 0090).
      lender: frameStoreLender(options.shmDir, id),
      output: cleanOutput(capture),
      stallTimeoutMs: capture.stallTimeoutMs,
      connectTimeoutMs: capture.connectTimeoutMs,
      rtspTransport: capture.rtspTransport,
      realtime: capture.realtime,
      loop: capture.loop,
      ...(capture.inputFormat == null ? {} : { inputFormat: capture.inputFormat }),
      keyframesOnly: capture.keyframesOnly === true,
      ...(capture.decode === undefined ? {} : { decode: capture.decode }),
      ...(capture.scale === undefined ? {} : { scale: capture.scale }),
      // Its own count, else the system's rule for its cameras, told before it starts (adviseDecoderThreads).
      ...(capture.decoderThreads === undefined ? {} : { decoderThreads: capture.decoderThreads }),
      backoff: capture.backoff,
    };
    const stream = new StreamCapture(captureOptions);
    options.log.info({ decoder, source: stream.source.display }, choice.why);
    if (further.length > 0) {
      streams.push({ name: MAIN_STREAM, supplier, capture: stream, declared: declaredSize(config.streams?.[MAIN_STREAM]) });
      for (const [name, entry] of further) {
        const url = typeof entry === 'string' ? entry : (entry.source ?? '');
        const streamSupplier = new FrameSupplier({
          streamId: id,
          ...(options.idleThresholdMs === undefined ? {} : { idleThresholdMs: options.idleThresholdMs }),
        });
        const picked = chooseDecoder(url, capture);
        // The same scene: the capture settings hold, but a size or crop set for the main stream is not this one's.
        const { width: _w, height: _h, crop: _c, ...output } = cleanOutput(capture);
        const sub = new StreamCapture({
          ...captureOptions,
          source: url,
          supplier: streamSupplier,
          decoder: picked.decoder,
          holdUnread: picked.decoder === 'native',
          output,
        });
        options.log.info({ stream: name, decoder: picked.decoder, source: sub.source.display }, picked.why);
        if (picked.decoder === 'ffmpeg')
          options.log.warn(
            { stream: name, code: 'ERR_STREAM_PICTURE_UNAVAILABLE' },
            `stream ${name} is decoded by an ffmpeg process: it decodes every frame while it runs, and gives no pictures on demand (${picked.why})`,
          );
        streams.push({ name, supplier: streamSupplier, capture: sub, declared: declaredSize(entry) });
      }
    }
    return { capture: stream, decoder, streams };
  }
}

/** What a worker's StreamSwitch sees of the camera's streams: each one's size (as decoded, else as declared) and whether it is up. */
export function switchStreamsOf(streams: readonly CameraStream[]): SwitchStream[] {
  return streams.map((s) => ({
    name: s.name,
    supplier: s.supplier,
    size: () => {
      const stats = s.capture?.stats();
      return stats?.width != null && stats.height != null ? { width: stats.width, height: stats.height } : s.declared;
    },
    up: () => s.capture?.state === 'streaming',
    // Its first connection: never launched again, not failed (a gated worker waits for its motion's stream, ADR 0113).
    starting: () => (s.capture?.state === 'idle' || s.capture?.state === 'connecting') && s.capture.stats().restarts === 0,
  }));
}

/** A camera being composed: what its workers are built with, and the parts each one adds itself to. */
export interface CameraComposition {
  readonly options: CameraPipelineOptions;
  /** The main stream's supplier. */
  readonly supplier: FrameSupplier;
  readonly streams: readonly CameraStream[];
  readonly switchStreams: readonly SwitchStream[];
  /** Each worker's StreamSwitch, by worker id, set by each incarnation's subscription. */
  readonly switches: Map<string, StreamSwitch>;
  readonly motion: CameraMotion | null;
  /** The gated workers' motion gates, by worker id. */
  readonly gates: Map<string, MotionGate>;
  /** Cascades' crop feeds. */
  readonly feeds: CropFeed[];
  readonly workers: WorkerGroup;
  /** Several streams: main's picture nearest a capture time, for crops (null for a camera of one stream). */
  readonly mainPicture: MainPicture | null;
}

/** Builds a worker of the camera (its gate, regions, kind, feed and source) and adds it to the camera's worker group. */
export async function addCameraWorker(c: CameraComposition, w: CameraConfig['workers'][number]): Promise<void> {
  const { options, supplier, streams, switchStreams, switches, motion, gates, feeds, workers, mainPicture } = c;
  const { id, config } = options;
  const enabled = config.enabled;
  const supervisorId = `${id}.${w.id}`;
  const crops = 'crops' in w ? w.crops : undefined;
  const readsCrops = crops !== undefined;
  const gateSetting = 'gate' in w && !readsCrops ? w.gate : undefined;
  const tracked = (): VlmObject[] => (options.scene?.liveObjects(id) ?? []).filter((o) => o.worker === w.id);
  const gate =
    gateSetting === undefined || motion === null
      ? null
      : new MotionGate({
          motion,
          stationaryMs: stationarySecondsOf(gateSetting) * 1000,
          lostMs: lostSecondsOf(trackOptionsOf(w)) * 1000,
          tracked: () => options.tracks?.(id, w.id) ?? [],
        });
  if (gate !== null) gates.set(w.id, gate);
  // Regions (ADR 0069): a gated worker of a model server on this machine, unless its gate says off.
  const regionSetting = gateSetting === undefined ? null : gateRegionsOf(gateSetting);
  const regions =
    gate === null || motion === null || regionSetting?.on !== true || !('model' in w) || (options.models.get(w.model)?.kserve ?? null) !== null
      ? null
      : new GateRegions({
          motion,
          reasonOf: (frame) => gate.reasonOf(frame),
          tracked: () => tracked().map((o) => o.box),
          wholeAbove: regionSetting.wholeAbove,
        });
  if (regions !== null) gate?.useRegions(regions);
  // The second look (ADR 0169): a fall worker of a model server on this machine, not gated, looks again on crops where
  // a person was lost while going down (a gated one has its regions already: its tracked boxes are among them).
  const lost = options.lost;
  const secondLook =
    regions !== null ||
    gate !== null ||
    readsCrops ||
    lost === undefined ||
    !('model' in w) ||
    fallsOptionsOf(w) === null ||
    (options.models.get(w.model)?.kserve ?? null) !== null
      ? null
      : new SecondLook({ lost: () => lost(id, w.id), sweep: (time) => options.sweep?.(id, w.id, time) ?? null });
  const built = await buildWorkerKind(`camera ${id}, worker ${w.id}`, supervisorId, w, {
    models: options.models,
    shmDir: options.shmDir,
    scene: options.scene ?? null,
    mainPicture,
    privacy: options.privacy,
    regions: regions ?? secondLook,
    // The first frame after a still spell goes first at the model server too, not behind other cameras' requests.
    urgentOf: gate === null ? null : (frame) => gate.urgentOf(frame),
  });
  const feed =
    crops === undefined
      ? null
      : new CropFeed({ camera: id, worker: w.id, settings: crops, source: supplier, scene: options.scene ?? null, privacy: options.privacy });
  if (feed !== null) feeds.push(feed);
  const gated = (source: FrameSource): FrameSource => (gate === null ? source : gate.source(source));
  workers.add(
    {
      profile: workerProfile({ camera: id, id: w.id, config: w, kind: built.name, model: built.model, care: careOf(config, w) }),
      supervisorId,
      built: feed === null ? built : { ...built, kind: withCropInfo(built.kind, feed) },
      ...(feed === null ? {} : { source: (workerId: string, subscribe: SubscribeOptions) => feed.subscribe(workerId, subscribe) }),
      ...(gate === null || streams.length > 0
        ? {}
        : { source: (workerId: string, subscribe: SubscribeOptions) => gated(supplier.subscribe(workerId, subscribe)) }),
      maxFps: w.maxFps ?? null,
      maxAgeMs: w.maxAgeMs ?? null,
      enabled: enabled && w.enabled,
      // A crop reader reads its feed; every other worker (a module on a thread too: its frames are read here and
      // handed to its thread) through a StreamSwitch.
      ...(streams.length === 0 || feed !== null
        ? {}
        : {
            // Each incarnation subscribes anew: to the stream its setting and readSize choose now.
            source: (workerId: string, subscribe: SubscribeOptions) => {
              const log = options.log.child({ worker: w.id });
              const streamSwitch = new StreamSwitch({
                workerId,
                subscribe,
                streams: switchStreams,
                setting: w.stream ?? 'auto',
                fallback: MAIN_STREAM,
                // Gated: its motion's stream, its full resolution from main's pictures on demand (ADR 0113).
                ...(gate === null || motion === null ? {} : { prefer: motion.stream }),
                onChange: (now, before) =>
                  before === null
                    ? log.info({ stream: now.stream, why: now.reason }, `reads stream ${now.stream}`)
                    : log.warn({ stream: now.stream, from: before.stream, why: now.reason }, `moved from stream ${before.stream} to ${now.stream}`),
              });
              switches.set(w.id, streamSwitch);
              return gated(streamSwitch);
            },
          }),
    },
    options.log.child({ worker: w.id }),
  );
}

/** Which decoder a camera gets, and why (for the log). */
export function chooseDecoder(source: string, capture: CaptureConfig): { decoder: 'native' | 'ffmpeg'; why: string } {
  const wanted = capture.decoder;
  if (wanted !== 'auto') return { decoder: wanted, why: 'as configured' };
  const missing = nativeDecoderUnavailable();
  if (missing !== null) return { decoder: 'ffmpeg', why: 'decoder auto: the native decoder is not built; using ffmpeg processes' };
  const resolved = resolveSource(source, { output: cleanOutput(capture) });
  if (!['file', 'rtsp', 'http'].includes(resolved.kind))
    return { decoder: 'ffmpeg', why: `decoder auto: the native decoder does not read ${resolved.kind} sources; using ffmpeg` };
  if (!(NATIVE_FORMATS as readonly string[]).includes(resolved.format))
    return { decoder: 'ffmpeg', why: `decoder auto: the native decoder does not produce ${resolved.format}; using ffmpeg` };
  return { decoder: 'native', why: 'decoder auto: in-process native decoder' };
}

/** A stream's size as its config entry declares it, or null. */
function declaredSize(entry: unknown): ConvertSize | null {
  if (entry === null || typeof entry !== 'object') return null;
  const { width, height } = entry as { width?: unknown; height?: unknown };
  return typeof width === 'number' && typeof height === 'number' ? { width, height } : null;
}

/** The capture's output options without YAML's nulls (~ means "not set"). crop and hflip pass through as they are. */
function cleanOutput(capture: CaptureConfig): OutputOptions {
  const out: Record<string, unknown> & OutputOptions = {};
  for (const [key, value] of Object.entries(capture.output)) if (value !== null && value !== undefined) out[key] = value;
  return out;
}

/**
 * The camera's motion detection, when its config turns it on or a worker is gated by it (and it is not turned
 * off): on the stream it names, else the smallest declared one, else its first substream, else main.
 */
export function cameraMotionFor(id: string, config: CameraConfig, main: FrameSupplier, streams: readonly CameraStream[], log: Logger): CameraMotion | null {
  if (!cameraMeasuresMotion(config)) return null;
  const setting = config.motion;
  const name = motionStreamOf(config);
  const supplier = name === MAIN_STREAM ? main : streams.find((s) => s.name === name)?.supplier;
  // config check refuses a motion.stream the camera does not have: this is a resolved config's bug, said as such.
  if (supplier === undefined)
    throw new CaptureError('ERR_STREAM_PICTURE_UNAVAILABLE', `camera ${id}: motion.stream ${JSON.stringify(name)} is not a stream of this camera`);
  return new CameraMotion({
    camera: id,
    stream: name,
    supplier,
    readSize: setting?.readSize ?? MOTION_READ_SIZE,
    masks: (setting?.masks ?? []) as unknown as readonly Polygon[],
    log: log.child({ motion: name }),
  });
}
