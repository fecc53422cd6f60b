/**
 * From a path in the parsed config (keys and indexes) back to a line and column
 * in the YAML text, through aliases and merge keys. A path that leaves the
 * document (a missing key, a key YAML stringified) ends at its nearest
 * ancestor that is there, so every issue gets the best line there is.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { Segment } from './schema.js';

export interface Position {
  readonly line: number;
  readonly column: number;
}

/** Where an issue points: at a key (unknown key), at its value (bad value), or at the map that lacks a key. */
export type Anchor = 'key' | 'value' | 'parent';

const keyString = (key: unknown): string | undefined => {
  // A merge key (<<) is a Scalar whose value is a symbol.
  if (isScalar(key)) return typeof key.value === 'symbol' ? key.value.description : String(key.value);
  return typeof key === 'string' || typeof key === 'number' ? String(key) : undefined;
};

export class Locator {
  readonly #doc: Document;
  readonly #lines: LineCounter;

  constructor(doc: Document, lines: LineCounter) {
    this.#doc = doc;
    this.#lines = lines;
  }

  #position(offset: number | undefined): Position | undefined {
    if (offset === undefined) return undefined;
    const { line, col } = this.#lines.linePos(offset);
    return { line, column: col };
  }

  #resolve(value: unknown): unknown {
    // Aliases chain at most as deep as the document's anchors; a cycle cannot occur in a parsed document.
    let current = value;
    for (let i = 0; i < 64 && isAlias(current); i++) current = current.resolve(this.#doc);
    return current;
  }

  /** The pair for key in map, also through merge keys (<<: *base). */
  #pairIn(map: unknown, key: string, depth = 0): { key: unknown; value: unknown } | undefined {
    const resolved = this.#resolve(map);
    if (!isMap(resolved) || depth > 16) return undefined;
    for (const pair of resolved.items) if (isPair(pair) && keyString(pair.key) === key) return pair;
    for (const pair of resolved.items) {
      if (!isPair(pair) || keyString(pair.key) !== '<<') continue;
      const sources = this.#resolve(pair.value);
      for (const source of isSeq(sources) ? sources.items : [sources]) {
        const found = this.#pairIn(source, key, depth + 1);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }

  /** The line and column of path in the file, anchored as asked; undefined when nothing of it is there. */
  locate(path: readonly Segment[], anchor: Anchor): Position | undefined {
    const steps = anchor === 'parent' ? path.slice(0, -1) : path;
    let current: unknown = this.#doc.contents;
    let best: Position | undefined = this.#offsetOf(current);
    let keyNode: unknown;
    for (const [i, segment] of steps.entries()) {
      const container = this.#resolve(current);
      let next: unknown;
      keyNode = undefined;
      if (isSeq(container) && typeof segment === 'number') next = container.items[segment];
      else if (isMap(container)) {
        const pair = this.#pairIn(container, String(segment));
        if (pair !== undefined) {
          keyNode = pair.key;
          next = pair.value ?? pair.key;
        }
      }
      if (next === undefined || next === null) return best;
      const last = i === steps.length - 1;
      best = (last && anchor !== 'value' ? this.#offsetOf(keyNode) : undefined) ?? this.#offsetOf(next) ?? best;
      current = next;
    }
    return best;
  }

  #offsetOf(value: unknown): Position | undefined {
    const range = (value as Node | undefined)?.range;
    return Array.isArray(range) ? this.#position(range[0]) : undefined;
  }
}
