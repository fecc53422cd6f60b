/**
 * The model-client worker kind: each frame it reads goes to a model server
 * (docs/protocol.md) by reference: written into the stream's shared-memory frame store,
 * then named in an InferenceRequest; the response becomes the result.
 *
 * Contract: a frame is written into shared memory once per stream, however
 * many model-client workers of that stream ask for it (a per-stream store
 * shared inside this process, keyed by frame seq). An error answer about
 * one frame (ERR_SCHEMA, ERR_FRAME_OVERWRITTEN, ERR_FRAME_NOT_FOUND,
 * ERR_TIMEOUT, ERR_HANDLER_FAILED, any code not listed below) is a result
 * with `error: { code, message }`, and the worker goes on with the next
 * frame. Only what stops every frame from being served is a crash, left to
 * the restart policy (a restart makes a new connection): a server that cannot
 * be reached or went away (ERR_SERVER_UNAVAILABLE, ERR_CONNECTION_LOST,
 * ERR_TOO_MANY_CONNECTIONS, broken framing), one that does not serve this
 * worker's configuration (ERR_UNKNOWN_MODEL, ERR_REFERENCE_OUTSIDE: a store
 * outside its directory), and a frame store this process cannot write.
 * Its exit's `code` is the code behind it.
 *
 * With `waitForServer` (a supervised model server), a server that cannot be
 * reached or went away (ERR_SERVER_UNAVAILABLE, ERR_CONNECTION_LOST) is waited
 * for instead: before the worker subscribes, and whenever a request finds the
 * server gone, as the supervisor's `waitFor` (not taken for hung meanwhile).
 * The worker keeps its subscription (the frames it misses are drops), and the
 * client reconnects by itself: a server restart is a gap in results, never a
 * restart of the worker.
 *
 * Newest frame at take time (protocol 2, ADR 0014): each request asks for the
 * stream's newest frame when a model thread takes it (`frame_select:
 * "newest"`), with the age budget `maxAgeMs` (`max_age_ms`) if given. With
 * `followNewest` (a camera's own worker) the worker goes on reading its
 * subscription while its request waits and writes each frame into the store,
 * so the server takes the newest one there is; the result is tagged with the
 * frame the server used. ERR_SUPERSEDED and ERR_FRAME_STALE are skips,
 * neither results nor crashes, and so is ERR_FRAME_OVERWRITTEN for these
 * requests (no frame of the size asked about left as new as it: frames of the
 * camera's other stream were written over it when the worker moved between
 * streams, ADR 0150).
 *
 * Fresh turns at maxFps (ADR 0044): the worker asks its source for fresh slots
 * (a frame is handed over as it is captured once the interval has passed, not
 * one that waited for a clock tick), and after each answer tells it how long
 * its request waited for the model and how long the call took (the answer's
 * wait_ms and inference_time_ms): a turn that waited more than half a call
 * may move (ADR 0088), so cameras sharing a model part where they fell due
 * together and stay where the model is free.
 *
 * Every frame read is settled once in the worker's model ledger (ADR 0040):
 * taken when the model answers about it (or about a newer frame of its stream:
 * then the frames read before that one are skipped as overwritten), skipped
 * as superseded or stale by those answers, as error by any other error
 * answer, and as unanswered when the server went away or the worker ends.
 *
 * On regions (ADR 0069, a motion-gated worker's `regions`): each frame read is first offered to its RegionRun,
 * which may give crops of it at the model's input size; those go to the model one after another (one request of
 * the camera waits at a time, frame_select exact) from a store of the worker's own, and their answers make one
 * result about the frame (region-run.ts). The frame is read once and taken once, however many crops it took.
 * Once its model's input size is known the worker then neither follows the newest frame while it waits (its crops
 * are of the frame it read; unless the RegionRun says its frames go whole for now: followsNewest) nor declares that
 * size to its source when the RegionRun reads full frames; one that wants full frames only at times
 * (wantsFullFrames, asked before each read) has them read at full size from then and at the model's size after.
 *
 * Urgent requests (protocol 3, ADR 0082): `urgentOf` is asked once for each request as it goes out, with the frame
 * it is about (each crop call of a frame on regions: every one of them); true marks it `urgent`, and a model server
 * of protocol 3 serves it before the other cameras' requests waiting (a version-2 server ignores the field).
 */
