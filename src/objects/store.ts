/**
 * The store of tracked-object events: one SQLite database (node:sqlite, in
 * Node since 22.5) holding each event's latest state, one row per object, and
 * a folder of snapshot JPEGs beside it (`<id>.jpg`, written to a temporary
 * name and renamed, so a reader never sees half a file). It survives a
 * restart; an event still open when the process stopped keeps its last state
 * (its end_time null) until the next start ends it (openEvents(), then the
 * app's end_reason 'restart' event recorded like any other: ADR 0059). One
 * process writes a database.
 *
 * Fall and person-down alerts (ADR 0132) are rows of the same table, filed by
 * their kind as `label` (`fall`, `down`; isFallAlert() tells them apart):
 * GET /api/events?label=fall lists them, their snapshots are served as any
 * event's, retention treats them alike, and a summary of a window lists them
 * among its events. Their fields are a tracked object's a reader needs (id,
 * camera, label, scores, box, times, zones, snapshot) and their own.
 *
 * Summaries of a stretch of a camera's time (ADR 0073) are kept beside the
 * events, one row each with its window, and go with the events' retention
 * (a summary whose window ended more than `maxAgeDays` ago).
 *
 * Retention: every `pruneEveryMs`, events that ended more than `maxAgeDays`
 * ago go with their snapshots; then, while the database and the snapshots
 * together exceed `maxSizeMb`, the events that ended first go, a batch at a
 * time. Open events are never pruned (an object still in view is not
 * history yet). The database is in WAL mode with incremental auto-vacuum, so
 * the pages freed are given back to the file system.
 *
 * Failures to open are EventStoreError (ERR_EVENT_STORE) from start(); a
 * write that fails later (disk full) throws the same from record(), and the
 * caller logs it: losing one event's row takes nothing else down.
 */
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { makeDirectories } from '../internal/directories.js';
import { importSqlite } from '../internal/sqlite.js';
import { FrameSupplierError, InvalidArgumentError } from '../supplier/index.js';
import type { TrackedObject } from './camera-objects.js';

/** What a row is filed by: a tracked object's event, or a fall alert's (care/falls.ts). */
export type StoredEventFields = Pick<TrackedObject, 'id' | 'camera' | 'label' | 'start_time' | 'end_time' | 'entered_zones'>;

export class EventStoreError extends FrameSupplierError<'ERR_EVENT_STORE'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_EVENT_STORE', message, options);
  }
}

export interface EventStoreOptions {
  /** The SQLite file. */
  readonly database: string;
  /** The snapshots' folder. Default: `<database>.snapshots`. */
  readonly snapshots?: string;
  /** Ended events older than this go. Default 10. */
  readonly maxAgeDays?: number;
  /** The database and the snapshots together stay under this (MiB). Default 1024. */
  readonly maxSizeMb?: number;
  /** How often retention runs (ms). Default 60 000. */
  readonly pruneEveryMs?: number;
  /** The wall clock (ms). Default Date.now. */
  readonly now?: () => number;
  /** Told about a failed prune (the store carries on). */
  readonly onError?: (error: EventStoreError) => void;
}

export interface EventQuery {
  readonly camera?: string;
  readonly label?: string;
  /** Events that entered this zone. */
  readonly zone?: string;
  /** Events that started at or after this (epoch seconds). */
  readonly after?: number;
  /** Events that started before this (epoch seconds). */
  readonly before?: number;
  /** Default 100, at most 1 000. */
  readonly limit?: number;
}

/** A camera's events that overlap a window: started before its end, and not ended before its start. */
export interface WindowQuery {
  readonly camera: string;
  /** Epoch seconds. */
  readonly from: number;
  readonly to: number;
  /** Most events returned (the best top scores, then in start order). Default 100, at most 1 000. */
  readonly limit?: number;
}

/** What a summary row holds: its own fields as the summarizer made them, and these, which the store files it by. */
export interface StoredSummary {
  readonly id: string;
  readonly camera: string;
  /** Its window, epoch seconds. */
  readonly from: number;
  readonly to: number;
  /** When it was made, epoch seconds. */
  readonly created_at: number;
  readonly level: string;
}

export interface SummaryQuery {
  readonly camera?: string;
  /** Summaries whose window ended at or after this (epoch seconds). */
  readonly after?: number;
  /** Summaries whose window started before this (epoch seconds). */
  readonly before?: number;
  /** Default 20, at most 1 000. */
  readonly limit?: number;
}

