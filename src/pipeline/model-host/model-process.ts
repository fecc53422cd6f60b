/**
 * ModelProcess: a model server the system starts, as a supervised child
 * process. It is spawned under src/process's rules (argument array, its own
 * process group, never outlives the system, even a SIGKILLed one); it is
 * ready once it says it listens; one that exits, is killed, or is not ready
 * within startTimeoutMs is started again by the restart loop after an
 * exponential, jittered, capped delay (never giving up; the delay starts over
 * after a healthy run). close() ends the process (SIGTERM, then SIGKILL) and
 * resolves once it is gone. Health pings are the owner's (ModelService): it
 * calls kill() when they fail.
 */
import { fileURLToPath } from 'node:url';
import { Backoff, type BackoffOptions } from '../../internal/backoff.js';
import { messageOf } from '../../internal/abort.js';
import { relayLogLine, type Logger } from '../../internal/logger.js';
import { RestartLoop } from '../../internal/restart-loop.js';
import { BoundedLines, spawnManaged, type ManagedProcess, type ProcessExit } from '../../process/index.js';
import { checkRunnableModel, HANDLER_OPTIONS, handlerOptionFlag } from '../../config/index.js';
import type { ModelConfig, ModelExit } from '../base/index.js';

/** The model server's own entry module (src/model-server/main.ts): started directly, not through the command line. */
const MODEL_SERVER_MAIN = fileURLToPath(new URL('../../model-server/main.js', import.meta.url));

/**
 * A model server's V8 young generation, capped at 1 MB a semi-space (issue 45 item 4, ADR 0068). Node's default
 * lets it grow to 16 MB ×2 under a request rate, and a model server kept 25–40 MB resident for objects that live
 * one request (MEM-DIET); its frames are in shared memory and its tensors outside the heap, so a small young
 * generation costs it no CPU that was measurable here. A semi-space size in NODE_OPTIONS is the user's and wins.
 */
export function modelServerNodeFlags(nodeOptions: string | undefined = process.env.NODE_OPTIONS): string[] {
  return nodeOptions?.includes('semi-space-size') === true ? [] : ['--max-semi-space-size=1'];
}

/** A model the system starts (one with a handler), as opposed to a server someone else runs. */
export type StartedModelConfig = Extract<ModelConfig, { readonly handler: string }>;

/**
 * The model server's command line for a configured model: the handler's own
 * options as flags, derived from the config schema's (HANDLER_OPTIONS: one
 * source for the config, the flags and these arguments). A JS caller that
 * bypassed the schema still gets ERR_CONFIG (src/config's checkRunnableModel)
 * for an unknown handler or an option its handler does not take.
 */
export function modelServerArgs(name: string, config: StartedModelConfig, socket: string, modelId: string, shmDir: string): string[] {
  checkRunnableModel(name, config);
  const { handler } = config;
  const own = HANDLER_OPTIONS[handler];
  const known = new Set(Object.values(HANDLER_OPTIONS).flatMap((options) => Object.keys(options)));
  const args = ['--handler', handler, '--socket', socket, '--model-id', modelId, '--shm-dir', shmDir];
  for (const [key, value] of Object.entries(config)) {
    // Every option's value is a number, a string or a list of strings (unset: absent, or null from a JS caller).
    const list = Array.isArray(value) && value.every((v) => typeof v === 'string');
    // Another handler's option was refused above (src/config's rule).
    if (!known.has(key) || own[key] === undefined || (typeof value !== 'number' && typeof value !== 'string' && !list)) continue;
    args.push(handlerOptionFlag(key), list ? (value as string[]).join(',') : String(value));
  }
  return args;
}

export interface ModelProcessOptions {
  readonly name: string;
  /** The model server's arguments (modelServerArgs). */
  readonly args: readonly string[];
  readonly restart: BackoffOptions;
  readonly startTimeoutMs: number;
  readonly killTimeoutMs: number;
  readonly log: Logger;
  /** A new incarnation was spawned. */
  readonly onStarting: () => void;
  /** The incarnation listens. */
  readonly onReady: () => void;
  /** The incarnation ended by itself (exited, killed); the next is scheduled. */
  readonly onExit: (exit: ModelExit) => void;
}

interface Run {
  readonly proc: ManagedProcess;
  ready: boolean;
  killedFor: string | null;
  stderrTail: string;
  startTimer: NodeJS.Timeout;
}