import type { Socket } from 'node:net';
import { IpcError, MAX_AGE_BUDGET_MS, ModelClient, type InferenceRequest, type InferenceResponse } from '../ipc/index.js';
import { DEFAULT_SHM_DIR } from '../shm/index.js';
import { StreamStore, type Written } from './stream-store.js';
import { InvalidArgumentError, isLongSide, type Frame, type FrameSource } from '../supplier/index.js';
import { projectCodeOf } from '../internal/errors.js';
import { nextFrame, WorkerExit, type WorkerKind } from './kinds.js';
import type { SkipReason } from './model-account.js';
import { cropFrame, cropsResult, type RegionCrops, type RegionRun } from './region-run.js';

export interface ModelClientWorkerOptions {
  /** The model server's Unix socket. */
  readonly socketPath: string;
  /** The model_id the server serves. */
  readonly modelId: string;
  /**
   * Directory of the stream's frame store, `<shmDir>/stream-<streamId>.frames`
   * (characters other than A–Z a–z 0–9 _ . - in the id become _). The model
   * server's own directory (its `shmDir`, `--shm-dir`) must contain it.
   * Default /dev/shm/framesupplier.
   */
  readonly shmDir?: string;
  /**
   * Frames kept in the stream's store (a ring). Default 4: the server takes the newest frame when it starts an
   * inference (frame_select newest), so a slot is reused only after three newer frames were written (300 ms at
   * 10 fps) while reading one takes milliseconds; each slot is a frame's bytes of shared memory, counted in the
   * system's and every model server's memory (8 slots were 11 MB a 720p camera).
   */
  readonly storeSlots?: number;
  /** Per request. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /**
   * Resolves true once the server can be asked (again), false if the worker
   * should end instead (the signal aborted: stop, restart, close). Given, an
   * unreachable or lost server is waited for, not a crash (see above).
   */
  readonly waitForServer?: (signal: AbortSignal) => Promise<void>;
  /** The age budget of each request (max_age_ms): a frame older than this, from its capture, when the server takes it is skipped (ERR_FRAME_STALE). Default: none. */
  readonly maxAgeMs?: number;
  /**
   * Keep reading and writing the stream's frames while a request waits, so the
   * server takes the newest (a worker of one camera). Off for a worker fed by
   * several cameras (a shared worker): its reads would take other cameras'
   * turns. Default true.
   */
  readonly followNewest?: boolean;
  /** Checks each connection to the server before it is used (a discovered model's trust rule): see ModelClientOptions. */
  readonly verifyConnection?: (socket: Socket) => void;
  /** A motion-gated worker's run on regions (ADR 0069): crops of a frame instead of the frame. Default: none. */
  readonly regions?: RegionRun;
  /**
   * Whether the request about `frame` goes `urgent` (protocol 3): asked once per request as it goes out (once per
   * crop call on regions), so its asker may count what it marked. For the first frame after a still spell (a motion
   * gate's onset) at most: a worker marking every request only puts its camera first, ahead of every other
   * camera's waiting request, as often as it has one waiting. Default: none is urgent.
   */
  readonly urgentOf?: (frame: Frame) => boolean;
  /** Each answer's metadata as it comes (a crop's too): its call's batch_size and inference_time_ms (ADR 0128). */
  readonly onAnswer?: (metadata: InferenceResponse['metadata']) => void;
}

/** Errors no frame can get past: a crash. Every other server error is about one frame: a result with `error`. */
const CRASH_ERRORS: ReadonlySet<string> = new Set([
  'ERR_SERVER_UNAVAILABLE',
  'ERR_CONNECTION_LOST',
  'ERR_TOO_MANY_CONNECTIONS',
  'ERR_BAD_LENGTH',
  'ERR_MESSAGE_TOO_LARGE',
  'ERR_UNKNOWN_MODEL',
  'ERR_REFERENCE_OUTSIDE',
  'ERR_SHM',
  'ERR_SHM_FULL',
  'ERR_MODEL_UNTRUSTED',
]);

/** Answers that are the latest-frame rule at work: the frame is skipped, counted, and the worker goes on. */
const SKIPS: ReadonlyMap<string, SkipReason> = new Map([
  ['ERR_SUPERSEDED', 'superseded'],
  ['ERR_FRAME_STALE', 'stale'],
]);

/**
 * A request for the stream's newest frame skips these too: ERR_FRAME_OVERWRITTEN then says no frame of the size it
 * described was left as new as it (the worker moved to its camera's other stream and wrote frames of that size over
 * it, or a newer frame was written while the server read it), the latest-frame rule at work, not the model's fault.
 */
const NEWEST_SKIPS: ReadonlyMap<string, SkipReason> = new Map([...SKIPS, ['ERR_FRAME_OVERWRITTEN', 'overwritten']]);

