/**
 * ModelService: one model server the system depends on (seed 05: one process
 * per model, shared by every camera), as a supervised child process or, for a
 * server someone else runs, a socket checked by ping.
 *
 * Contract (started servers): `framesupplier model-server` is spawned under
 * src/process's rules (argument array, never outlives the system, even a
 * SIGKILLed one), with its socket in the system's private runtime directory.
 * It is `ready` once it announces that it listens; then it is pinged every
 * healthIntervalMs on a connection of its own, and `failedPings` missed pings
 * in a row (a hung server) get it killed. A server that exits, never gets
 * ready within startTimeoutMs, or is killed, goes to `backoff` and is started
 * again after an exponential, jittered, capped delay (never giving up; the
 * delay resets after a healthy run). Clients reconnect by themselves: the
 * system's model workers wait in serving() instead of failing.
 * stop() ends the process (SIGTERM, then SIGKILL) and resolves once it is gone.
 *
 * External servers (no handler, a socket): `connecting` until a ping
 * succeeds, then `ready`, back to `connecting` after failed pings.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Backoff } from '../capture/index.js';
import { abortable, delay, messageOf } from '../internal/abort.js';
import type { Logger } from '../internal/logger.js';
import { ModelClient, type PongCameraFigures } from '../ipc/index.js';
import { KServeClient } from '../kserve/index.js';
import { BoundedLines, spawnManaged, type ManagedProcess, type ProcessExit } from '../process/index.js';
import type { ModelConfig } from './config-types.js';
import { PipelineError } from './errors.js';
import type { ModelExit, ModelState, ModelStateEvent } from './events.js';

export interface ModelStats {
  readonly name: string;
  /** The handler the system starts (person, onnx, mock), or null for a server someone else runs. */
  readonly handler: string | null;
  readonly external: boolean;
  readonly modelId: string;
  readonly socket: string;
  readonly state: ModelState;
  readonly pid: number | null;
  /** Starts after the first. */
  readonly restarts: number;
  readonly lastExit: ModelExit | null;
  /** Wall clock of the last answered ping, and how long it took. */
  readonly lastPingAt: number | null;
  readonly lastPingMs: number | null;
  /** Wall clock since when it has been ready (null when not ready). */
  readonly readySince: number | null;
  /**
   * The server's scheduling figures as of the last answered ping (protocol 2;
   * null before one, or from a version-1 server): inferences at once, running,
   * cameras waiting, and per camera_id served, superseded, stale and the wait
   * and inference percentiles (docs/protocol.md).
   */
  readonly scheduling: ModelScheduling | null;
}

export interface ModelScheduling {
  readonly protocol: number;
  readonly concurrency: number | null;
  readonly running: number | null;
  readonly waiting: number | null;
  readonly cameras: Readonly<Record<string, PongCameraFigures>>;
}

export interface ModelServiceOptions {
  readonly name: string;
  readonly config: ModelConfig;
  /** Where sockets go when the config names none (the system's private runtime directory). */
  readonly runtimeDir: string;
  /** Frame stores the server may read (--shm-dir). */
  readonly shmDir: string;
  readonly log: Logger;
  readonly onState: (event: ModelStateEvent) => void;
  /** Default 5 000 ms. */
  readonly healthIntervalMs?: number;
  /** Default 2 000 ms. */
  readonly pingTimeoutMs?: number;
  /** Missed pings in a row before a started server is killed. Default 3. */
  readonly failedPings?: number;
  /** From spawn to listening (a model loads in this time). Default 120 000 ms. */
  readonly startTimeoutMs?: number;
  /** SIGTERM → SIGKILL. Default 5 000 ms. */
  readonly killTimeoutMs?: number;
}

/** Config keys passed to `model-server` as flags, and which handler takes each. */
const HANDLER_FLAGS: Readonly<Record<string, { flag: string; handlers: readonly string[] }>> = {
  threads: { flag: '--threads', handlers: ['person', 'onnx'] },
  minConfidence: { flag: '--min-confidence', handlers: ['person', 'onnx'] },
  poseMaxPeople: { flag: '--pose-max-people', handlers: ['person'] },
  model: { flag: '--model', handlers: ['onnx'] },
  classes: { flag: '--classes', handlers: ['onnx'] },
  layout: { flag: '--layout', handlers: ['onnx'] },
  iou: { flag: '--iou', handlers: ['onnx'] },
  inputSize: { flag: '--input-size', handlers: ['onnx', 'person'] },
  network: { flag: '--network', handlers: ['person'] },
  wasmThreads: { flag: '--wasm-threads', handlers: ['person'] },
  delayMs: { flag: '--mock-delay-ms', handlers: ['mock'] },
};
const HANDLERS = ['person', 'onnx', 'mock'];

