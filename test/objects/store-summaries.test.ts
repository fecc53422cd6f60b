/**
 * The events store's part in summaries (ADR 0073), on a real SQLite file: a camera's events that overlap a
 * window (started before its end, not ended before its start; open ones too), past the limit those with the
 * best top scores in start order, with the total; summaries kept with their windows, listed newest first by
 * camera and window, replaced by id, surviving a reopen, and pruned with the events of their time.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventStore, eventId, type StoredSummary, type TrackedObject } from '../../src/objects/index.js';

const T0 = 1_700_000_000;

function side(id: string, camera: string, start: number, end: number | null, topScore: number): TrackedObject {
  return {
    id,
    camera,
    label: 'person',
    score: topScore,
    top_score: topScore,
    box: [0.1, 0.1, 0.2, 0.3],
    frame_time: end ?? start,
    current_zones: [],
    entered_zones: [],
    start_time: start,
    end_time: end,
    has_snapshot: false,
    stationary: false,
    frame_age_ms: 10,
    worker: 'det',
    loitering_zones: [],
    velocity: [0, 0],
    zone_time: {},
    snapshot: null,
  };
}

describe('the event store: windows and summaries', { timeout: 60_000 }, () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-summaries-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a window's events: those that overlap it, the best scores past the limit, in start order, with the total", async () => {
    await using store = new EventStore({ database: join(dir, 'window.db') });
    await store.start();
    const record = (o: TrackedObject): void => store.record({ type: 'end', before: o, after: o });
    const ids = {
      before: eventId(T0 - 100), // ended before the window
      straddlesStart: eventId(T0 - 50), // started before, ended inside
      inside: eventId(T0 + 10),
      open: eventId(T0 + 20), // still open
      straddlesEnd: eventId(T0 + 90), // started inside, ended after
      after: eventId(T0 + 200), // started after
      other: eventId(T0 + 30), // another camera's
    };
    record(side(ids.before, 'gate', T0 - 100, T0 - 1, 0.99));
    record(side(ids.straddlesStart, 'gate', T0 - 50, T0 + 5, 0.5));
    record(side(ids.inside, 'gate', T0 + 10, T0 + 15, 0.9));
    record(side(ids.open, 'gate', T0 + 20, null, 0.7));
    record(side(ids.straddlesEnd, 'gate', T0 + 90, T0 + 150, 0.6));
    record(side(ids.after, 'gate', T0 + 200, T0 + 210, 0.99));
    record(side(ids.other, 'yard', T0 + 30, T0 + 40, 0.99));
    const all = store.eventsBetween({ camera: 'gate', from: T0, to: T0 + 100 });
    assert.equal(all.total, 4);
    assert.deepEqual(
      all.events.map((e) => e.id),
      [ids.straddlesStart, ids.inside, ids.open, ids.straddlesEnd],
    );
    const best = store.eventsBetween({ camera: 'gate', from: T0, to: T0 + 100, limit: 2 });
    assert.equal(best.total, 4, 'the total counts them all');
    assert.deepEqual(
      best.events.map((e) => e.id),
      [ids.inside, ids.open],
      'the two best scores, in start order',
    );
    assert.deepEqual(store.eventsBetween({ camera: 'gate', from: T0 - 500, to: T0 - 200 }), { events: [], total: 0 });
    // an object still in view is in every window after its start
    assert.deepEqual(
      store.eventsBetween({ camera: 'gate', from: T0 + 300, to: T0 + 400 }).events.map((e) => e.id),
      [ids.open],
    );
  });

  it('summaries: kept with their windows, listed newest first by camera and window, replaced by id, kept across a reopen, pruned with their time', async () => {
    const database = join(dir, 'summaries.db');
    let now = (T0 + 3 * 86_400) * 1000;
    const summary = (id: string, camera: string, from: number, to: number, created: number, level = 'none'): StoredSummary & { title: string } => ({
      id,
      camera,
      from,
      to,
      created_at: created,
      level,
      title: `${id} title`,
    });
    {
      await using store = new EventStore({ database, maxAgeDays: 1, now: () => now });
      await store.start();
      store.recordSummary(summary('old', 'gate', T0, T0 + 3_600, T0 + 3_600));
      store.recordSummary(summary('a', 'gate', T0 + 2 * 86_400, T0 + 2 * 86_400 + 3_600, T0 + 2 * 86_400 + 3_600));
      store.recordSummary(summary('b', 'gate', T0 + 2.5 * 86_400, T0 + 2.5 * 86_400 + 600, T0 + 2.5 * 86_400 + 600, 'alert'));
      store.recordSummary(summary('y', 'yard', T0 + 2 * 86_400, T0 + 2 * 86_400 + 60, T0 + 2 * 86_400 + 60));
      store.recordSummary(summary('a', 'gate', T0 + 2 * 86_400, T0 + 2 * 86_400 + 3_600, T0 + 2 * 86_400 + 3_600, 'notice'));
      assert.deepEqual(
        store.summaries({ camera: 'gate' }).map((s) => [s.id, s.level]),
        [
          ['b', 'alert'],
          ['a', 'notice'],
          ['old', 'none'],
        ],
      );
      assert.deepEqual(store.summaries<StoredSummary & { title: string }>({ camera: 'yard' })[0]?.title, 'y title');
      assert.deepEqual(
        store.summaries({ after: T0 + 2 * 86_400 + 3_000, before: T0 + 2.6 * 86_400 }).map((s) => s.id),
        ['b', 'a'],
        'by window: ended at or after `after`, started before `before`',
      );
      assert.equal(store.summaries({ limit: 1 }).length, 1);
    }
    await using store = new EventStore({ database, maxAgeDays: 1, now: () => now });
    await store.start();
    assert.equal(store.summaries().length, 4, 'kept across a reopen');
    now = (T0 + 3 * 86_400) * 1000;
    await store.prune();
    assert.deepEqual(
      store.summaries().map((s) => s.id),
      ['b', 'a', 'y'],
      'the one whose window ended over maxAgeDays ago went',
    );
  });
});
