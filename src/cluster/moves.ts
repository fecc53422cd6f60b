/**
 * Planned moves, make-before-break (ADR 0027), both sides of them.
 *
 * The owner's side: a node over its share offers ONE camera at a time
 * (rebalance()) to the node furthest below its share among those that have
 * run settled (no stall, no reconnect) for settleMs; the offer rides on the
 * lease (handoffTo, handoffUntil) and the lease part withdraws it once it is
 * past. Asked for the camera (handOff(), run exclusive with the renewals),
 * it stops publishing, passes the lease by compare-and-set and answers with
 * the new revision and the capture time of the last frame it published
 * about; a `break` closes its session first.
 *
 * The taker's side: a lease offering a camera to this node (offered(), from
 * the lease part's tick) opens it in standby, results withheld. Its first
 * frame (or an on-demand camera left idle) asks for the lease (`ready`); a
 * camera that cannot open (a second session refused: backoff) or has no
 * frame within half the offer's time asks for a `break`. From the answer on,
 * this node holds the camera and releases what its workers found about
 * frames newer than the old owner's last. A failed move closes the standby;
 * the camera stays where it ran. Every standby and its end is in the claims
 * log.
 */
import { messageOf } from '../internal/abort.js';
import { codeOf } from '../internal/errors.js';
import type { SystemEvent } from '../pipeline/index.js';
import type { Admission, Admitted } from './admission.js';
import { casFailed, type NodeContext } from './context.js';
import { ClusterError } from './errors.js';
import type { Holdings } from './holdings.js';
import {
  encode,
  nodeControlSubject,
  parseLease,
  parseReply,
  targetShare,
  type ControlReply,
  type ControlRequest,
  type Lease,
  type NodeRecord,
} from './messages.js';

/** Offer times a node that let an offer lapse waits before it is offered another. */
const LAPSE_BACKOFF = 10;

/** A camera opened to take it over (results withheld) until its owner passes the lease. */
interface Standby {
  readonly from: string;
  readonly since: number;
  /** Its desired entry as this node opened it: the stored bytes, the config and its secrets, how to log an error about it. */
  readonly admitted: Admitted;
  /** The request to the owner has been sent. */
  asked: boolean;
}

/** What one tick knows when it considers offering a camera. */
export interface RebalanceView {
  readonly live: Iterable<NodeRecord>;
  /** Cameras in the desired state. */
  readonly cameras: number;
  /** The capacity of the live nodes together. */
  readonly total: number;
  /** This node's share. */
  readonly target: number;
  readonly now: number;
  readonly inGrace: boolean;
}

export class PlannedMoves {
  readonly #ctx: NodeContext;
  readonly #holdings: Holdings;
  readonly #admission: Admission;
  readonly #standby = new Map<string, Standby>();
  /** Nodes that let an offer lapse, and until when none is offered them again (bounded by the live nodes). */
  readonly #lapsed = new Map<string, number>();

  constructor(ctx: NodeContext, holdings: Holdings, admission: Admission) {
    this.#ctx = ctx;
    this.#holdings = holdings;
    this.#admission = admission;
  }

  /** Cameras open in standby here. */
  get standbys(): number {
    return this.#standby.size;
  }

  isStandby(camera: string): boolean {
    return this.#standby.has(camera);
  }

  /**
   * `node` did not take up an offer in time: none goes to it again for LAPSE_BACKOFF offer times. A node that never
   * takes one (a forged heartbeat's, one that cannot open cameras) would otherwise be offered a camera every tick.
   */
  lapsed(node: string): void {
    this.#lapsed.set(node, Date.now() + LAPSE_BACKOFF * this.#ctx.settings.handoffTimeoutMs);
  }

