/**
 * ClusterNode: one framesupplier node of a cluster coordinated through NATS
 * (ADR 0021). The cameras are desired state in a KV bucket; each node runs
 * the cameras it holds a lease on, in its own VisionSystem (the composition
 * root: the node only calls its public cameras.add/remove, workers.restart
 * and listens to its events).
 *
 * This class is the owner (ADR 0038): it has its options judged by the
 * config's rules (system.config.checkCluster: ERR_CONFIG, ADR 0056), holds the NATS
 * connection and everything started on it (subscriptions, the status watch,
 * the loop), and wires the parts, each of which keeps its own contract:
 * leases.ts (claims, renewals, shares), holdings.ts (what this node holds,
 * starting and stopping a camera), moves.ts (planned moves, ADR 0027),
 * fencing.ts (stalls), held-results.ts (events and the results held while
 * the bus is away), control-router.ts (the control plane), event-queries.ts
 * (cluster-wide events, ADR 0033), store.ts (buckets, streams, restore) and
 * admission.ts (which entries this node runs). Every start and stop goes to
 * the claims log with its wall time: the evidence that no camera ran on two
 * nodes at once beyond the margin (doubleOwned() in messages.ts reads it).
 *
 * Contract of its own: losing NATS stops nothing (running cameras keep
 * running; nothing is claimed or released while disconnected, and after a
 * reconnect the node waits a rejoin grace before claiming, so owners renew
 * first). A node cut off from NATS while the others still see it cannot
 * tell that apart from a server restart: its cameras may then run twice
 * until it reconnects and finds its lease taken (ADR 0021), but their
 * results go out only while its lease stands by its own clock (ADR 0110):
 * past it they are withheld, on every sink, until a renewal. One tick at a
 * time, jittered so nodes started together do not claim in step, woken
 * early after a stall; a tick that fails while connected leaves the cameras
 * running and has the store checked before the next.
 *
 * Lifecycle (ADR 0013): start() idempotent (every call the same promise;
 * ERR_CLUSTER_UNAVAILABLE if NATS cannot be reached, and a start that fails
 * releases the connection); close() idempotent and final (lets a start under
 * way finish, stops the node's cameras, publishes their stops, releases
 * their leases, drains NATS); start() after close() is ERR_CLUSTER_CLOSED.
 */
import { hostname } from 'node:os';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { delay, messageOf, untilAborted, waitAtMost } from '../internal/abort.js';
import { toId } from '../internal/ids.js';
import { DEFAULT_LEASE_MS, defaultTickMs } from '../internal/lease-tick.js';
import type { Logger } from '../internal/logger.js';
import { maskCredentials } from '../internal/redact.js';
import type { CameraAdmissionPolicy, SystemEvent, VisionSystem } from '../pipeline/index.js';
import { Admission } from './admission.js';
import { Bus, Refusals, type NodeContext, type NodeSettings } from './context.js';
import { ControlRouter } from './control-router.js';
import { ClusterError } from './errors.js';
import { EventQueries } from './event-queries.js';
import type { ClusterEventQuery, ClusterEventsAnswer, LocalEventSource } from './events.js';
import { Fencing } from './fencing.js';
import { HeldResults } from './held-results.js';
import { Holdings } from './holdings.js';
import { Leases } from './leases.js';
import { encode, type ControlReply, type ControlRequest } from './messages.js';
import { natsConnectOptions, type NatsAuth, type NatsTls } from './nats-auth.js';
import { PlannedMoves } from './moves.js';
import { ClusterStore } from './store.js';