export interface PruneResult {
  readonly deleted: number;
  /** The store's size after (bytes): the database, its WAL and the snapshots. */
  readonly bytes: number;
}

interface Statements {
  readonly upsert: StatementSync;
  readonly get: StatementSync;
  readonly snapshot: StatementSync;
}

interface Row {
  readonly data: string;
}

/** Columns for filters and retention; `data` holds the event's latest side as JSON. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY,
  camera TEXT NOT NULL,
  label TEXT NOT NULL,
  start_time REAL NOT NULL,
  end_time REAL,
  entered_zones TEXT NOT NULL,
  snapshot_bytes INTEGER NOT NULL DEFAULT 0,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_start ON events (start_time);
CREATE INDEX IF NOT EXISTS events_end ON events (end_time);
CREATE INDEX IF NOT EXISTS events_camera ON events (camera, label, start_time);
CREATE TABLE IF NOT EXISTS summaries (
  id TEXT PRIMARY KEY,
  camera TEXT NOT NULL,
  from_time REAL NOT NULL,
  to_time REAL NOT NULL,
  created_at REAL NOT NULL,
  level TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS summaries_camera ON summaries (camera, created_at);
`;

const PRUNE_BATCH = 200;
/** Event ids as eventId() makes them; anything else is no file name of ours. */
const ID = /^[0-9]+\.[0-9]{6}-[a-z0-9]{6}$/;

export class EventStore {
  readonly database: string;
  readonly snapshots: string;
  readonly maxAgeMs: number;
  readonly maxBytes: number;
  readonly #pruneEveryMs: number;
  readonly #now: () => number;
  readonly #onError: (error: EventStoreError) => void;
  #db: DatabaseSync | null = null;
  #statements: Statements | null = null;
  #timer: NodeJS.Timeout | null = null;
  #starting: Promise<void> | null = null;
  #closed = false;

  constructor(options: EventStoreOptions) {
    if (typeof options.database !== 'string' || options.database.length === 0) throw new InvalidArgumentError('the event store needs a database path');
    this.database = options.database;
    this.snapshots = options.snapshots ?? `${options.database}.snapshots`;
    const days = options.maxAgeDays ?? 10;
    const mb = options.maxSizeMb ?? 1024;
    if (!(days > 0) || !(mb > 0)) throw new InvalidArgumentError("the event store's maxAgeDays and maxSizeMb must be positive");
    this.maxAgeMs = days * 86_400_000;
    this.maxBytes = mb * 1024 * 1024;
    this.#pruneEveryMs = options.pruneEveryMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Opens (creating) the database and the snapshots' folder, and starts retention. */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new EventStoreError('the event store is closed'));
    this.#starting ??= this.#open();
    return this.#starting;
  }

