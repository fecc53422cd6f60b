/**
 * CameraScheduler: what a model server does with inference requests between
 * reading them and running them: the supplier's latest-frame rule carried
 * across the socket (ADR 0014). Not a FIFO: one waiting slot per camera.
 *
 * Contract:
 * - At most one request per camera waits. A newer request from a camera
 *   takes its waiting one's place (and its turn): the older one is handed
 *   back at once as superseded, never run.
 * - Free capacity (the handler's model threads) serves the cameras with a
 *   waiting request round-robin, in the order they started waiting: a camera
 *   served goes to the back, so no camera is served twice while another
 *   waits. A camera flooding requests only replaces its own slot.
 * - Every offered job leaves exactly once: run (given to `start`), or
 *   superseded (given to `supersede`), or drained by close().
 * The scheduler is synchronous and owns no timers; the server runs the job
 * and calls done() when its capacity is free again.
 */

export interface SchedulerHooks<J> {
  /** A job's turn: it holds one unit of capacity until done() is called for it. */
  readonly start: (job: J, key: string) => void;
  /** A job replaced by a newer one of its camera before it ran. */
  readonly supersede: (job: J, key: string) => void;
}

export class CameraScheduler<J> {
  readonly capacity: number;
  readonly #hooks: SchedulerHooks<J>;
  /** Cameras with a waiting job, in turn order (a Map keeps insertion order; replacing a value keeps its place). */
  readonly #waiting = new Map<string, J>();
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

  /** Adds a camera's job: it replaces the camera's waiting job (superseded), keeping its turn. */
  offer(key: string, job: J): void {
    const older = this.#waiting.get(key);
    this.#waiting.set(key, job);
    if (older !== undefined) this.#hooks.supersede(older, key);
    this.#pump();
  }

  /** A started job's capacity is free again. */
  done(): void {
    if (this.#running > 0) this.#running--;
    this.#pump();
  }

  /** Takes every waiting job out (for a shutdown that cannot serve them). */
  drain(): [string, J][] {
    const all = [...this.#waiting];
    this.#waiting.clear();
    return all;
  }

  #pump(): void {
    while (this.#running < this.capacity) {
      const next = this.#waiting.entries().next();
      if (next.done === true) return;
      const [key, job] = next.value;
      this.#waiting.delete(key);
      this.#running++;
      this.#hooks.start(job, key);
    }
  }
}