const MAIN_SCRIPT = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** A model the system starts (one with a handler), as opposed to a server someone else runs. */
export type StartedModelConfig = Extract<ModelConfig, { readonly handler: string }>;
/** A remote model over the KServe v2 protocol: its health is the model's /v2/models/<m>/ready. */
export type KServeModelConfig = Extract<ModelConfig, { readonly kserve: unknown }>;

/**
 * The model-server command line for a configured model. The schema allows each
 * handler only its own options; a JS caller that bypassed it still gets
 * ERR_INVALID_CONFIG for an option its handler does not take.
 */
export function modelServerArgs(name: string, config: StartedModelConfig, socket: string, modelId: string, shmDir: string): string[] {
  const { handler } = config;
  if (!HANDLERS.includes(handler)) throw new PipelineError('ERR_INVALID_CONFIG', `model ${name}: unknown handler ${JSON.stringify(handler)} (${HANDLERS.join(', ')})`);
  const args = ['model-server', '--handler', handler, '--socket', socket, '--model-id', modelId, '--shm-dir', shmDir];
  for (const [key, value] of Object.entries(config)) {
    const option = HANDLER_FLAGS[key];
    // Every flag's value is a number or a string (unset: absent, or null from a JS caller).
    if (option === undefined || (typeof value !== 'number' && typeof value !== 'string')) continue;
    if (!option.handlers.includes(handler)) throw new PipelineError('ERR_INVALID_CONFIG', `model ${name}: ${key} is not an option of the ${handler} handler`);
    args.push(option.flag, String(value));
  }
  return args;
}

interface Run {
  readonly proc: ManagedProcess;
  readonly startedAt: number;
  readyAt: number | null;
  killedFor: string | null;
  stderrTail: string;
  startTimer: NodeJS.Timeout;
}

export class ModelService {
  readonly name: string;
  readonly modelId: string;
  readonly socketPath: string;
  readonly external: boolean;
  /** A remote model over the KServe v2 protocol (external too): how to reach it. */
  readonly kserve: KServeModelConfig['kserve'] | null;
  /** Per inference request. */
  readonly timeoutMs: number;
  /** The age budget its workers send with each request (max_age_ms), or null. */
  readonly maxAgeMs: number | null;
  readonly #config: ModelConfig;
  readonly #shmDir: string;
  readonly #log: Logger;
  readonly #onState: (event: ModelStateEvent) => void;
  readonly #healthIntervalMs: number;
  readonly #pingTimeoutMs: number;
  readonly #failedPings: number;
  readonly #startTimeoutMs: number;
  readonly #killTimeoutMs: number;
  readonly #backoff: Backoff;
  readonly #args: readonly string[] | null;
  readonly #stopping = new AbortController();
  readonly #waiters = new Set<() => void>();

  #state: ModelState;
  #started = false;
  #stopped: Promise<void> | null = null;
  #run: Run | null = null;
  #launches = 0;
  #lastExit: ModelExit | null = null;
  #lastPingAt: number | null = null;
  #lastPingMs: number | null = null;
  #readySince: number | null = null;
  #scheduling: ModelScheduling | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #health: Promise<void> | null = null;