export interface ClusterNodeOptions {
  /** nats:// URLs. */
  readonly servers: readonly string[];
  readonly system: VisionSystem;
  readonly log: Logger;
  /** Default: the host name and pid. */
  readonly nodeId?: string;
  /** This node's share weight (e.g. cores, or cameras it can decode). Default 1. */
  readonly capacity?: number;
  /** Lease length. Default 6 000 ms. */
  readonly leaseMs?: number;
  /** Heartbeat, renewal and claim period, under half of leaseMs. Default leaseMs / 4, at least 50 ms. */
  readonly tickMs?: number;
  /** Clock skew and pause allowance added to a lease before others claim it. Default 1 000 ms. */
  readonly marginMs?: number;
  /** After (re)connecting, claim nothing for this long so owners renew first. Default leaseMs. */
  readonly rejoinGraceMs?: number;
  /** Cameras to put into the desired state if absent (the config file's). */
  readonly seed?: Readonly<Record<string, unknown>>;
  /** How to authenticate to NATS (nats-auth.ts). Default: the servers' URL credentials, if any. */
  readonly auth?: NatsAuth;
  /** TLS to NATS: a private CA, a client certificate. */
  readonly tls?: NatsTls;
  /** Run cameras from the cluster that have command or file-module workers (cluster.allowExec). Default false; a camera this node's own seed names with the same entry runs regardless. */
  readonly allowExec?: boolean;
  /** What `${NAME}` in cameras from the cluster may name: this node's file's references, and prefixes. Default: none. */
  readonly references?: CameraAdmissionPolicy['references'];
  /** Where `${NAME}` takes its values on this node. Default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A node gets cameras by planned moves only once it has run this long without a stall or a lost connection. Default 2 × leaseMs. */
  readonly settleMs?: number;
  /** How long an offered move stands: the new node must have a frame by then. Default 2 × leaseMs. */
  readonly handoffTimeoutMs?: number;
  /** This node's tracked-object events store, read when asked (it opens after the node is made); null or absent: it has none. */
  readonly events?: () => LocalEventSource | null;
  /** How long a query waits for each other node's answer. Default 3 000 ms. */
  readonly eventsTimeoutMs?: number;
  /**
   * Called once, when the node has first run settled (connected, no stall) for settleMs, the cameras it holds did not
   * change over its last tick, and it has no claim pending (past the rejoin grace, no lease of its own or of a dead
   * node still watched while it has room): what it runs is then its share of the cluster (the app has the MQTT sink
   * judge this node's Home Assistant configs by it, ADR 0102). A node that never settles never calls it.
   */
  readonly onSettled?: () => void;
}

export interface ClusterStats {
  readonly node: string;
  readonly connected: boolean;
  readonly owned: readonly string[];
  readonly desired: number;
  readonly liveNodes: number;
  readonly target: number;
  /** NATS messages this node sent and received (coordination and events). */
  readonly messagesOut: number;
  readonly messagesIn: number;
  /** Untrusted messages refused, by code (each entry counted once, however many ticks see it). */
  readonly refused: Readonly<Record<string, number>>;
  /**
   * Whether coordination works: false while NATS or its JetStream store
   * cannot be used (the cameras keep running), with the last failure.
   */
  readonly coordination: { readonly ok: boolean; readonly since: number; readonly error: string | null };
}

const closedError = (): ClusterError => new ClusterError('ERR_CLUSTER_CLOSED', 'the cluster node is not running');

export class ClusterNode implements AsyncDisposable {
  readonly nodeId: string;
  readonly #servers: readonly string[];
  readonly #connectOptions: ReturnType<typeof natsConnectOptions>;
  readonly #ctx: NodeContext;
  readonly #holdings: Holdings;
  readonly #moves: PlannedMoves;
  readonly #fencing: Fencing;
  readonly #leases: Leases;
  readonly #results: HeldResults;
  readonly #control: ControlRouter;
  readonly #events: EventQueries;
  readonly #store: ClusterStore;
  readonly #subs: Subscription[] = [];
  readonly #stop = new AbortController();
  readonly #onEvent: (event: SystemEvent) => void;
  #starting: Promise<this> | null = null;
  #closing: Promise<void> | null = null;
  #loop: Promise<void> | null = null;
  /** Wakes the loop before its tick is due (after a stall: renew at once). */
  #wakeLoop: (() => void) | null = null;
  /** onSettled until called; the cameras held at the last tick (sorted, joined; null before the first) to tell a change. */
  #onSettled: (() => void) | null;
  #heldAtLastTick: string | null = null;
  /** Wall clock of the first connect: the settle time counts from it (or from a later reconnect or stall). */
  #connectedAt = Number.POSITIVE_INFINITY;

