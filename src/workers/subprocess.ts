/**
 * The subprocess worker kind: a program in any language, spoken to with the
 * protocol of subprocess-protocol.ts over its stdin and stdout.
 *
 * Contract: the program is spawned with an argument array (never a shell)
 * under the managed-process rules (src/process: SIGTERM then SIGKILL, killed
 * with its owner even on SIGKILL). The handshake must complete within
 * handshakeTimeoutMs; then frames go one at a time, the next read from the
 * subscription only once the result for the previous one came back. The
 * program leads a process group of its own: what it starts dies with it, and
 * with its owner (src/process, `group`). stderr goes to the log line by line,
 * each line cut at stderr.maxLineBytes and the rate capped (BoundedLines), so
 * the owner holds one line at most whatever the worker writes. Every message
 * on stdout is checked the moment it is complete against the one thing the
 * worker may say then (its hello, or the result for the frame it was given);
 * anything else, or any byte while no frame is outstanding, is
 * WorkerExit('malformed-output') naming what was wrong, the process is
 * stopped and nothing more is read or queued. An exit is 'crashed' (non-zero
 * code or a signal) or 'exited'. A frame too large for a pipe message
 * (maxMessageBytes) is not sent: its result is `{ error: { code:
 * 'ERR_FRAME_TOO_LARGE', message } }` and the worker goes on.
 */
import { abortable } from '../internal/abort.js';
import { IpcError, LengthPrefixSplitter, type FrameFormat } from '../ipc/index.js';
import { BoundedLines, findExecutable, spawnManaged, type BoundedLinesOptions, type ProcessExit } from '../process/index.js';
import { DEFAULT_SHM_DIR, writerFor, type FrameStoreWriter } from '../shm/index.js';
import { InvalidArgumentError, type Frame } from '../supplier/index.js';
import { projectCodeOf } from '../internal/errors.js';
import { nextFrame, WorkerExit, type WorkerKind } from './kinds.js';
import {
  checkHelloReply,
  checkResult,
  checkUnsolicited,
  decodeWorkerBody,
  DEFAULT_WORKER_MAX_MESSAGE_BYTES,
  encodeWorkerMessage,
  WORKER_PROTOCOL_VERSION,
  type FrameMessage,
  type HelloReply,
  type ResultMessage,
  type Transport,
} from './subprocess-protocol.js';

export interface SubprocessWorkerOptions {
  /** The program: a path, or a name on PATH. */
  readonly command: string;
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Transports offered at the handshake, in the supervisor's order of preference. Default ['shm', 'pipe']. */
  readonly transports?: readonly Transport[];
  /** Where shm frames are written (a tmpfs directory), as `<shmDir>/worker-<workerId>.frames`. Default /dev/shm/framesupplier. */
  readonly shmDir?: string;
  /** Default 10 000 ms. */
  readonly handshakeTimeoutMs?: number;
  /** SIGTERM → SIGKILL delay. Default 2 000 ms. */
  readonly killTimeoutMs?: number;
  /** Largest message accepted from the worker, and largest frame message sent over the pipe transport. Default 64 MiB. */
  readonly maxMessageBytes?: number;
  /** Bounds on the worker's stderr in the log: line length (default 8 KiB), lines and bytes per second (default 100 and 64 KiB). */
  readonly stderr?: Pick<BoundedLinesOptions, 'maxLineBytes' | 'maxLinesPerSecond' | 'maxBytesPerSecond'>;
}

type Expecting = { kind: 'hello'; offered: readonly Transport[] } | { kind: 'result'; seq: number };

/**
 * The worker's side of the conversation, checked as it arrives: the one
 * message the worker may send next (its hello, or the result for the frame in
 * flight) resolves the waiting promise; anything else is a protocol error at
 * once. Nothing is ever queued.
 */
