/**
 * When each recent packet arrived, by its presentation time: what dates a
 * picture decoded later from a packet that was held (ADR 0052), and what
 * finds the packet captured nearest a time a snapshot asks for.
 *
 * Contract: of(pts) answers the latest arrival recorded for a presentation
 * time within half a millisecond of pts, among the last `capacity`
 * presentation times recorded (one recorded again is the latest, its earlier
 * arrival forgotten); nearest(t) the presentation time whose capture time is
 * nearest t (the earliest recorded of equals). Pure, no clock.
 *
 * Kept by the presentation time rounded to the millisecond, so that a
 * picture's look-up costs the same whatever is held: a decoded stream's
 * picture is looked up every frame, and most are not there (only held
 * packets are), which a scan of the whole record paid in full.
 */
import { RecentMap } from '../internal/recent-map.js';
import type { PictureTimes } from './on-demand.js';

export interface Arrival extends Omit<PictureTimes, 'decodedTime'> {
  readonly ptsMs: number;
}

interface Entry {
  readonly arrival: Arrival;
  readonly seq: number;
}

export class Arrivals {
  /** By Math.round(ptsMs), in the order recorded (a key recorded again moves to the end). */
  readonly #byKey: RecentMap<number, Entry>;
  #seq = 0;

  constructor(capacity: number) {
    this.#byKey = new RecentMap(capacity);
  }

  get size(): number {
    return this.#byKey.size;
  }

  add(arrival: Arrival): void {
    if (!(arrival.ptsMs >= 0)) return;
    const key = Math.round(arrival.ptsMs);
    this.#byKey.set(key, { arrival, seq: this.#seq++ });
  }

  /** The latest arrival recorded for a presentation time within 0.5 ms of ptsMs; null if none. */
  of(ptsMs: number): Arrival | null {
    if (!(ptsMs >= 0)) return null;
    const key = Math.round(ptsMs);
    let best: Entry | null = null;
    // Within 0.5 ms of ptsMs, a time rounds to its key or to one of the two beside it.
    for (let k = key - 1; k <= key + 1; k++) {
      const e = this.#byKey.get(k);
      if (e !== undefined && Math.abs(e.arrival.ptsMs - ptsMs) < 0.5 && (best === null || e.seq > best.seq)) best = e;
    }
    return best?.arrival ?? null;
  }

  /** The presentation time of the arrival captured nearest `near` (the earliest recorded of equals); null if none. */
  nearest(near: number): number | null {
    let best: Arrival | null = null;
    for (const { arrival } of this.#byKey.values())
      if (best === null || Math.abs(arrival.captureTime - near) < Math.abs(best.captureTime - near)) best = arrival;
    return best?.ptsMs ?? null;
  }

  clear(): void {
    this.#byKey.clear();
  }
}
