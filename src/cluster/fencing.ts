/**
 * Fencing (ADR 0027, ADR 0110): a node publishes a camera's results only
 * while its own lease of that camera stands by its own clock, so that two
 * nodes never publish for one camera at once, whatever NATS does.
 *
 * Contract: the output fence (mayPublish, called by the system before every
 * result, to every sink) lets a result out only while this node holds the
 * camera, unfenced, and the lease's term has a guard left to run on this
 * node's monotonic clock (performance.now(); the term counts from before the
 * write that renewed it, holdings.ts). The guard is a tenth of a lease
 * (publishGuardMs): others claim a lease no earlier than a margin after the
 * time written in it, so the owner has stopped a guard and a margin before
 * anyone may start. The term runs out alike while NATS is away, after a
 * reconnect, or with the event loop starved: checked as each result passes,
 * so a node woken from a stall withholds its results before any renewal
 * runs. A camera whose results are withheld so is logged once, when it
 * begins, and once when a renewal lets them out again; they are counted in
 * the system's resultsWithheld.
 *
 * Both clocks (ADR 0173): the term ends a guard before whichever of its ends
 * comes first, on the monotonic clock (validUntil) or the wall clock (the
 * time written in the lease): the monotonic clock does not advance across a
 * suspend or a VM pause, while the peers' clocks, and this one's wall clock,
 * do; so an owner resumed after a pause withholds its results at once, as
 * its peers see its lease run out.
 *
 * A stall of the event loop (a SIGSTOP, a paused VM, a blocked loop) is seen
 * on both clocks (as much time as either says passed) by a heartbeat (a timer this class owns, from
 * start() to close()) and by the fence, whichever runs first after the wake:
 * a gap longer than a lease fences every held camera (until a renewal
 * confirms the lease: the lease part clears `fenced`, or stops the camera it
 * lost), marks the node unsettled (`healthySince`, read by the others before
 * they offer it a move) and calls `onStall` (the owner forgets its lease
 * watches and wakes its loop to renew at once). The fence notes what it lets
 * out (the stop records' streamedUntil, a move's lastFrameAt).
 */
import type { NodeContext } from './context.js';
import { ClusterError } from './errors.js';
import { termEnd, type Held, type Holdings } from './holdings.js';
import { before, mayHavePassed, SYSTEM_CLOCK, type ClockReading, type NodeClock } from './two-clocks.js';

/** The output fence closes this share of a lease before the lease runs out by this node's own clock. */
export const PUBLISH_GUARD_SHARE = 0.1;

/** How long before its lease runs out (by its own clock) a node stops publishing a camera's results. */
export const publishGuardMs = (leaseMs: number): number => leaseMs * PUBLISH_GUARD_SHARE;

export class Fencing implements AsyncDisposable {
  /** Wall clock since when this node has run without a stall or a lost connection (in its heartbeat record). */
  healthySince = Date.now();
  readonly #ctx: NodeContext;
  readonly #holdings: Holdings;
  readonly #onStall: () => void;
  readonly #clock: NodeClock;
  /** When the event loop was last seen running (both clocks): a gap past the lease on either is a stall. */
  #aliveAt: ClockReading;
  #heartbeat: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(ctx: NodeContext, holdings: Holdings, onStall: () => void) {
    this.#ctx = ctx;
    this.#holdings = holdings;
    this.#onStall = onStall;
    this.#clock = ctx.clock ?? SYSTEM_CLOCK;
    this.#aliveAt = this.#clock.read();
  }

  /** Starts the heartbeat (once); the loop counts as running from now. */
  start(): this {
    if (this.#closed) throw new ClusterError('ERR_CLUSTER_CLOSED', 'the fencing heartbeat is closed: make a new cluster node');
    if (this.#heartbeat !== null) return this;
    this.#aliveAt = this.#clock.read();
    const tickMs = this.#ctx.settings.tickMs;
    this.#heartbeat = setInterval(() => this.checkStall(), Math.max(20, Math.min(250, Math.floor(tickMs / 2))));
    this.#heartbeat.unref();
    return this;
  }

  /** Reconnected after a lost connection: the node has not run settled since now. */
  unsettled(): void {
    this.healthySince = Date.now();
  }

  /** Whether a lease's term has a guard left to run on both of this node's clocks (at `now`, read now by default). */
  inTerm(held: Pick<Held, 'validUntil' | 'expiresAt'>, now: ClockReading = this.#clock.read()): boolean {
    return before(termEnd(held), now, publishGuardMs(this.#ctx.settings.leaseMs));
  }

  /** Whether a camera's results may go out now (what the fence answers, without noting anything). */
  holds(camera: string): boolean {
    this.checkStall();
    const held = this.#holdings.held.get(camera);
    return held !== undefined && !held.fenced && this.inTerm(held);
  }

  /**
   * The system's output fence: a camera's results go out only while this node holds it, has not been fenced, and its
   * lease's term stands by this node's clock, a guard before it runs out.
   */
  mayPublish(camera: string, frameWallTime: number): boolean {
    this.checkStall();
    const held = this.#holdings.held.get(camera);
    if (held === undefined || held.fenced) return false;
    const now = this.#clock.read();
    if (!this.inTerm(held, now)) {
      if (!held.lapsed) {
        held.lapsed = true;
        const end = termEnd(held);
        const guard = publishGuardMs(this.#ctx.settings.leaseMs);
        this.#ctx.log.warn(
          { camera, overdueMs: Math.round(Math.max(now.mono - (end.mono - guard), now.wall - (end.wall - guard))), connected: this.#ctx.bus.connected },
          "lease ran out by this node's clock before a renewal: the camera's results are withheld until one succeeds",
        );
      }
      return false;
    }
    if (held.lapsed) {
      held.lapsed = false;
      this.#ctx.log.info({ camera }, 'lease renewed: publishing again');
    }
    held.lastPublishedAt = Date.now();
    held.lastFrameAt = Math.max(held.lastFrameAt, frameWallTime);
    return true;
  }

  checkStall(): void {
    const now = this.#clock.read();
    const gap = mayHavePassed(this.#aliveAt, now);
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

  /** Stops the heartbeat (the fence stays usable: it only reads). */
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
