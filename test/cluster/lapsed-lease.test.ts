/**
 * The output fence closes on a lease whose term ran out by the node's own clock (ADR 0110, which replaces ADR 0027's
 * amendment): a guard (a tenth of a lease) before the term's end on the monotonic clock, whether NATS is there or
 * not, just after a reconnect as at any other time. Others claim a lease a margin after the time written in it, so
 * an owner whose renewals come late (JetStream slow under load, a starved loop, NATS away) stops publishing a guard
 * and a margin before anyone else may start. Pure: the rooms are made without NATS, the bus's `connected` set by
 * hand, and `now` given (test/cluster/lease-own-clock.test.ts runs it against a real nats-server).
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Bus } from '../../src/cluster/context.js';
import { Fencing, publishGuardMs } from '../../src/cluster/fencing.js';
import { Holdings } from '../../src/cluster/holdings.js';
import { encode } from '../../src/cluster/messages.js';
import { roomsContext } from './helpers.js';

const LEASE_MS = 60_000;
const MARGIN_MS = 1_000;
const GUARD_MS = publishGuardMs(LEASE_MS);

function rooms(): { bus: Bus; holdings: Holdings; fencing: Fencing } {
  const bus = new Bus('n1');
  bus.connected = true;
  const ctx = roomsContext(bus, LEASE_MS, MARGIN_MS);
  const holdings = new Holdings(ctx);
  return { bus, holdings, fencing: new Fencing(ctx, holdings, () => undefined) };
}

/** A camera held by a lease whose term ends `endsIn` ms from now on the monotonic clock. */
function hold(holdings: Holdings, endsIn: number): void {
  holdings.held.set('cam', holdings.newHeld(1, encode({ source: 'x' }), { expiresAt: Date.now() + endsIn, validUntil: performance.now() + endsIn }));
}

describe('a lease whose term ran out by the node’s own clock closes the output fence', { timeout: 30_000 }, () => {
  it('in term exactly while a guard (a tenth of a lease) is left of it, connected or not (property)', () => {
    const { bus, fencing } = rooms();
    assert.equal(GUARD_MS, LEASE_MS / 10);
    fc.assert(
      fc.property(
        fc.integer({ min: -3 * LEASE_MS, max: 3 * LEASE_MS }),
        fc.integer({ min: 0, max: 4 * LEASE_MS }),
        fc.boolean(),
        (validIn, later, connected) => {
          bus.connected = connected;
          const start = 1_000_000;
          const wall = 1_700_000_000_000;
          assert.equal(
            fencing.inTerm({ validUntil: start + validIn, expiresAt: wall + validIn }, { mono: start + later, wall: wall + later }),
            later < validIn - GUARD_MS,
          );
        },
      ),
    );
  });

  it('the fence: a held camera in its term publishes and its time is noted; past it, or not held, it does not, NATS there or not', () => {
    const { bus, holdings, fencing } = rooms();
    hold(holdings, LEASE_MS);
    assert.equal(fencing.mayPublish('cam', 123), true);
    assert.ok(holdings.held.get('cam')!.lastPublishedAt !== null);
    assert.equal(fencing.mayPublish('other', 123), false);
    for (const connected of [true, false]) {
      bus.connected = connected;
      hold(holdings, GUARD_MS - 1_000); // a second inside the guard
      assert.equal(fencing.mayPublish('cam', 123), false, `connected: ${connected}`);
      assert.equal(fencing.holds('cam'), false);
      hold(holdings, -LEASE_MS); // long gone (a stall, an outage)
      assert.equal(fencing.mayPublish('cam', 123), false, `connected: ${connected}`);
    }
  });

  it('withheld from the term’s end until a renewal gives a new term, noted (for the log) once', () => {
    const { holdings, fencing } = rooms();
    hold(holdings, 0);
    const held = holdings.held.get('cam')!;
    assert.equal(fencing.mayPublish('cam', 1), false);
    assert.equal(held.lapsed, true);
    assert.equal(fencing.mayPublish('cam', 2), false);
    assert.equal(held.lapsed, true);
    holdings.renewed(held, holdings.term()); // renewed
    assert.equal(fencing.mayPublish('cam', 3), true);
    assert.equal(held.lapsed, false);
    assert.equal(held.lastFrameAt, 3);
  });

  it('a term counts from before its write on the monotonic clock: never longer than the lease the others read', () => {
    const { holdings } = rooms();
    const wallBefore = Date.now();
    const monoBefore = performance.now();
    const term = holdings.term();
    assert.ok(term.expiresAt >= wallBefore + LEASE_MS && term.expiresAt <= Date.now() + LEASE_MS);
    assert.ok(term.validUntil >= monoBefore + LEASE_MS && term.validUntil <= performance.now() + LEASE_MS);
  });
});
