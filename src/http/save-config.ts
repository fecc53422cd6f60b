/**
 * `--save-config`: changes made through the API written back to the config
 * file, off by default.
 *
 * Contract: the file is edited, not regenerated: its comments, defaults,
 * anchors and `${ENV}` references stay as written; a camera added or
 * replaced is written as the API was given it (so a secret given as
 * `${ENV}` stays a reference), a removed one is deleted, and a worker
 * disabled or enabled gets `enabled: false` / loses it, and a camera's
 * zones, masks and lines drawn in the dashboard's editor replace those three
 * keys of its entry only (none of a kind: the key goes). Written to a
 * temporary file beside it, then renamed: a crash leaves the old file or the
 * new one, never half of one. Changes are written one at a time, in order.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, parseDocument, visit, type Document } from 'yaml';
import { HttpError } from './errors.js';

export type ConfigEdit =
  | { readonly kind: 'set-camera'; readonly id: string; readonly entry: unknown }
  | { readonly kind: 'remove-camera'; readonly id: string }
  | { readonly kind: 'worker-enabled'; readonly camera: string | null; readonly worker: string; readonly enabled: boolean }
  | { readonly kind: 'set-areas'; readonly id: string; readonly areas: { readonly zones: object; readonly masks: readonly unknown[]; readonly lines: object } };

/** Applies the edit to the document; false when the file has nothing it applies to (nothing to write). */
function apply(doc: Document, edit: ConfigEdit): boolean {
  switch (edit.kind) {
    case 'set-camera':
      if (!isMap(doc.get('cameras'))) doc.set('cameras', doc.createNode({}));
      doc.setIn(['cameras', edit.id], doc.createNode(edit.entry));
      return true;
    case 'remove-camera':
      return doc.deleteIn(['cameras', edit.id]);
    case 'set-areas': {
      // A camera the file does not have: added through the API before saving was on, or given by a cluster's bus.
      if (!isMap(doc.getIn(['cameras', edit.id]))) return false;
      const { zones, masks, lines } = edit.areas;
      const empty = (v: object): boolean => (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0);
      for (const [key, value] of [
        ['zones', zones],
        ['masks', masks],
        ['lines', lines],
      ] as const) {
        if (empty(value)) doc.deleteIn(['cameras', edit.id, key]);
        else doc.setIn(['cameras', edit.id, key], pointsInFlow(doc.createNode(value)));
      }
      return true;
    }
    case 'worker-enabled': {
      let worker: unknown;
      if (edit.camera === null) worker = doc.getIn(['shared', edit.worker]);
      else {
        const workers = doc.getIn(['cameras', edit.camera, 'workers']);
        if (isSeq(workers)) worker = workers.items.find((w) => isMap(w) && w.get('id') === edit.worker);
      }
      if (!isMap(worker)) return false; // inherited or not in the file: nothing to write
      if (edit.enabled) worker.delete('enabled');
      else worker.set('enabled', false);
      return true;
    }
  }
}

/** Lists of numbers and of points on one line each (`polygon: [[0.1, 0.2], …]`), as a person writes them; maps stay blocks. */
function pointsInFlow<T>(node: T): T {
  visit(node as Parameters<typeof visit>[0], {
    Seq(_key, seq) {
      if (seq.items.every((i) => isScalar(i) || (isSeq(i) && i.items.every((j) => isScalar(j))))) seq.flow = true;
    },
  });
  return node;
}

export class ConfigSaver {
  readonly path: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  /**
   * Writes one change to the file (after the ones before it): true once written, false when the file has nothing it
   * applies to (left as it is). ERR_HTTP_SAVE_CONFIG when it cannot: the change itself stands.
   */
  save(edit: ConfigEdit): Promise<boolean> {
    const run = this.#queue.then(async () => {
      try {
        const doc = parseDocument(await readFile(this.path, 'utf8'));
        const broken = doc.errors[0];
        if (broken !== undefined) {
          // Where and what kind, never yaml's message: it quotes the file's lines, which may hold a camera password.
          const at = broken.linePos?.[0];
          throw new Error(`it no longer parses (${broken.code}${at === undefined ? '' : ` at line ${at.line}, column ${at.col}`})`);
        }
        if (!apply(doc, edit)) return false;
        const temp = `${this.path}.${process.pid}.tmp`;
        await writeFile(temp, doc.toString(), { mode: 0o600 });
        await rename(temp, this.path);
        return true;
      } catch (error) {
        throw new HttpError('ERR_HTTP_SAVE_CONFIG', `the change was made but could not be saved to the config file: ${(error as Error).message}`, {
          cause: error,
        });
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
