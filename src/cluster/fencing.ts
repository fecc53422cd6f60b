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

  /** After a lost connection: the node has not run settled since now. */
  unsettled(): void {
    this.healthySince = Date.now();
  }

  /** The system's output gate: a camera's results go out only while this node holds it and has not been fenced. */
  mayPublish(camera: string, frameWallTime: number): boolean {
    this.checkStall();
    const held = this.#holdings.held.get(camera);
    if (held === undefined || held.fenced) return false;
    held.lastPublishedAt = Date.now();
    held.lastFrameAt = Math.max(held.lastFrameAt, frameWallTime);
    return true;
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
