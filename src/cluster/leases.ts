/**
 * Leases (ADR 0021): which node runs which camera, decided once a tick.
 *
 * Contract:
 *  - Leases are compare-and-set on the KV entry's revision (nats-server 2.9
 *    has no per-key TTL): a lease holds `expiresAt`, renewed every tick by
 *    its owner; another node claims it only once now > expiresAt + marginMs
 *    AND it has watched the same revision stand still for leaseMs + marginMs
 *    on its own clock while connected (expiry by timestamp and revision), and
 *    only by CAS on that revision, so of racing claimants one wins. A lease
 *    that claims to last longer than that watch is forged and not believed.
 *  - A tick renews first (so a tick that fails further on has renewed), then
 *    writes the heartbeat record, reads the live nodes (a heartbeat from
 *    beyond the allowed skew, or naming another node, is refused), releases
 *    cameras no longer desired, replaces in the system those whose desired
 *    entry changed (or releases one it may not run), lets the move part
 *    offer one camera, and
 *    claims free cameras in random order up to the share (no claim during
 *    the rejoin grace; offers to this node are taken up even then).
 *  - Shares are weighted by the capacity each node declares in its heartbeat:
 *    a node claims while it holds fewer than ceil(cameras × capacity / total
 *    capacity of live nodes). Beyond its share it claims a camera it has
 *    watched stay free (claimable, nobody claiming it) for a whole lease and
 *    the margin: a node that does not claim what its share promises (a
 *    forged heartbeat with a huge capacity, a node stuck) leaves no camera
 *    unrun (ADR 0104); the planned moves give it back to a node that takes
 *    it.
 *  - A renewal that finds the revision changed (someone else holds it) stops
 *    the camera at once; one that finds the lease gone puts it back, and one
 *    that finds it written over with what names no node takes it back by
 *    compare-and-set (the camera never stopped); any other failure is coordination failing and
 *    throws, the camera keeps running. A renewal gives the camera a new term
 *    (counted from before its write, on this node's monotonic clock: the
 *    output fence's, fencing.ts), clears its fence if that term still stands,
 *    and withdraws an offer past its time.
 *  - Nothing is claimed or released while disconnected; after a (re)connect
 *    the node waits rejoinGraceMs before claiming, and every watch of
 *    another node's lease starts again (rejoin(), forgetWatches()).
 */
import { randomInt } from 'node:crypto';
import { messageOf } from '../internal/abort.js';
import { codeOf } from '../internal/errors.js';
import type { Admission } from './admission.js';
import { casFailed, type NodeContext } from './context.js';
import { ClusterError } from './errors.js';
import type { Fencing } from './fencing.js';
import { termEnd, type Holdings } from './holdings.js';
import { encode, ID, parseJson, parseNode, readLease, targetShare, type NodeRecord } from './messages.js';
import type { PlannedMoves } from './moves.js';
import { before, surelyPassed, SYSTEM_CLOCK, type ClockReading } from './two-clocks.js';

/** What the last tick saw, for stats() and the events queries. */
export interface TickStats {
  readonly target: number;
  readonly desired: number;
  readonly live: number;
  /** The live nodes (this one included): whom an events query asks. */
  readonly liveNodes: readonly string[];
  /**
   * This node has room under its share and a camera it may take in a later tick: in the rejoin grace, or a lease
   * it watches stand still whose owner is no live node but this one (a crashed run of its own, a dead node's).
   * Cameras that live nodes hold, and those it may not run, are not pending.
   */
  readonly claimsPending: boolean;
}

export interface LeaseParts {
  /** A camera's desired entry as the store's watch last saw it: what a held camera is compared with each tick. */
  readonly desired: { entry(camera: string): Uint8Array | undefined };
  readonly holdings: Holdings;
  readonly moves: PlannedMoves;
  readonly admission: Admission;
  readonly fencing: Fencing;
}

export class Leases {
  figures: TickStats = { target: 0, desired: 0, live: 0, liveNodes: [], claimsPending: true };
  readonly #ctx: NodeContext;
  readonly #parts: LeaseParts;
  #graceUntil = 0;
  /**
   * Each other node's lease as this node has watched it: its revision and since
   * when (this node's clock) it has not changed. A lease is claimable only once
   * it stood still for a whole lease plus the margin while this node was
   * connected, as well as past its timestamp: a NATS outage or a loaded owner
   * whose renewals come late never looks expired (cleared on every reconnect).
   */
  readonly #seen = new Map<string, { revision: number; since: ClockReading }>();
  /** Cameras this node has found free (claimable) tick after tick, and since when (this node's clocks, while connected). */
  readonly #freeSince = new Map<string, ClockReading>();

