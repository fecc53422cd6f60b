/**
 * Fencing (ADR 0027): a node whose event loop stood still longer than a
 * lease (a SIGSTOP, a paused VM, a blocked loop) may have lost any of its
 * cameras meanwhile, so it publishes nothing for any of them until a renewal
 * confirms the lease (the lease room clears `fenced`, or stops the camera it
 * lost).
 *
 * Contract: the stall is seen on the monotonic clock by a heartbeat (a timer
 * this class owns, from start() to close()) and by the system's output gate
 * before every result, whichever runs first after the wake, so the fence is
 * up before anything is published. A stall fences every held camera, marks
 * the node unsettled (`healthySince`, read by the others before they offer
 * it a move) and calls `onStall` (the owner forgets its lease watches and
 * wakes its loop to renew at once). The gate lets a camera's results out
 * only while this node holds it unfenced, and notes what it let out (the
 * stop records' streamedUntil, a move's lastFrameAt).
 *
 * A lease that ran out while NATS was there to renew it (renewals late or
 * failing: JetStream slow under load, a tick stuck on a read) closes the
 * gate too, from the time the lease itself says, until a renewal succeeds:
 * others may claim it a margin later, and two owners must not publish for
 * one camera. Not while NATS is away (nobody can claim then, and a NATS
 * restart must not blind the cameras: their results go on to the other
 * sinks), nor for a lease's length after a reconnect, the owner's turn to
 * renew before the others' rejoin grace and watch end.
 */
import { performance } from 'node:perf_hooks';
import type { NodeContext } from './context.js';
import { ClusterError } from './errors.js';
import type { Holdings } from './holdings.js';

export class Fencing implements AsyncDisposable {
  /** Wall clock since when this node has run without a stall or a lost connection (in its heartbeat record). */
  healthySince = Date.now();
  readonly #ctx: NodeContext;
  readonly #holdings: Holdings;
  readonly #onStall: () => void;
  /** Wall clock of the node's last (re)connect to NATS: its leases get one lease length from then to be renewed. */
  #connectedAt = Date.now();
  /** Monotonic time the event loop was last seen running: a gap past the lease is a stall. */
  #aliveAt = performance.now();
  #heartbeat: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(ctx: NodeContext, holdings: Holdings, onStall: () => void) {
    this.#ctx = ctx;
    this.#holdings = holdings;
    this.#onStall = onStall;
  }

  /** Starts the heartbeat (once); the loop counts as running from now. */
  start(): this {
    if (this.#closed) throw new ClusterError('ERR_CLUSTER_CLOSED', 'the fencing heartbeat is closed: make a new cluster node');
    if (this.#heartbeat !== null) return this;
    this.#aliveAt = performance.now();
    const tickMs = this.#ctx.settings.tickMs;
    this.#heartbeat = setInterval(() => this.checkStall(), Math.max(20, Math.min(250, Math.floor(tickMs / 2))));
    this.#heartbeat.unref();
    return this;
  }

  /** Reconnected after a lost connection: the node has not run settled since now, and its leases get their turn to be renewed. */
  unsettled(): void {
    this.healthySince = Date.now();
    this.#connectedAt = this.healthySince;
  }

  /**
   * The system's output gate: a camera's results go out only while this node holds it, has not been fenced, and its
   * lease has not run out while it could have been renewed.
   */
  mayPublish(camera: string, frameWallTime: number): boolean {
    this.checkStall();
    const held = this.#holdings.held.get(camera);
    if (held === undefined || held.fenced || this.lapsed(held.expiresAt)) return false;
    held.lastPublishedAt = Date.now();
    held.lastFrameAt = Math.max(held.lastFrameAt, frameWallTime);
    return true;
  }

  /** A lease that runs out at `expiresAt` has lapsed now: connected, past it, and past a lease's length since connecting. */
  lapsed(expiresAt: number, now = Date.now()): boolean {
    return this.#ctx.bus.connected && now > expiresAt && now > this.#connectedAt + this.#ctx.settings.leaseMs;
  }

  checkStall(): void {
    const now = performance.now();
    const gap = now - this.#aliveAt;
    this.#aliveAt = now;
    if (gap <= this.#ctx.settings.leaseMs) return;
    this.healthySince = Date.now();
    for (const held of this.#holdings.held.values()) held.fenced = true;
    this.#ctx.log.warn(
      { stalledMs: Math.round(gap), cameras: [...this.#holdings.held.keys()] },
      'woke from a stall longer than the lease: nothing is published until each lease is confirmed',
    );
    this.#onStall();
  }

  /** Stops the heartbeat (the gate stays usable: it only reads). */
  close(): void {
    this.#closed = true;
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