  /** Offers one camera when this node holds more than its share and a settled node holds less; none while an offer stands. */
  async rebalance(view: RebalanceView): Promise<void> {
    const { nodeId, settings } = this.#ctx;
    const held = this.#holdings.held;
    const { now } = view;
    const settled = (r: NodeRecord): boolean => r.healthySince === undefined || now - Math.min(r.healthySince, now) >= settings.settleMs;
    const live = [...view.live];
    for (const [node, until] of this.#lapsed) if (until <= now || !live.some((r) => r.node === node)) this.#lapsed.delete(node);
    const needy = live
      .filter((r) => r.node !== nodeId && settled(r) && !this.#lapsed.has(r.node))
      .map((r) => ({ node: r.node, deficit: targetShare(view.cameras, r.capacity, view.total) - r.owned }))
      .filter((r) => r.deficit > 0)
      .sort((a, b) => b.deficit - a.deficit || (a.node < b.node ? -1 : 1));
    const offering = [...held.values()].some((h) => h.offer !== null);
    if (held.size > view.target && needy.length > 0 && !offering && !view.inGrace) {
      const camera = [...held.entries()]
        .filter(([, h]) => !h.fenced)
        .map(([c]) => c)
        .sort()
        .at(-1);
      if (camera !== undefined) await this.#offer(camera, needy[0]!.node, `rebalancing: ${held.size} held, share ${view.target}`);
    }
  }

  /** Offers a camera this node holds to `to`: the offer rides on the lease until taken up or withdrawn. */
  async #offer(camera: string, to: string, why: string): Promise<void> {
    const held = this.#holdings.held.get(camera)!;
    held.offer = { to, until: Date.now() + this.#ctx.settings.handoffTimeoutMs };
    try {
      held.revision = await this.#ctx.bus.leases!.update(camera, this.#holdings.leaseValue(held), held.revision);
      this.#ctx.log.info({ camera, to, reason: why }, 'planned move offered (make-before-break)');
    } catch (error) {
      held.offer = null;
      if (!casFailed(error)) throw error; // the next renewal finds out who holds it
    }
  }

  /** A lease that offers the camera to this node: opens it in standby (results withheld). True if the lease is such an offer. */
  async offered(camera: string, lease: Lease, live: ReadonlyMap<string, unknown>): Promise<boolean> {
    const { nodeId, bus, log, system, settings } = this.#ctx;
    if (lease.handoffTo !== nodeId || lease.node === nodeId || !(Date.now() < (lease.handoffUntil ?? 0))) return false;
    // An offer is a live node's, and no longer than an owner writes one (its timeout, and the clocks' margin): else it is
    // forged, and taking it up would open and close the camera every tick while nobody runs it.
    if (!live.has(lease.node) || lease.handoffUntil! > Date.now() + settings.handoffTimeoutMs + settings.marginMs) return false;
    const admitted = await this.#admission.admitted(camera);
    if (admitted === null) return true;
    this.#standby.set(camera, { from: lease.node, since: Date.now(), admitted, asked: false });
    bus.claim(camera, 'standby', 0, `planned move from ${lease.node}: camera opened, results withheld`);
    try {
      await system.cameras.add(camera, admitted.config, { secrets: admitted.secrets });
    } catch (error) {
      this.#standby.delete(camera);
      log.error({ camera, code: codeOf(error), err: messageOf(admitted.redact(error)) }, 'camera offered by a planned move refused by the system');
      bus.claim(camera, 'stop', 0, 'standby refused by the system');
      this.#admission.systemRefused(camera, admitted);
      return true;
    }
    log.info({ camera, from: lease.node }, 'planned move: camera opened in standby');
    // An on-demand camera nobody reads stays idle: there is nothing to open before the move.
    if (system.stats().cameras[camera]?.state === 'idle') void this.#askHandoff(camera, 'ready');
    return true;
  }

  /** A standby camera's state: its first frame makes it ready; a failure to open it (a second session refused) asks for a break. */
  onSystemEvent(event: SystemEvent): void {
    if (event.type !== 'camera-state' || !this.#standby.has(event.camera)) return;
    if (event.state === 'streaming') void this.#askHandoff(event.camera, 'ready');
    else if (event.state === 'backoff') void this.#askHandoff(event.camera, 'break');
  }

  /** Standbys that have not had a frame within half the offer's time fall back to a break. */
  checkStandbys(): void {
    for (const [camera, s] of this.#standby) {
      if (!s.asked && Date.now() - s.since > this.#ctx.settings.handoffTimeoutMs / 2) void this.#askHandoff(camera, 'break');
    }
  }

  /** Asks the owner for a camera held in standby; its answer passes the lease, and this node publishes from then on. */
  async #askHandoff(camera: string, mode: 'ready' | 'break'): Promise<void> {
    const { nodeId, bus, log, system, settings } = this.#ctx;
    const s = this.#standby.get(camera);
    const nc = bus.nc;
    if (s === undefined || s.asked || nc === null) return;
    s.asked = true;
    // The owner writes this node's lease once it has the request: a term from before asking is never longer than that lease.
    const term = this.#holdings.term();
    let answer: ControlReply;
    try {
      const request: ControlRequest = { op: 'handoff', camera, node: nodeId, mode };
      answer = parseReply((await nc.request(nodeControlSubject(s.from), encode(request), { timeout: 5_000 })).data);
    } catch (error) {
      answer = { ok: false, code: 'ERR_CLUSTER_UNAVAILABLE', message: messageOf(error) };
    }
    if (this.#standby.get(camera) !== s) return; // dropped meanwhile (closing, removed)
    if (!answer.ok || answer.revision === undefined) {
      // The owner may have passed the lease and its answer been lost (NATS went away): the lease says so.
      const lease = await bus.leases?.get(camera).catch(() => undefined);
      if (this.#standby.get(camera) !== s) return;
      let holder: string | null;
      try {
        holder = lease === undefined || lease === null || lease.operation !== 'PUT' ? null : parseLease(lease.value).node;
      } catch {
        holder = null;
      }
      if (holder === nodeId) answer = { ok: true, node: s.from, revision: lease!.revision };
      else if (lease === undefined && Date.now() - s.since < settings.handoffTimeoutMs) {
        s.asked = false; // NATS away: asked again by the next tick
        return;
      }
    }
    this.#standby.delete(camera);
    if (!answer.ok || answer.revision === undefined) {
      log.warn(
        { camera, from: s.from, code: answer.ok ? 'ERR_CLUSTER_MESSAGE' : answer.code, err: answer.ok ? 'no revision in the answer' : answer.message },
        'planned move failed: standby closed, the camera stays where it ran',
      );
      await system.cameras.remove(camera).catch(() => undefined);
      bus.claim(camera, 'stop', 0, `planned move from ${s.from} failed`);
      return;
    }
    this.#holdings.held.set(camera, this.#holdings.newHeld(answer.revision, s.admitted.value, term));
    bus.claim(camera, 'start', answer.revision, `planned move from ${s.from} (${mode === 'ready' ? 'make-before-break' : 'break-before-make'})`);
    // What its workers found during the standby about frames newer than the old owner's last result is news now.
    system.results.releaseWithheld(camera, mode === 'ready' ? (answer.lastFrameAt ?? Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER);
    log.info({ camera, from: s.from, mode }, 'camera taken over by a planned move');
    // After a break the old session is closed: open this one again now rather than after the capture's backoff.
    if (mode === 'break')
      await system.cameras
        .replace(camera, s.admitted.config, { secrets: s.admitted.secrets })
        .catch((error: unknown) => log.error({ camera, code: codeOf(error), err: messageOf(s.admitted.redact(error)) }, 'camera restart after a break failed'));
  }

  /** Closes the standby of a camera, if there is one. */
  async drop(camera: string, reason: string): Promise<void> {
    if (!this.#standby.delete(camera)) return;
    await this.#ctx.system.cameras.remove(camera).catch(() => undefined);
    this.#ctx.bus.claim(camera, 'stop', 0, `standby ended: ${reason}`);
  }

  /** Closes the standbys of cameras no longer desired (or all of them: `desired` null). */
  async dropUnless(desired: ReadonlySet<string> | null, reason: string): Promise<void> {
    for (const camera of [...this.#standby.keys()]) if (desired === null || !desired.has(camera)) await this.drop(camera, reason);
  }

  /**
   * The owner's side of a planned move it offered: stop publishing, pass the lease (compare-and-set), answer with
   * its revision. `break`: the camera is closed first (the new node could not open a second session).
   */
  async handOff(camera: string, to: string, mode: 'ready' | 'break'): Promise<ControlReply> {
    const { nodeId, bus, log, system, settings } = this.#ctx;
    const held = this.#holdings.held.get(camera);
    if (held === undefined || held.offer === null || held.offer.to !== to)
      throw new ClusterError('ERR_CLUSTER_NOT_OWNED', `node ${nodeId} has not offered camera ${camera} to node ${to}`);
    // Not held: the output fence withholds its results from here on.
    this.#holdings.held.delete(camera);
    if (mode === 'break') await system.cameras.remove(camera).catch(() => undefined);
    const how = mode === 'ready' ? 'make-before-break' : 'break-before-make';
    let revision: number;
    try {
      revision = await bus.leases!.update(camera, encode({ node: to, expiresAt: Date.now() + settings.leaseMs } satisfies Lease), held.revision);
    } catch (error) {
      if (!casFailed(error)) {
        // NATS trouble: the move fails and the camera stays (opened again after a break).
        held.offer = null;
        this.#holdings.held.set(camera, held);
        if (mode === 'break') {
          try {
            const { config, secrets } = this.#admission.admit(camera, held.entry);
            await system.cameras.add(camera, config, { secrets });
          } catch {
            // The move's own error is the one thrown: the camera not opening again here is what it costs.
          }
        }
        throw error;
      }
      if (mode === 'ready') await system.cameras.remove(camera).catch(() => undefined);
      bus.claim(camera, 'stop', held.revision, 'lease lost during a planned move', held.lastPublishedAt ?? undefined);
      throw new ClusterError('ERR_CLUSTER_NOT_OWNED', `the lease of camera ${camera} changed during its move`);
    }
    if (mode === 'ready') void system.cameras.remove(camera).catch(() => undefined);
    bus.claim(camera, 'stop', held.revision, `planned move to ${to} (${how})`, held.lastPublishedAt ?? undefined);
    log.info({ camera, to, mode }, 'camera handed over by a planned move');
    return { ok: true, node: nodeId, revision, lastFrameAt: held.lastFrameAt };
  }
}
