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
 *   request round-robin, in the order they started waiting: a camera served
 *   goes to the back, so no camera is served twice while another waits,
 *   except by urgency. A camera flooding requests only replaces its own slot.
 *   Nothing running is ever interrupted: urgency decides only who is next.
 * - Every offered job leaves exactly once: run (given to `start`), or
 *   superseded (given to `supersede`), or drained by close().
 * The scheduler is synchronous and owns no timers; the server runs the job
 * and calls done() when its capacity is free again.
 */

export interface SchedulerHooks<J> {
  /** A job's turn: it holds one unit of capacity until done() is called for it. `urgent`: its slot was urgent. */
  readonly start: (job: J, key: string, urgent: boolean) => void;
  /** A job replaced by a newer one of its camera before it ran. */
  readonly supersede: (job: J, key: string) => void;
}

interface Slot<J> {
  readonly job: J;
  readonly urgent: boolean;
}

export class CameraScheduler<J> {
  readonly capacity: number;
  readonly #hooks: SchedulerHooks<J>;
  /** Cameras with a waiting job, in turn order (a Map keeps insertion order; replacing a value keeps its place). */
  readonly #waiting = new Map<string, Slot<J>>();
  /** Slots of #waiting that are urgent: none, and the front of the turn order is next. */
  #urgent = 0;
  #running = 0;

  constructor(capacity: number, hooks: SchedulerHooks<J>) {
    this.capacity = capacity;
    this.#hooks = hooks;
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

  /** A started job's capacity is free again. */
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

  /** The slot served next: the first urgent one in turn order, else the front. */
  #next(): [string, Slot<J>] | undefined {
    for (const entry of this.#waiting) if (this.#urgent === 0 || entry[1].urgent) return entry;
    return undefined;
  }

  #pump(): void {
    while (this.#running < this.capacity) {
      const next = this.#next();
      if (next === undefined) return;
      const [key, slot] = next;
      this.#waiting.delete(key);
      if (slot.urgent) this.#urgent--;
      this.#running++;
      this.#hooks.start(slot.job, key, slot.urgent);
    }
  }
}
