/**
 * The cameras this node holds a lease on, one `Held` record each, and the
 * three ways one starts or ends here. The lease part claims and renews, the
 * move part passes leases on, fencing marks them; all of them change the
 * records through this one map, so "held" means the same to each.
 *
 * Contract: a camera starts only after its claim succeeded (startCamera(): the
 * record first, then the claims log, then the system) and stops before its
 * lease is released (release(): the system, the claims log, then the lease
 * deleted at this node's revision only). stopCamera() is for a lease someone else
 * holds now: the camera stops, the lease is left alone. Every stop record
 * says when the camera last published (streamedUntil). Lease operations run
 * one at a time through exclusive(): a handoff's compare-and-set must not
 * race this node's own renewal.
 */
import { messageOf } from '../internal/abort.js';
import { codeOf } from '../internal/errors.js';
import type { Admitted } from './admission.js';
import type { NodeContext } from './context.js';
import { encode, type Lease } from './messages.js';
import { SYSTEM_CLOCK, type ClockReading } from './two-clocks.js';

/**
 * A lease term about to be written: the wall time the lease says it runs out (others count from it, and claim it a
 * margin after), and when it runs out by this node's own monotonic clock (performance.now()), both a lease from
 * before the write, so that a write that comes back late never lengthens the term.
 */
export interface LeaseTerm {
  readonly expiresAt: number;
  readonly validUntil: number;
}

export interface Held {
  revision: number;
  /** When this node's lease runs out by its own monotonic clock (LeaseTerm): the output fence closes a guard before. */
  validUntil: number;
  /** The wall time written in the lease (LeaseTerm): the fence closes a guard before it too, whichever comes first (ADR 0173). */
  expiresAt: number;
  /** The desired entry it was started from: republished if the store is lost. */
  entry: Uint8Array;
  /** Woken from a stall: nothing is published for it until a renewal confirms the lease. */
  fenced: boolean;
  /** Its lease ran out by this node's clock before a renewal: its results are withheld (logged once, when it began). */
  lapsed: boolean;
  /** Wall clock of the last result published for it. */
  lastPublishedAt: number | null;
  /** Capture wall time of the newest frame a published result was about (0: none). */
  lastFrameAt: number;
  /** A planned move offered to another node, standing until `until`. */
  offer: { readonly to: string; readonly until: number } | null;
}

/** Where a held lease's term ends, on both clocks. */
export const termEnd = (held: Pick<Held, 'validUntil' | 'expiresAt'>): ClockReading => ({ wall: held.expiresAt, mono: held.validUntil });

export class Holdings {
  /** Camera → this node's lease of it. */
  readonly held = new Map<string, Held>();
  readonly #ctx: NodeContext;
  #leaseOps: Promise<unknown> = Promise.resolve();

  constructor(ctx: NodeContext) {
    this.#ctx = ctx;
  }

  /** A lease term beginning now (take it before the write that makes it). */
  term(): LeaseTerm {
    const { leaseMs } = this.#ctx.settings;
    const now = (this.#ctx.clock ?? SYSTEM_CLOCK).read();
    return { expiresAt: now.wall + leaseMs, validUntil: now.mono + leaseMs };
  }

  /** A held lease renewed (or put back) with `term`: its term on both clocks. */
  renewed(held: Held, term: LeaseTerm): void {
    held.validUntil = term.validUntil;
    held.expiresAt = term.expiresAt;
  }

  /** A fresh record for a lease just won at `revision`, for the term taken before the write that won it. */
  newHeld(revision: number, entry: Uint8Array, term: LeaseTerm): Held {
    return {
      revision,
      validUntil: term.validUntil,
      expiresAt: term.expiresAt,
      entry,
      fenced: false,
      lapsed: false,
      lastPublishedAt: null,
      lastFrameAt: 0,
      offer: null,
    };
  }

  /** This node's lease of a camera until `expiresAt` (another lease length), with its standing offer if any. */
  leaseValue(held: Held | undefined, expiresAt = Date.now() + this.#ctx.settings.leaseMs): Uint8Array {
    const offer = held?.offer ?? null;
    return encode({
      node: this.#ctx.nodeId,
      expiresAt,
      ...(offer === null ? {} : { handoffTo: offer.to, handoffUntil: offer.until }),
    } satisfies Lease);
  }

  /** Lease operations one at a time (the tick, a handoff). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#leaseOps.then(fn, fn);
    this.#leaseOps = run.catch(() => undefined);
    return run;
  }

  /** Starts a camera whose lease this node just won; one the system refuses gives its lease back (false). */
  async startCamera(camera: string, revision: number, admitted: Admitted, term: LeaseTerm): Promise<boolean> {
    const { bus, log, system } = this.#ctx;
    this.held.set(camera, this.newHeld(revision, admitted.value, term));
    bus.claim(camera, 'start', revision, 'claimed');
    try {
      await system.cameras.add(camera, admitted.config, { secrets: admitted.secrets });
      log.info({ camera, revision }, 'camera claimed and started');
      return true;
    } catch (error) {
      // The entry is one this system refuses (ERR_CONFIG…): give the lease back, another node fares no better but the state is visible.
      log.error({ camera, code: codeOf(error), err: messageOf(admitted.redact(error)) }, 'claimed camera refused by the system');
      bus.claim(camera, 'stop', revision, 'refused by the system');
      await this.release(camera, 'refused', false);
      return false;
    }
  }

  /** Stops the camera (before anything else) and forgets the lease without touching it (someone else holds it). */
  async stopCamera(camera: string, revision: number, reason: string): Promise<void> {
    const held = this.held.get(camera);
    this.held.delete(camera);
    await this.#ctx.system.cameras.remove(camera).catch(() => undefined);
    this.#ctx.bus.claim(camera, 'stop', revision, reason, held?.lastPublishedAt ?? undefined);
  }

  /** Stops the camera, then gives its lease back (delete, only at this node's revision). */
  async release(camera: string, reason: string, running = true): Promise<void> {
    const { bus, log, system } = this.#ctx;
    const held = this.held.get(camera);
    this.held.delete(camera);
    if (running) {
      await system.cameras.remove(camera).catch(() => undefined);
      bus.claim(camera, 'stop', held?.revision ?? 0, reason, held?.lastPublishedAt ?? undefined);
    }
    // With NATS away the delete would only wait out its timeout (seconds a camera, a node closing with many): the lease
    // runs out on its own, and another node takes the camera after it and the margin.
    if (held !== undefined && bus.connected) await bus.leases?.delete(camera, { previousSeq: held.revision }).catch(() => undefined);
    log.info({ camera, reason }, 'camera released');
  }
}
