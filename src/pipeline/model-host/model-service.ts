/**
 * ModelService: one model the system depends on (one server per model, shared
 * by every camera), whatever runs it: a model server the system starts
 * (src/pipeline/model-host/model-process.ts supervises the process), a server someone
 * else runs on a Unix socket, or a remote model over KServe v2
 * (src/pipeline/model-host/model-endpoint.ts checks each kind).
 *
 * Contract: a started server is `starting`, then `ready` once it listens, then
 * pinged every healthIntervalMs on a connection of its own; `failedPings`
 * missed pings in a row (a hung server) get it killed, and it goes to
 * `backoff` and is started again. A server someone else runs is `connecting`
 * until a check passes, then `ready`, back to `connecting` after failed
 * checks. A model found in a directory (`discover`) is such a server at
 * `<dir>/<modelId>.sock`: a model while a server there answers, `connecting`
 * while none does (ADR 0046), and refused (stats' `refusal`, ERR_MODEL_UNTRUSTED)
 * while someone untrusted could have put it there or serves it (ADR 0058). Clients reconnect by themselves: the system's
 * model workers wait in serving() instead of failing. close() ends the process (SIGTERM, then
 * SIGKILL) and the checks, and resolves once they are over.
 */
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { delay, untilAborted } from '../../internal/abort.js';
import type { Logger } from '../../internal/logger.js';
import { type ModelConfig, PipelineError, type ModelExit, type ModelState, type ModelStateEvent, CallWindow, type CallStats } from '../base/index.js';
import { checkRunnableModel } from '../../config/index.js';
import { kserveEndpoint, socketEndpoint, type KServeModelConfig, type ModelEndpoint, type ModelScheduling } from './model-endpoint.js';
import { modelServerArgs, ModelProcess } from './model-process.js';
import { checkDiscoveredServer, checkDiscoveryDirectory, type ModelTrust } from './model-trust.js';

export type { KServeModelConfig, ModelScheduling } from './model-endpoint.js';

export interface ModelStats {
  readonly name: string;
  /**
   * The handler: the one the system starts (person, onnx, mock), or for a server someone else runs (a socket,
   * a discovered one) the one its server says it runs in its pong (`python`, `person`...); null until it answered
   * a ping, and for a remote model.
   */
  readonly handler: string | null;
  readonly external: boolean;
  readonly modelId: string;
  readonly socket: string;
  /** Where it came from: started by the system, a server someone else runs at a socket, found in a directory, or remote (KServe). */
  readonly source: 'started' | 'socket' | 'discovered' | 'remote';
  /** The directory its server is discovered in (`discover`), or null. */
  readonly discoverDir: string | null;
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
  /**
   * Why the server at its socket is refused (a discovered model: ERR_MODEL_UNTRUSTED, naming the directory or
   * socket and its mode and owner, or the serving process), as of the last check; null when it is not.
   */
  readonly refusal: { readonly code: 'ERR_MODEL_UNTRUSTED'; readonly message: string } | null;
  /**
   * Its calls as this system's workers' answers told them (ADR 0128): what a call of n frames costs (a + b·n, a
   * least-squares fit over the recent calls), the frames a call held (p50, p99) and the age of a call's oldest frame
   * when it began (p50, p99).
   */
  readonly calls: CallStats;
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
  /**
   * Who besides this system's user and root may serve a discovered model (`models.discoverTrust`): every
   * connection to its socket is checked against it (model-trust.ts, ADR 0058). Null: nobody else.
   */
  readonly discoverTrust?: ModelTrust | null;
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

/** Where a discovered model's server puts its socket: the directory, then the model id and `.sock`. */
export function discoveredSocket(dir: string, modelId: string): string {
  return join(dir, `${modelId}.sock`);
}

export class ModelService implements AsyncDisposable {
  readonly name: string;
  readonly modelId: string;
  readonly socketPath: string;
  readonly external: boolean;
  /** A remote model over the KServe v2 protocol (external too): how to reach it. */
  readonly kserve: KServeModelConfig['kserve'] | null;
  /** The directory its server is found in (external too), or null. */
  readonly discover: string | null;
  /**
   * A discovered model's trust rule, for every client that connects to it (the workers' too): throws
   * ERR_MODEL_UNTRUSTED for a server someone untrusted could have put there. Null for other models.
   */
  readonly verifyConnection: ((socket: Socket) => void) | null = null;
  /** Per inference request. */
  readonly timeoutMs: number;
  /** The age budget its workers send with each request (max_age_ms), or null. */
  readonly maxAgeMs: number | null;
  readonly #config: ModelConfig;
  readonly #log: Logger;
  readonly #onState: (event: ModelStateEvent) => void;
  readonly #healthIntervalMs: number;
  readonly #pingTimeoutMs: number;
  readonly #failedPings: number;
  readonly #endpoint: ModelEndpoint;
  readonly #process: ModelProcess | null;
  readonly #stopping = new AbortController();
  readonly #waiters = new Set<() => void>();

