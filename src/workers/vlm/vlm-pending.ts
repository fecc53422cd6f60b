/**
 * A vlm worker's objects waiting for its model (ADR 0067): frames are never
 * queued, objects wait, since an object's pixels are renewed on every frame
 * it is seen in. At most one entry per object (the interval trigger is one
 * more), at most `capacity` entries.
 *
 * Contract: add() says what became of a trigger (a new entry, merged into
 * the object's entry, or refused for a full set); take() removes and returns
 * the entry to ask about next: the best priority (a fall, then zone and
 * loitering, then new, then end, then the interval), the oldest first
 * trigger within one.
 * Nothing here reads a frame: the picture is cut when an entry is taken.
 */
import type { VlmObject, VlmTrigger, VlmTriggerKind } from './vlm-triggers.js';

/** Default size of a worker's pending set: more objects than a camera's scene usually holds at once. */
export const DEFAULT_VLM_PENDING = 16;

/** Which waiting object goes first (lower first), then the oldest trigger: a person down before all, a zone says more than an arrival. */
const PRIORITY: Readonly<Record<VlmTriggerKind, number>> = { fall: -1, zone: 0, loitering: 0, new: 1, end: 2, interval: 3 };

/** An object (or the interval) waiting for the model. */
export interface PendingAsk {
  readonly key: string;
  trigger: VlmTrigger;
  /** Wall clock of its first trigger (ms). */
  readonly at: number;
  /** Capture time (wall clock, ms) of the frame its trigger saw; the picture must be newer. null: any. */
  readonly triggerFrame: number | null;
  /** When it ended while waiting (wall clock ms), with its last state; null: alive. */
  endedAt: number | null;
  last: VlmObject | null;
}

/** The entry key of a trigger: its object's id, or the interval's own. */
export function pendingKey(trigger: VlmTrigger): string {
  return trigger.object === null ? '\u0000interval' : trigger.object.id;
}

export class PendingObjects {
  readonly capacity: number;
  readonly #entries = new Map<string, PendingAsk>();

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** A trigger at `now`: a new entry, merged into its object's (the better trigger kept, the first time), or refused. */
  add(trigger: VlmTrigger, now: number): 'added' | 'merged' | 'full' {
    const key = pendingKey(trigger);
    const queued = this.#entries.get(key);
    if (queued !== undefined) {
      if (PRIORITY[trigger.kind] < PRIORITY[queued.trigger.kind]) queued.trigger = trigger;
      return 'merged';
    }
    if (this.#entries.size >= this.capacity) return 'full';
    const frameTime = trigger.object?.frame_time;
    this.#entries.set(key, {
      key,
      trigger,
      at: now,
      triggerFrame: frameTime === undefined ? null : Math.round(frameTime * 1000),
      endedAt: trigger.kind === 'end' ? now : null,
      last: trigger.kind === 'end' ? trigger.object : null,
    });
    return 'added';
  }

  /** The object ended: a waiting entry of it is asked about from its snapshot (or dropped when that is too late). */
  ended(object: VlmObject, now: number): void {
    const entry = this.#entries.get(object.id);
    if (entry !== undefined && entry.endedAt === null) {
      entry.endedAt = now;
      entry.last = object;
    }
  }

  /** The entry to ask about next, without taking it; null when none waits. */
  peek(): PendingAsk | null {
    let chosen: PendingAsk | null = null;
    for (const entry of this.#entries.values()) {
      const [p, q] = chosen === null ? [0, 1] : [PRIORITY[entry.trigger.kind], PRIORITY[chosen.trigger.kind]];
      if (chosen === null || p < q || (p === q && entry.at < chosen.at)) chosen = entry;
    }
    return chosen;
  }

  /** Whether an entry of this key (an object's id) waits. */
  has(key: string): boolean {
    return this.#entries.has(key);
  }

  delete(entry: PendingAsk): void {
    this.#entries.delete(entry.key);
  }

  /** Everything still waiting, removed (the worker stopped); returns how many. */
  clear(): number {
    const n = this.#entries.size;
    this.#entries.clear();
    return n;
  }
}
