/**
 * The fall alerts that stand or wait to be acknowledged, kept in a small file in the state directory
 * (`fall-alerts.json`, ADR 0160), so that they survive a restart with or without an events store.
 *
 * Contract:
 * - after each `fall` event the file is rewritten with system.objects.falls() (at most MAX_KEPT, the newest), one
 *   write at a time, the last one always written (a change during a write is written after it);
 * - a write is atomic: a temporary file beside it (0600), flushed to disk, renamed over it; a crash leaves the old
 *   file or the new, never half of one. A write that fails is logged (ERR_FALL_STATE) and costs only that write;
 * - read() at start gives the alerts it holds; no file is none; a file that cannot be read or parsed, or holds
 *   no list of alerts, is logged with ERR_FALL_STATE and moved aside (`fall-alerts.json.corrupt`, for whoever looks),
 *   and read as none: nothing else is lost (the events store's alerts are still restored, the start goes on);
 * - close() writes what changed last and waits for it.
 */
import { open, rename, rm } from 'node:fs/promises';
import { readFileSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { messageOf } from '../internal/abort.js';
import type { Logger } from '../internal/logger.js';
import { makeStateDir } from '../internal/state-dir.js';
import { isFallAlert, type FallAlert } from '../care/index.js';
import type { EventOf, VisionSystem } from '../pipeline/index.js';

export const FALL_STATE_FILE = 'fall-alerts.json';
/** The most alerts kept (the newest): a bound on the file, far above what a home has standing at once. */
export const MAX_KEPT = 256;

export interface FallStateFileOptions {
  readonly path: string;
  readonly system: Pick<VisionSystem, 'on' | 'off' | 'objects'>;
  readonly log: Logger;
}

/** What the file holds: its version, when it was written, and the alerts. */
interface Saved {
  readonly version: 1;
  readonly written_at: number;
  readonly alerts: readonly FallAlert[];
}

/** The alerts a file's text holds, or why it holds none (a pure reading, for read() and its tests). */
export function parseFallState(text: string): { alerts: FallAlert[] } | { problem: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON (${messageOf(error)})` };
  }
  const alerts = (data as Partial<Saved> | null)?.alerts;
  if ((data as Partial<Saved> | null)?.version !== 1 || !Array.isArray(alerts)) return { problem: 'no version 1 list of alerts' };
  const bad = alerts.findIndex((a) => !isFallAlert(a) || typeof (a as { id?: unknown }).id !== 'string');
  if (bad >= 0) return { problem: `alerts[${bad}] is not a fall alert` };
  return { alerts: alerts as FallAlert[] };
}

export class FallStateFile {
  readonly #o: FallStateFileOptions;
  readonly #listener = (_event: EventOf<'fall'>): void => this.#changed();
  #writing: Promise<void> | null = null;
  #dirty = false;
  #started = false;
  #closed = false;

  constructor(options: FallStateFileOptions) {
    this.#o = options;
  }

  /** The alerts the file holds (none without a file; a bad file is logged, moved aside and read as none). */
  read(): FallAlert[] {
    const path = this.#o.path;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      this.#o.log.error({ code: 'ERR_FALL_STATE', file: path, err: messageOf(error) }, 'falls: the standing alerts kept before the restart cannot be read');
      return [];
    }
    const parsed = parseFallState(text);
    if ('alerts' in parsed) return parsed.alerts;
    let aside = `${path}.corrupt`;
    try {
      renameSync(path, aside);
    } catch (error) {
      aside = `(not moved: ${messageOf(error)})`;
    }
    this.#o.log.error(
      { code: 'ERR_FALL_STATE', file: path, movedTo: aside, problem: parsed.problem },
      'falls: the file of standing alerts kept before the restart is damaged: moved aside, read as none (the events store, if any, still has its alerts)',
    );
    return [];
  }

  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#o.system.on('fall', this.#listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.system.off('fall', this.#listener);
    while (this.#writing !== null) await this.#writing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Resolves once what has changed so far is written (or failed, logged). */
  async flushed(): Promise<void> {
    while (this.#writing !== null) await this.#writing;
  }

  #changed(): void {
    this.#dirty = true;
    if (this.#writing !== null) return;
    this.#writing = this.#drain().finally(() => {
      this.#writing = null;
    });
  }

  async #drain(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      const alerts = this.#o.system.objects.falls().slice(-MAX_KEPT);
      const saved: Saved = { version: 1, written_at: Date.now() / 1000, alerts };
      try {
        await writeAtomically(this.#o.path, `${JSON.stringify(saved)}\n`);
      } catch (error) {
        this.#o.log.error(
          { code: 'ERR_FALL_STATE', file: this.#o.path, err: messageOf(error) },
          'falls: the standing alerts could not be kept in the state directory',
        );
      }
    }
  }
}

/** Writes `text` at `path` so that a crash leaves the old file or the new: a temporary file beside it, flushed, renamed over it. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  makeStateDir(dirname(path));
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    const file = await open(temporary, 'w', 0o600);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}