  constructor(ctx: NodeContext, parts: LeaseParts) {
    this.#ctx = ctx;
    this.#parts = parts;
  }

  /** (Re)connected: claim nothing for the rejoin grace, and watch every lease from scratch. */
  rejoin(): void {
    this.#seen.clear();
    this.#freeSince.clear();
    this.#graceUntil = Date.now() + this.#ctx.settings.rejoinGraceMs;
  }

  /** Disconnected or stalled: what was watched meanwhile proves nothing. */
  forgetWatches(): void {
    this.#seen.clear();
    this.#freeSince.clear();
  }

  async tick(signal: AbortSignal): Promise<void> {
    const { nodeId, settings, bus, refusals, log } = this.#ctx;
    const clock = this.#ctx.clock ?? SYSTEM_CLOCK;
    const { holdings, moves, admission, fencing } = this.#parts;
    const held = holdings.held;
    const now = Date.now();
    const nodesKv = bus.nodes!;
    const leasesKv = bus.leases!;
    // Renew first: a tick that fails further on (JetStream still recovering after a NATS restart, a
    // read timing out on a loaded machine) has renewed already, so no owner looks idle to the others.
    await this.#renew();
    await nodesKv.put(
      nodeId,
      encode({
        node: nodeId,
        capacity: settings.capacity,
        at: now,
        owned: held.size + moves.standbys,
        healthySince: fencing.healthySince,
      } satisfies NodeRecord),
    );
    const live = new Map<string, NodeRecord>();
    for (const key of await collect(await nodesKv.keys())) {
      const entry = await nodesKv.get(key);
      if (entry === null || entry.operation !== 'PUT') continue;
      try {
        const record = parseNode(entry.value);
        // A heartbeat from beyond the allowed skew is no heartbeat: a forged one would hold a share for ever.
        if (record.at > now + settings.marginMs)
          throw new ClusterError(
            'ERR_CLUSTER_MESSAGE',
            `node record ${key}: heartbeat time ${record.at} is ahead of this node's clock by more than the margin`,
          );
        if (record.node !== key) throw new ClusterError('ERR_CLUSTER_MESSAGE', `node record ${key} names node ${record.node}`);
        if (record.at + settings.leaseMs + settings.marginMs >= now) live.set(record.node, record);
      } catch (error) {
        refusals.refuse(error, `node record ${key}`, `node:${key}@${entry.revision}`);
      }
    }
    const desired = new Set((await collect(await bus.desired!.keys())).filter((k) => ID.test(k)));
    const total = [...live.values()].reduce((n, r) => n + r.capacity, 0);
    const target = targetShare(desired.size, settings.capacity, total);
    // Pending until this tick's claims say otherwise (a tick that fails half-way settles nothing).
    this.figures = { target, desired: desired.size, live: live.size, liveNodes: [...live.keys()], claimsPending: true };
    let claimsPending = false;
    /** One camera a tick beyond the share: nodes past their shares then spread what nobody claimed among them. */
    let claimedBeyond = false;

    for (const camera of [...held.keys()]) {
      if (!desired.has(camera)) await holdings.release(camera, 'removed from the desired state');
    }
    await moves.dropUnless(desired, 'removed from the desired state');
    admission.forgetUnless(desired);
    await this.#applyReplaced(signal);

    const inGrace = now < this.#graceUntil;
    await moves.rebalance({ live: live.values(), cameras: desired.size, total, target, now, inGrace });

    // Claim free cameras (never held, released, or expired past the margin), in random order, up to the share.
    // Every other camera's lease is read each tick even with no room to claim: the watch on its revision
    // must start before its owner dies, not once the dead node's heartbeat has aged out of `live` and the
    // shares grown (which made failover take two leases plus margins instead of one, seen in bench X1).
    // Not during the rejoin grace: after a reconnect the owners get the grace AND a whole watch to renew.
    // Moves offered to this node are taken up even then: their owner is alive and asking.
    const candidates = [...desired].filter((c) => !held.has(c) && !moves.isStandby(c));
    shuffle(candidates);
    for (const camera of candidates) {
      if (signal.aborted) break;
      const claiming = held.size < target;
      const entry = await leasesKv.get(camera);
      // Read once: whether it offers the camera to this node, whose it is (for a claim this node may make later), when it
      // expires; an unreadable one is refused below, where it is claimed.
      const read = entry === null || entry.operation !== 'PUT' ? null : readLease(entry.value);
      if (read?.lease !== undefined && (await moves.offered(camera, read.lease, live))) continue;
      // Whether this node may take it later: not while a live node (another) holds it.
      const mayTakeLater = claiming && !(read?.lease !== undefined && read.lease.node !== nodeId && live.has(read.lease.node));
      if (inGrace) {
        claimsPending ||= mayTakeLater;
        continue;
      }
      let free = entry === null || entry.operation !== 'PUT';
      /** Renewed since the last tick: someone runs it (a node others refuse, its clock skewed), not to be waited for. */
      let renewed = false;
      if (!free) {
        const seen = this.#seen.get(camera);
        renewed = seen !== undefined && seen.revision !== entry!.revision;
        const now2 = clock.read();
        if (seen === undefined || seen.revision !== entry!.revision) this.#seen.set(camera, { revision: entry!.revision, since: now2 });
        const stoodStill = seen !== undefined && seen.revision === entry!.revision && stoodStillFor(seen.since, now2, settings);
        if (read?.lease !== undefined) {
          // No lease outlives a whole lease and the margin past when this node first saw its revision: an expiry far in the future is forged.
          const expiresAt = seen === undefined ? read.lease.expiresAt : Math.min(read.lease.expiresAt, seen.since.wall + settings.leaseMs + settings.marginMs);
          free = stoodStill && now2.wall > expiresAt + settings.marginMs;
        } else {
          refusals.refuse(read?.error, `lease of ${camera}`, `lease:${camera}@${entry!.revision}`);
          free = stoodStill; // unreadable: taken over by CAS like an expired one
        }
      }
      if (!free && !renewed) claimsPending ||= mayTakeLater;
      if (!free) {
        this.#freeSince.delete(camera);
        continue;
      }
      // Free past a lease and the margin while the nodes with room did not claim it: taken beyond the share (ADR 0104).
      const freeSince = this.#freeSince.get(camera) ?? clock.read();
      this.#freeSince.set(camera, freeSince);
      const unclaimed = stoodStillFor(freeSince, clock.read(), settings);
      if (!claiming && (!unclaimed || claimedBeyond)) continue;
      // The entry first: one this node may not run is not claimed at all (no claim/refuse loop), until it changes.
      const admitted = await admission.admitted(camera);
      if (admitted === null) continue;
      const term = holdings.term();
      const value = holdings.leaseValue(undefined, term.expiresAt);
      let revision: number;
      try {
        revision = entry === null ? await leasesKv.create(camera, value) : await leasesKv.update(camera, value, entry.revision);
      } catch (error) {
        // Another node won the race (it holds the camera now); anything else (a timeout) is a claim still to make.
        if (!casFailed(error)) claimsPending = true;
        continue;
      }
      this.#seen.delete(camera);
      this.#freeSince.delete(camera);
      if (!claiming) {
        claimedBeyond = true;
        log.warn({ camera, held: held.size, share: target }, 'claimed beyond the share: no node with room claimed it for a lease');
      }
      if (!(await holdings.startCamera(camera, revision, admitted, term))) admission.systemRefused(camera, admitted);
    }
    for (const camera of this.#freeSince.keys()) if (!desired.has(camera) || held.has(camera)) this.#freeSince.delete(camera);
    moves.checkStandbys();
    this.figures = { ...this.figures, claimsPending: claimsPending || signal.aborted };
  }

  /**
   * A held camera whose desired entry was replaced (PUT /api/cameras/:id, add-camera over it) runs the new entry:
   * replaced in the system, which keeps its lease. One this node may not run, or the system refuses, is released
   * (logged once per entry by the admission, or with the system's reason), for a node that can to claim. Compared
   * with the watch's copy (no read a camera a tick); one replace a tick, and the leases renewed after it: a replace
   * waits for the old capture to drain (seconds), and several in a row would outlast the leases this tick renewed.
   */
  async #applyReplaced(signal: AbortSignal): Promise<void> {
    const { system, log } = this.#ctx;
    const { holdings, admission, desired } = this.#parts;
    for (const [camera, held] of [...holdings.held]) {
      if (signal.aborted) return;
      const copy = desired.entry(camera);
      // Offered to another node (a planned move): that node runs the entry it opened the camera with and replaces it once
      // it holds it, so replacing it here as well would restart the camera twice; if the offer lapses, it is replaced here.
      if (copy === undefined || sameBytes(copy, held.entry) || held.offer !== null) continue;
      const admitted = await admission.admitted(camera);
      if (holdings.held.get(camera) !== held || (admitted !== null && sameBytes(admitted.value, held.entry))) continue;
      if (admitted === null) {
        await holdings.release(camera, 'its replaced entry may not run on this node');
        continue;
      }
      // Only its zones, masks and lines changed (set-areas, the editor on any node): set live, the camera kept running; if
      // the system refuses them it runs on with its old ones (not tried again until the entry changes), never stopped.
      if (admission.alikeButAreas(camera, parseJson(held.entry, `held camera ${camera}`), parseJson(admitted.value, `desired camera ${camera}`))) {
        try {
          const { zones, masks, lines } = admitted.config;
          await system.cameras.setAreas(camera, { zones, masks, lines }, { secrets: admitted.secrets });
          log.info({ camera }, "camera's areas set: its desired entry's changed");
        } catch (error) {
          log.error(
            { camera, code: codeOf(error), err: messageOf(admitted.redact(error)) },
            "camera's new areas refused by the system: it runs on with its old ones",
          );
        }
        held.entry = admitted.value;
        continue;
      }
      try {
        await system.cameras.replace(camera, admitted.config, { secrets: admitted.secrets });
        held.entry = admitted.value;
        log.info({ camera }, 'camera replaced: its desired entry changed');
      } catch (error) {
        log.error({ camera, code: codeOf(error), err: messageOf(admitted.redact(error)) }, 'replaced camera refused by the system');
        admission.systemRefused(camera, admitted);
        await holdings.release(camera, 'its replaced entry was refused by the system');
      }
      await this.#renew();
      return;
    }
  }