  constructor(options: ClusterNodeOptions) {
    this.nodeId = options.nodeId ?? toId(`${hostname()}-${process.pid}`);
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    const settings: NodeSettings = {
      capacity: options.capacity ?? 1,
      leaseMs,
      tickMs: options.tickMs ?? defaultTickMs(leaseMs),
      marginMs: options.marginMs ?? 1_000,
      rejoinGraceMs: options.rejoinGraceMs ?? leaseMs,
      settleMs: options.settleMs ?? 2 * leaseMs,
      handoffTimeoutMs: options.handoffTimeoutMs ?? 2 * leaseMs,
      eventsTimeoutMs: options.eventsTimeoutMs ?? 3_000,
    };
    // The config's rules for a cluster section, on the options as they will run (ERR_CONFIG with paths, ADR 0056):
    // a program handing options without a file learns what `config check` would have said.
    options.system.config.checkCluster({
      servers: options.servers,
      nodeId: this.nodeId,
      capacity: settings.capacity,
      leaseMs,
      ...(options.tickMs === undefined ? {} : { tickMs: options.tickMs }),
      ...(options.auth === undefined ? {} : { auth: options.auth }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    });
    this.#servers = options.servers;
    // Read and checked now: a wrong auth section fails the node's construction, not a reconnect later.
    this.#connectOptions = natsConnectOptions(options.servers, options.auth, options.tls);
    const log = options.log.child({ node: this.nodeId });
    const bus = new Bus(this.nodeId);
    const ctx: NodeContext = { nodeId: this.nodeId, settings, log, system: options.system, bus, refusals: new Refusals(log) };
    this.#ctx = ctx;
    const seed = options.seed ?? {};
    const admission = new Admission({
      nodeId: this.nodeId,
      bus,
      refusals: ctx.refusals,
      seed,
      system: options.system,
      policy: { allowExec: options.allowExec ?? false, references: options.references ?? { names: [] }, env: options.env ?? process.env },
    });
    this.#holdings = new Holdings(ctx);
    this.#moves = new PlannedMoves(ctx, this.#holdings, admission);
    this.#fencing = new Fencing(ctx, this.#holdings, () => {
      this.#leases.forgetWatches();
      this.#wakeLoop?.();
    });
    this.#leases = new Leases(ctx, {
      desired: { entry: (camera) => this.#store.desiredEntry(camera) },
      holdings: this.#holdings,
      moves: this.#moves,
      admission,
      fencing: this.#fencing,
    });
    this.#results = new HeldResults(this.nodeId, bus);
    this.#control = new ControlRouter(ctx, this.#holdings, this.#moves, admission);
    this.#events = new EventQueries(ctx, { local: options.events, liveNodes: () => this.#leases.figures.liveNodes });
    this.#store = new ClusterStore(ctx, this.#holdings, seed);
    this.#onSettled = options.onSettled ?? null;
    this.#onEvent = (event) => {
      this.#moves.onSystemEvent(event);
      this.#results.publish(event);
    };
  }

  /** Connects, creates the buckets and streams if needed, seeds the desired state, and starts the loop. ERR_CLUSTER_UNAVAILABLE if NATS cannot be reached. */
  start(): Promise<this> {
    if (this.#closing !== null) return Promise.reject(closedError());
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<this> {
    const { bus, log, system } = this.#ctx;
    let nc: NatsConnection;
    try {
      nc = await connect({ ...this.#connectOptions, name: `framesupplier-${this.nodeId}`, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5_000 });
    } catch (error) {
      throw new ClusterError('ERR_CLUSTER_UNAVAILABLE', `cannot connect to NATS at ${this.#servers.map(maskUrl).join(', ')}: ${messageOf(error)}`, {
        cause: error,
      });
    }
    bus.nc = nc;
    bus.connected = true;
    this.#connectedAt = Date.now();
    this.#leases.rejoin();
    void this.#watchStatus(nc);
    try {
      await this.#store.start();
    } catch (error) {
      // What the start took goes before it rejects: the store's watch, the connection.
      await this.#store.close();
      bus.nc = null;
      bus.connected = false;
      await nc.close().catch(() => undefined);
      throw error;
    }
    this.#subs.push(...this.#control.subscribe(nc), ...this.#events.subscribe(nc));
    system.on('*', this.#onEvent);
    system.results.setFence((camera, frameWallTime) => this.#fencing.mayPublish(camera, frameWallTime));
    this.#fencing.start();
    this.#loop = this.#run();
    log.info({ servers: this.#servers.map(maskUrl), capacity: this.#ctx.settings.capacity }, 'cluster node joined');
    return this;
  }

  stats(): ClusterStats {
    const nc = this.#ctx.bus.nc;
    const figures = this.#leases.figures;
    return {
      node: this.nodeId,
      connected: this.#ctx.bus.connected,
      owned: [...this.#holdings.held.keys()].sort(),
      desired: figures.desired,
      liveNodes: figures.live,
      target: figures.target,
      messagesOut: nc?.stats().outMsgs ?? 0,
      messagesIn: nc?.stats().inMsgs ?? 0,
      refused: this.#ctx.refusals.counts(),
      coordination: this.#store.coordination,
    };
  }

  /** The control plane from this node, in process: writes the desired state, or routes to the owner. */
  control(request: ControlRequest): Promise<ControlReply> {
    if (this.#ctx.bus.nc === null || this.#closing !== null) return Promise.reject(closedError());
    return new Promise((resolve) => void this.#control.handle(encode(request), resolve));
  }

  /**
   * Tracked-object events of the whole cluster: every live node is asked (in
   * parallel, eventsTimeoutMs each) and the answers merged, newest first.
   * Nodes that did not answer, or answered what does not parse, are listed
   * in `missing`: the answer is then partial, never silently.
   */
  async queryEvents(q: ClusterEventQuery): Promise<ClusterEventsAnswer> {
    const nc = this.#ctx.bus.nc;
    if (nc === null || this.#closing !== null) throw closedError();
    return this.#events.query(nc, q);
  }

  /** A tracked object's snapshot from whichever node stored it (this one first), or null. */
  async eventSnapshot(id: string): Promise<Buffer | null> {
    const nc = this.#ctx.bus.nc;
    if (nc === null || this.#closing !== null) throw closedError();
    return this.#events.snapshot(nc, id);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const { bus, system } = this.#ctx;
      await this.#starting?.catch(() => undefined);
      this.#stop.abort();
      this.#wakeLoop?.();
      await this.#loop?.catch(() => undefined);
      this.#fencing.close();
      system.off('*', this.#onEvent);
      await this.#moves.dropUnless(null, 'node closing');
      for (const camera of [...this.#holdings.held.keys()]) await this.#holdings.release(camera, 'node closing');
      system.results.setFence(null);
      await this.#store.close();
      for (const sub of this.#subs) sub.unsubscribe();
      // With NATS away, what the store is told would only wait out its timeouts: the heartbeat and leases run out.
      if (bus.connected) await bus.nodes?.delete(this.nodeId).catch(() => undefined);
      await closeConnection(bus.nc);
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    const { bus, log } = this.#ctx;
    void nc.closed().then((error) => {
      if (this.#closing === null) log.error({ err: error === undefined ? null : messageOf(error) }, 'NATS connection closed for good');
    });
    for await (const s of nc.status()) {
      log.debug({ status: s.type, ...('server' in s ? { server: maskUrl(String(s.server)) } : {}) }, 'NATS status');
      if (s.type === 'disconnect') {
        bus.connected = false;
        this.#leases.forgetWatches();
        log.warn({ cameras: [...this.#holdings.held.keys()] }, 'NATS lost: cameras keep running');
      } else if (s.type === 'reconnect') {
        bus.connected = true;
        // The server may be one just started, its JetStream still coming up (a restart; a store lost with it): the
        // next tick makes sure of the store first, and that begins by asking JetStream whether it answers, before any
        // bucket is read. A key read in that window crashed Debian's nats-server 2.9.10 (a nil dereference in its
        // message-get handler), taking the whole cluster's coordination down with it.
        this.#store.suspect = true;
        this.#leases.rejoin();
        this.#fencing.unsettled();
        const heldResults = this.#results.size;
        const dropped = this.#results.flush((camera) => this.#fencing.holds(camera));
        // Dropped: results kept while NATS was away of cameras whose leases have run out since (they would come after them).
        log.info({ heldResults, dropped }, 'NATS back: renewing leases, claiming after the rejoin grace');
      }
    }
  }

  /**
   * After a tick that succeeded: calls onSettled once the node has run settled (connected, no stall) for settleMs,
   * holds what it held a tick before, and has no claim pending (past its rejoin grace, no lease of its own or of a dead
   * node still being watched while it has room: a restart after a crash takes its cameras back only then).
   */
  #noteSettled(): void {
    const onSettled = this.#onSettled;
    if (onSettled === null || this.#stop.signal.aborted) return;
    const held = [...this.#holdings.held.keys()].sort().join('\n');
    const unchanged = held === this.#heldAtLastTick;
    this.#heldAtLastTick = held;
    const settledFor = Date.now() - Math.max(this.#fencing.healthySince, this.#connectedAt);
    if (!unchanged || this.#leases.figures.claimsPending || settledFor < this.#ctx.settings.settleMs) return;
    this.#onSettled = null;
    try {
      onSettled();
    } catch (error) {
      this.#ctx.log.error({ err: messageOf(error) }, 'cluster: what was to follow the node settling failed');
    }
  }

  async #run(): Promise<void> {
    const { bus, log, settings } = this.#ctx;
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      if (bus.connected) {
        try {
          await this.#holdings.exclusive(async () => {
            if (this.#store.suspect) await this.#store.restore();
            await this.#leases.tick(signal);
          });
          this.#store.succeeded();
          this.#noteSettled();
        } catch (error) {
          // A tick that fails while connected (JetStream gone, its store lost, a timeout under load): cameras keep
          // running; the next tick first makes sure the store is there. Disconnected: the status watch says so.
          if (bus.connected) this.#store.failed(error);
          else log.debug({ err: messageOf(error) }, 'cluster tick failed while disconnected');
        }
      }
      // Jittered so nodes started together do not tick (and claim) in step; woken early after a stall.
      const woken = new Promise<void>((resolve) => (this.#wakeLoop = resolve));
      await untilAborted(Promise.race([delay(Math.round(settings.tickMs * (0.8 + Math.random() * 0.4)), { signal }), woken]), signal);
      this.#wakeLoop = null;
    }
  }
}

/** How long a closing node waits for NATS to take what it still sends (drain) before it closes the connection. */
const DRAIN_TIMEOUT_MS = 2_000;

/**
 * Drains the connection (what was sent goes out, subscriptions end) for at most DRAIN_TIMEOUT_MS, then closes it if
 * the drain did not. drain() waits for the server's answer to a ping, so with the connection down (NATS away) it
 * waited for as long as that lasted, and the node's close() with it; and a drain refused there left the client
 * reconnecting for good, and the process alive with it.
 */
async function closeConnection(nc: NatsConnection | null): Promise<void> {
  if (nc === null || nc.isClosed()) return;
  await waitAtMost(
    nc.drain().catch(() => undefined),
    DRAIN_TIMEOUT_MS,
  );
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}

/** A NATS URL without its credentials, for logs (the project's one URL mask). */
export const maskUrl: (url: string) => string = maskCredentials;