  async #open(): Promise<void> {
    try {
      makeDirectories(dirname(this.database));
      makeDirectories(this.snapshots);
      // loaded here, not at import: only a system that stores events pays for it (without Node 22's experimental warning)
      const { DatabaseSync } = await importSqlite();
      const db = new DatabaseSync(this.database);
      // auto_vacuum takes effect only before the first table: a new file gets it, an old one keeps what it had
      db.exec('PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
      db.exec(SCHEMA);
      this.#statements = {
        upsert: db.prepare(
          `INSERT INTO events (id, camera, label, start_time, end_time, entered_zones, data) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET end_time = excluded.end_time, entered_zones = excluded.entered_zones, data = excluded.data`,
        ),
        get: db.prepare('SELECT data FROM events WHERE id = ?'),
        snapshot: db.prepare('UPDATE events SET snapshot_bytes = ? WHERE id = ?'),
      };
      this.#db = db;
    } catch (error) {
      throw new EventStoreError(`cannot open the event store at ${this.database}: ${(error as Error).message}`, { cause: error });
    }
    if (this.#closed) {
      this.#db.close();
      this.#db = null;
      return;
    }
    this.#timer = setInterval(() => {
      this.prune().catch((error: unknown) => this.#onError(asStoreError(error)));
    }, this.#pruneEveryMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#starting?.catch(() => undefined);
    this.#db?.close();
    this.#db = null;
    this.#statements = null;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #open_(): { db: DatabaseSync; statements: Statements } {
    if (this.#db === null || this.#statements === null)
      throw new EventStoreError(this.#closed ? 'the event store is closed' : 'the event store is not started');
    return { db: this.#db, statements: this.#statements };
  }

  /** Keeps an event's latest side (its `after`): a tracked object's, or a fall alert's. */
  record(event: { readonly type?: string; readonly before?: unknown; readonly after: StoredEventFields }): void {
    const { statements } = this.#open_();
    const a = event.after;
    try {
      statements.upsert.run(a.id, a.camera, a.label, a.start_time, a.end_time, JSON.stringify(a.entered_zones), JSON.stringify(a));
    } catch (error) {
      throw new EventStoreError(`cannot record event ${a.id}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Keeps an object's snapshot (a JPEG), replacing the one before. */
  async saveSnapshot(id: string, jpeg: Uint8Array): Promise<void> {
    const { statements } = this.#open_();
    if (!ID.test(id)) throw new InvalidArgumentError('not an event id');
    const path = this.#snapshotFile(id);
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      await writeFile(temporary, jpeg);
      await rename(temporary, path);
      statements.snapshot.run(jpeg.byteLength, id);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      throw new EventStoreError(`cannot save the snapshot of event ${id}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** An event's snapshot, or null when it has none (or no such event). */
  async snapshot(id: string): Promise<Buffer | null> {
    if (!ID.test(id)) return null;
    try {
      return await readFile(this.#snapshotFile(id));
    } catch {
      return null;
    }
  }

  /** An event's latest side, or null. */
  get(id: string): TrackedObject | null {
    const { statements } = this.#open_();
    const row = statements.get.get(id) as Row | undefined;
    return row === undefined ? null : fromRow(row);
  }

  /** Events, newest first. */
  query(q: EventQuery = {}): TrackedObject[] {
    const { db } = this.#open_();
    const { where, values } = whereOf([
      ['camera = ?', q.camera],
      ['label = ?', q.label],
      ['EXISTS (SELECT 1 FROM json_each(entered_zones) WHERE value = ?)', q.zone],
      ['start_time >= ?', q.after],
      ['start_time < ?', q.before],
    ]);
    const sql = `SELECT data FROM events ${where} ORDER BY start_time DESC LIMIT ${pageSize(q.limit, 100)}`;
    return (db.prepare(sql).all(...values) as unknown as Row[]).map(fromRow);
  }

  /**
   * A camera's events overlapping a window (started before `to`, not ended before `from`), with how many there
   * are in all: past the limit, those with the best top scores, returned in start order.
   */
  eventsBetween(q: WindowQuery): { events: TrackedObject[]; total: number } {
    const { db } = this.#open_();
    const limit = pageSize(q.limit, 100);
    const where = 'camera = ? AND start_time < ? AND (end_time IS NULL OR end_time >= ?)';
    const total = Number((db.prepare(`SELECT COUNT(*) AS n FROM events WHERE ${where}`).get(q.camera, q.to, q.from) as { n: number }).n);
    const rows = db
      .prepare(
        `SELECT data FROM (SELECT data, start_time FROM events WHERE ${where} ORDER BY json_extract(data, '$.top_score') DESC, start_time ASC LIMIT ${limit}) ORDER BY start_time ASC`,
      )
      .all(q.camera, q.to, q.from) as unknown as Row[];
    return { events: rows.map(fromRow), total };
  }

  /** Keeps a summary (its fields as JSON, filed by camera and window). */
  recordSummary(summary: StoredSummary): void {
    const { db } = this.#open_();
    try {
      db.prepare(
        `INSERT INTO summaries (id, camera, from_time, to_time, created_at, level, data) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET level = excluded.level, data = excluded.data`,
      ).run(summary.id, summary.camera, summary.from, summary.to, summary.created_at, summary.level, JSON.stringify(summary));
    } catch (error) {
      throw new EventStoreError(`cannot record summary ${summary.id}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Summaries, newest first. */
  summaries<T extends StoredSummary = StoredSummary>(q: SummaryQuery = {}): T[] {
    const { db } = this.#open_();
    const { where, values } = whereOf([
      ['camera = ?', q.camera],
      ['to_time >= ?', q.after],
      ['from_time < ?', q.before],
    ]);
    const sql = `SELECT data FROM summaries ${where} ORDER BY created_at DESC LIMIT ${pageSize(q.limit, 20)}`;
    return (db.prepare(sql).all(...values) as unknown as Row[]).map((row) => JSON.parse(row.data) as T);
  }

  /** The events not ended (end_time null), oldest first: at start, those the last process left open. */
  openEvents(): TrackedObject[] {
    const { db } = this.#open_();
    return (db.prepare('SELECT data FROM events WHERE end_time IS NULL ORDER BY start_time ASC').all() as unknown as Row[]).map(fromRow);
  }

  /** Events kept. */
  count(): number {
    const { db } = this.#open_();
    return Number((db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n);
  }

  /** The store's size (bytes): the database's pages in use, its WAL, and the snapshots. */
  async sizeBytes(): Promise<number> {
    const { db } = this.#open_();
    const pages = db.prepare('PRAGMA page_count').get() as { page_count: number };
    const free = db.prepare('PRAGMA freelist_count').get() as { freelist_count: number };
    const pageSize = db.prepare('PRAGMA page_size').get() as { page_size: number };
    const snapshots = db.prepare('SELECT COALESCE(SUM(snapshot_bytes), 0) AS b FROM events').get() as { b: number };
    const wal = await stat(`${this.database}-wal`).then(
      (s) => s.size,
      () => 0,
    );
    return (Number(pages.page_count) - Number(free.freelist_count)) * Number(pageSize.page_size) + wal + Number(snapshots.b);
  }

  /** Applies retention now (what the timer does). */
  async prune(): Promise<PruneResult> {
    const { db } = this.#open_();
    let deleted = 0;
    const cutoff = (this.#now() - this.maxAgeMs) / 1000;
    const old = db.prepare('SELECT id FROM events WHERE end_time IS NOT NULL AND end_time < ?').all(cutoff) as { id: string }[];
    deleted += await this.#delete(old.map((r) => r.id));
    // Summaries go with the events of their time.
    db.prepare('DELETE FROM summaries WHERE to_time < ?').run(cutoff);
    db.exec('PRAGMA wal_checkpoint(TRUNCATE); PRAGMA incremental_vacuum;');
    let bytes = await this.sizeBytes();
    while (bytes > this.maxBytes) {
      // the oldest ended events whose rows and snapshots add up to the excess, as far as a batch goes
      const oldest = db
        .prepare(`SELECT id, snapshot_bytes + length(data) + 64 AS size FROM events WHERE end_time IS NOT NULL ORDER BY end_time ASC LIMIT ${PRUNE_BATCH}`)
        .all() as { id: string; size: number }[];
      if (oldest.length === 0) break; // only open events left: they stay
      const ids: string[] = [];
      let freed = 0;
      for (const row of oldest) {
        ids.push(row.id);
        freed += Number(row.size);
        if (freed >= bytes - this.maxBytes) break;
      }
      deleted += await this.#delete(ids);
      db.exec('PRAGMA wal_checkpoint(TRUNCATE); PRAGMA incremental_vacuum;');
      bytes = await this.sizeBytes();
    }
    return { deleted, bytes };
  }

  async #delete(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const { db } = this.#open_();
    const remove = db.prepare('DELETE FROM events WHERE id = ?');
    db.exec('BEGIN');
    try {
      for (const id of ids) remove.run(id);
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw asStoreError(error);
    }
    await Promise.all(ids.filter((id) => ID.test(id)).map((id) => rm(this.#snapshotFile(id), { force: true })));
    return ids.length;
  }

  #snapshotFile(id: string): string {
    return join(this.snapshots, `${id}.jpg`);
  }
}

function asStoreError(error: unknown): EventStoreError {
  return error instanceof EventStoreError ? error : new EventStoreError(`event store: ${(error as Error).message}`, { cause: error });
}

/** A row's event: rows written before `snapshot` existed say null, as an object with no snapshot yet does. */
function fromRow(row: Row): TrackedObject {
  return { snapshot: null, ...(JSON.parse(row.data) as Omit<TrackedObject, 'snapshot'>) };
}

/** The WHERE clause of the conditions whose value is given (all of them), and their values in order. */
function whereOf(conditions: readonly (readonly [sql: string, value: string | number | undefined])[]): { where: string; values: (string | number)[] } {
  const given = conditions.filter((c): c is readonly [string, string | number] => c[1] !== undefined);
  return { where: given.length === 0 ? '' : `WHERE ${given.map(([sql]) => sql).join(' AND ')}`, values: given.map(([, value]) => value) };
}

/** A page's size: the one asked (whole, 1–1000), or the default. */
function pageSize(asked: number | undefined, fallback: number): number {
  return Math.max(1, Math.min(1000, Math.floor(asked ?? fallback)));
}