  constructor(options: ModelServiceOptions) {
    const { name, config } = options;
    this.name = name;
    this.#config = config;
    this.modelId = config.modelId;
    this.external = !('handler' in config);
    this.kserve = 'kserve' in config ? config.kserve : null;
    // The schema requires it; this is for a JS caller that bypassed it.
    if (!('handler' in config) && !('kserve' in config) && (typeof config.socket !== 'string' || config.socket.length === 0)) {
      throw new PipelineError('ERR_INVALID_CONFIG', `model ${name}: needs a handler to start, or the socket of a server someone else runs`);
    }
    // A remote model has no socket: its URL (credentials masked) stands in stats and messages.
    this.socketPath = 'kserve' in config ? config.kserve.url.replace(/\/\/[^@/]*@/, '//***@') : (config.socket ?? join(options.runtimeDir, `${name}.sock`));
    this.timeoutMs = config.timeoutMs;
    this.maxAgeMs = config.maxAgeMs ?? null;
    this.#shmDir = options.shmDir;
    this.#log = options.log;
    this.#onState = options.onState;
    this.#healthIntervalMs = options.healthIntervalMs ?? 5_000;
    this.#pingTimeoutMs = options.pingTimeoutMs ?? 2_000;
    this.#failedPings = options.failedPings ?? 3;
    this.#startTimeoutMs = options.startTimeoutMs ?? 120_000;
    this.#killTimeoutMs = options.killTimeoutMs ?? 5_000;
    // An external server is never restarted: its backoff is never used.
    this.#backoff = new Backoff('handler' in config ? config.restart : {});
    this.#args = 'handler' in config ? modelServerArgs(name, config, this.socketPath, this.modelId, this.#shmDir) : null;
    this.#state = this.external ? 'connecting' : 'starting';
  }

  get state(): ModelState {
    return this.#state;
  }

