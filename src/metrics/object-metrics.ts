/**
 * Counters of what tracked objects do that only events carry: line
 * crossings (camera, line, direction, label) and zone dwells (camera, zone,
 * the threshold's seconds, label), counted as the system's `line` and
 * `dwell` events come, in O(1) each, on the registry given. Labels are
 * bounded by the config's lines and zones and the detectors' labels: a
 * removed camera's series go with it, and a line or zone removed from a
 * camera (replaced, or its areas edited) takes its series along, so a scrape
 * shows only what is configured.
 * close() stops listening; idempotent.
 */
import { Counter, type Registry } from 'prom-client';
import type { ConfigChangeEvent, DwellSystemEvent, LineEvent, VisionSystem } from '../pipeline/index.js';

type LineLabels = { camera: string; line: string; direction: string; label: string };
type DwellLabels = { camera: string; zone: string; seconds: string; label: string };

export class ObjectMetrics {
  readonly #system: VisionSystem;
  readonly #lineCrossings: Counter<'camera' | 'line' | 'direction' | 'label'>;
  readonly #zoneDwells: Counter<'camera' | 'zone' | 'seconds' | 'label'>;
  #closed = false;

  /** The series made so far, by their labels' key: what a removal takes away. */
  readonly #lineSeries = new Map<string, LineLabels>();
  readonly #dwellSeries = new Map<string, DwellLabels>();

  readonly #onLine = (e: LineEvent): void => {
    const c = e.crossing;
    const labels: LineLabels = { camera: c.camera, line: c.line, direction: c.direction, label: c.label };
    this.#lineSeries.set(JSON.stringify(labels), labels);
    this.#lineCrossings.inc(labels);
  };
  readonly #onDwell = (e: DwellSystemEvent): void => {
    const d = e.dwell;
    const labels: DwellLabels = { camera: d.camera, zone: d.zone, seconds: String(d.seconds), label: d.label };
    this.#dwellSeries.set(JSON.stringify(labels), labels);
    this.#zoneDwells.inc(labels);
  };
  readonly #onChange = (e: ConfigChangeEvent): void => {
    if (e.camera === null || !(e.change === 'camera-removed' || e.change === 'camera-replaced' || e.change === 'camera-areas')) return;
    const camera = e.camera;
    const lines = new Set(e.change === 'camera-removed' ? [] : this.#system.objects.lines(camera).map((l) => l.name));
    const zones = new Set(e.change === 'camera-removed' ? [] : this.#system.objects.zones(camera).map((z) => z.name));
    for (const [key, labels] of this.#lineSeries)
      if (labels.camera === camera && !lines.has(labels.line)) {
        this.#lineCrossings.remove(labels);
        this.#lineSeries.delete(key);
      }
    for (const [key, labels] of this.#dwellSeries)
      if (labels.camera === camera && !zones.has(labels.zone)) {
        this.#zoneDwells.remove(labels);
        this.#dwellSeries.delete(key);
      }
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
    system.on('config-change', this.#onChange);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#system.off('line', this.#onLine);
    this.#system.off('dwell', this.#onDwell);
    this.#system.off('config-change', this.#onChange);
  }
}
