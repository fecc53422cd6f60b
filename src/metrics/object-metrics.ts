/**
 * Counters of what tracked objects do that only events carry: line
 * crossings (camera, line, direction, label) and zone dwells (camera, zone,
 * the threshold's seconds, label), counted as the system's `line` and
 * `dwell` events come, in O(1) each, on the registry given. Labels are
 * bounded by the config's lines and zones and the detectors' labels.
 * close() stops listening; idempotent.
 */
import { Counter, type Registry } from 'prom-client';
import type { DwellSystemEvent, LineEvent, VisionSystem } from '../pipeline/index.js';

export class ObjectMetrics {
  readonly #system: VisionSystem;
  readonly #lineCrossings: Counter<'camera' | 'line' | 'direction' | 'label'>;
  readonly #zoneDwells: Counter<'camera' | 'zone' | 'seconds' | 'label'>;
  #closed = false;

  readonly #onLine = (e: LineEvent): void => {
    const c = e.crossing;
    this.#lineCrossings.inc({ camera: c.camera, line: c.line, direction: c.direction, label: c.label });
  };
  readonly #onDwell = (e: DwellSystemEvent): void => {
    const d = e.dwell;
    this.#zoneDwells.inc({ camera: d.camera, zone: d.zone, seconds: String(d.seconds), label: d.label });
  };

  constructor(system: VisionSystem, registry: Registry) {
    this.#system = system;
    const registers = [registry];
    this.#lineCrossings = new Counter({
      name: 'framesupplier_line_crossings_total',
      help: 'Tracked objects that crossed a line, by camera, line, direction (in, out) and label.',
      labelNames: ['camera', 'line', 'direction', 'label'],
      registers,
    });
    this.#zoneDwells = new Counter({
      name: 'framesupplier_zone_dwells_total',
      help: "Tracked objects that stayed in a zone for one of its dwellSeconds, by camera, zone, the threshold's seconds and label.",
      labelNames: ['camera', 'zone', 'seconds', 'label'],
      registers,
    });
    system.on('line', this.#onLine);
    system.on('dwell', this.#onDwell);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#system.off('line', this.#onLine);
    this.#system.off('dwell', this.#onDwell);
  }
}
