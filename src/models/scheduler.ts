/**
 * CameraScheduler: what a model server does with inference requests between
 * reading them and running them: the supplier's latest-frame rule carried
 * across the socket (ADR 0014). Not a FIFO: one waiting slot per camera.
 *
 * Contract:
 * - At most one request per camera waits. A newer request from a camera
 *   takes its waiting one's place (and its turn): the older one is handed
 *   back at once as superseded, never run. The camera's slot is urgent when
 *   any request that waited in it since it was last emptied was offered
 *   urgent (a replaced onset is still unanswered).
 * - Free capacity (the handler's model threads) serves an urgent slot first
 *   (protocol 3, ADR 0082): the first urgent one in turn order, before every
 *   slot that is not urgent. Otherwise it serves the cameras with a waiting
 *   request in turn order. The turn order is the model's time going round
 *   (ADR 0172): the camera whose last run is oldest first (one never run
 *   before every other), cameras alike in the order they started waiting. A
 *   run is what the owner reports with ran(): a job taken and then refused
 *   before the model (its frame too old, gone) is no run, so its camera stays
 *   ahead and a model asked more than it can do still looks at every camera
 *   once a round. So no camera is run twice while another waits, except by
 *   urgency. A camera flooding requests only replaces its own slot. Nothing
 *   running is ever interrupted: urgency decides only who is next.
 * - Batches (maxBatch > 1, ADR 0127): each unit of free capacity takes up to
 *   maxBatch waiting slots at once, by the same order (the urgent ones first,
 *   then the turn order), and gives them to `startBatch` as one job of its
 *   capacity. It takes only what waits: a batch is never held back to fill,
 *   so it is as large as the load makes it, one slot when one camera waits.
 * - Every offered job leaves exactly once: run (given to `start`, or in a
 *   batch to `startBatch`), or superseded (given to `supersede`), or drained
 *   by close().
 * The scheduler is synchronous and owns no timers; the server runs the job
 * and calls done() when its capacity is free again.
 */

import { RecentMap } from '../internal/recent-map.js';

/** Cameras whose last run is remembered: the most recently run; one forgotten counts as never run (first in turn). */
const REMEMBERED_RUNS = 4096;

export interface SchedulerHooks<J> {
  /** A job's turn: it holds one unit of capacity until done() is called for it. `urgent`: its slot was urgent. */
  readonly start: (job: J, key: string, urgent: boolean) => void;
  /** A job replaced by a newer one of its camera before it ran. */
  readonly supersede: (job: J, key: string) => void;
  /**
   * With maxBatch > 1: the jobs taken together, in the order taken (urgent first, then the turn order), holding one
   * unit of capacity until done() is called once for the batch.
   */
  readonly startBatch?: (batch: readonly TakenJob<J>[]) => void;
}

/** A job as a batch takes it: its camera and whether its slot was urgent. */
export interface TakenJob<J> {
  readonly job: J;
  readonly key: string;
  readonly urgent: boolean;
}

interface Slot<J> {
  readonly job: J;
  readonly urgent: boolean;
}

export class CameraScheduler<J> {
  readonly capacity: number;
  /** Slots one unit of capacity takes at once: 1, one job a unit (`start`); more, batches (`startBatch`). */
  readonly maxBatch: number;
  readonly #hooks: SchedulerHooks<J>;
  /** Cameras with a waiting job, in turn order (a Map keeps insertion order; replacing a value keeps its place). */
  readonly #waiting = new Map<string, Slot<J>>();
  /** Slots of #waiting that are urgent: none, and the front of the turn order is next. */
  #urgent = 0;
  #running = 0;
  /** Each camera's last run, as a count of runs (higher: more recent); absent: never run. */
  readonly #lastRun = new RecentMap<string, number>(REMEMBERED_RUNS);
  #runs = 0;

  constructor(capacity: number, hooks: SchedulerHooks<J>, maxBatch = 1) {
    this.capacity = capacity;
    this.#hooks = hooks;
    this.maxBatch = hooks.startBatch === undefined ? 1 : maxBatch;
  }

  /** Jobs running now. */
  get running(): number {
    return this.#running;
  }

  /** Cameras with a job waiting. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /**
   * Adds a camera's job: it replaces the camera's waiting job (superseded), keeping its turn, and its urgency.
   * `urgent`: the slot goes before every slot that is not (a camera's first frame after a still spell).
   */
  offer(key: string, job: J, urgent = false): void {
    const older = this.#waiting.get(key);
    const slot = { job, urgent: urgent || older?.urgent === true };
    if (slot.urgent && older?.urgent !== true) this.#urgent++;
    this.#waiting.set(key, slot);
    if (older !== undefined) this.#hooks.supersede(older.job, key);
    this.#pump();
  }

  /**
   * A taken job of `key` reached the model: its camera goes behind every camera run less recently. A job taken and
   * refused before the model (its frame too old or gone) is not reported, and its camera keeps its place ahead.
   */
  ran(key: string): void {
    this.#lastRun.set(key, ++this.#runs);
  }

  /** A started job's (or batch's) capacity is free again. */
  done(): void {
    if (this.#running > 0) this.#running--;
    this.#pump();
  }

  /** Takes every waiting job out (for a shutdown that cannot serve them). */
  drain(): [string, J][] {
    const all = [...this.#waiting].map(([key, slot]): [string, J] => [key, slot.job]);
    this.#waiting.clear();
    this.#urgent = 0;
    return all;
  }

  /**
   * The slot served next: among the urgent ones (all, when none is), the camera whose last run is oldest, the first
   * to start waiting among equals. One pass over the waiting cameras.
   */
  #next(): [string, Slot<J>] | undefined {
    let best: [string, Slot<J>] | undefined;
    let bestRun = Infinity;
    for (const entry of this.#waiting) {
      if (this.#urgent > 0 && !entry[1].urgent) continue;
      const run = this.#lastRun.get(entry[0]) ?? 0;
      if (run < bestRun) {
        best = entry;
        bestRun = run;
        if (run === 0) break; // never run: none goes before it but one that started waiting earlier
      }
    }
    return best;
  }

  /** Takes the slot served next out of the wait; undefined when none waits. */
  #take(): TakenJob<J> | undefined {
    const next = this.#next();
    if (next === undefined) return undefined;
    const [key, slot] = next;
    this.#waiting.delete(key);
    if (slot.urgent) this.#urgent--;
    return { job: slot.job, key, urgent: slot.urgent };
  }

  #pump(): void {
    while (this.#running < this.capacity && this.#waiting.size > 0) {
      if (this.maxBatch === 1) {
        const taken = this.#take()!;
        this.#running++;
        this.#hooks.start(taken.job, taken.key, taken.urgent);
        continue;
      }
      // What waits now, and nothing more: a batch is never held back for slots that may come.
      const batch: TakenJob<J>[] = [];
      for (let taken = this.#take(); taken !== undefined; taken = batch.length < this.maxBatch ? this.#take() : undefined) batch.push(taken);
      this.#running++;
      this.#hooks.startBatch!(batch);
    }
  }
}