  /** Renews what this node holds; a lease someone else took stops its camera at once. */
  async #renew(): Promise<void> {
    const { nodeId, bus, log } = this.#ctx;
    const clock = this.#ctx.clock ?? SYSTEM_CLOCK;
    const { holdings, fencing } = this.#parts;
    for (const [camera, held] of [...holdings.held]) {
      if (holdings.held.get(camera) !== held) continue; // handed off or released meanwhile
      if (held.offer !== null && Date.now() > held.offer.until) {
        log.info({ camera, to: held.offer.to }, 'planned move not taken up in time: offer withdrawn');
        this.#parts.moves.lapsed(held.offer.to);
        held.offer = null;
      }
      try {
        // The term from before the write, not from when it came back: others count from the time written in it.
        const term = holdings.term();
        held.revision = await bus.leases!.update(camera, holdings.leaseValue(held, term.expiresAt), held.revision);
        holdings.renewed(held, term);
        // A renewal sent before a stall and answered after it confirms a term that ran out meanwhile: the next one lifts the fence.
        if (held.fenced && fencing.inTerm(held)) {
          held.fenced = false;
          log.info({ camera }, 'lease confirmed after the stall: publishing again');
        }
      } catch (error) {
        if (!bus.connected) continue; // NATS went away: keep running, renew after reconnect
        // Only a compare-and-set that found another node's lease means it is lost; anything else (JetStream
        // unavailable, the store gone, a timeout) is coordination failing, and the camera keeps running.
        if (!casFailed(error)) throw error;
        const now = await bus.leases!.get(camera);
        const read = now === null || now.operation !== 'PUT' ? null : readLease(now.value);
        const owner = read === null ? null : (read.lease?.node ?? '(unreadable)');
        if (read !== null && read.lease === undefined) {
          // Written over with what names no node, while this node's lease still stood (nobody could have claimed it
          // since): counted, and taken back by compare-and-set on that revision; the camera never stops. Past its
          // expiry (a stall) another node may hold it under the junk: lost, as below. So is a takeback that loses a race.
          this.#ctx.refusals.refuse(read.error, `lease of ${camera}`, `lease:${camera}@${now!.revision}`);
          if (!held.fenced && before(termEnd(held), clock.read())) {
            try {
              const term = holdings.term();
              held.revision = await bus.leases!.update(camera, holdings.leaseValue(held, term.expiresAt), now!.revision);
              holdings.renewed(held, term);
              continue;
            } catch (raced) {
              if (!casFailed(raced)) throw raced;
            }
          }
        }
        if (owner === null) {
          // Gone (the store lost, or deleted): put it back; the camera never stopped. Another node that created it first
          // holds it now: the next renewal finds its lease and stops the camera.
          const term = holdings.term();
          try {
            held.revision = await bus.leases!.create(camera, holdings.leaseValue(undefined, term.expiresAt));
            holdings.renewed(held, term);
          } catch (raced) {
            if (!casFailed(raced)) throw raced;
          }
          continue;
        }
        if (owner === nodeId) {
          held.revision = now!.revision;
          continue;
        }
        log.warn({ camera, owner, afterStall: held.fenced }, 'lease lost to another node: stopping the camera');
        await holdings.stopCamera(camera, held.revision, held.fenced ? 'lease lost during a stall' : 'lease lost');
      }
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/**
 * Whether what this node watched since `since` (a lease's revision, a camera free) stood still for a whole lease and
 * the margin, by both of its clocks (ADR 0173): a pause of this node, or its wall clock stepped forward, is no time
 * it watched.
 */
export function stoodStillFor(since: ClockReading, now: ClockReading, settings: { readonly leaseMs: number; readonly marginMs: number }): boolean {
  return surelyPassed(since, now) > settings.leaseMs + settings.marginMs;
}

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