  #state: ModelState;
  #started = false;
  #closed: Promise<void> | null = null;
  #lastExit: ModelExit | null = null;
  #lastPingAt: number | null = null;
  #lastPingMs: number | null = null;
  #readySince: number | null = null;
  #scheduling: ModelScheduling | null = null;
  /** Who besides this system's user and root may serve it (a discovered model). */
  readonly #discoverTrust: ModelTrust | null = null;
  /** Why its server was refused at the last check (a discovered model whose server is not trusted). */
  #refusal: string | null = null;
  /** The handler an external server says it runs (its last pong). */
  #reportedHandler: string | null = null;
  #health: Promise<void> | null = null;
  /** Its answers' calls (every model worker of it records each answer). */
  readonly #calls = new CallWindow();

  constructor(options: ModelServiceOptions) {
    const { name, config } = options;
    this.name = name;
    this.#config = config;
    this.modelId = config.modelId;
    this.external = !('handler' in config);
    this.kserve = 'kserve' in config ? config.kserve : null;
    // The schema's rules (src/config), for a JS caller that bypassed it.
    checkRunnableModel(name, config);
    const discover = 'discover' in config ? config.discover : null;
    const socket = 'socket' in config ? config.socket : undefined;
    this.discover = discover;
    if (discover !== null) {
      const path = discoveredSocket(discover, config.modelId);
      const trust = (this.#discoverTrust = options.discoverTrust ?? null);
      this.verifyConnection = (connection) => checkDiscoveredServer(discover, path, trust, connection);
    }
    this.#endpoint =
      'kserve' in config
        ? kserveEndpoint(config.kserve)
        : discover !== null
          ? socketEndpoint(discoveredSocket(discover, config.modelId), this.verifyConnection ?? undefined)
          : socketEndpoint(socket ?? join(options.runtimeDir, `${name}.sock`));
    // A remote model has no socket: its URL (credentials masked) stands in stats and messages.
    this.socketPath = this.#endpoint.address;
    this.timeoutMs = config.timeoutMs;
    this.maxAgeMs = config.maxAgeMs ?? null;
    this.#log = options.log;
    this.#onState = options.onState;
    this.#healthIntervalMs = options.healthIntervalMs ?? 5_000;
    this.#pingTimeoutMs = options.pingTimeoutMs ?? 2_000;
    this.#failedPings = options.failedPings ?? 3;
    this.#process =
      'handler' in config
        ? new ModelProcess({
            name,
            args: modelServerArgs(name, config, this.socketPath, this.modelId, options.shmDir),
            restart: config.restart,
            startTimeoutMs: options.startTimeoutMs ?? 120_000,
            killTimeoutMs: options.killTimeoutMs ?? 5_000,
            log: options.log,
            onStarting: () => this.#setState('starting'),
            onReady: () => {
              if (this.#stopping.signal.aborted) return;
              this.#setState('ready');
              this.#health = this.#checkHealth(this.#process!.current);
            },
            onExit: (exit) => {
              this.#lastExit = exit;
              this.#setState('backoff');
            },
          })
        : null;
    this.#state = this.external ? 'connecting' : 'starting';
  }

  get state(): ModelState {
    return this.#state;
  }

  /** Starts the server (or the checks of an external one). Idempotent. */
  start(): this {
    if (this.#started || this.#closed !== null) return this;
    this.#started = true;
    if (this.#process === null) this.#health = this.#checkHealth(null);
    else this.#process.start();
    return this;
  }

  /** Stops the server and resolves once its process is gone. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#stopping.abort();
      await this.#process?.close();
      await this.#health;
      this.#setState('stopped');
      for (const wake of this.#waiters) wake();
    })();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Resolves once the server is ready (at once if it is). Rejects with the
   * signal's reason if it aborts first, and ERR_MODEL_CLOSED once the service
   * is closed.
   */
  async whenReady(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    for (;;) {
      if (this.#state === 'ready') return;
      signal?.throwIfAborted();
      if (this.#closed !== null) throw new PipelineError('ERR_MODEL_CLOSED', `model ${this.name} is closed`);
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => this.#waiters.add((wake = resolve)));
      const onAbort = (): void => wake();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await woken;
      } finally {
        this.#waiters.delete(wake);
        signal?.removeEventListener('abort', onAbort);
      }
    }
  }

  /**
   * Resolves once the server is ready and answers a check (a model worker's
   * waitForServer); rejects as whenReady() does.
   */
  async serving(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    for (;;) {
      await this.whenReady(options);
      if (await this.ping(options)) return;
      // Ready by its state but not answering: its exit is about to be noticed.
      await delay(250, options);
    }
  }

  /** One check on a connection of its own: true if the model answered, false if not; rejects with the signal's reason if it aborts. */
  async ping(options: { readonly signal?: AbortSignal } = {}): Promise<boolean> {
    // A discovered model's directory is judged before any connection: one others can write is refused even empty.
    if (this.discover !== null) {
      try {
        if (!checkDiscoveryDirectory(this.discover, this.socketPath, this.#discoverTrust)) return false;
      } catch (error) {
        this.#refuse((error as Error).message);
        return false;
      }
    }
    const result = await this.#endpoint.check(this.#pingTimeoutMs, options.signal);
    options.signal?.throwIfAborted();
    this.#refuse(result.refusal ?? null);
    if (!result.ok) return false;
    this.#lastPingAt = Date.now();
    this.#lastPingMs = result.ms;
    if (result.scheduling !== undefined) this.#scheduling = result.scheduling;
    if (result.handler !== undefined) this.#reportedHandler = result.handler;
    return true;
  }

  /** An answer of this model to one of the system's workers: its call's size and time (ADR 0128). */
  recordAnswer(metadata: Readonly<Record<string, unknown>> | undefined): void {
    this.#calls.record(metadata);
  }

  stats(): ModelStats {
    return {
      name: this.name,
      handler: 'handler' in this.#config ? this.#config.handler : this.#reportedHandler,
      external: this.external,
      modelId: this.modelId,
      socket: this.socketPath,
      source: this.kserve !== null ? 'remote' : this.discover !== null ? 'discovered' : 'handler' in this.#config ? 'started' : 'socket',
      discoverDir: this.discover,
      state: this.#state,
      pid: this.#process?.pid ?? null,
      restarts: this.#process?.restarts ?? 0,
      lastExit: this.#lastExit,
      lastPingAt: this.#lastPingAt,
      lastPingMs: this.#lastPingMs,
      readySince: this.#readySince,
      scheduling: this.#scheduling,
      refusal: this.#refusal === null ? null : { code: 'ERR_MODEL_UNTRUSTED', message: this.#refusal },
      calls: this.#calls.stats(),
    };
  }

  /** A refusal is logged when it starts or changes (once, not at every check), and when it ends. */
  #refuse(why: string | null): void {
    if (why === this.#refusal) return;
    if (why !== null) this.#log.error({ code: 'ERR_MODEL_UNTRUSTED', socket: this.socketPath }, why);
    else this.#log.info({ socket: this.socketPath }, `model server ${this.name}: no longer refused`);
    this.#refusal = why;
  }

  #setState(to: ModelState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#readySince = to === 'ready' ? Date.now() : null;
    const pid = this.#process?.pid ?? null;
    const restarts = this.#process?.restarts ?? 0;
    const level = to === 'backoff' || (to === 'connecting' && from === 'ready') ? 'warn' : 'info';
    this.#log[level]({ from, to, pid, restarts, lastExit: to === 'backoff' ? this.#lastExit?.message : undefined }, `model server ${this.name}: ${to}`);
    this.#onState({ type: 'model-state', at: Date.now(), model: this.name, from, to, pid, restarts, lastExit: this.#lastExit });
    if (to === 'ready') for (const wake of [...this.#waiters]) wake();
  }

  /** Checks while the incarnation (or the external server) lasts; misses in a row kill a started server or mark an external one unreachable. */
  async #checkHealth(run: object | null): Promise<void> {
    let missed = 0;
    const stop = this.#stopping.signal;
    const current = (): boolean => (this.#process?.current ?? null) === run;
    while (!stop.aborted && current()) {
      let ok: boolean;
      try {
        ok = await this.ping({ signal: stop });
      } catch {
        return; // closing
      }
      if (!current()) return;
      if (ok) {
        missed = 0;
        if (this.external) this.#setState('ready');
      } else if (++missed >= this.#failedPings) {
        missed = 0;
        if (this.#process !== null) {
          this.#process.kill(`${this.#failedPings} health pings in a row unanswered`);
          return;
        }
        this.#setState('connecting');
      }
      // Not ready yet (external): look again sooner.
      if (!(await untilAborted(delay(this.#state === 'ready' ? this.#healthIntervalMs : Math.min(this.#healthIntervalMs, 1_000), { signal: stop }), stop)))
        return;
    }
  }
}