class Conversation {
  #expecting: Expecting | null = null;
  #waiter: { resolve: (m: HelloReply | ResultMessage) => void; reject: (e: WorkerExit) => void } | null = null;
  #ended: WorkerExit | null = null;
  #fail!: (exit: WorkerExit) => void;
  /** Rejects with the exit once the conversation is over, so a worker that dies between frames is reported at once. */
  readonly failure = new Promise<never>((_resolve, reject) => (this.#fail = reject));

  constructor() {
    this.failure.catch(() => undefined);
  }

  /** True while the worker has nothing to say: no hello asked for, no frame outstanding. */
  get idle(): boolean {
    return this.#expecting === null;
  }

  get ended(): WorkerExit | null {
    return this.#ended;
  }

  hello(offered: readonly Transport[]): Promise<HelloReply> {
    return this.#expect({ kind: 'hello', offered }) as Promise<HelloReply>;
  }

  /** Call before sending frame `seq`: its result is the only message allowed until then. */
  result(seq: number): Promise<ResultMessage> {
    return this.#expect({ kind: 'result', seq }) as Promise<ResultMessage>;
  }

  /** A message from the worker; returns what is wrong with it, or null. */
  receive(message: unknown): string | null {
    const expecting = this.#expecting;
    if (expecting === null) return checkUnsolicited(message);
    const checked = expecting.kind === 'hello' ? checkHelloReply(message, expecting.offered) : checkResult(message, expecting.seq);
    if (typeof checked === 'string') return expecting.kind === 'hello' ? `bad handshake: ${checked}` : checked;
    const waiter = this.#waiter!;
    this.#expecting = null;
    this.#waiter = null;
    waiter.resolve(checked);
    return null;
  }

  end(exit: WorkerExit): void {
    this.#ended ??= exit;
    this.#expecting = null;
    this.#waiter?.reject(this.#ended);
    this.#waiter = null;
    this.#fail(this.#ended);
  }

  #expect(expecting: Expecting): Promise<HelloReply | ResultMessage> {
    if (this.#ended !== null) return Promise.reject(this.#ended);
    this.#expecting = expecting;
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }
}

function exitOf(exit: ProcessExit, stderrTail: string): WorkerExit {
  const tail = stderrTail.length > 0 ? `; stderr: ${stderrTail}` : '';
  if (exit.error !== undefined) return new WorkerExit('crashed', `could not be started: ${exit.error.message}`, { cause: exit.error });
  if (exit.signal !== null) return new WorkerExit('crashed', `killed by ${exit.signal}${tail}`, { signal: exit.signal });
  if (exit.code !== 0) return new WorkerExit('crashed', `exited with code ${exit.code}${tail}`, { exitCode: exit.code });
  return new WorkerExit('exited', `exited with code 0${tail}`, { exitCode: 0 });
}

export function subprocessWorker(options: SubprocessWorkerOptions): WorkerKind {
  if (typeof options.command !== 'string' || options.command.length === 0)
    throw new InvalidArgumentError('subprocessWorker: command must be a non-empty string');
  const transports = options.transports ?? ['shm', 'pipe'];
  if (transports.length === 0 || transports.some((t) => t !== 'shm' && t !== 'pipe'))
    throw new InvalidArgumentError(`subprocessWorker: transports must be a non-empty list of 'shm' and 'pipe'`);
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  const killTimeoutMs = options.killTimeoutMs ?? 2_000;
  const shmDir = options.shmDir ?? DEFAULT_SHM_DIR;
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_WORKER_MAX_MESSAGE_BYTES;
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 1)
    throw new InvalidArgumentError(`subprocessWorker: maxMessageBytes must be a positive integer, got ${String(options.maxMessageBytes)}`);
  const stderrLimits = { ...options.stderr };
  for (const [name, value] of Object.entries(stderrLimits)) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1))
      throw new InvalidArgumentError(`subprocessWorker: stderr.${name} must be a positive integer, got ${String(value)}`);
  }
  return {
    kind: 'subprocess',
    async run(context) {
      const executable = findExecutable(options.command);
      if (executable === null)
        throw new WorkerExit('crashed', `${options.command} was not found${options.command.includes('/') ? '' : ' on PATH'} or is not executable`);
      const proc = spawnManaged(executable, options.args ?? [], {
        stdin: 'pipe',
        ...(options.env === undefined ? {} : { env: options.env }),
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        group: true,
      });
      const out = new Conversation();
      const stderr = new BoundedLines(stderrLimits);
      const log = (lines: string[]): void => lines.forEach((line) => context.log(line));
      proc.child.stderr.on('data', (chunk: Buffer) => log(stderr.push(chunk)));
      // A burst over the rate followed by silence is still summarised within about a second.
      const summaries = setInterval(() => log(stderr.flush()), 1_000).unref();
      const malformed = (what: string): void => {
        out.end(new WorkerExit('malformed-output', what));
        void proc.stop(killTimeoutMs);
      };
      const splitter = new LengthPrefixSplitter({ maxMessageBytes });
      proc.child.stdout.on('data', (chunk: Buffer) => {
        if (out.ended !== null) return; // ending: nothing more is read into memory
        // Even while nothing is outstanding this chunk is parsed, to name what came; no more than it is ever held.
        for (const framed of splitter.push(chunk)) {
          if (!framed.ok) return malformed(`wrote a bad frame on stdout: ${framed.error.message}`);
          let message: unknown;
          try {
            message = decodeWorkerBody(framed.body);
          } catch (error) {
            return malformed(`wrote a message that is not MessagePack: ${(error as Error).message}`);
          }
          const problem = out.receive(message);
          if (problem !== null) return malformed(problem);
        }
        if (out.idle && splitter.partial) malformed(`wrote ${splitter.buffered} byte(s) on stdout while no frame was outstanding`);
      });
      // A worker that dies while we write gets EPIPE here; its exit says what happened.
      proc.child.stdin.on('error', () => undefined);
      void proc.exited.then((exit) => {
        clearInterval(summaries);
        log(stderr.end());
        out.end(exitOf(exit, stderr.lastLine.slice(0, 500)));
      });
      // Stopped or restarted before it ends: stopped at once (`finally` waits for it).
      void abortable(proc.exited, context.signal).catch(() => proc.stop(killTimeoutMs));
      let store: FrameStoreWriter | null = null;
      const storeId = `worker-${context.workerId.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 128);
      try {
        const hello = out.hello(transports);
        proc.child.stdin.write(encodeWorkerMessage({ type: 'hello', protocol: WORKER_PROTOCOL_VERSION, worker_id: context.workerId, transports }));
        const timer = setTimeout(() => {
          out.end(new WorkerExit('hung', `no hello within ${handshakeTimeoutMs} ms`));
          void proc.stop(killTimeoutMs);
        }, handshakeTimeoutMs);
        let reply: HelloReply;
        try {
          reply = await hello;
        } finally {
          clearTimeout(timer);
        }
        const subscription = context.subscribe();
        let toldTooLarge = false;
        const tooLarge = (frame: Frame, bytes: number): void => {
          const message = `frame ${frame.seq} (${frame.width}x${frame.height} ${frame.format}) needs a ${bytes}-byte message over the pipe, over the limit of ${maxMessageBytes}: use the shm transport`;
          if (!toldTooLarge) context.log(`${message} (said once; every such frame gets a result with ERR_FRAME_TOO_LARGE)`);
          toldTooLarge = true;
          context.emit(frame, { error: { code: 'ERR_FRAME_TOO_LARGE', message } });
        };
        for (;;) {
          const frame = await Promise.race([nextFrame(subscription, context.signal), out.failure]);
          if (frame === null) break;
          if (reply.transport === 'pipe' && frame.payload.byteLength > maxMessageBytes) {
            tooLarge(frame, frame.payload.byteLength);
            continue;
          }
          const message = toMessage(frame, reply.transport, () => (store = writerFor(store, storeId, frame.payload.byteLength, { dir: shmDir, slots: 2 })));
          const encoded = encodeWorkerMessage(message);
          if (encoded.byteLength - 4 > maxMessageBytes) {
            tooLarge(frame, encoded.byteLength - 4);
            continue;
          }
          const answered = out.result(frame.seq);
          proc.child.stdin.write(encoded);
          context.emit(frame, (await answered).output);
        }
        // End of stream (or stop): the worker is told by the end of its stdin and given
        // killTimeoutMs to exit on its own; `finally` stops it if it has not.
        proc.child.stdin.end();
        await Promise.race([proc.exited, new Promise<void>((r) => setTimeout(r, killTimeoutMs).unref())]);
      } catch (error) {
        if (context.signal.aborted) return;
        throw error;
      } finally {
        clearInterval(summaries);
        await proc.stop(killTimeoutMs);
        (store as FrameStoreWriter | null)?.close(); // removes the file, and the directory it made once empty
      }
    },
  };
}

function toMessage(frame: Frame, transport: Transport, storeFor: () => FrameStoreWriter): FrameMessage {
  const base = {
    type: 'frame' as const,
    seq: frame.seq,
    stream_id: frame.streamId,
    capture_time: frame.captureTime,
    wall_time: frame.wallTime,
    width: frame.width,
    height: frame.height,
    format: frame.format,
  };
  if (transport === 'pipe') return { ...base, data: frame.payload };
  let ref;
  try {
    ref = storeFor().write(frame.payload, { width: frame.width, height: frame.height, format: frame.format.toUpperCase() as FrameFormat });
  } catch (error) {
    throw new WorkerExit('crashed', `could not write the frame to shared memory: ${(error as IpcError).code}: ${(error as IpcError).message}`, {
      code: projectCodeOf(error),
      cause: error,
    });
  }
  return { ...base, frame_reference: ref.frame_reference, frame_id: ref.frame_metadata.frame_id };
}