/** A server that is not there (yet, or any more): what waitForServer waits out. */
/** A server refused as untrusted (ERR_MODEL_UNTRUSTED) is waited out too: its model is not ready until a trusted one serves it. */
const SERVER_GONE: ReadonlySet<string> = new Set(['ERR_SERVER_UNAVAILABLE', 'ERR_CONNECTION_LOST', 'ERR_MODEL_UNTRUSTED']);

const DEFAULT_STORE_SLOTS = 4;

/** A failure no frame gets past, as the worker's exit. */
function crashOf(server: string, error: unknown): WorkerExit {
  const shown = (error as { code?: unknown } | null)?.code;
  return new WorkerExit('crashed', `${server}: ${typeof shown === 'string' ? shown : 'ERR_UNEXPECTED'}: ${(error as Error).message}`, {
    code: projectCodeOf(error),
    cause: error,
  });
}

/**
 * Why a request's following read is ended: its answer came. One reason for every request: an abort without one
 * makes a DOMException, its stack captured, once per model frame (issue 43 item 4); nothing reads it but follow().
 */
const ANSWERED = Object.freeze({ answered: true });

export function modelClientWorker(options: ModelClientWorkerOptions): WorkerKind {
  if (typeof options.socketPath !== 'string' || options.socketPath.length === 0) throw new InvalidArgumentError('modelClientWorker: socketPath is required');
  if (typeof options.modelId !== 'string' || options.modelId.length === 0) throw new InvalidArgumentError('modelClientWorker: modelId is required');
  const slots = options.storeSlots ?? DEFAULT_STORE_SLOTS;
  if (!Number.isInteger(slots) || slots < 1)
    throw new InvalidArgumentError(`modelClientWorker: storeSlots must be an integer ≥ 1, got ${String(options.storeSlots)}`);
  const maxAgeMs = options.maxAgeMs;
  if (maxAgeMs !== undefined && !(typeof maxAgeMs === 'number' && maxAgeMs > 0 && maxAgeMs <= MAX_AGE_BUDGET_MS)) {
    throw new InvalidArgumentError(`modelClientWorker: maxAgeMs must be a number above 0 and at most ${MAX_AGE_BUDGET_MS}, got ${String(maxAgeMs)}`);
  }
  const regions = options.regions;
  const urgentOf = options.urgentOf;
  /** The request's `urgent` field for a frame: present only when true, so a request is what it was without urgency. */
  const urgency = (frame: Frame): { urgent?: true } => (urgentOf?.(frame) === true ? { urgent: true } : {});
  const followNewest = options.followNewest ?? true;
  const waitForServer = options.waitForServer;
  const shmDir = options.shmDir ?? DEFAULT_SHM_DIR;
  const server = `model server ${options.socketPath} (${options.modelId})`;
  return {
    kind: 'model-client',
    async run(context) {
      if (waitForServer !== undefined) await context.waitFor(server, waitForServer);
      const client = new ModelClient({
        socketPath: options.socketPath,
        mode: 'persistent',
        timeoutMs: options.timeoutMs ?? 10_000,
        ...(options.verifyConnection === undefined ? {} : { verifyConnection: options.verifyConnection }),
      });
      const stores = new Map<string, StreamStore>();
      const ledger = context.modelLedger();
      let subscription: FrameSource | null = null;
      /** Writes a frame into its stream's store. No store (ERR_SHM_FULL: its tmpfs is full) means no frame can reach the model: a crash, left to the policy. */
      const write = (frame: Frame, read = true): Written => {
        let store = stores.get(frame.streamId);
        // A store of the stream's frames lends the stream's capture its slots (ADR 0090); a crop store (below) does not.
        if (store === undefined) stores.set(frame.streamId, (store = StreamStore.acquire(shmDir, frame.streamId, slots, true)));
        if (read) ledger.read(frame);
        try {
          return { ref: store.refFor(frame), tag: frame, store };
        } catch (error) {
          throw new WorkerExit('crashed', `frame store in ${shmDir}: ${(error as IpcError).code}: ${(error as Error).message}`, {
            code: projectCodeOf(error),
            cause: error,
          });
        }
      };
      try {
        const source = (subscription = context.subscribe());
        /**
         * The model's frame size, from its pong: the camera may convert frames to it rather than larger (ADR 0031).
         * A server that does not say (or a failed ping: the request that follows meets the failure) leaves full frames.
         */
        let inputSide: number | null = null;
        /** The frames are read at full size now for a RegionRun that asks for them only at times (wantsFullFrames). */
        let readingFull = false;
        const declareReadSize = async (): Promise<void> => {
          readingFull = false;
          if (source.setReadSize === undefined && regions === undefined) return;
          // Crops are cut from full frames whatever the model's size (the model's size is theirs, not the frames'),
          // and whatever readSize the worker's config says: said before the ping, so no frame converted while it is
          // pending comes at that size. (A conversion already under way when the worker subscribed keeps the size of
          // the readers before it, the camera's motion's: not much larger than the model's input, it goes whole.)
          const readsFull = regions?.readsFull === true;
          if (readsFull) source.setReadSize?.('full');
          try {
            const longSide = (await client.ping({ signal: context.signal })).frame_long_side;
            inputSide = isLongSide(longSide) ? longSide : null;
            if (!readsFull) source.setReadSize?.(inputSide !== null ? { longSide: inputSide } : 'full');
          } catch {
            // Said again once the server is back.
          }
        };
        await declareReadSize();
        source.freshSlots?.();
        // Crops are of the frame read: a worker that may send crops (its model's size known) follows nothing while they
        // wait, unless its RegionRun says its frames go whole for now (a second look that waits for someone lost).
        const follows = (): boolean => followNewest && (regions === undefined || inputSide === null || regions.followsNewest?.() === true);
        const readSizeForCrops = (): void => {
          if (regions?.wantsFullFrames === undefined || regions.readsFull || inputSide === null) return;
          const full = regions.wantsFullFrames();
          if (full === readingFull) return;
          readingFull = full;
          source.setReadSize?.(full ? 'full' : { longSide: inputSide });
        };
        /** The newest frame this worker wrote, and the newest frame a server has answered about: a request goes out for a newer one. */
        let latest: Written | null = null;
        let answeredUpTo = 0;
        let ended = false;
        /** A frame store failure while following: thrown once the answer is in. */
        const followed: { failure: WorkerExit | null } = { failure: null };
        /** While a request waits: every frame read is written, so the server takes the newest. Ends when `stop` aborts. Never rejects. */
        const follow = async (stop: AbortSignal): Promise<void> => {
          for (;;) {
            let frame: Frame | null;
            try {
              frame = await source.read({ signal: stop });
            } catch {
              return; // the answer came (or the worker stops)
            }
            if (frame === null) {
              ended = true;
              return;
            }
            try {
              latest = write(frame);
            } catch (error) {
              followed.failure = error as WorkerExit; // write() throws only WorkerExit
              return;
            }
          }
        };
        /** A server that went away (ERR_SERVER_UNAVAILABLE, ERR_CONNECTION_LOST) when waitForServer is given: waited out, not a crash. */
        const serverGone = (error: unknown): boolean => {
          const code = projectCodeOf(error);
          return waitForServer !== undefined && code !== undefined && SERVER_GONE.has(code);
        };
        const waitOutServer = async (error: unknown): Promise<void> => {
          context.log(`${server} went away (${projectCodeOf(error)}); waiting for it`);
          // Nothing read so far will be answered: the next request is for a frame read once the server is back.
          ledger.drain();
          await context.waitFor(server, waitForServer!);
          context.log(`${server} is back; reading again`);
          await declareReadSize();
        };
        const cropStream = `${context.workerId}.regions`;
        let cropSeq = 0;
        /** A frame's crops to the model one after another (ADR 0069), then one result about the frame: it is read once and taken once. */
        const runCrops = async (frame: Frame, crops: RegionCrops): Promise<void> => {
          ledger.read(frame);
          let store = stores.get(cropStream);
          if (store === undefined) stores.set(cropStream, (store = StreamStore.acquire(shmDir, cropStream, slots)));
          // Every crop fits in a square of the model's input: one slot size for all of them.
          const side = Math.max(...crops.crops.map((c) => Math.max(c.width, c.height)));
          store.minBytes = Math.max(store.minBytes, side * side * 3);
          const responses: InferenceResponse[] = [];
          let waited = 0;
          let called = 0;
          for (const crop of crops.crops) {
            const { ref } = write(cropFrame(frame, crop, cropStream, ++cropSeq), false);
            const request: InferenceRequest = {
              ...ref,
              camera_id: frame.streamId,
              model_id: options.modelId,
              timestamp: frame.wallTime / 1000,
              frame_select: 'exact',
              ...(maxAgeMs === undefined ? {} : { max_age_ms: maxAgeMs }),
              // Every crop of an onset's frame: its crops are the onset's answer, one after another.
              ...urgency(frame),
              ...(crop.look === true ? { look: true } : {}),
            };
            try {
              regions!.called(true);
              const response = await client.infer(request, { signal: context.signal });
              options.onAnswer?.(response.metadata);
              responses.push(response);
              if (typeof response.metadata.wait_ms === 'number') waited += response.metadata.wait_ms;
              if (typeof response.metadata.inference_time_ms === 'number') called += response.metadata.inference_time_ms;
            } catch (error) {
              if (context.signal.aborted) return;
              // A crop not answered: the frame is not (the rest of its crops are not asked about).
              const skip = error instanceof IpcError ? SKIPS.get(error.code) : undefined;
              if (skip !== undefined) return ledger.skip(frame, skip);
              if (error instanceof IpcError && !CRASH_ERRORS.has(error.code)) {
                ledger.skip(frame, 'error');
                return context.emit(frame, { detections: [], error: { code: error.code, message: error.message } });
              }
              if (serverGone(error)) return waitOutServer(error);
              throw crashOf(server, error);
            }
          }
          if (waited > 0 && called > 0) source.turnWaited?.(waited, called);
          const result = cropsResult(crops, responses);
          regions!.answered?.(crops, result.detections);
          ledger.took(frame, result.metadata.inference_time_ms);
          context.emit(frame, result);
        };
        for (;;) {
          if (latest === null || latest.ref.frame_metadata.frame_id <= answeredUpTo || !follows()) {
            if (ended) return;
            readSizeForCrops();
            const frame = await nextFrame(source, context.signal);
            if (frame === null) return;
            const crops = regions === undefined ? null : await regions.plan(frame, inputSide);
            if (crops !== null) {
              await runCrops(frame, crops);
              continue;
            }
            latest = write(frame);
          }
          const sent: Written = latest;
          const request: InferenceRequest = {
            ...sent.ref,
            camera_id: sent.tag.streamId,
            model_id: options.modelId,
            timestamp: sent.tag.wallTime / 1000,
            frame_select: 'newest',
            ...(maxAgeMs === undefined ? {} : { max_age_ms: maxAgeMs }),
            ...urgency(sent.tag),
          };
          // The following read ends when the answer comes; the worker's own stop needs no link of its own: it rejects
          // the request at once (its signal), and the answer's end of the following comes in `finally` (issue 43 item 4:
          // a linked signal per request was one more AbortController and two listeners a model frame).
          const answered = follows() ? new AbortController() : null;
          const following = answered === null ? null : follow(answered.signal);
          let response: InferenceResponse;
          try {
            regions?.called(false);
            response = await client.infer(request, { signal: context.signal });
          } catch (error) {
            if (context.signal.aborted) return;
            const skip = error instanceof IpcError ? NEWEST_SKIPS.get(error.code) : undefined;
            if (skip !== undefined) {
              const frameId = (error as IpcError).frameId ?? sent.ref.frame_metadata.frame_id;
              ledger.skip(sent.store.tagOf(frameId) ?? sent.tag, skip);
              answeredUpTo = Math.max(answeredUpTo, frameId);
              continue;
            }
            answeredUpTo = Math.max(answeredUpTo, sent.ref.frame_metadata.frame_id);
            if (error instanceof IpcError && !CRASH_ERRORS.has(error.code)) {
              ledger.skip(sent.tag, 'error');
              context.emit(sent.tag, { detections: [], error: { code: error.code, message: error.message } });
              continue;
            }
            if (serverGone(error)) {
              answered?.abort(ANSWERED);
              await following;
              latest = null;
              await waitOutServer(error);
              continue;
            }
            throw crashOf(server, error);
          } finally {
            answered?.abort(ANSWERED);
            await following;
          }
          if (followed.failure !== null) throw followed.failure;
          options.onAnswer?.(response.metadata);
          answeredUpTo = Math.max(answeredUpTo, response.frame_id ?? 0);
          // How long this camera's turn waited for the model, and the call: a turn that fell into another's may move.
          const waited = response.metadata.wait_ms;
          const modelMs = response.metadata?.inference_time_ms;
          if (typeof waited === 'number' && typeof modelMs === 'number') source.turnWaited?.(waited, modelMs);
          // The frame the server used: the one named, or a newer one of the stream (an older server serves the one named).
          const used = sent.store.tagOf(response.frame_id) ?? sent.tag;
          ledger.took(used, typeof modelMs === 'number' ? modelMs : undefined);
          context.emit(used, {
            detections: response.detections,
            metadata: response.metadata,
            frame_id: response.frame_id,
          });
        }
      } finally {
        ledger.drain();
        await subscription?.close();
        client.close();
        for (const store of stores.values()) store.release();
      }
    },
  };
}
