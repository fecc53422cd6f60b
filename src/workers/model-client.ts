/**
 * The model-client worker kind: each frame it reads goes to a model server
 * (seed 05) by reference: written into the stream's shared-memory frame store,
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
 */
import { IpcError, ModelClient, type FrameFormat, type InferenceResponse } from '../ipc/index.js';
import { DEFAULT_SHM_DIR, writerFor, type FrameStoreWriter, type FrameReference } from '../shm/index.js';
import { InvalidArgumentError, type Frame, type FrameSource } from '../supplier/index.js';
import { codeOf, nextFrame, WorkerExit, type WorkerKind } from './kinds.js';

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
  /** Frames kept in the stream's store (a ring): enough for the slowest model to read its frame. Default 8. */
  readonly storeSlots?: number;
  /** Per request. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /**
   * Resolves true once the server can be asked (again), false if the worker
   * should end instead (the signal aborted: stop, restart, close). Given, an
   * unreachable or lost server is waited for, not a crash (see above).
   */
  readonly waitForServer?: (signal: AbortSignal) => Promise<boolean>;
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
]);

/** A server that is not there (yet, or any more): what waitForServer waits out. */
const SERVER_GONE: ReadonlySet<string> = new Set(['ERR_SERVER_UNAVAILABLE', 'ERR_CONNECTION_LOST']);

/** One store per (directory, stream), shared by the stream's model-client workers; a frame is written once. */
class StreamStore {
  static readonly #stores = new Map<string, StreamStore>();
  readonly #key: string;
  readonly #dir: string;
  readonly #storeId: string;
  readonly #slots: number;
  #writer: FrameStoreWriter | null = null;
  readonly #refs = new Map<number, FrameReference>();
  #users = 0;

  private constructor(key: string, dir: string, streamId: string, slots: number) {
    this.#key = key;
    this.#dir = dir;
    this.#storeId = `stream-${streamId.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 128);
    this.#slots = slots;
  }

  static acquire(dir: string, streamId: string, slots: number): StreamStore {
    const key = `${dir}\0${streamId}`;
    let store = StreamStore.#stores.get(key);
    if (store === undefined) {
      store = new StreamStore(key, dir, streamId, slots);
      StreamStore.#stores.set(key, store);
    }
    store.#users++;
    return store;
  }

  release(): void {
    if (--this.#users > 0) return;
    StreamStore.#stores.delete(this.#key);
    this.#writer?.close(); // removes the file, and the directory it made once empty
  }

  /** The frame's reference, writing it only if no worker of this stream has yet. */
  refFor(frame: Frame): FrameReference {
    const known = this.#refs.get(frame.seq);
    if (known !== undefined) return known;
    const writer = writerFor(this.#writer, this.#storeId, frame.payload.byteLength, { dir: this.#dir, slots: this.#slots });
    if (writer !== this.#writer) {
      this.#writer = writer;
      this.#refs.clear();
    }
    const ref = writer.write(frame.payload, { width: frame.width, height: frame.height, format: frame.format.toUpperCase() as FrameFormat });
    this.#refs.set(frame.seq, ref);
    // Only the ring's frames can still be read; forget the rest.
    for (const seq of this.#refs.keys()) {
      if (this.#refs.size <= this.#slots) break;
      this.#refs.delete(seq);
    }
    return ref;
  }
}

export function modelClientWorker(options: ModelClientWorkerOptions): WorkerKind {
  if (typeof options.socketPath !== 'string' || options.socketPath.length === 0) throw new InvalidArgumentError('modelClientWorker: socketPath is required');
  if (typeof options.modelId !== 'string' || options.modelId.length === 0) throw new InvalidArgumentError('modelClientWorker: modelId is required');
  const slots = options.storeSlots ?? 8;
  if (!Number.isInteger(slots) || slots < 1) throw new InvalidArgumentError(`modelClientWorker: storeSlots must be an integer ≥ 1, got ${String(options.storeSlots)}`);
  const waitForServer = options.waitForServer;
  const server = `model server ${options.socketPath} (${options.modelId})`;
  return {
    kind: 'model-client',
    async run(context) {
      if (waitForServer !== undefined && !(await context.waitFor(server, waitForServer))) return;
      const client = new ModelClient({ socketPath: options.socketPath, mode: 'persistent', timeoutMs: options.timeoutMs ?? 10_000 });
      let store: StreamStore | null = null;
      let subscription: FrameSource | null = null;
      try {
        subscription = context.subscribe();
        for (;;) {
          const frame = await nextFrame(subscription, context.signal);
          if (frame === null) return;
          store ??= StreamStore.acquire(options.shmDir ?? DEFAULT_SHM_DIR, frame.streamId, slots);
          let ref: FrameReference;
          try {
            ref = store.refFor(frame);
          } catch (error) {
            // No store (ERR_SHM_FULL: its tmpfs is full), so no frame can reach the model: a crash, left to the policy.
            throw new WorkerExit('crashed', `frame store in ${options.shmDir ?? DEFAULT_SHM_DIR}: ${(error as IpcError).code}: ${(error as Error).message}`, { code: codeOf(error), cause: error });
          }
          let response: InferenceResponse;
          try {
            response = await client.infer(
              { ...ref, camera_id: frame.streamId, model_id: options.modelId, timestamp: frame.wallTime / 1000 },
              { signal: context.signal },
            );
          } catch (error) {
            if (context.signal.aborted) return;
            if (error instanceof IpcError && !CRASH_ERRORS.has(error.code)) {
              context.emit(frame, { detections: [], error: { code: error.code, message: error.message } });
              continue;
            }
            const code = codeOf(error);
            if (waitForServer !== undefined && code !== undefined && SERVER_GONE.has(code)) {
              context.log(`${server} went away (${code}); waiting for it`);
              if (!(await context.waitFor(server, waitForServer))) return;
              context.log(`${server} is back; reading again`);
              continue;
            }
            const shown = (error as { code?: unknown } | null)?.code;
            throw new WorkerExit('crashed', `${server}: ${typeof shown === 'string' ? shown : 'ERR_UNEXPECTED'}: ${(error as Error).message}`, { code, cause: error });
          }
          context.emit(frame, { detections: response.detections, metadata: response.metadata, frame_id: response.frame_id });
        }
      } finally {
        await subscription?.close();
        client.close();
        store?.release();
      }
    },
  };
}
