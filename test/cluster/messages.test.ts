/** Cluster messages from NATS are untrusted: every malformed one is ERR_CLUSTER_MESSAGE; the claims-log check finds overlaps beyond the margin. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ClusterError, doubleOwned, parseClaim, parseControl, parseLease, parseNode, targetShare } from '../../src/cluster/index.js';

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
    // A killed node's open claim ends when it died.
    assert.deepEqual(
      doubleOwned([r('a', 'start', 0), r('b', 'start', 100)], 50, (n) => (n === 'a' ? 90 : undefined), 1000),
      [],
    );
  });
});