export class ModelProcess implements AsyncDisposable {
  readonly #o: ModelProcessOptions;
  readonly #loop: RestartLoop;
  #run: Run | null = null;
  #closed: Promise<void> | null = null;

  constructor(options: ModelProcessOptions) {
    this.#o = options;
    this.#loop = new RestartLoop({ delays: new Backoff(options.restart), launch: () => this.#launch() });
  }

  get pid(): number | null {
    return this.#run?.proc.pid ?? null;
  }

  /** Starts after the first. */
  get restarts(): number {
    return Math.max(0, this.#loop.launches - 1);
  }

  /** The incarnation that is running (for the owner to tell one incarnation's pings from the next). */
  get current(): object | null {
    return this.#run;
  }

  start(): this {
    if (this.#closed === null && this.#loop.launches === 0) this.#loop.start();
    return this;
  }

  /** Kills the current incarnation (it is hung, say); the restart loop starts the next. */
  kill(why: string): void {
    const run = this.#run;
    if (run === null || run.killedFor !== null) return;
    run.killedFor = why;
    this.#o.log.warn({ pid: run.proc.pid }, `model server ${this.#o.name}: ${why}; killing it`);
    void run.proc.stop(0);
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      void this.#loop.close();
      const run = this.#run;
      if (run !== null) {
        clearTimeout(run.startTimer);
        await run.proc.stop(this.#o.killTimeoutMs);
      }
    })();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #launch(): void {
    const { name, log } = this.#o;
    const proc = spawnManaged(process.execPath, [...modelServerNodeFlags(), MODEL_SERVER_MAIN, ...this.#o.args], { group: true }); // own group: a terminal's Ctrl-C reaches the system, which ends it in order
    const run: Run = {
      proc,
      ready: false,
      killedFor: null,
      stderrTail: '',
      startTimer: setTimeout(() => this.kill(`not ready within ${this.#o.startTimeoutMs} ms`), this.#o.startTimeoutMs),
    };
    this.#run = run;
    this.#o.onStarting();
    log.debug({ pid: proc.pid }, `model server ${name}: spawned`);
    eachLine(proc.child.stdout, (line) => {
      if (!run.ready && line.includes('"listening"')) {
        run.ready = true;
        clearTimeout(run.startTimer);
        if (this.#run === run && this.#closed === null) {
          this.#loop.healthy();
          this.#o.onReady();
        }
      } else if (line.trim().length > 0) {
        log.info({ stream: 'stdout' }, line);
      }
    });
    eachLine(proc.child.stderr, (line) => {
      if (line.trim().length === 0) return;
      run.stderrTail = line.slice(0, 500);
      relayLogLine(log, line, { stream: 'stderr' }); // the server's own log lines keep their level
    });
    void proc.exited.then((exit) => this.#ended(run, exit));
  }

  #ended(run: Run, exit: ProcessExit): void {
    clearTimeout(run.startTimer);
    if (this.#run === run) this.#run = null;
    if (this.#closed !== null) return;
    const how =
      exit.error !== undefined
        ? `could not be started: ${exit.error.message}`
        : exit.signal !== null
          ? `killed by ${exit.signal}`
          : `exited with code ${String(exit.code)}`;
    const tail = run.stderrTail.length > 0 ? ` (${run.stderrTail})` : '';
    this.#loop.ended(); // a Backoff never gives up: the next incarnation is scheduled
    this.#o.onExit({ code: exit.code, signal: exit.signal, message: `${run.killedFor === null ? '' : `${run.killedFor}: `}${how}${tail}`, at: Date.now() });
  }
}

/** Calls fn with every line of a model server's output, each cut at 8 KiB and the rate capped (BoundedLines): the system holds one line at most. */
function eachLine(stream: NodeJS.ReadableStream, fn: (line: string) => void): void {
  const lines = new BoundedLines();
  const pass = (out: string[]): void => {
    for (const line of out) {
      try {
        fn(line);
      } catch (error) {
        // A log call must never break the pipe reader.
        process.emitWarning(`framesupplier: a model server line could not be handled: ${messageOf(error)}`);
      }
    }
  };
  stream.on('data', (chunk: Buffer) => pass(lines.push(chunk)));
  stream.on('end', () => pass(lines.end()));
}
