/** Cluster messages from NATS are untrusted: every malformed one is ERR_CLUSTER_MESSAGE; the claims-log check finds overlaps beyond the margin. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ClusterError, doubleOwned, parseClaim, parseControl, parseLease, parseNode, parseReply, targetShare } from '../../src/cluster/index.js';

const enc = (v: unknown): Uint8Array => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const refused = (e: unknown): boolean => e instanceof ClusterError && e.code === 'ERR_CLUSTER_MESSAGE';

describe('cluster messages', { timeout: 30_000 }, () => {
  it('parses good messages and refuses bad ones with a code', () => {
    assert.deepEqual(parseLease(enc({ node: 'n1', expiresAt: 5 })), { node: 'n1', expiresAt: 5 });
    assert.equal(parseNode(enc({ node: 'n1', capacity: 2, at: 1, owned: 3 })).capacity, 2);
    assert.equal(parseControl(enc({ op: 'restart-worker', camera: 'c', worker: 'w' })).op, 'restart-worker');
    for (const bad of ['{', '[]', 'null', { node: 'a.b', expiresAt: 1 }, { node: 'n', expiresAt: -1 }, { node: 'n' }])
      assert.throws(() => parseLease(enc(bad)), refused);
    assert.throws(() => parseNode(enc({ node: 'n', capacity: 0, at: 1, owned: 0 })), refused);
    assert.throws(() => parseControl(enc({ op: 'drop-table', camera: 'c' })), refused);
    assert.throws(() => parseControl(enc({ op: 'add-camera', camera: 'c', config: 'x' })), refused);
    assert.throws(() => parseClaim(enc({ camera: 'c', node: 'n', action: 'maybe', at: 1, revision: 1 })), refused);
    assert.throws(() => parseLease(Buffer.alloc(300 * 1024, 32)), refused);
  });

  it('planned moves and fencing: offers on leases, health in node records, handoff requests, standby and streamedUntil in claims', () => {
    assert.deepEqual(parseLease(enc({ node: 'n1', expiresAt: 5, handoffTo: 'n2', handoffUntil: 9 })), {
      node: 'n1',
      expiresAt: 5,
      handoffTo: 'n2',
      handoffUntil: 9,
    });
    assert.throws(() => parseLease(enc({ node: 'n1', expiresAt: 5, handoffTo: 'n2' })), refused);
    assert.throws(() => parseLease(enc({ node: 'n1', expiresAt: 5, handoffTo: 'a.b', handoffUntil: 9 })), refused);
    assert.equal(parseNode(enc({ node: 'n1', capacity: 2, at: 1, owned: 3, healthySince: 0 })).healthySince, 0);
    assert.throws(() => parseNode(enc({ node: 'n1', capacity: 2, at: 1, owned: 3, healthySince: 'now' })), refused);
    assert.deepEqual(parseControl(enc({ op: 'handoff', camera: 'c', node: 'n2', mode: 'ready' })), { op: 'handoff', camera: 'c', node: 'n2', mode: 'ready' });
    assert.throws(() => parseControl(enc({ op: 'handoff', camera: 'c', node: 'n2', mode: 'now' })), refused);
    assert.equal(parseClaim(enc({ camera: 'c', node: 'n', action: 'standby', at: 1, revision: 0 })).action, 'standby');
    assert.equal(parseClaim(enc({ camera: 'c', node: 'n', action: 'stop', at: 9, revision: 1, streamedUntil: 4 })).streamedUntil, 4);
    assert.throws(() => parseClaim(enc({ camera: 'c', node: 'n', action: 'stop', at: 9, revision: 1, streamedUntil: -4 })), refused);
  });

  it("set-areas requests and an ERR_CONFIG answer's issues", () => {
    const areas = {
      zones: {
        door: {
          polygon: [
            [0, 0],
            [1, 0],
            [1, 1],
          ],
        },
      },
    };
    assert.deepEqual(parseControl(enc({ op: 'set-areas', camera: 'c', areas })), { op: 'set-areas', camera: 'c', areas });
    for (const bad of [undefined, null, [], 'zones']) assert.throws(() => parseControl(enc({ op: 'set-areas', camera: 'c', areas: bad })), refused);
    // Nothing but the answer's own fields is taken from it.
    assert.deepEqual(parseReply(enc({ ok: true, node: 'n1', areas: { zones: {} } })), { ok: true, node: 'n1' });
    const issues = [{ path: 'cameras.c.zonez', message: 'unknown key' }];
    assert.deepEqual(parseReply(enc({ ok: false, code: 'ERR_CONFIG', message: 'm', issues })), { ok: false, code: 'ERR_CONFIG', message: 'm', issues });
    // Issues from an untrusted answer: only well-formed ones, at most 100, each bounded.
    const many = [...Array.from({ length: 150 }, () => ({ path: 'p'.repeat(900), message: 'x' })), 7, { path: 1 }];
    const parsed = parseReply(enc({ ok: false, code: 'ERR_CONFIG', message: 'm', issues: many }));
    assert.equal(!parsed.ok && parsed.issues?.length, 100);
    assert.equal(!parsed.ok && parsed.issues?.[0]?.path.length, 500);
    assert.deepEqual(parseReply(enc({ ok: false, code: 'ERR_X', message: 'm', issues: 'no' })), { ok: false, code: 'ERR_X', message: 'm' });
  });

  it('any bytes from NATS are parsed or refused with ERR_CLUSTER_MESSAGE, never thrown otherwise', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        for (const parse of [parseLease, parseNode, parseClaim, parseControl]) {
          try {
            parse(bytes);
          } catch (error) {
            assert.ok(refused(error));
          }
        }
      }),
    );
  });

  it('shares by capacity cover every camera', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 8 }), (cameras, caps) => {
        const total = caps.reduce((a, b) => a + b, 0);
        assert.ok(caps.reduce((n, c) => n + targetShare(cameras, c, total), 0) >= cameras);
      }),
    );
  });

  it('the claims-log check: a hand-over is not double ownership, an overlap beyond the margin is', () => {
    const r = (node: string, action: 'start' | 'stop', at: number) => ({ camera: 'c', node, action, at, revision: 1, reason: '' });
    assert.deepEqual(doubleOwned([r('a', 'start', 0), r('a', 'stop', 100), r('b', 'start', 150)], 50, undefined, 1000), []);
    assert.deepEqual(doubleOwned([r('a', 'start', 0), r('b', 'start', 100)], 50, undefined, 1000), ['c']);
    // A standby (the camera opened for a planned move, results withheld) is no ownership.
    const standby = { camera: 'c', node: 'b', action: 'standby' as const, at: 50, revision: 0, reason: '' };
    assert.deepEqual(doubleOwned([r('a', 'start', 0), standby, r('a', 'stop', 900), r('b', 'start', 905)], 50, undefined, 1000), []);
    // A stalled owner that noticed late: its stop says when it last published, and that is what counts.
    const late = { ...r('a', 'stop', 900), streamedUntil: 120 };
    assert.deepEqual(doubleOwned([r('a', 'start', 0), r('b', 'start', 150), late], 50, undefined, 1000), []);
    assert.deepEqual(doubleOwned([r('a', 'start', 0), r('b', 'start', 150), r('a', 'stop', 900)], 50, undefined, 1000), ['c']);
    // A killed node's open claim ends when it died.
    assert.deepEqual(
      doubleOwned([r('a', 'start', 0), r('b', 'start', 100)], 50, (n) => (n === 'a' ? 90 : undefined), 1000),
      [],
    );
  });
});
