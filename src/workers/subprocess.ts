/**
 * The subprocess worker kind: a program in any language, spoken to with the
 * protocol of subprocess-protocol.ts over its stdin and stdout.
 *
 * Contract: the program is spawned with an argument array (never a shell)
 * under the managed-process rules (src/process: SIGTERM then SIGKILL, killed
 * with its owner even on SIGKILL). The handshake must complete within
 * handshakeTimeoutMs; then frames go one at a time, the next read from the
 * subscription only once the result for the previous one came back. stderr
 * goes to the log line by line. Anything on stdout that is not the protocol is
 * WorkerExit('malformed-output') naming what was wrong, and the process is
 * stopped; an exit is 'crashed' (non-zero code or a signal) or 'exited'.
 */
import { IpcError, LengthPrefixSplitter, type FrameFormat } from '../ipc/index.js';
import { findExecutable, spawnManaged, type ProcessExit } from '../process/index.js';
import { DEFAULT_SHM_DIR, writerFor, type FrameStoreWriter } from '../shm/index.js';
import { InvalidArgumentError, type Frame } from '../supplier/index.js';
import { nextFrame, WorkerExit, type WorkerKind } from './kinds.js';
import {
  checkHelloReply,
  checkResult,
  decodeWorkerBody,
  DEFAULT_WORKER_MAX_MESSAGE_BYTES,
  encodeWorkerMessage,
  WORKER_PROTOCOL_VERSION,
  type FrameMessage,
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
  /** Largest message accepted from the worker. Default 64 MiB. */
  readonly maxMessageBytes?: number;
}

/** One message at a time from the worker's stdout; rejects with the WorkerExit that ended the conversation. */
class WorkerOutput {
  readonly #messages: unknown[] = [];
  #waiter: { resolve: (m: unknown) => void; reject: (e: WorkerExit) => void } | null = null;
  #ended: WorkerExit | null = null;

  push(message: unknown): void {
    if (this.#waiter !== null) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter.resolve(message);
    } else {
      this.#messages.push(message);
    }
  }

  end(exit: WorkerExit): void {
    this.#ended ??= exit;
    this.#waiter?.reject(this.#ended);
    this.#waiter = null;
  }

  get ended(): WorkerExit | null {
    return this.#ended;
  }

  next(): Promise<unknown> {
    if (this.#messages.length > 0) return Promise.resolve(this.#messages.shift());
    if (this.#ended !== null) return Promise.reject(this.#ended);
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
  if (typeof options.command !== 'string' || options.command.length === 0) throw new InvalidArgumentError('subprocessWorker: command must be a non-empty string');
  const transports = options.transports ?? ['shm', 'pipe'];
  if (transports.length === 0 || transports.some((t) => t !== 'shm' && t !== 'pipe')) throw new InvalidArgumentError(`subprocessWorker: transports must be a non-empty list of 'shm' and 'pipe'`);
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  const killTimeoutMs = options.killTimeoutMs ?? 2_000;
  const shmDir = options.shmDir ?? DEFAULT_SHM_DIR;
  return {
    kind: 'subprocess',
    async run(context) {
      const executable = findExecutable(options.command);
      if (executable === null) throw new WorkerExit('crashed', `${options.command} was not found${options.command.includes('/') ? '' : ' on PATH'} or is not executable`);
      const proc = spawnManaged(executable, options.args ?? [], {
        stdin: 'pipe',
        ...(options.env === undefined ? {} : { env: options.env }),
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      });
      const out = new WorkerOutput();
      let stderrTail = '';
      let partialLine = '';
      proc.child.stderr.setEncoding('utf8');
      proc.child.stderr.on('data', (text: string) => {
        const lines = (partialLine + text).split('\n');
        partialLine = lines.pop()!;
        for (const line of lines) {
          context.log(line);
          stderrTail = line.slice(0, 500);
        }
      });
      const malformed = (what: string): void => {
        out.end(new WorkerExit('malformed-output', what));
        void proc.stop(killTimeoutMs);
      };
      const splitter = new LengthPrefixSplitter({ maxMessageBytes: options.maxMessageBytes ?? DEFAULT_WORKER_MAX_MESSAGE_BYTES });
      proc.child.stdout.on('data', (chunk: Buffer) => {
        for (const framed of splitter.push(chunk)) {
          if (!framed.ok) return malformed(`wrote a bad frame on stdout: ${framed.error.message}`);
          let message: unknown;
          try {
            message = decodeWorkerBody(framed.body);
          } catch (error) {
            return malformed(`wrote a message that is not MessagePack: ${(error as Error).message}`);
          }
          out.push(message);
        }
      });
      // A worker that dies while we write gets EPIPE here; its exit says what happened.
      proc.child.stdin.on('error', () => undefined);
      void proc.exited.then((exit) => {
        if (partialLine.length > 0) context.log(partialLine);
        out.end(exitOf(exit, stderrTail || partialLine));
      });
      const onAbort = (): void => void proc.stop(killTimeoutMs);
      context.signal.addEventListener('abort', onAbort, { once: true });
      let store: FrameStoreWriter | null = null;
      const storeId = `worker-${context.workerId.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 128);
      try {
        proc.child.stdin.write(encodeWorkerMessage({ type: 'hello', protocol: WORKER_PROTOCOL_VERSION, worker_id: context.workerId, transports }));
        const timer = setTimeout(() => {
          out.end(new WorkerExit('hung', `no hello within ${handshakeTimeoutMs} ms`));
          void proc.stop(killTimeoutMs);
        }, handshakeTimeoutMs);
        let hello: unknown;
        try {
          hello = await out.next();
        } finally {
          clearTimeout(timer);
        }
        const reply = checkHelloReply(hello, transports);
        if (typeof reply === 'string') {
          malformed(`bad handshake: ${reply}`);
          throw out.ended!;
        }
        const subscription = context.subscribe();
        for (;;) {
          const frame = await nextFrame(subscription, context.signal);
          if (frame === null) break;
          const message = toMessage(frame, reply.transport, () => (store = writerFor(store, storeId, frame.payload.byteLength, { dir: shmDir, slots: 2 })));
          proc.child.stdin.write(encodeWorkerMessage(message));
          const result = checkResult(await out.next(), frame.seq);
          if (typeof result === 'string') {
            malformed(result);
            throw out.ended!;
          }
          context.emit(frame, result.output);
        }
        // End of stream (or stop): the worker is told by the end of its stdin and given
        // killTimeoutMs to exit on its own; `finally` stops it if it has not.
        proc.child.stdin.end();
        await Promise.race([proc.exited, new Promise<void>((r) => setTimeout(r, killTimeoutMs).unref())]);
      } catch (error) {
        if (context.signal.aborted) return;
        throw error;
      } finally {
        context.signal.removeEventListener('abort', onAbort);
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
    throw new WorkerExit('crashed', `could not write the frame to shared memory: ${(error as IpcError).code}: ${(error as IpcError).message}`, { cause: error });
  }
  return { ...base, frame_reference: ref.frame_reference, frame_id: ref.frame_metadata.frame_id };
}
