/**
 * The output gate closes on a lease that ran out while NATS was there to
 * renew it (ADR 0027, amended): from the time the lease says, while the node
 * is connected and a lease's length has passed since it (re)connected. Not
 * while NATS is away, not in the owner's turn to renew after a reconnect, and
 * never before the lease's own time. Others claim a lapsed lease a margin
 * after that time, so an owner whose renewals come late (JetStream slow under
 * load) stops publishing before anyone else may start: the claims log's "no
 * camera owned by two nodes beyond the margin" (cluster.test.ts) holds by
 * construction, not by the renewal's luck. Pure: the rooms are made without
 * NATS, the bus's `connected` set by hand, and `now` given.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Bus } from '../../src/cluster/context.js';
import { Fencing } from '../../src/cluster/fencing.js';
import { Holdings } from '../../src/cluster/holdings.js';
import { encode } from '../../src/cluster/messages.js';
import { roomsContext } from './helpers.js';

const LEASE_MS = 60_000;
const MARGIN_MS = 1_000;

function rooms(): { bus: Bus; holdings: Holdings; fencing: Fencing } {
  const bus = new Bus('n1');
  bus.connected = true;
  const ctx = roomsContext(bus, LEASE_MS, MARGIN_MS);
  const holdings = new Holdings(ctx);
  return { bus, holdings, fencing: new Fencing(ctx, holdings, () => undefined) };
}

describe('a lapsed lease closes the output gate', { timeout: 30_000 }, () => {
  it('connected and past both the lease and a lease since connecting: lapsed; else not (property)', () => {
    const { bus, fencing } = rooms();
    const connectedAt = Date.now();
    fc.assert(
      fc.property(
        fc.integer({ min: -3 * LEASE_MS, max: 3 * LEASE_MS }),
        fc.integer({ min: 0, max: 4 * LEASE_MS }),
        fc.boolean(),
        (expiresIn, later, connected) => {
          bus.connected = connected;
          const now = connectedAt + later;
          const expiresAt = connectedAt + expiresIn;
          const lapsed = fencing.lapsed(expiresAt, now);
          // Never before the lease's own time, never while NATS is away, never within a lease of connecting.
          if (now <= expiresAt || !connected || later <= LEASE_MS) assert.equal(lapsed, false);
          else assert.equal(lapsed, true);
        },
      ),
    );
  });

  it("a reconnect gives the owner a lease's length to renew before the gate closes", () => {
    const { fencing } = rooms();
    const expiredLongAgo = Date.now() - 10 * LEASE_MS;
    assert.equal(fencing.lapsed(expiredLongAgo, Date.now() + 2 * LEASE_MS), true);
    fencing.unsettled(); // reconnected now
    assert.equal(fencing.lapsed(expiredLongAgo, Date.now() + LEASE_MS / 2), false);
    assert.equal(fencing.lapsed(expiredLongAgo, Date.now() + LEASE_MS + 10), true);
  });

  it('the gate: a held camera with a live lease publishes and its time is noted; one not held does not', () => {
    const { holdings, fencing } = rooms();
    holdings.held.set('cam', holdings.newHeld(1, encode({ source: 'x' }), Date.now() + LEASE_MS));
    assert.equal(fencing.mayPublish('cam', 123), true);
    assert.ok(holdings.held.get('cam')!.lastPublishedAt !== null);
    assert.equal(fencing.mayPublish('other', 123), false);
  });
});