  /** Starts the server (or the pings of an external one). Idempotent. */
  start(): this {
    if (this.#started || this.#stopped !== null) return this;
    this.#started = true;
    if (this.external) this.#health = this.#checkHealth();
    else this.#launch();
    return this;
  }

  /** Stops the server and resolves once its process is gone. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping.abort();
      if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
      const run = this.#run;
      if (run !== null) {
        clearTimeout(run.startTimer);
        await run.proc.stop(this.#killTimeoutMs);
      }
      await this.#health;
      this.#setState('stopped');
      for (const wake of this.#waiters) wake();
    })();
    return this.#stopped;
  }

  /** Resolves true once the server is ready (at once if it is), false if the signal aborts or the service stops first. */
  async whenReady(signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      if (this.#state === 'ready') return true;
      if (this.#stopped !== null || signal?.aborted) return false;
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => this.#waiters.add((wake = resolve)));
      try {
        await abortable(woken, signal);
      } catch {
        return false; // aborted
      } finally {
        this.#waiters.delete(wake);
      }
    }
  }

  /**
   * Resolves true once the server is ready and answers a ping (a model
   * worker's waitForServer), false if the signal aborts or the service stops
   * first.
   */
  async serving(signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      if (!(await this.whenReady(signal))) return false;
      if (await this.ping(signal)) return true;
      // Ready by its state but not answering: its exit is about to be noticed.
      if (!(await delay(250, signal))) return false;
    }
  }

  /** One ping on a connection of its own; true if the server answered. */
  ping(signal?: AbortSignal): Promise<boolean> {
    const options = signal === undefined ? {} : { signal };
    if (this.kserve !== null) {
      // A remote model's health: GET /v2/models/<m>/ready answers 200.
      const { url, model, version } = this.kserve;
      const client = new KServeClient({ url, model, ...(version === undefined ? {} : { version }), timeoutMs: this.#pingTimeoutMs });
      return this.#timedCheck(client, () => client.ready(options));
    }
    const client = new ModelClient({ socketPath: this.socketPath, mode: 'per-request', timeoutMs: this.#pingTimeoutMs });
    return this.#timedCheck(client, async () => {
      const pong = await client.ping(options);
      this.#scheduling =
        pong.protocol === undefined
          ? null
          : { protocol: pong.protocol, concurrency: pong.concurrency ?? null, running: pong.running ?? null, waiting: pong.waiting ?? null, cameras: pong.cameras ?? {} };
      return true;
    });
  }

  /** One health check, its client closed after; when it passes, when and how fast it answered are recorded. Never rejects. */
  async #timedCheck(client: { close(): unknown }, check: () => Promise<boolean>): Promise<boolean> {
    const started = performance.now();
    try {
      if (!(await check())) return false;
      this.#lastPingAt = Date.now();
      this.#lastPingMs = performance.now() - started;
      return true;
    } catch {
      return false;
    } finally {
      client.close();
    }
  }

  stats(): ModelStats {
    return {
      name: this.name,
      handler: 'handler' in this.#config ? this.#config.handler : null,
      external: this.external,
      modelId: this.modelId,
      socket: this.socketPath,
      state: this.#state,
      pid: this.#run?.proc.pid ?? null,
      restarts: Math.max(0, this.#launches - 1),
      lastExit: this.#lastExit,
      lastPingAt: this.#lastPingAt,
      lastPingMs: this.#lastPingMs,
      readySince: this.#readySince,
      scheduling: this.#scheduling,
    };
  }

  #setState(to: ModelState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#readySince = to === 'ready' ? Date.now() : null;
    const pid = this.#run?.proc.pid ?? null;
    const level = to === 'backoff' || (to === 'connecting' && from === 'ready') ? 'warn' : 'info';
    this.#log[level]({ from, to, pid, restarts: Math.max(0, this.#launches - 1), lastExit: to === 'backoff' ? this.#lastExit?.message : undefined }, `model server ${this.name}: ${to}`);
    this.#onState({ type: 'model-state', at: Date.now(), model: this.name, from, to, pid, restarts: Math.max(0, this.#launches - 1), lastExit: this.#lastExit });
    if (to === 'ready') for (const wake of [...this.#waiters]) wake();
  }

  #launch(): void {
    this.#retryTimer = null;
    if (this.#stopping.signal.aborted) return;
    this.#launches++;
    const proc = spawnManaged(process.execPath, [MAIN_SCRIPT, ...this.#args!], { group: true }); // own group: a terminal's Ctrl-C reaches the system, which ends it in order
    const run: Run = {
      proc,
      startedAt: performance.now(),
      readyAt: null,
      killedFor: null,
      stderrTail: '',
      startTimer: setTimeout(() => this.#kill(run, `not ready within ${this.#startTimeoutMs} ms`), this.#startTimeoutMs),
    };
    this.#run = run;
    this.#setState('starting');
    this.#log.debug({ pid: proc.pid, socket: this.socketPath }, `model server ${this.name}: spawned`);
    eachLine(proc.child.stdout, (line) => {
      if (run.readyAt === null && line.includes('"listening"')) {
        run.readyAt = performance.now();
        clearTimeout(run.startTimer);
        if (this.#run === run && !this.#stopping.signal.aborted) {
          this.#setState('ready');
          this.#health = this.#checkHealth();
        }
      } else if (line.trim().length > 0) {
        this.#log.info({ stream: 'stdout' }, line);
      }
    });
    eachLine(proc.child.stderr, (line) => {
      if (line.trim().length === 0) return;
      run.stderrTail = line.slice(0, 500);
      this.#log.info({ stream: 'stderr' }, line);
    });
    void proc.exited.then((exit) => this.#onExit(run, exit));
  }

  #kill(run: Run, why: string): void {
    if (run.killedFor !== null) return;
    run.killedFor = why;
    this.#log.warn({ pid: run.proc.pid }, `model server ${this.name}: ${why}; killing it`);
    void run.proc.stop(0);
  }

  #onExit(run: Run, exit: ProcessExit): void {
    clearTimeout(run.startTimer);
    if (this.#run === run) this.#run = null;
    if (this.#stopping.signal.aborted) return;
    const how = exit.error !== undefined ? `could not be started: ${exit.error.message}` : exit.signal !== null ? `killed by ${exit.signal}` : `exited with code ${String(exit.code)}`;
    const tail = run.stderrTail.length > 0 ? ` (${run.stderrTail})` : '';
    this.#lastExit = { code: exit.code, signal: exit.signal, message: `${run.killedFor === null ? '' : `${run.killedFor}: `}${how}${tail}`, at: Date.now() };
    this.#backoff.settle(run.readyAt === null ? 0 : performance.now() - run.readyAt);
    const wait = this.#backoff.next();
    this.#setState('backoff');
    this.#retryTimer = setTimeout(() => this.#launch(), wait);
  }

  /** Pings while the run (or the external server) lasts; misses in a row kill a started server or mark an external one unreachable. */
  async #checkHealth(): Promise<void> {
    const run = this.#run;
    let missed = 0;
    const stop = this.#stopping.signal;
    while (!stop.aborted && this.#run === run) {
      const ok = await this.ping(stop);
      if (stop.aborted || this.#run !== run) return;
      if (ok) {
        missed = 0;
        if (this.external) this.#setState('ready');
      } else if (++missed >= this.#failedPings) {
        missed = 0;
        if (run !== null) {
          this.#kill(run, `${this.#failedPings} health pings in a row unanswered`);
          return;
        }
        this.#setState('connecting');
      }
      // Not ready yet (external): look again sooner.
      await delay(this.#state === 'ready' ? this.#healthIntervalMs : Math.min(this.#healthIntervalMs, 1_000), stop);
    }
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
