/**
 * The cluster's events query, its pure half (src/cluster/events.ts): what a
 * node answers (cut to its byte budget, saying so), what is refused from the
 * bus (malformed requests and replies: ERR_CLUSTER_MESSAGE), and the merge
 * (newest first, one row per id, nothing claimed below a truncated node's
 * oldest event).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventsReply, mergeEvents, parseEventsReply, parseEventsRequest, type EventRow, type NodeEvents } from '../../src/cluster/index.js';
import { REPLY_BUDGET_BYTES } from '../../src/cluster/events.js';

const row = (id: string, start: number, extra: Record<string, unknown> = {}): EventRow => ({ id, camera: 'c', start_time: start, end_time: null, ...extra });
const bytes = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value));

describe('cluster events: requests, replies, merge', { timeout: 30_000 }, () => {
  it('merges newest first, keeps one row per id (the ended one, else the later frame), and applies the limit', () => {
    const a: NodeEvents = { node: 'a', truncated: false, events: [row('x', 30), row('y', 10, { end_time: 12 })] };
    const b: NodeEvents = { node: 'b', truncated: false, events: [row('z', 20), row('y', 10)] };
    assert.deepEqual(
      mergeEvents([a, b], 10).map((e) => e.id),
      ['x', 'z', 'y'],
    );
    assert.equal(mergeEvents([a, b], 10).find((e) => e.id === 'y')!.end_time, 12);
    assert.deepEqual(
      mergeEvents([a, b], 2).map((e) => e.id),
      ['x', 'z'],
    );
  });

  it("claims nothing older than a truncated node's oldest event", () => {
    const full: NodeEvents = { node: 'a', truncated: false, events: [row('a1', 50), row('a2', 5)] };
    const cut: NodeEvents = { node: 'b', truncated: true, events: [row('b1', 40), row('b2', 30)] };
    assert.deepEqual(
      mergeEvents([full, cut], 100).map((e) => e.id),
      ['a1', 'b1', 'b2'],
    );
  });

  it("cuts a node's answer to its byte budget and says so", () => {
    const big = Array.from({ length: 2_000 }, (_, i) => row(`e${i}`, 2_000 - i, { pad: 'x'.repeat(600) }));
    const data = eventsReply('n1', big);
    assert.ok(data.byteLength <= REPLY_BUDGET_BYTES + 100);
    const parsed = parseEventsReply(data);
    assert.ok(!('ok' in parsed));
    assert.equal(parsed.node, 'n1');
    assert.equal(parsed.truncated, true);
    assert.ok(parsed.events.length > 100 && parsed.events.length < 2_000);
    const small = parseEventsReply(eventsReply('n1', big.slice(0, 3)));
    assert.ok(!('ok' in small) && small.truncated === false && small.events.length === 3);
  });

  it('refuses malformed requests and replies with ERR_CLUSTER_MESSAGE, and passes a refusal on', () => {
    assert.deepEqual(parseEventsRequest(bytes({ camera: 'c1', label: 'person', after: 1.5, limit: 10 })), {
      camera: 'c1',
      label: 'person',
      after: 1.5,
      limit: 10,
    });
    for (const q of [{ camera: '../x' }, { limit: 0 }, { limit: 1001 }, { after: 'yesterday' }, { label: '' }, { sql: 'DROP' }, [1]])
      assert.throws(() => parseEventsRequest(bytes(q)), { code: 'ERR_CLUSTER_MESSAGE' }, JSON.stringify(q));
    assert.throws(() => parseEventsRequest(Buffer.from('not json')), { code: 'ERR_CLUSTER_MESSAGE' });
    for (const reply of [
      { ok: true, node: 'n', events: [{ id: 'x', camera: 'bad camera', start_time: 1 }] },
      { ok: true, node: 'n', events: [{ id: 'x', camera: 'c', start_time: 'soon' }] },
      { ok: true, node: 'n', events: 'none' },
      { ok: true, events: [] },
      { hello: 1 },
    ])
      assert.throws(() => parseEventsReply(bytes(reply)), { code: 'ERR_CLUSTER_MESSAGE' }, JSON.stringify(reply));
    assert.deepEqual(parseEventsReply(bytes({ ok: false, code: 'ERR_X', message: 'no' })), { ok: false, code: 'ERR_X', message: 'no' });
  });
});
