/**
 * A lease judged on both of a node's clocks (ADR 0173), with injected clocks. The monotonic clock does not advance
 * across a suspend or a VM pause while the wall clock (and every peer's) does: an owner resumed after a pause longer
 * than its lease withholds its results at once, as its peers see its lease run out and take the camera, where by the
 * monotonic clock alone it published until its next tick; and a claimer counts only the time both its clocks agree
 * it watched a lease stand still, so its own pause, or its wall clock stepped forward, never lets it claim early.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Bus } from '../../src/cluster/context.js';
import { Fencing, publishGuardMs } from '../../src/cluster/fencing.js';
import { Holdings } from '../../src/cluster/holdings.js';
import { stoodStillFor } from '../../src/cluster/leases.js';
import { encode } from '../../src/cluster/messages.js';
import { mayHavePassed, surelyPassed, type ClockReading } from '../../src/cluster/two-clocks.js';
import { roomsContext } from './helpers.js';

const LEASE_MS = 6_000;
const MARGIN_MS = 1_000;
const SETTINGS = { leaseMs: LEASE_MS, marginMs: MARGIN_MS };

/** A node's clocks, moved by hand: `pause(ms)` moves the wall clock alone, `run(ms)` both. */
class Clocks {
  wall = 1_700_000_000_000;
  mono = 5_000;
  read = (): ClockReading => ({ wall: this.wall, mono: this.mono });
  run(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }
  pause(ms: number): void {
    this.wall += ms;
  }
}

function owner(clocks: Clocks): { holdings: Holdings; fencing: Fencing; stalls: number[] } {
  const bus = new Bus('n1');
  bus.connected = true;
  const ctx = { ...roomsContext(bus, LEASE_MS, MARGIN_MS), clock: clocks };
  const holdings = new Holdings(ctx);
  const stalls: number[] = [];
  const fencing = new Fencing(ctx, holdings, () => stalls.push(clocks.wall));
  holdings.held.set('cam', holdings.newHeld(1, encode({ source: 'x' }), holdings.term()));
  return { holdings, fencing, stalls };
}

describe('a lease on both clocks: a pause moves the wall clock, not the monotonic one', { timeout: 30_000 }, () => {
  it('an owner resumed after a pause past its lease publishes nothing, and is fenced until a renewal confirms it', () => {
    const clocks = new Clocks();
    const { holdings, fencing, stalls } = owner(clocks);
    clocks.run(1_000);
    assert.equal(fencing.mayPublish('cam', clocks.wall), true, 'in its term');
    clocks.pause(2 * LEASE_MS); // suspended: the peers' clocks ran on, took the lease a margin after its time
    assert.equal(fencing.mayPublish('cam', clocks.wall), false, 'its lease ran out by the wall clock, which the peers read');
    assert.equal(holdings.held.get('cam')!.fenced, true, 'the pause is a stall: fenced');
    assert.equal(stalls.length, 1, 'the owner is told, to renew at once');
    // A renewal confirms the lease (the lease room's part): a new term on both clocks lets results out again.
    const held = holdings.held.get('cam')!;
    holdings.renewed(held, holdings.term());
    held.fenced = false;
    assert.equal(fencing.mayPublish('cam', clocks.wall), true);
  });

  it('a pause shorter than a lease but past the term stops publishing at once, the wall clock first', () => {
    const clocks = new Clocks();
    const { holdings, fencing } = owner(clocks);
    clocks.pause(LEASE_MS - publishGuardMs(LEASE_MS) + 1);
    assert.equal(fencing.inTerm(holdings.held.get('cam')!), false);
    assert.equal(fencing.mayPublish('cam', clocks.wall), false);
    assert.equal(holdings.held.get('cam')!.fenced, false, 'not a stall: a renewal in time lets it publish again');
  });

  it('a wall clock stepped back does not lengthen a term: the monotonic clock ends it', () => {
    const clocks = new Clocks();
    const { fencing } = owner(clocks);
    clocks.run(LEASE_MS);
    clocks.wall -= 3_600_000; // NTP stepped it back an hour
    assert.equal(fencing.mayPublish('cam', clocks.wall), false);
  });

  it('in term exactly while a guard is left on both clocks (property)', () => {
    const clocks = new Clocks();
    const { holdings, fencing } = owner(clocks);
    const held = holdings.held.get('cam')!;
    const guard = publishGuardMs(LEASE_MS);
    fc.assert(
      fc.property(fc.integer({ min: -LEASE_MS, max: 3 * LEASE_MS }), fc.integer({ min: -LEASE_MS, max: 3 * LEASE_MS }), (wallIn, monoIn) => {
        const now = { wall: held.expiresAt - LEASE_MS + wallIn, mono: held.validUntil - LEASE_MS + monoIn };
        assert.equal(fencing.inTerm(held, now), wallIn < LEASE_MS - guard && monoIn < LEASE_MS - guard);
      }),
    );
  });

  it('a claimer counts only what both its clocks agree it watched: its own pause, or a step forward, is no time watched', () => {
    const since = { wall: 1_700_000_000_000, mono: 5_000 };
    const after = (wall: number, mono: number): ClockReading => ({ wall: since.wall + wall, mono: since.mono + mono });
    const enough = LEASE_MS + MARGIN_MS + 1;
    assert.equal(stoodStillFor(since, after(enough, enough), SETTINGS), true, 'watched a whole lease and the margin');
    assert.equal(stoodStillFor(since, after(enough, 0), SETTINGS), false, 'paused (or its wall clock stepped forward): watched nothing');
    assert.equal(stoodStillFor(since, after(enough, LEASE_MS), SETTINGS), false, 'paused part of the time');
    assert.equal(stoodStillFor(since, after(-3_600_000, enough), SETTINGS), true, 'a wall clock stepped back is a step: the monotonic clock counts');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * LEASE_MS }), fc.integer({ min: 0, max: 10 * LEASE_MS }), (wall, mono) => {
        const from = since;
        const to = after(wall, mono);
        assert.equal(surelyPassed(from, to), Math.min(wall, mono));
        assert.equal(mayHavePassed(from, to), Math.max(wall, mono));
        assert.ok(surelyPassed(from, to) <= mayHavePassed(from, to));
      }),
    );
  });
});
