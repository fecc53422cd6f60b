/**
 * ClusterNode: one framesupplier node of a cluster coordinated through NATS
 * (ADR 0021). The cameras are desired state in a KV bucket; each node runs
 * the cameras it holds a lease on, in its own VisionSystem (the composition
 * root: this module only calls its public addCamera/removeCamera/
 * restartWorker and listens to its events).
 *
 * Contract:
 *  - Leases are compare-and-set on the KV entry's revision (nats-server 2.9
 *    has no per-key TTL): a lease holds `expiresAt`, renewed every tickMs by
 *    its owner; another node claims it only once now > expiresAt + marginMs
 *    AND it has watched the same revision stand still for leaseMs + marginMs
 *    on its own clock while connected (expiry by timestamp and revision), and
 *    only by CAS on that revision, so of racing claimants one wins.
 *  - A camera starts on a node only after its claim succeeded and stops
 *    before its lease is released; a renewal that finds the revision changed
 *    (someone else holds it) stops the camera at once. Every start and stop is
 *    published to the claims log (JetStream stream FRAMESUPPLIER_CLAIMS) with
 *    its wall time: the evidence that no camera ran on two nodes at once
 *    beyond the margin (checkClaims() in claims.ts reads it).
 *  - Shares are weighted by the capacity each node declares in its heartbeat:
 *    a node claims while it holds fewer than ceil(cameras × capacity / total
 *    capacity of live nodes); one holding more than its share while another
 *    live node holds less than its own releases ONE camera per tick (gentle:
 *    no herd, no flapping; claims are jittered).
 *  - Planned moves are make-before-break (ADR 0027): an owner over its share
 *    offers one camera at a time to the node furthest below its share that has
 *    run without a stall or reconnect for settleMs (the offer rides on the
 *    lease: handoffTo, handoffUntil). That node opens the camera with its
 *    results withheld (standby) and, once it has a frame, asks the owner for
 *    it; the owner stops publishing, passes the lease by compare-and-set and
 *    answers, and the new owner publishes from its answer on: the dark time is
 *    one request. A standby that cannot open the camera (a second session
 *    refused) asks for a break: the owner closes its session first.
 *  - Fencing: a node whose event loop stood still longer than a lease (a
 *    SIGSTOP, a VM pause; seen on its monotonic clock by a heartbeat and by
 *    every result it is about to publish, whichever comes first) publishes
 *    nothing for any camera until its lease is confirmed again, and stops the
 *    cameras whose leases it lost. Its stop records say when it last published
 *    (streamedUntil).
 *  - Losing NATS stops nothing: running cameras keep running; nothing is
 *    claimed or released while disconnected, and after a reconnect a node
 *    waits one lease (rejoinGraceMs) before claiming, so owners renew first.
 *    (A node cut off from NATS while the others still see it cannot tell that
 *    apart from a server restart: its cameras may then run twice until it
 *    reconnects and finds its lease taken; ADR 0021.)
 *  - Events go to framesupplier.<camera>.events (and the stream
 *    FRAMESUPPLIER_EVENTS), results to framesupplier.<camera>.results; while
 *    NATS is away the newest result of each worker is kept (bounded) and
 *    published when it is back.
 *  - The control plane answers on framesupplier.control (any node, queue
 *    group), on framesupplier.node.<node>.control (that node), and in process
 *    (control()): add-camera / remove-camera write the desired state,
 *    restart-worker is routed to the camera's owner by request/reply on the
 *    owner's subject, marked routed (a header) so it is never routed again.
 *  - Tracked-object events: each node answers queries of its own store on
 *    framesupplier.node.<node>.events (and snapshots on …snapshot);
 *    queryEvents() asks every live node and merges (events.ts, ADR 0033).
 *
 * Lifecycle: start() once, close() idempotent and final (stops the node's
 * cameras, publishes their stops, releases their leases, drains NATS).
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { hostname } from 'node:os';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { delay, messageOf, untilAborted } from '../internal/abort.js';
import type { Logger } from '../internal/logger.js';
import type { SystemEvent, VisionSystem } from '../pipeline/index.js';
import { ClusterError } from './errors.js';
import {
  eventsReply,
  isJpeg,
  MAX_SNAPSHOT_BYTES,
  mergeEvents,
  nodeEventsSubject,
  nodeSnapshotSubject,
  parseEventsReply,
  parseEventsRequest,
  type ClusterEventQuery,
  type ClusterEventsAnswer,
  type EventRow,
  type LocalEventSource,
  type NodeEvents,
} from './events.js';
import { natsConnectOptions, type NatsAuth, type NatsTls } from './nats-auth.js';
import { checkNetworkCamera, substituteEnv, type ReferencePolicy } from '../config/index.js';
import { maskCredentials } from '../internal/redact.js';
import { toId } from '../internal/ids.js';
import {
  BUCKETS,
  CLAIMS_STREAM,
  claimsSubject,
  CONTROL_SUBJECT,
  encode,
  EVENTS_STREAM,
  eventsSubject,
  ID,
  nodeControlSubject,
  parseControl,
  parseJson,
  parseLease,
  parseNode,
  parseReply,
  resultsSubject,
  targetShare,
  type ClaimRecord,
  type ControlReply,
  type ControlRequest,
  type Lease,
  type NodeRecord,
} from './messages.js';

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
  /** Heartbeat, renewal and claim period. Default leaseMs / 4. */
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
  readonly references?: ReferencePolicy;
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

interface Held {
  revision: number;
  expiresAt: number;
  /** The desired entry it was started from: republished if the store is lost. */
  entry: Uint8Array;
  /** Woken from a stall: nothing is published for it until a renewal confirms the lease. */
  fenced: boolean;
  /** Wall clock of the last result published for it. */
  lastPublishedAt: number | null;
  /** Capture wall time of the newest frame a published result was about (0: none). */
  lastFrameAt: number;
  /** A planned move offered to another node, standing until `until`. */
  offer: { readonly to: string; readonly until: number } | null;
}

/** A camera opened to take it over (results withheld) until its owner passes the lease. */
interface Standby {
  readonly from: string;
  readonly since: number;
  readonly entry: Uint8Array;
  readonly config: Record<string, unknown>;
  /** The request to the owner has been sent. */
  asked: boolean;
}

/** Results kept while NATS is away: the newest of this many workers (the least recently updated go first). */
const MAX_HELD_RESULTS = 4096;

/** Cameras of the desired state a node keeps a copy of (to put back after a store loss). */
const MAX_DESIRED_COPY = 10_000;

/** JetStream's "wrong last sequence": a compare-and-set found another revision. */
const CAS_FAILED = new Set([10071, 10164]);
const casFailed = (error: unknown): boolean => CAS_FAILED.has((error as { code?: unknown } | null)?.code as number);

