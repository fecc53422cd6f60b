/**
 * The cluster's store on NATS and putting it back: the three buckets
 * (desired cameras, leases, node heartbeats; file storage, so they survive
 * a NATS restart) and the two streams (claims log, events), made where
 * missing and bound on the shared Bus.
 *
 * Contract: start() makes and binds the store, starts a watch that mirrors
 * the desired state into a copy bounded in entries and bytes, and seeds the desired state with
 * this node's own cameras where the store has no record of them (the
 * cluster's state wins over a file: an entry there, and a removal, which is
 * logged); once, the same promise for every call. A tick that fails while
 * connected (JetStream gone, the store lost, a timeout) marks coordination
 * failing (cameras keep running) and the store suspect; restore(), before
 * the next tick, makes the store again and puts back what it knows: every
 * desired entry of its copy and of the cameras it holds, where the store has
 * no record of that camera at all (an entry there wins, and so does a
 * removal: a deleted entry leaves its marker, a lost store leaves nothing),
 * and the leases of those cameras. close() ends the watch; the connection is
 * the owner's.
 */
import { jetstreamManager, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { messageOf } from '../internal/abort.js';
import { ClusterError } from './errors.js';
import type { NodeContext } from './context.js';
import { DesiredCopy } from './desired-copy.js';
import type { Holdings } from './holdings.js';
import { BUCKETS, CLAIMS_STREAM, encode, EVENTS_STREAM, ID } from './messages.js';

/** Whether coordination works, since when, and its last failure. */
export interface Coordination {
  readonly ok: boolean;
  readonly since: number;
  readonly error: string | null;
}

export class ClusterStore implements AsyncDisposable {
  /** A tick failed while connected: before the next, make sure the buckets and streams exist. */
  suspect = false;
  readonly #ctx: NodeContext;
  readonly #holdings: Holdings;
  readonly #seed: Readonly<Record<string, unknown>>;
  /** The desired state as this node last saw it: all of it is put back if the store is lost. Bounded. */
  readonly #desiredCopy = new DesiredCopy();
  #desiredWatch: { stop(): void } | null = null;
  #coordination: Coordination = { ok: true, since: Date.now(), error: null };
  #starting: Promise<this> | null = null;
  #closing: Promise<void> | null = null;

  constructor(ctx: NodeContext, holdings: Holdings, seed: Readonly<Record<string, unknown>>) {
    this.#ctx = ctx;
    this.#holdings = holdings;
    this.#seed = seed;
  }

  get coordination(): Coordination {
    return { ...this.#coordination };
  }

  /** Makes and binds the store, watches the desired state, seeds it. Needs the Bus connected. */
  start(): Promise<this> {
    if (this.#closing !== null) return Promise.reject(new ClusterError('ERR_CLUSTER_CLOSED', 'the cluster store is closed: make a new cluster node'));
    this.#starting ??= (async () => {
      await this.#ensure();
      await this.#watchDesired();
      for (const [camera, entry] of Object.entries(this.#seed)) if (ID.test(camera)) await this.#seedOne(camera, encode(entry));
      return this;
    })();
    return this.#starting;
  }

  /**
   * One camera of this node's file into the desired state, where the store has no record of it (ADR 0095), as
   * putBackIfLost() writes: an entry there wins (the cluster's state over a file), and so does a removal (its
   * deletion marker), which is said once.
   * KV's create() would not do: it writes over a deletion marker, so a camera removed through the control plane came
   * back whenever a node whose file names it started.
   */
  async #seedOne(camera: string, entry: Uint8Array): Promise<void> {
    const { bus, log } = this.#ctx;
    const desired = bus.desired!;
    try {
      await desired.put(camera, entry, { previousSeq: 0 });
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence)) {
        // Not written, and not because the store has it: a timeout, JetStream not ready. Said, so that a camera of the
        // file that no node runs has a reason; a node that restarts seeds it again.
        log.warn({ camera, err: messageOf(error) }, "camera of this node's file not put into the cluster's desired state");
        return;
      }
    }
    const there = await desired.get(camera).catch(() => null);
    if (there !== null && there.operation !== 'PUT') {
      log.warn({ camera }, "camera of this node's file not run: it was removed from the cluster (add it through the control plane to run it again)");
    }
  }

  /** Creates the buckets and streams where missing (at start, and after a store loss) and binds to them. */
  async #ensure(): Promise<void> {
    const bus = this.#ctx.bus;
    const nc = bus.nc!;
    const kvm = new Kvm(nc);
    bus.desired = await kvm.create(BUCKETS.desired, { history: 1 });
    bus.leases = await kvm.create(BUCKETS.leases, { history: 1 });
    bus.nodes = await kvm.create(BUCKETS.nodes, { history: 1 });
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

  /** Mirrors the desired bucket into the copy (a new watch after the store was made again). */
  async #watchDesired(): Promise<void> {
    this.#desiredWatch?.stop();
    const watch = await this.#ctx.bus.desired!.watch();
    this.#desiredWatch = watch;
    void (async () => {
      try {
        for await (const e of watch) {
          if (!ID.test(e.key)) continue;
          if (e.operation !== 'PUT') this.#desiredCopy.delete(e.key);
          else this.#desiredCopy.set(e.key, e.value);
        }
      } catch {
        // The watch ends with the store: restore() starts another.
      }
    })();
  }

  /** A camera's desired entry as the watch last saw it (undefined: none, or past the copy's bounds). */
  desiredEntry(camera: string): Uint8Array | undefined {
    return this.#desiredCopy.get(camera);
  }

  /**
   * After a failed tick: the buckets and streams made again if the store lost
   * them, and what this node holds put back — the desired entries of the
   * cameras it runs (create: an entry still there wins) and their leases.
   */
  async restore(): Promise<void> {
    const { bus, log } = this.#ctx;
    await this.#ensure();
    await this.#watchDesired();
    // Every camera of the desired state, not only those this node runs: one between owners (failing over, moving)
    // when the store went would otherwise be gone for good. Only where the store knows nothing of the camera: an
    // entry there (another node's) wins, and so does its removal. KV's create() would not do: it writes over a
    // deletion marker, and a camera removed while this node's ticks were failing (a NATS restart, a timeout under
    // load) came back, held by this node for good.
    for (const [camera, entry] of this.#desiredCopy.entries()) await putBackIfLost(bus.desired!, camera, entry);
    for (const [camera, held] of this.#holdings.held) {
      await putBackIfLost(bus.desired!, camera, held.entry);
      const lease = await bus.leases!.get(camera);
      if (lease === null || lease.operation !== 'PUT') {
        const term = this.#holdings.term();
        held.revision = await bus.leases!.create(camera, this.#holdings.leaseValue(undefined, term.expiresAt));
        this.#holdings.renewed(held, term);
        log.warn({ camera }, 'lease put back after the store lost it');
      }
    }
  }

  /** A tick failed while connected: cameras keep running, the store is checked before the next. */
  failed(error: unknown): void {
    this.suspect = true;
    if (this.#coordination.ok) {
      this.#coordination = { ok: false, since: Date.now(), error: messageOf(error) };
      this.#ctx.log.error(
        { err: messageOf(error), cameras: [...this.#holdings.held.keys()] },
        'cluster coordination failing: cameras keep running; buckets and streams are made again once NATS can',
      );
    } else {
      this.#coordination = { ...this.#coordination, error: messageOf(error) };
    }
  }

  /** A tick went through. */
  succeeded(): void {
    this.suspect = false;
    if (this.#coordination.ok) return;
    this.#ctx.log.info({ downForMs: Date.now() - this.#coordination.since }, 'cluster coordination back');
    this.#coordination = { ok: true, since: Date.now(), error: null };
  }

  /** Ends the desired watch (after a start under way has settled). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#starting?.catch(() => undefined);
      this.#desiredWatch?.stop();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Writes a desired entry only if the bucket has no message for its key: none was ever written, or the store that
 * had it is gone. The expected last sequence 0 refuses a key with a value or with a deletion marker alike.
 */
async function putBackIfLost(kv: KV, camera: string, entry: Uint8Array): Promise<void> {
  await kv.put(camera, entry, { previousSeq: 0 }).catch(() => undefined);
}
