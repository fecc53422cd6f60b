/**
 * Line counts, the MQTT sink's part for what crossings add up to: per line,
 * direction and label, retained on `<camera>/lines/<line>/<direction>/<label>/count`
 * (since start) and `…/count_last_hour` (over the last hour).
 *
 * Contract: a crossing publishes both at once; refresh() publishes every
 * known camera's last-hour counts again, each only if it changed (the
 * retained state compares), as old crossings fall out of the hour: the sink
 * calls it on its timer. Nothing for a camera the retained state does not
 * know.
 */
import type { EventOf, VisionSystem } from '../../pipeline/index.js';
import type { RetainedState } from '../retained/index.js';
import type { Topics } from '../broker/index.js';

export class LineCounts {
  readonly #system: VisionSystem;
  readonly #topics: Topics;
  readonly #retained: RetainedState;

  constructor(options: { system: VisionSystem; topics: Topics; retained: RetainedState }) {
    this.#system = options.system;
    this.#topics = options.topics;
    this.#retained = options.retained;
  }

  onCrossing({ crossing: c }: EventOf<'line'>): void {
    if (!this.#retained.knowsCamera(c.camera)) return;
    this.#retained.set(c.camera, this.#topics.lineCount(c.camera, c.line, c.direction, c.label), String(c.count));
    this.#retained.set(c.camera, this.#topics.lineCountLastHour(c.camera, c.line, c.direction, c.label), String(c.count_hour));
  }

  /** The last hour's line counts of every camera, each published if it changed (they fall as crossings age). */
  refresh(): void {
    for (const camera of this.#retained.cameras())
      for (const c of this.#system.objects.lineCounts(camera))
        this.#retained.set(camera, this.#topics.lineCountLastHour(camera, c.line, c.direction, c.label), String(c.lastHour));
  }
}