export class ClusterNode implements AsyncDisposable {
  readonly nodeId: string;
  readonly #o: Required<Omit<ClusterNodeOptions, 'seed' | 'nodeId' | 'auth' | 'tls' | 'allowExec' | 'references' | 'env' | 'events'>> & {
    seed: Readonly<Record<string, unknown>>;
    events: (() => LocalEventSource | null) | undefined;
  };
  readonly #admission: { readonly allowExec: boolean; readonly references: ReferencePolicy; readonly env: Readonly<Record<string, string | undefined>> };
  readonly #connectOptions: ReturnType<typeof natsConnectOptions>;
  readonly #log: Logger;
  readonly #system: VisionSystem;
  #nc: NatsConnection | null = null;
  #desired: KV | null = null;
  #leases: KV | null = null;
  #nodes: KV | null = null;
  readonly #held = new Map<string, Held>();
  readonly #subs: Subscription[] = [];
  readonly #stop = new AbortController();
  #loop: Promise<void> | null = null;
  #connected = false;
  #graceUntil = 0;
  #closing: Promise<void> | null = null;
  #lastTarget = 0;
  #lastDesired = 0;
  #lastLive = 0;
  /** The live nodes of the last tick (this one included): whom an events query asks. */
  #liveNodes: readonly string[] = [];
  readonly #refused: Record<string, number> = {};
  /** Untrusted entries already refused (key@revision): each is counted and logged once, never claimed again. Bounded. */
  readonly #refusedOnce = new Set<string>();
  /** When a request or reply of each kind was last logged as refused (they are counted every time). Bounded. */
  readonly #refusalLoggedAt = new Map<string, number>();
  /** Desired entries this node refused to run, by revision: not claimed again until the entry changes. */
  readonly #refusedEntry = new Map<string, number>();
  #coordination: { ok: boolean; since: number; error: string | null } = { ok: true, since: Date.now(), error: null };
  /** The newest result per worker while NATS is away (camera/worker → message), published on reconnect. Bounded. */
  readonly #heldResults = new Map<string, { subject: string; data: Uint8Array }>();
  /** The desired state as this node last saw it (a watch on its bucket): all of it is put back if the store is lost. Bounded. */
  readonly #desiredCopy = new Map<string, Uint8Array>();
  #desiredWatch: { stop(): void } | null = null;
  /** A tick failed while connected: before the next, make sure the buckets and streams exist (the store may have been lost). */
  #checkStore = false;
  /**
   * Each other node's lease as this node has watched it: its revision and since
   * when (this node's clock) it has not changed. A lease is claimable only once
   * it stood still for a whole lease plus the margin while this node was
   * connected, as well as past its timestamp: a NATS outage or a loaded owner
   * whose renewals come late never looks expired (cleared on every reconnect).
   */
  readonly #seen = new Map<string, { revision: number; since: number }>();
  #onEvent: ((event: SystemEvent) => void) | null = null;
  readonly #standby = new Map<string, Standby>();
  /** Monotonic time the event loop was last seen running (the heartbeat, every result): a gap past the lease is a stall. */
  #aliveAt = performance.now();
  #heartbeat: NodeJS.Timeout | null = null;
  /** Wall clock since when this node has run without a stall or a lost connection (in its heartbeat record). */
  #healthySince = Date.now();
  /** Wakes the loop before its tick is due (after a stall: renew at once). */
  #wakeLoop: (() => void) | null = null;
  /** Lease operations (the tick, a handoff) one at a time: a handoff's compare-and-set must not race this node's own renewal. */
  #leaseOps: Promise<unknown> = Promise.resolve();

  constructor(options: ClusterNodeOptions) {
    this.nodeId = options.nodeId ?? toId(`${hostname()}-${process.pid}`);
    if (!ID.test(this.nodeId))
      throw new ClusterError('ERR_CLUSTER_CONFIG', `cluster nodeId must be 1–64 characters of A–Z a–z 0–9 _ -, got ${JSON.stringify(this.nodeId)}`);
    if (options.servers.length === 0) throw new ClusterError('ERR_CLUSTER_CONFIG', 'cluster needs at least one nats:// server');
    const leaseMs = options.leaseMs ?? 6_000;
    const o = {
      servers: options.servers,
      system: options.system,
      log: options.log,
      capacity: options.capacity ?? 1,
      leaseMs,
      tickMs: options.tickMs ?? Math.max(50, Math.floor(leaseMs / 4)),
      marginMs: options.marginMs ?? 1_000,
      rejoinGraceMs: options.rejoinGraceMs ?? leaseMs,
      settleMs: options.settleMs ?? 2 * leaseMs,
      handoffTimeoutMs: options.handoffTimeoutMs ?? 2 * leaseMs,
      eventsTimeoutMs: options.eventsTimeoutMs ?? 3_000,
      events: options.events,
      seed: options.seed ?? {},
    };
    if (!(o.capacity > 0 && o.capacity <= 1_000_000))
      throw new ClusterError('ERR_CLUSTER_CONFIG', `cluster capacity must be in (0, 1e6], got ${String(o.capacity)}`);
    if (!(o.tickMs * 2 < leaseMs))
      throw new ClusterError(
        'ERR_CLUSTER_CONFIG',
        `cluster tickMs (${o.tickMs}) must be under half of leaseMs (${leaseMs}): an owner renews at least twice per lease`,
      );
    this.#admission = { allowExec: options.allowExec ?? false, references: options.references ?? { names: [] }, env: options.env ?? process.env };
    // Read and checked now: a wrong auth section fails the node's construction, not a reconnect later.
    this.#connectOptions = natsConnectOptions(o.servers, options.auth, options.tls);
    this.#o = o;
    this.#log = options.log.child({ node: this.nodeId });
    this.#system = options.system;
  }

  /** Connects, creates the buckets and streams if needed, seeds the desired state, and starts the loop. ERR_CLUSTER_UNAVAILABLE if NATS cannot be reached. */
  async start(): Promise<this> {
    let nc: NatsConnection;
    try {
      nc = await connect({ ...this.#connectOptions, name: `framesupplier-${this.nodeId}`, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5_000 });
    } catch (error) {
      throw new ClusterError('ERR_CLUSTER_UNAVAILABLE', `cannot connect to NATS at ${this.#o.servers.map(maskUrl).join(', ')}: ${messageOf(error)}`, {
        cause: error,
      });
    }
    this.#nc = nc;
    this.#connected = true;
    this.#graceUntil = Date.now() + this.#o.rejoinGraceMs;
    void this.#watchStatus(nc);
    await this.#ensureStore();
    await this.#watchDesired();
    for (const [camera, entry] of Object.entries(this.#o.seed)) {
      if (!ID.test(camera)) continue;
      await this.#desired!.create(camera, encode(entry)).catch(() => undefined); // there already: the cluster's state wins over a file
    }
    const answer =
      (m: Msg) =>
      (r: ControlReply): void =>
        void m.respond(encode(r));
    this.#subs.push(nc.subscribe(CONTROL_SUBJECT, { queue: 'framesupplier-control', callback: (_e, m) => void this.#control(m.data, answer(m)) }));
    this.#subs.push(
      nc.subscribe(nodeControlSubject(this.nodeId), { callback: (_e, m) => void this.#control(m.data, answer(m), m.headers?.get(ROUTED_HEADER) === '1') }),
    );
    this.#subs.push(nc.subscribe(nodeEventsSubject(this.nodeId), { callback: (_e, m) => this.#answerEvents(m) }));
    this.#subs.push(nc.subscribe(nodeSnapshotSubject(this.nodeId), { callback: (_e, m) => void this.#answerSnapshot(m) }));
    this.#onEvent = (event) => {
      if (event.type === 'camera-state' && this.#standby.has(event.camera)) this.#standbyState(event.camera, event.state);
      this.#publishEvent(event);
    };
    this.#system.on('*', this.#onEvent);
    this.#system.setOutputGate((camera, frameWallTime) => this.#mayPublish(camera, frameWallTime));
    this.#aliveAt = performance.now();
    this.#heartbeat = setInterval(() => this.#checkStall(), Math.max(20, Math.min(250, Math.floor(this.#o.tickMs / 2))));
    this.#heartbeat.unref();
    this.#loop = this.#run();
    this.#log.info({ servers: this.#o.servers.map(maskUrl), capacity: this.#o.capacity }, 'cluster node joined');
    return this;
  }

  /** Creates the buckets and streams where missing (at start, and after a store loss) and binds to them. */
  async #ensureStore(): Promise<void> {
    const nc = this.#nc!;
    const kvm = new Kvm(nc);
    // File storage: the desired state and the leases survive a NATS restart.
    this.#desired = await kvm.create(BUCKETS.desired, { history: 1 });
    this.#leases = await kvm.create(BUCKETS.leases, { history: 1 });
    this.#nodes = await kvm.create(BUCKETS.nodes, { history: 1 });
    const jsm = await jetstreamManager(nc);
    for (const [name, subjects] of [
      [CLAIMS_STREAM, ['framesupplier-claims.>']],
      [EVENTS_STREAM, ['framesupplier.*.events']],
    ] as const) {
      try {
        await jsm.streams.info(name);
      } catch {
        await jsm.streams.add({ name, subjects: [...subjects], max_age: 7 * 24 * 3600 * 1e9, max_msgs: 1_000_000 }).catch((error: unknown) => {
          // Another node made it at the same moment.
          if (!/already in use|exists/i.test(messageOf(error))) throw error;
        });
      }
    }
  }

  /**
   * After a failed tick: the buckets and streams made again if the store lost
   * them, and what this node holds put back — the desired entries of the
   * cameras it runs (create: an entry still there wins) and their leases.
   */
  async #restoreStore(): Promise<void> {
    await this.#ensureStore();
    await this.#watchDesired();
    // Every camera of the desired state, not only those this node runs: one between owners (failing over, moving)
    // when the store went would otherwise be gone for good. create(): an entry already there (another node's) wins.
    for (const [camera, entry] of [...this.#desiredCopy]) await this.#desired!.create(camera, entry).catch(() => undefined);
    for (const [camera, held] of this.#held) {
      await this.#desired!.create(camera, held.entry).catch(() => undefined);
      const lease = await this.#leases!.get(camera);
      if (lease === null || lease.operation !== 'PUT') {
        held.revision = await this.#leases!.create(camera, encode({ node: this.nodeId, expiresAt: Date.now() + this.#o.leaseMs } satisfies Lease));
        this.#log.warn({ camera }, 'lease put back after the store lost it');
      }
    }
  }

  /** Mirrors the desired bucket into #desiredCopy (a new watch after the store was made again). */
  async #watchDesired(): Promise<void> {
    this.#desiredWatch?.stop();
    const watch = await this.#desired!.watch();
    this.#desiredWatch = watch;
    void (async () => {
      try {
        for await (const e of watch) {
          if (!ID.test(e.key)) continue;
          if (e.operation !== 'PUT') this.#desiredCopy.delete(e.key);
          else if (this.#desiredCopy.has(e.key) || this.#desiredCopy.size < MAX_DESIRED_COPY) this.#desiredCopy.set(e.key, e.value);
        }
      } catch {
        // The watch ends with the store: #restoreStore starts another.
      }
    })();
  }

  #coordinationFailed(error: unknown): void {
    if (this.#coordination.ok) {
      this.#coordination = { ok: false, since: Date.now(), error: messageOf(error) };
      this.#log.error(
        { err: messageOf(error), cameras: [...this.#held.keys()] },
        'cluster coordination failing: cameras keep running; buckets and streams are made again once NATS can',
      );
    } else {
      this.#coordination.error = messageOf(error);
    }
  }

  #coordinationBack(): void {
    if (this.#coordination.ok) return;
    this.#log.info({ downForMs: Date.now() - this.#coordination.since }, 'cluster coordination back');
    this.#coordination = { ok: true, since: Date.now(), error: null };
  }

  stats(): ClusterStats {
    const nc = this.#nc;
    return {
      node: this.nodeId,
      connected: this.#connected,
      owned: [...this.#held.keys()].sort(),
      desired: this.#lastDesired,
      liveNodes: this.#lastLive,
      target: this.#lastTarget,
      messagesOut: nc?.stats().outMsgs ?? 0,
      messagesIn: nc?.stats().inMsgs ?? 0,
      refused: { ...this.#refused },
      coordination: { ...this.#coordination },
    };
  }

  /** The control plane from this node, in process: writes the desired state, or routes to the owner. */
  control(request: ControlRequest): Promise<ControlReply> {
    if (this.#nc === null || this.#closing !== null) return Promise.reject(new ClusterError('ERR_CLUSTER_CLOSED', 'the cluster node is not running'));
    return new Promise((resolve) => void this.#control(encode(request), resolve));
  }

  /**
   * Tracked-object events of the whole cluster: every live node is asked (in
   * parallel, eventsTimeoutMs each) and the answers merged, newest first.
   * Nodes that did not answer, or answered what does not parse, are listed
   * in `missing`: the answer is then partial, never silently.
   */
  async queryEvents(q: ClusterEventQuery): Promise<ClusterEventsAnswer> {
    const nc = this.#nc;
    if (nc === null || this.#closing !== null) throw new ClusterError('ERR_CLUSTER_CLOSED', 'the cluster node is not running');
    const limit = Math.max(1, Math.min(1000, Math.floor(q.limit ?? 100)));
    const others = this.#liveNodes.filter((n) => n !== this.nodeId);
    const answers: NodeEvents[] = [];
    const missing: { node: string; code: string; message: string }[] = [];
    const local = this.#o.events?.() ?? null;
    answers.push({ node: this.nodeId, events: local === null ? [] : (local.query({ ...q, limit }) as EventRow[]), truncated: false });
    await Promise.all(
      others.map(async (node) => {
        try {
          const reply = await nc.request(nodeEventsSubject(node), encode({ ...q, limit }), { timeout: this.#o.eventsTimeoutMs });
          const answer = parseEventsReply(reply.data);
          if ('ok' in answer) missing.push({ node, code: answer.code, message: answer.message });
          else if (answer.node !== node) throw new ClusterError('ERR_CLUSTER_MESSAGE', `events reply: asked node ${node}, ${answer.node} answered`);
          else answers.push(answer);
        } catch (error) {
          if (error instanceof ClusterError) this.#refuse(error, `events reply of node ${node}`);
          const code = error instanceof ClusterError ? error.code : 'ERR_CLUSTER_UNAVAILABLE';
          missing.push({ node, code, message: messageOf(error) });
        }
      }),
    );
    return { events: mergeEvents(answers, limit), nodes: answers.map((a) => a.node).sort(), missing: missing.sort((a, b) => (a.node < b.node ? -1 : 1)) };
  }

  /** A tracked object's snapshot from whichever node stored it (this one first), or null. */
  async eventSnapshot(id: string): Promise<Buffer | null> {
    const nc = this.#nc;
    if (nc === null || this.#closing !== null) throw new ClusterError('ERR_CLUSTER_CLOSED', 'the cluster node is not running');
    const local = await this.#o.events?.()?.snapshot(id);
    if (local != null) return local;
    const found = await Promise.all(
      this.#liveNodes
        .filter((n) => n !== this.nodeId)
        .map(async (node) => {
          try {
            const reply = await nc.request(nodeSnapshotSubject(node), Buffer.from(id, 'utf8'), { timeout: this.#o.eventsTimeoutMs });
            if (reply.data.byteLength === 0) return null;
            if (reply.data.byteLength > MAX_SNAPSHOT_BYTES || !isJpeg(reply.data))
              throw new ClusterError('ERR_CLUSTER_MESSAGE', `snapshot reply of node ${node}: not a JPEG of at most ${MAX_SNAPSHOT_BYTES} bytes`);
            return Buffer.from(reply.data);
          } catch (error) {
            if (error instanceof ClusterError) this.#refuse(error, `snapshot reply of node ${node}`);
            return null;
          }
        }),
    );
    return found.find((b) => b !== null) ?? null;
  }

  #answerEvents(m: Msg): void {
    try {
      const q = parseEventsRequest(m.data);
      const local = this.#o.events?.() ?? null;
      m.respond(eventsReply(this.nodeId, local === null ? [] : local.query(q)));
    } catch (error) {
      if (error instanceof ClusterError) this.#refuse(error, 'events request');
      const code = (error as { code?: unknown }).code;
      m.respond(encode({ ok: false, code: typeof code === 'string' && code.startsWith('ERR_') ? code : 'ERR_CLUSTER_UNAVAILABLE', message: messageOf(error) }));
    }
  }

  async #answerSnapshot(m: Msg): Promise<void> {
    const id = Buffer.from(m.data).toString('utf8');
    let jpeg: Buffer | null = null;
    // Untrusted: only an event id's shape reaches the store (it names a file).
    if (SNAPSHOT_ID.test(id))
      jpeg =
        (await this.#o
          .events?.()
          ?.snapshot(id)
          .catch(() => null)) ?? null;
    else this.#refuse(new ClusterError('ERR_CLUSTER_MESSAGE', 'snapshot request: not an event id'), 'snapshot request');
    m.respond(jpeg ?? new Uint8Array(0));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stop.abort();
      this.#wakeLoop?.();
      await this.#loop?.catch(() => undefined);
      if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
      if (this.#onEvent !== null) this.#system.off('*', this.#onEvent);
      for (const camera of [...this.#standby.keys()]) await this.#dropStandby(camera, 'node closing');
      for (const camera of [...this.#held.keys()]) await this.#release(camera, 'node closing');
      this.#system.setOutputGate(null);
      this.#desiredWatch?.stop();
      for (const sub of this.#subs) sub.unsubscribe();
      await this.#nodes?.delete(this.nodeId).catch(() => undefined);
      await this.#nc?.drain().catch(() => undefined);
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.#connected = false;
        this.#seen.clear();
        this.#log.warn({ cameras: [...this.#held.keys()] }, 'NATS lost: cameras keep running');
      } else if (s.type === 'reconnect') {
        this.#connected = true;
        this.#seen.clear();
        this.#graceUntil = Date.now() + this.#o.rejoinGraceMs;
        this.#healthySince = Date.now();
        this.#log.info({ heldResults: this.#heldResults.size }, 'NATS back: renewing leases, claiming after the rejoin grace');
        this.#flushHeldResults();
      }
    }
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      if (this.#connected) {
        try {
          await this.#exclusive(async () => {
            if (this.#checkStore) await this.#restoreStore();
            await this.#tick();
          });
          this.#checkStore = false;
          this.#coordinationBack();
        } catch (error) {
          // A tick that fails while connected (JetStream gone, its store lost, a timeout under load): cameras keep
          // running; the next tick first makes sure the store is there. Disconnected: the status watch says so.
          if (this.#connected) {
            this.#checkStore = true;
            this.#coordinationFailed(error);
          } else this.#log.debug({ err: messageOf(error) }, 'cluster tick failed while disconnected');
        }
      }
      // Jittered so nodes started together do not tick (and claim) in step; woken early after a stall.
      const woken = new Promise<void>((resolve) => (this.#wakeLoop = resolve));
      await untilAborted(Promise.race([delay(Math.round(this.#o.tickMs * (0.8 + Math.random() * 0.4)), { signal }), woken]), signal);
      this.#wakeLoop = null;
    }
  }

  /** Counts and logs an untrusted entry refused, once per `key` (an entry and its revision): a bad entry seen every tick is one line, not one a tick. */
  /**
   * Counts a refused message and logs it. A stored entry (`key`: what and revision) is refused once, however
   * often it is read; a request or reply (no key) is counted every time and logged at most once a second per
   * kind, so a client sending malformed requests in a loop cannot flood the log.
   */
  #refuse(error: unknown, what: string, key?: string): void {
    if (key !== undefined) {
      if (this.#refusedOnce.has(key)) return;
      if (this.#refusedOnce.size >= 10_000) this.#refusedOnce.clear();
      this.#refusedOnce.add(key);
    }
    const code = error instanceof ClusterError ? error.code : 'ERR_CLUSTER_MESSAGE';
    this.#refused[code] = (this.#refused[code] ?? 0) + 1;
    if (key === undefined) {
      const now = Date.now();
      if (now - (this.#refusalLoggedAt.get(what) ?? Number.NEGATIVE_INFINITY) < 1_000) return;
      if (this.#refusalLoggedAt.size >= 1_000) this.#refusalLoggedAt.clear();
      this.#refusalLoggedAt.set(what, now);
    }
    this.#log.warn({ code, err: messageOf(error) }, `refused ${what}`);
  }

  /**
   * A camera entry from the cluster, as this node may run it: parsed, held to
   * this node's rule (no programs without cluster.allowExec unless its own
   * file names the camera with this very entry; only allowed `${NAME}`s), and
   * its references expanded from this node's environment.
   */
  #admit(camera: string, value: Uint8Array): Record<string, unknown> {
    const entry = parseJson(value, `desired camera ${camera}`);
    const own = this.#o.seed[camera];
    const pinned = own !== undefined && JSON.stringify(own) === JSON.stringify(entry);
    const problem = checkNetworkCamera(entry, { allowExec: this.#admission.allowExec || pinned, references: this.#admission.references });
    if (problem !== null) {
      const where = `cameras.${camera}${problem.path === '' ? '' : `.${problem.path}`}`;
      throw problem.kind === 'exec'
        ? new ClusterError(
            'ERR_CLUSTER_EXEC_NOT_ALLOWED',
            `${where}: ${problem.message} (this node runs such cameras from the cluster only with cluster.allowExec: true, or from its own file)`,
          )
        : new ClusterError('ERR_CLUSTER_ENV_REFERENCE', `${where}: ${problem.message}`);
    }
    const expanded = substituteEnv(entry, this.#admission.env);
    const issue = expanded.issues[0];
    if (issue !== undefined)
      throw new ClusterError('ERR_CLUSTER_ENV_REFERENCE', `cameras.${camera}.${issue.path.join('.')}: ${issue.message} on node ${this.nodeId}`);
    return expanded.value as Record<string, unknown>;
  }

  async #tick(): Promise<void> {
    const now = Date.now();
    const nodesKv = this.#nodes!;
    const leasesKv = this.#leases!;
    // Renew first: a tick that fails further on (JetStream still recovering after a NATS restart, a
    // read timing out on a loaded machine) has renewed already, so no owner looks idle to the others.
    await this.#renew();
    await nodesKv.put(
      this.nodeId,
      encode({
        node: this.nodeId,
        capacity: this.#o.capacity,
        at: now,
        owned: this.#held.size + this.#standby.size,
        healthySince: this.#healthySince,
      } satisfies NodeRecord),
    );
    const live = new Map<string, NodeRecord>();
    for (const key of await collect(await nodesKv.keys())) {
      const entry = await nodesKv.get(key);
      if (entry === null || entry.operation !== 'PUT') continue;
      try {
        const record = parseNode(entry.value);
        // A heartbeat from beyond the allowed skew is no heartbeat: a forged one would hold a share for ever.
        if (record.at > now + this.#o.marginMs)
          throw new ClusterError(
            'ERR_CLUSTER_MESSAGE',
            `node record ${key}: heartbeat time ${record.at} is ahead of this node's clock by more than the margin`,
          );
        if (record.node !== key) throw new ClusterError('ERR_CLUSTER_MESSAGE', `node record ${key} names node ${record.node}`);
        if (record.at + this.#o.leaseMs + this.#o.marginMs >= now) live.set(record.node, record);
      } catch (error) {
        this.#refuse(error, `node record ${key}`, `node:${key}@${entry.revision}`);
      }
    }
    const desired = new Set((await collect(await this.#desired!.keys())).filter((k) => ID.test(k)));
    const total = [...live.values()].reduce((n, r) => n + r.capacity, 0);
    const target = targetShare(desired.size, this.#o.capacity, total);
    this.#lastTarget = target;
    this.#lastDesired = desired.size;
    this.#lastLive = live.size;
    this.#liveNodes = [...live.keys()];

    for (const camera of [...this.#held.keys()]) {
      if (!desired.has(camera)) await this.#release(camera, 'removed from the desired state');
    }
    for (const camera of [...this.#standby.keys()]) {
      if (!desired.has(camera)) await this.#dropStandby(camera, 'removed from the desired state');
    }

    // Gentle rebalance, make-before-break: one camera offered at a time, to the node furthest below its share
    // among those that have run settled for a while (a node that just stalled or reconnected gets none back).
    const settled = (r: NodeRecord): boolean => r.healthySince === undefined || now - Math.min(r.healthySince, now) >= this.#o.settleMs;
    const needy = [...live.values()]
      .filter((r) => r.node !== this.nodeId && settled(r))
      .map((r) => ({ node: r.node, deficit: targetShare(desired.size, r.capacity, total) - r.owned }))
      .filter((r) => r.deficit > 0)
      .sort((a, b) => b.deficit - a.deficit || (a.node < b.node ? -1 : 1));
    const offering = [...this.#held.values()].some((h) => h.offer !== null);
    if (this.#held.size > target && needy.length > 0 && !offering && now >= this.#graceUntil) {
      const camera = [...this.#held.entries()]
        .filter(([, h]) => !h.fenced)
        .map(([c]) => c)
        .sort()
        .at(-1);
      if (camera !== undefined) await this.#offer(camera, needy[0]!.node, `rebalancing: ${this.#held.size} held, share ${target}`);
    }

    // Claim free cameras (never held, released, or expired past the margin), in random order, up to the share.
    // Every other camera's lease is read each tick even with no room to claim: the watch on its revision
    // must start before its owner dies, not once the dead node's heartbeat has aged out of `live` and the
    // shares grown (which made failover take two leases plus margins instead of one, seen in bench X1).
    // Not during the rejoin grace: after a reconnect the owners get the grace AND a whole watch to renew.
    // Moves offered to this node are taken up even then: their owner is alive and asking.
    const inGrace = now < this.#graceUntil;
    const candidates = [...desired].filter((c) => !this.#held.has(c) && !this.#standby.has(c));
    shuffle(candidates);
    for (const camera of candidates) {
      if (this.#stop.signal.aborted) break;
      const claiming = this.#held.size < target;
      const entry = await leasesKv.get(camera);
      if (entry !== null && entry.operation === 'PUT' && (await this.#offered(camera, entry.value))) continue;
      if (inGrace) continue;
      let free = entry === null || entry.operation !== 'PUT';
      if (!free) {
        const seen = this.#seen.get(camera);
        const now2 = Date.now();
        if (seen === undefined || seen.revision !== entry!.revision) this.#seen.set(camera, { revision: entry!.revision, since: now2 });
        const stoodStill = seen !== undefined && seen.revision === entry!.revision && now2 - seen.since > this.#o.leaseMs + this.#o.marginMs;
        try {
          const lease = parseLease(entry!.value);
          // No lease outlives a whole lease and the margin past when this node first saw its revision: an expiry far in the future is forged.
          const expiresAt = seen === undefined ? lease.expiresAt : Math.min(lease.expiresAt, seen.since + this.#o.leaseMs + this.#o.marginMs);
          free = stoodStill && now2 > expiresAt + this.#o.marginMs;
        } catch (error) {
          this.#refuse(error, `lease of ${camera}`, `lease:${camera}@${entry!.revision}`);
          free = stoodStill; // unreadable: taken over by CAS like an expired one
        }
      }
      if (!free || !claiming) continue;
      // The entry first: one this node may not run is not claimed at all (no claim/refuse loop), until it changes.
      const admitted = await this.#admitted(camera);
      if (admitted === null) continue;
      const value = encode({ node: this.nodeId, expiresAt: Date.now() + this.#o.leaseMs } satisfies Lease);
      let revision: number;
      try {
        revision = entry === null ? await leasesKv.create(camera, value) : await leasesKv.update(camera, value, entry.revision);
      } catch {
        continue; // another node won the race
      }
      this.#seen.delete(camera);
      await this.#startCamera(camera, revision, admitted.config, admitted.value);
    }
    this.#checkStandbys();
  }

  /** This node's lease of a camera, with its standing offer if any. */
  #leaseValue(held: Held | undefined): Uint8Array {
    const offer = held?.offer ?? null;
    return encode({
      node: this.nodeId,
      expiresAt: Date.now() + this.#o.leaseMs,
      ...(offer === null ? {} : { handoffTo: offer.to, handoffUntil: offer.until }),
    } satisfies Lease);
  }

  /** Renews what this node holds; a lease someone else took stops its camera at once. */
  async #renew(): Promise<void> {
    for (const [camera, held] of [...this.#held]) {
      if (this.#held.get(camera) !== held) continue; // handed off or released meanwhile
      if (held.offer !== null && Date.now() > held.offer.until) {
        this.#log.info({ camera, to: held.offer.to }, 'planned move not taken up in time: offer withdrawn');
        held.offer = null;
      }
      try {
        held.revision = await this.#leases!.update(camera, this.#leaseValue(held), held.revision);
        held.expiresAt = Date.now() + this.#o.leaseMs;
        if (held.fenced) {
          held.fenced = false;
          this.#log.info({ camera }, 'lease confirmed after the stall: publishing again');
        }
      } catch (error) {
        if (!this.#connected) continue; // NATS went away: keep running, renew after reconnect
        // Only a compare-and-set that found another node's lease means it is lost; anything else (JetStream
        // unavailable, the store gone, a timeout) is coordination failing, and the camera keeps running.
        if (!casFailed(error)) throw error;
        const now = await this.#leases!.get(camera);
        let owner: string | null;
        try {
          owner = now === null || now.operation !== 'PUT' ? null : parseLease(now.value).node;
        } catch {
          owner = '(unreadable)';
        }
        if (owner === null) {
          // Gone (the store lost, or deleted): put it back; the camera never stopped.
          held.revision = await this.#leases!.create(camera, encode({ node: this.nodeId, expiresAt: Date.now() + this.#o.leaseMs } satisfies Lease));
          held.expiresAt = Date.now() + this.#o.leaseMs;
          continue;
        }
        if (owner === this.nodeId) {
          held.revision = now!.revision;
          continue;
        }
        this.#log.warn({ camera, owner, afterStall: held.fenced }, 'lease lost to another node: stopping the camera');
        await this.#stopCamera(camera, held.revision, held.fenced ? 'lease lost during a stall' : 'lease lost');
      }
    }
  }

  async #startCamera(camera: string, revision: number, config: Record<string, unknown>, entry: Uint8Array): Promise<void> {
    this.#held.set(camera, newHeld(revision, this.#o.leaseMs, entry));
    this.#claim(camera, 'start', revision, 'claimed');
    try {
      await this.#system.addCamera(camera, config);
      this.#log.info({ camera, revision }, 'camera claimed and started');
    } catch (error) {
      // The entry is one this system refuses (ERR_CONFIG…): give the lease back, another node fares no better but the state is visible.
      this.#log.error({ camera, code: (error as { code?: unknown }).code, err: messageOf(error) }, 'claimed camera refused by the system');
      this.#claim(camera, 'stop', revision, 'refused by the system');
      await this.#release(camera, 'refused', false);
    }
  }

  /** Lease operations one at a time (see #leaseOps). */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#leaseOps.then(fn, fn);
    this.#leaseOps = run.catch(() => undefined);
    return run;
  }

  /** The system's output gate: a camera's results go out only while this node holds it and has not been fenced. */
  #mayPublish(camera: string, frameWallTime: number): boolean {
    this.#checkStall();
    const held = this.#held.get(camera);
    if (held === undefined || held.fenced) return false;
    held.lastPublishedAt = Date.now();
    held.lastFrameAt = Math.max(held.lastFrameAt, frameWallTime);
    return true;
  }

  /**
   * A gap in this node's event loop longer than a lease (a SIGSTOP, a paused VM, a blocked loop): another node may
   * have taken any of its cameras meanwhile, so every one is fenced until a renewal confirms its lease, and the
   * loop renews at once. Called by the heartbeat and before every result, so whichever runs first after the wake
   * fences before anything is published.
   */
  #checkStall(): void {
    const now = performance.now();
    const gap = now - this.#aliveAt;
    this.#aliveAt = now;
    if (gap <= this.#o.leaseMs) return;
    this.#healthySince = Date.now();
    this.#seen.clear();
    for (const held of this.#held.values()) held.fenced = true;
    this.#log.warn(
      { stalledMs: Math.round(gap), cameras: [...this.#held.keys()] },
      'woke from a stall longer than the lease: nothing is published until each lease is confirmed',
    );
    this.#wakeLoop?.();
  }

  /** Offers a camera this node holds to `to` (a planned move): the offer rides on the lease until taken up or withdrawn. */
  async #offer(camera: string, to: string, why: string): Promise<void> {
    const held = this.#held.get(camera)!;
    held.offer = { to, until: Date.now() + this.#o.handoffTimeoutMs };
    try {
      held.revision = await this.#leases!.update(camera, this.#leaseValue(held), held.revision);
      this.#log.info({ camera, to, reason: why }, 'planned move offered (make-before-break)');
    } catch (error) {
      held.offer = null;
      if (!casFailed(error)) throw error; // the next renewal finds out who holds it
    }
  }

  /** The camera's desired entry as this node may run it, or null: absent, or refused (logged once, not tried again until it changes). */
  async #admitted(camera: string): Promise<{ readonly config: Record<string, unknown>; readonly value: Uint8Array } | null> {
    const wanted = await this.#desired!.get(camera);
    if (wanted === null || wanted.operation !== 'PUT' || this.#refusedEntry.get(camera) === wanted.revision) return null;
    try {
      return { config: this.#admit(camera, wanted.value), value: wanted.value };
    } catch (error) {
      this.#refusedEntry.set(camera, wanted.revision);
      this.#refuse(error, `desired entry of ${camera}`, `desired:${camera}@${wanted.revision}`);
      return null;
    }
  }

  /** A lease that offers the camera to this node: opens it in standby (results withheld). True if the lease is such an offer. */
  async #offered(camera: string, value: Uint8Array): Promise<boolean> {
    let lease: Lease;
    try {
      lease = parseLease(value);
    } catch {
      return false; // refused where the lease is read for claiming
    }
    if (lease.handoffTo !== this.nodeId || lease.node === this.nodeId || !(Date.now() < (lease.handoffUntil ?? 0))) return false;
    const admitted = await this.#admitted(camera);
    if (admitted === null) return true;
    const { config } = admitted;
    this.#standby.set(camera, { from: lease.node, since: Date.now(), entry: admitted.value, config, asked: false });
    this.#claim(camera, 'standby', 0, `planned move from ${lease.node}: camera opened, results withheld`);
    try {
      await this.#system.addCamera(camera, config);
    } catch (error) {
      this.#standby.delete(camera);
      this.#log.error({ camera, code: (error as { code?: unknown }).code, err: messageOf(error) }, 'camera offered by a planned move refused by the system');
      this.#claim(camera, 'stop', 0, 'standby refused by the system');
      return true;
    }
    this.#log.info({ camera, from: lease.node }, 'planned move: camera opened in standby');
    // An on-demand camera nobody reads stays idle: there is nothing to open before the move.
    if (this.#system.stats().cameras[camera]?.state === 'idle') void this.#askHandoff(camera, 'ready');
    return true;
  }

  /** A standby camera's state: its first frame makes it ready; a failure to open it (a second session refused) asks for a break. */
  #standbyState(camera: string, state: string): void {
    if (state === 'streaming') void this.#askHandoff(camera, 'ready');
    else if (state === 'backoff') void this.#askHandoff(camera, 'break');
  }

  /** Standbys that have not had a frame within half the offer's time fall back to a break. */
  #checkStandbys(): void {
    for (const [camera, s] of this.#standby) {
      if (!s.asked && Date.now() - s.since > this.#o.handoffTimeoutMs / 2) void this.#askHandoff(camera, 'break');
    }
  }

  /** Asks the owner for a camera held in standby; its answer passes the lease, and this node publishes from then on. */
  async #askHandoff(camera: string, mode: 'ready' | 'break'): Promise<void> {
    const s = this.#standby.get(camera);
    if (s === undefined || s.asked || this.#nc === null) return;
    s.asked = true;
    let answer: ControlReply;
    try {
      const request: ControlRequest = { op: 'handoff', camera, node: this.nodeId, mode };
      answer = parseReply((await this.#nc.request(nodeControlSubject(s.from), encode(request), { timeout: 5_000 })).data);
    } catch (error) {
      answer = { ok: false, code: 'ERR_CLUSTER_UNAVAILABLE', message: messageOf(error) };
    }
    if (this.#standby.get(camera) !== s) return; // dropped meanwhile (closing, removed)
    if (!answer.ok || answer.revision === undefined) {
      // The owner may have passed the lease and its answer been lost (NATS went away): the lease says so.
      const lease = await this.#leases?.get(camera).catch(() => undefined);
      if (this.#standby.get(camera) !== s) return;
      let holder: string | null;
      try {
        holder = lease === undefined || lease === null || lease.operation !== 'PUT' ? null : parseLease(lease.value).node;
      } catch {
        holder = null;
      }
      if (holder === this.nodeId) answer = { ok: true, node: s.from, revision: lease!.revision };
      else if (lease === undefined && Date.now() - s.since < this.#o.handoffTimeoutMs) {
        s.asked = false; // NATS away: asked again by the next tick
        return;
      }
    }
    this.#standby.delete(camera);
    if (!answer.ok || answer.revision === undefined) {
      this.#log.warn(
        { camera, from: s.from, code: answer.ok ? 'ERR_CLUSTER_MESSAGE' : answer.code, err: answer.ok ? 'no revision in the answer' : answer.message },
        'planned move failed: standby closed, the camera stays where it ran',
      );
      await this.#system.removeCamera(camera).catch(() => undefined);
      this.#claim(camera, 'stop', 0, `planned move from ${s.from} failed`);
      return;
    }
    this.#held.set(camera, newHeld(answer.revision, this.#o.leaseMs, s.entry));
    this.#claim(camera, 'start', answer.revision, `planned move from ${s.from} (${mode === 'ready' ? 'make-before-break' : 'break-before-make'})`);
    // What its workers found during the standby about frames newer than the old owner's last result is news now.
    this.#system.releaseWithheld(camera, mode === 'ready' ? (answer.lastFrameAt ?? Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER);
    this.#log.info({ camera, from: s.from, mode }, 'camera taken over by a planned move');
    // After a break the old session is closed: open this one again now rather than after the capture's backoff.
    if (mode === 'break')
      await this.#system
        .replaceCamera(camera, s.config)
        .catch((error: unknown) => this.#log.error({ camera, err: messageOf(error) }, 'camera restart after a break failed'));
  }

  async #dropStandby(camera: string, reason: string): Promise<void> {
    if (!this.#standby.delete(camera)) return;
    await this.#system.removeCamera(camera).catch(() => undefined);
    this.#claim(camera, 'stop', 0, `standby ended: ${reason}`);
  }

  /**
   * The owner's side of a planned move it offered: stop publishing, pass the lease (compare-and-set), answer with
   * its revision. `break`: the camera is closed first (the new node could not open a second session).
   */
  async #handOff(camera: string, to: string, mode: 'ready' | 'break'): Promise<ControlReply> {
    const held = this.#held.get(camera);
    if (held === undefined || held.offer === null || held.offer.to !== to)
      throw new ClusterError('ERR_CLUSTER_NOT_OWNED', `node ${this.nodeId} has not offered camera ${camera} to node ${to}`);
    // Not held: the output gate withholds its results from here on.
    this.#held.delete(camera);
    if (mode === 'break') await this.#system.removeCamera(camera).catch(() => undefined);
    const how = mode === 'ready' ? 'make-before-break' : 'break-before-make';
    let revision: number;
    try {
      revision = await this.#leases!.update(camera, encode({ node: to, expiresAt: Date.now() + this.#o.leaseMs } satisfies Lease), held.revision);
    } catch (error) {
      if (!casFailed(error)) {
        // NATS trouble: the move fails and the camera stays (opened again after a break).
        held.offer = null;
        this.#held.set(camera, held);
        if (mode === 'break') await this.#system.addCamera(camera, this.#admit(camera, held.entry)).catch(() => undefined);
        throw error;
      }
      if (mode === 'ready') await this.#system.removeCamera(camera).catch(() => undefined);
      this.#claim(camera, 'stop', held.revision, 'lease lost during a planned move', held.lastPublishedAt ?? undefined);
      throw new ClusterError('ERR_CLUSTER_NOT_OWNED', `the lease of camera ${camera} changed during its move`);
    }
    if (mode === 'ready') void this.#system.removeCamera(camera).catch(() => undefined);
    this.#claim(camera, 'stop', held.revision, `planned move to ${to} (${how})`, held.lastPublishedAt ?? undefined);
    this.#log.info({ camera, to, mode }, 'camera handed over by a planned move');
    return { ok: true, node: this.nodeId, revision, lastFrameAt: held.lastFrameAt };
  }

  /** Stops the camera (before anything else) and forgets the lease without touching it (someone else holds it). */
  async #stopCamera(camera: string, revision: number, reason: string): Promise<void> {
    const held = this.#held.get(camera);
    this.#held.delete(camera);
    await this.#system.removeCamera(camera).catch(() => undefined);
    this.#claim(camera, 'stop', revision, reason, held?.lastPublishedAt ?? undefined);
  }

  /** Stops the camera, then gives its lease back (delete, only at our revision). */
  async #release(camera: string, reason: string, running = true): Promise<void> {
    const held = this.#held.get(camera);
    this.#held.delete(camera);
    if (running) {
      await this.#system.removeCamera(camera).catch(() => undefined);
      this.#claim(camera, 'stop', held?.revision ?? 0, reason, held?.lastPublishedAt ?? undefined);
    }
    if (held !== undefined) await this.#leases?.delete(camera, { previousSeq: held.revision }).catch(() => undefined);
    this.#log.info({ camera, reason }, 'camera released');
  }

  #claim(camera: string, action: ClaimRecord['action'], revision: number, reason: string, streamedUntil?: number): void {
    const record: ClaimRecord = {
      camera,
      node: this.nodeId,
      action,
      at: Date.now(),
      revision,
      reason,
      ...(streamedUntil === undefined ? {} : { streamedUntil }),
    };
    // Core publish, captured by the stream: buffered by the client while NATS is away.
    this.#nc?.publish(claimsSubject(camera), encode(record));
  }

  #publishEvent(event: SystemEvent): void {
    const camera = (event as { camera?: unknown }).camera;
    if (typeof camera !== 'string' || !ID.test(camera) || this.#nc === null || this.#nc.isClosed()) return;
    const subject = event.type === 'result' ? resultsSubject(camera) : eventsSubject(camera);
    const data = encode({ node: this.nodeId, ...event });
    if (event.type === 'result' && !this.#connected) {
      // NATS away: only the newest result per worker is worth sending when it is back (latest over complete).
      const key = `${camera}/${event.worker}`;
      this.#heldResults.delete(key);
      this.#heldResults.set(key, { subject, data });
      if (this.#heldResults.size > MAX_HELD_RESULTS) this.#heldResults.delete(this.#heldResults.keys().next().value!);
      return;
    }
    try {
      this.#nc.publish(subject, data);
    } catch {
      // Closed under us: events are best-effort on core subjects.
    }
  }

  /** After a reconnect: the newest result of each worker kept during the outage. */
  #flushHeldResults(): void {
    const nc = this.#nc;
    if (nc === null || nc.isClosed()) return;
    for (const { subject, data } of this.#heldResults.values()) {
      try {
        nc.publish(subject, data);
      } catch {
        break;
      }
    }
    this.#heldResults.clear();
  }

  async #control(data: Uint8Array, reply: (r: ControlReply) => void, routed = false): Promise<void> {
    let request: ControlRequest;
    try {
      request = parseControl(data);
    } catch (error) {
      this.#refuse(error, 'control request');
      reply({ ok: false, code: (error as ClusterError).code, message: (error as Error).message });
      return;
    }
    try {
      switch (request.op) {
        case 'add-camera':
          // Held to this node's rule before it is written: what this node may not run, it does not ask the cluster to run.
          this.#admit(request.camera, encode(request.config));
          await this.#desired!.put(request.camera, encode(request.config));
          break;
        case 'remove-camera':
          await this.#desired!.delete(request.camera);
          break;
        case 'handoff':
          reply(await this.#exclusive(() => this.#handOff(request.camera, request.node, request.mode)));
          return;
        default: {
          if (this.#held.has(request.camera)) {
            await this.#system.restartWorker(request.camera, request.worker);
            break;
          }
          if (routed) throw new ClusterError('ERR_CLUSTER_NOT_OWNED', `node ${this.nodeId} does not run camera ${request.camera}`);
          const entry = await this.#leases!.get(request.camera);
          if (entry === null || entry.operation !== 'PUT') throw new ClusterError('ERR_CLUSTER_NOT_OWNED', `camera ${request.camera} runs on no node now`);
          const owner = parseLease(entry.value).node;
          const routedHeader = headers();
          routedHeader.set(ROUTED_HEADER, '1');
          const answer = parseReply((await this.#nc!.request(nodeControlSubject(owner), data, { timeout: 10_000, headers: routedHeader })).data);
          reply(answer);
          return;
        }
      }
      reply({ ok: true, node: this.nodeId });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      reply({ ok: false, code: typeof code === 'string' && code.startsWith('ERR_') ? code : 'ERR_CLUSTER_UNAVAILABLE', message: messageOf(error) });
    }
  }
}

function newHeld(revision: number, leaseMs: number, entry: Uint8Array): Held {
  return { revision, expiresAt: Date.now() + leaseMs, entry, fenced: false, lastPublishedAt: null, lastFrameAt: 0, offer: null };
}

/** A tracked object's id (src/objects: `<start>.<µs>-<6 chars>`), the only thing a snapshot request may hold. */
const SNAPSHOT_ID = /^[0-9]{1,12}\.[0-9]{6}-[a-z0-9]{6}$/;

/** Set on a control request a node routed to the owner: the owner answers it or says ERR_CLUSTER_NOT_OWNED, never routes it on (no loops). */
const ROUTED_HEADER = 'Framesupplier-Routed';

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

/** A NATS URL without its credentials, for logs (the project's one URL mask). */
export const maskUrl: (url: string) => string = maskCredentials;
