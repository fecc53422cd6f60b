/**
 * The event store on a real SQLite file and a real folder: events kept by id
 * (latest side wins), filters by camera, label, zone and time, snapshots
 * written whole, everything still there after a reopen, retention by age and
 * by size (open events never pruned), and the lifecycle contract.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventStore, EventStoreError, endedByRestart, eventId, type TrackedEvent, type TrackedObject } from '../../src/objects/index.js';

const T0 = 1_700_000_000;

function side(over: Partial<TrackedObject> & { id: string }): TrackedObject {
  return {
    camera: 'gate',
    label: 'person',
    score: 0.8,
    top_score: 0.9,
    box: [0.1, 0.1, 0.2, 0.3],
    frame_time: T0,
    current_zones: [],
    entered_zones: [],
    start_time: T0,
    end_time: null,
    has_snapshot: false,
    stationary: false,
    frame_age_ms: 10,
    worker: 'det',
    loitering_zones: [],
    velocity: [0, 0],
    zone_time: {},
    snapshot: null,
    ...over,
  };
}
const ev = (type: TrackedEvent['type'], after: TrackedObject): TrackedEvent => ({ type, before: after, after });

describe('the event store', { timeout: 60_000 }, () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-events-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps events by id, filters them, keeps snapshots, and all of it survives a reopen', async () => {
    const database = join(dir, 'a', 'events.db');
    const a = eventId(T0);
    const b = eventId(T0 + 10);
    const c = eventId(T0 + 20);
    {
      await using store = new EventStore({ database });
      await store.start();
      await store.start();
      store.record(ev('new', side({ id: a })));
      store.record(ev('update', side({ id: a, entered_zones: ['driveway'], current_zones: ['driveway'] })));
      store.record(ev('new', side({ id: b, start_time: T0 + 10, label: 'car' })));
      store.record(ev('new', side({ id: c, start_time: T0 + 20, camera: 'yard' })));
      store.record(ev('end', side({ id: a, entered_zones: ['driveway'], end_time: T0 + 5 })));
      await store.saveSnapshot(a, Buffer.from([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]));
      assert.equal(store.count(), 3);
    }
    await using store = new EventStore({ database });
    await store.start();
    assert.equal(store.get(a)?.end_time, T0 + 5);
    assert.deepEqual(
      store.query().map((e) => e.id),
      [c, b, a],
    );
    assert.deepEqual(
      store.query({ camera: 'gate' }).map((e) => e.id),
      [b, a],
    );
    assert.deepEqual(
      store.query({ label: 'car' }).map((e) => e.id),
      [b],
    );
    assert.deepEqual(
      store.query({ zone: 'driveway' }).map((e) => e.id),
      [a],
    );
    assert.deepEqual(
      store.query({ after: T0 + 10, before: T0 + 20 }).map((e) => e.id),
      [b],
    );
    assert.deepEqual([...((await store.snapshot(a)) ?? [])], [0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);
    assert.equal(await store.snapshot(b), null);
    assert.equal(await store.snapshot('../../etc/passwd'), null);
    assert.ok((await readdir(join(dir, 'a', 'events.db.snapshots'))).every((f) => !f.endsWith('.tmp')));
  });

  it("the events left open (a killed process's) are found, and their restart end is dated by their last sighting", async () => {
    const database = join(dir, 'open.db');
    const ended = eventId(T0);
    const later = eventId(T0 + 30);
    const earlier = eventId(T0 + 20);
    {
      await using store = new EventStore({ database });
      await store.start();
      store.record(ev('end', side({ id: ended, end_time: T0 + 5 })));
      store.record(ev('update', side({ id: later, start_time: T0 + 30, frame_time: T0 + 41, current_zones: ['porch'], entered_zones: ['porch'] })));
      store.record(ev('new', side({ id: earlier, start_time: T0 + 20, frame_time: T0 + 21 })));
    }
    await using store = new EventStore({ database });
    await store.start();
    const open = store.openEvents();
    assert.deepEqual(
      open.map((e) => e.id),
      [earlier, later],
      'oldest first, the ended one left out',
    );
    const end = endedByRestart(open[1]!, (T0 + 100) * 1000);
    assert.equal(end.type, 'end');
    assert.deepEqual(end.before, open[1]);
    assert.deepEqual(
      [end.after.end_time, end.after.frame_time, end.after.end_reason, end.after.current_zones, end.after.entered_zones, end.after.frame_age_ms],
      [T0 + 41, T0 + 41, 'restart', [], ['porch'], 59_000],
    );
    store.record(end);
    assert.deepEqual(
      store.openEvents().map((e) => e.id),
      [earlier],
    );
    assert.equal(store.get(later)?.end_reason, 'restart');
  });

  it('retention by age: ended events older than maxAgeDays go with their snapshots; open ones stay', async () => {
    let now = (T0 + 100) * 1000;
    await using store = new EventStore({ database: join(dir, 'age.db'), maxAgeDays: 1, now: () => now });
    await store.start();
    const old = eventId(T0);
    const open = eventId(T0);
    store.record(ev('end', side({ id: old, end_time: T0 + 1 })));
    store.record(ev('new', side({ id: open })));
    await store.saveSnapshot(old, Buffer.alloc(100, 1));
    assert.equal((await store.prune()).deleted, 0);
    now += 86_400_000;
    assert.equal((await store.prune()).deleted, 1);
    assert.equal(store.get(old), null);
    assert.equal(await store.snapshot(old), null);
    assert.notEqual(store.get(open), null);
  });

  it('retention by size: the oldest ended events go until the store is under maxSizeMb', async () => {
    await using store = new EventStore({ database: join(dir, 'size.db'), maxSizeMb: 1, now: () => (T0 + 1000) * 1000 });
    await store.start();
    for (let i = 0; i < 400; i++) {
      const id = eventId(T0 + i);
      store.record(ev('end', side({ id, start_time: T0 + i, end_time: T0 + i + 1 })));
      await store.saveSnapshot(id, Buffer.alloc(8 * 1024, i % 256));
    }
    assert.ok((await store.sizeBytes()) > 1024 * 1024);
    const pruned = await store.prune();
    assert.ok(pruned.deleted > 0);
    assert.ok(pruned.bytes <= 1024 * 1024, `${pruned.bytes} bytes`);
    // the newest stay
    assert.equal(store.query({ limit: 1 })[0]?.start_time, T0 + 399);
  });

  it('errors: a database that cannot be made is ERR_EVENT_STORE from start(); calls after close() too', async () => {
    // a folder that cannot be made: its parent is a file
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const store = new EventStore({ database: join(file, 'events.db') });
    await assert.rejects(store.start(), (e: unknown) => e instanceof EventStoreError && e.code === 'ERR_EVENT_STORE');
    await store.close();
    await store.close();
    const closed = new EventStore({ database: join(dir, 'closed.db') });
    await closed.start();
    await closed.close();
    assert.throws(
      () => closed.query(),
      (e: unknown) => e instanceof EventStoreError,
    );
    await assert.rejects(closed.start(), (e: unknown) => e instanceof EventStoreError);
  });
});
