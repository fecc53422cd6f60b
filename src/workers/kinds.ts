/**
 * Worker kinds: what a supervised worker is. A kind runs one incarnation of a
 * worker: it subscribes through its context, reads, processes and emits
 * results, and its run() resolves when the stream ends or the context's signal
 * aborts (stop, or a restart decided by the supervisor), and rejects with a
 * WorkerExit saying why when the worker fails. The supervisor decides what
 * happens next; a kind never restarts itself.
 */
import { projectCodeOf } from '../internal/errors.js';
import { Worker } from 'node:worker_threads';
import { abortable } from '../internal/abort.js';
import type { Frame, FrameSource, ThreadSubscriptionHandle } from '../supplier/index.js';
import type { ModelLedger } from './model-account.js';

export type ExitReason = 'crashed' | 'exited' | 'hung' | 'malformed-output' | 'gave-up';

/** Why an incarnation of a worker ended badly. */
export class WorkerExit extends Error {
  readonly reason: ExitReason;
  /** The project code behind it (ERR_SHM_FULL, ERR_SERVER_UNAVAILABLE, …), where one is known. */
  readonly code: string | undefined;
  readonly exitCode: number | null;
  readonly signal: string | null;

  constructor(reason: ExitReason, message: string, options: { code?: string; exitCode?: number | null; signal?: string | null; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'WorkerExit';
    this.reason = reason;
    this.code = options.code;
    this.exitCode = options.exitCode ?? null;
    this.signal = options.signal ?? null;
  }
}

export interface WorkerContext {
  readonly workerId: string;
  /** Aborted when the supervisor stops, restarts, disables or removes this incarnation: end promptly. */
  readonly signal: AbortSignal;
  /** Subscribes this incarnation to its frames (once): the supplier's Subscription, or the source its spec names. */
  subscribe(): FrameSource;
  /** Subscribes for a worker thread: the handle's port goes to the thread (once). Only for workers of the supervisor's supplier. */
  subscribeThread(): ThreadSubscriptionHandle;
  /** Hands a result for `frame` to the results sink, tagged with the frame's seq, stream and capture time. */
  emit(frame: Pick<Frame, 'seq' | 'streamId' | 'captureTime' | 'wallTime'>, output: unknown): void;
  /**
   * The incarnation's model ledger (ADR 0040), for a kind that hands frames to a model: each frame read is
   * recorded there, then taken or skipped once the model answers; the worker's stats then carry `modelFrames`
   * figures. The same ledger on every call; what is still in flight when the incarnation ends is skipped as
   * unanswered.
   */
  modelLedger(): ModelLedger;
  /**
   * @deprecated Since the ledger (ADR 0040): record the frame with modelLedger().read() and settle it with
   * skip(). This alias counts one frame read and skipped, by the old error code (ERR_SUPERSEDED: superseded,
   * ERR_FRAME_STALE: stale, any other: error), and goes in 0.2.0 (CHANGELOG.md).
   */
  skip(reason: string): void;
  /** A line for the log, tagged with the worker's id. */
  log(line: string): void;
  /**
   * Waits for something this worker depends on (its model server, while it
   * restarts): `wait` gets a signal that aborts when the incarnation ends or
   * the supervisor closes. Meanwhile the watchdog does not take the worker for
   * hung, and its stats show `waitingFor: dependency`; once the wait settles,
   * its idle clock starts over. One wait at a time.
   */
  waitFor<T>(dependency: string, wait: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

export interface WorkerKind {
  /** "in-process", "thread", "subprocess", "model-client". */
  readonly kind: string;
  run(context: WorkerContext): Promise<void>;
  /** For a kind that asks a remote model about some frames (vlm): its asks over its life, every incarnation. */
  asks?(): AskStats;
}

/**
 * An endpoint's tokens as its answers counted them (usage fields), over the process's life and the last hour: what
 * AskStats carries for a worker's endpoint (the vlm worker's budgets count them, vlm-budget.ts).
 */
export interface EndpointTokens {
  /** The endpoint's URL (credentials masked) and model. */
  readonly endpoint: string;
  readonly model: string;
  readonly prompt: number;
  readonly completion: number;
  readonly lastHour: number;
  readonly perHour: number | null;
}

/**
 * A worker's asks of a remote model over its life: triggers (events and intervals that could have asked), requests
 * sent, answers, answers past their stale bound, errors, and triggers skipped without a request by reason.
 * triggers = sent + the skips + pending now (+ one at most being prepared; an ask in flight is sent).
 */
export interface AskStats {
  readonly triggers: number;
  readonly sent: number;
  readonly answered: number;
  readonly stale: number;
  readonly errors: number;
  readonly skipped: Readonly<Record<string, number>>;
  /** Objects waiting for the model (ADR 0067): how many now, the most that may, and how long the asked ones waited (recent p50/p99, ms). */
  readonly pending?: { readonly now: number; readonly capacity: number; readonly waitMs: { readonly p50: number | null; readonly p99: number | null } };
  /** Tokens its answers counted (the server's usage fields), and its endpoint's over every worker of the process. */
  readonly tokens?: {
    readonly prompt: number;
    readonly completion: number;
    readonly endpoint: EndpointTokens;
  };
}

/** The next frame, or null at end of stream or once the incarnation's signal aborted (a stop or restart, not a failure). */
export async function nextFrame(subscription: FrameSource, signal: AbortSignal): Promise<Frame | null> {
  try {
    return await subscription.read({ signal });
  } catch (error) {
    if (signal.aborted) return null;
    throw error;
  }
}

/** An async function per frame, in this thread. Its throw is a crash. */
export function inProcessWorker(process: (frame: Frame, signal: AbortSignal) => unknown): WorkerKind {
  return {
    kind: 'in-process',
    async run(context) {
      const subscription = context.subscribe();
      try {
        for (;;) {
          const frame = await nextFrame(subscription, context.signal);
          if (frame === null) return;
          let output: unknown;
          try {
            output = await process(frame, context.signal);
          } catch (error) {
            if (context.signal.aborted) return;
            throw new WorkerExit('crashed', `threw: ${(error as Error)?.message ?? String(error)}`, { code: projectCodeOf(error), cause: error });
          }
          if (context.signal.aborted) return;
          context.emit(frame, output);
        }
      } finally {
        await subscription.close();
      }
    },
  };
}

export interface ThreadWorkerMessage {
  readonly type: 'result';
  readonly seq: number;
  readonly streamId: string;
  readonly captureTime: number;
  readonly wallTime: number;
  readonly output: unknown;
}

/**
 * A worker thread for CPU-bound JavaScript or WebAssembly. The script gets
 * `workerData.port` for openThreadSubscription() (frames without copying) and
 * posts `{ type: 'result', seq, streamId, captureTime, wallTime, output }` on
 * parentPort per frame. It ends when its subscription ends; an uncaught error
 * or a non-zero exit is a crash; any other message, or a result for a frame it
 * was not given (a seq not above its last answer, or past the last frame it
 * read), is malformed output, and the thread is terminated at once.
 */
export function threadWorker(script: URL, options: { workerData?: Record<string, unknown> } = {}): WorkerKind {
  return {
    kind: 'thread',
    run(context) {
      const handle = context.subscribeThread();
      const worker = new Worker(script, { workerData: { ...options.workerData, port: handle.port }, transferList: [handle.port] });
      const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
      // Stopped or restarted before it ends by itself: terminated.
      void abortable(exited, context.signal).catch(() => worker.terminate());
      return new Promise<void>((resolve, reject) => {
        let failure: WorkerExit | null = null;
        let lastAnswered = 0;
        const malformed = (what: string): void => {
          failure ??= new WorkerExit('malformed-output', what);
          void worker.terminate();
        };
        worker.on('message', (message: ThreadWorkerMessage) => {
          if (failure !== null) return; // terminating: what it posted meanwhile is dropped, not handled
          if (message?.type !== 'result' || !Number.isInteger(message.seq)) {
            return malformed(`posted a message that is not a result: ${JSON.stringify(message)?.slice(0, 200)}`);
          }
          const given = handle.subscription.stats().lastConsumedSeq ?? 0;
          if (message.seq <= lastAnswered || message.seq > given) {
            return malformed(`posted a result for frame ${message.seq}, which it was not given (last frame read: ${given}, last answered: ${lastAnswered})`);
          }
          lastAnswered = message.seq;
          context.emit(message, message.output);
        });
        worker.on('error', (error) => {
          failure ??= new WorkerExit('crashed', `uncaught: ${error.message}`, { code: projectCodeOf(error), cause: error });
        });
        worker.on('exit', (code) => {
          handle.close();
          if (context.signal.aborted) resolve();
          else if (failure !== null) reject(failure);
          else if (code !== 0) reject(new WorkerExit('crashed', `exited with code ${code}`, { exitCode: code }));
          else resolve();
        });
      });
    },
  };
}
