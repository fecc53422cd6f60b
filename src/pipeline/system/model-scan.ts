/**
 * `models.discover` (ADR 0046): every `<id>.sock` in the directory is a model while it answers, named by no
 * entry or worker; it stops being one when its socket goes, or when it has not answered for a while (a
 * server killed leaves its socket file: it comes back when a server binds the path anew). Models that workers
 * name stay, waited for, as any model whose server is away.
 *
 * Contract: scanned every second while the system runs (no inotify across containers), one scan at a time;
 * a found model is started as a model service in the system's map and closed when it goes. start() and
 * close() are idempotent; the timer does not hold the process open.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MODEL_TIMEOUT_MS } from '../../config/index.js';
import { isId } from '../../internal/ids.js';
import type { SystemCore } from './system-core.js';
import { modelService } from './system-build.js';

/** How often the directory is listed: a server that binds its socket there is a model within this. */
const MODEL_SCAN_MS = 1_000;
/** Scans in a row a found model may not answer before it stops being one (its server killed, its socket left). */
const FOUND_SILENT_SCANS = 5;

export class ModelDirectoryScan {
  #timer: NodeJS.Timeout | null = null;
  #scanning = false;
  #closed = false;
  readonly #core: SystemCore;
  /** Models found in the directory (no entry, no worker naming them): scans in a row without an answer. */
  readonly #found = new Map<string, number>();
  /** Sockets left by servers that stopped answering (their mtime): not a model again until bound anew. */
  readonly #staleSockets = new Map<string, number>();

  /** Scans the config's `models.discover` directory, if it has one. */
  constructor(core: SystemCore) {
    this.#core = core;
  }

  /** Scans now, then every second; nothing without a directory. Idempotent; a closed scan stays closed. */
  start(): void {
    if (this.#timer !== null || this.#closed) return;
    const directory = this.#core.config.modelDirectory;
    if (directory === undefined) return;
    this.#timer = setInterval(() => this.#scan(directory), MODEL_SCAN_MS);
    this.#timer.unref();
    this.#scan(directory);
  }

  /** Stops scanning (a scan under way finds the system no longer running and changes nothing). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #running(): boolean {
    return this.#core.state === 'running';
  }

  #scan(directory: string): void {
    if (this.#scanning || !this.#running()) return;
    this.#scanning = true;
    const models = this.#core.models;
    void readdir(directory, { withFileTypes: true })
      .catch(() => [])
      .then(async (entries) => {
        if (!this.#running()) return;
        const present = new Map<string, number>();
        for (const entry of entries) {
          const name = entry.name.endsWith('.sock') ? entry.name.slice(0, -'.sock'.length) : '';
          if (!isId(name)) continue;
          const modified = await stat(join(directory, entry.name)).then(
            (s) => (s.isSocket() ? s.mtimeMs : null),
            () => null,
          );
          if (modified !== null) present.set(name, modified);
        }
        if (!this.#running()) return;
        for (const [name, modified] of present) {
          if (models.has(name) || this.#staleSockets.get(name) === modified) continue;
          this.#staleSockets.delete(name);
          const model = modelService(this.#core, name, { discover: directory, modelId: name, timeoutMs: MODEL_TIMEOUT_MS });
          this.#core.addModel(name, model);
          this.#found.set(name, 0);
          model.start();
          this.#core.log.info({ model: name, directory }, 'model found in the models directory');
        }
        for (const [name, misses] of this.#found) {
          const model = models.get(name);
          if (model === undefined || this.#namedByWorkers(name)) continue;
          const ready = model.stats().state === 'ready';
          const gone = !present.has(name);
          const silent = ready ? 0 : misses + 1;
          this.#found.set(name, silent);
          if (!gone && silent < FOUND_SILENT_SCANS) continue;
          if (!gone) this.#staleSockets.set(name, present.get(name)!);
          this.#found.delete(name);
          this.#core.dropModel(name);
          void model.close();
          this.#core.log.info({ model: name, why: gone ? 'its socket is gone' : 'its server does not answer' }, 'model gone from the models directory');
        }
      })
      .finally(() => {
        this.#scanning = false;
      });
  }

  /** Whether a worker of a camera or a shared worker names this model. */
  #namedByWorkers(model: string): boolean {
    const names = (w: { readonly model?: string }): boolean => w.model === model;
    return (
      [...this.#core.cameras.values()].some((c) => c.config.workers.some((w) => names(w as { model?: string }))) ||
      Object.values(this.#core.config.shared ?? {}).some((w) => names(w as { model?: string }))
    );
  }
}
