/**
 * Which of the MQTT sink's parts each system event goes to, and what a
 * config change does to what they hold.
 *
 * Contract:
 * - SINK_EVENT_TYPES are the system events the sink reads; route() hands
 *   one to its parts and returns (nothing here waits on the broker).
 * - Retained state is kept only for cameras the retained state knows (taken
 *   from the system's stats: takeSnapshot()); an event of another camera (one
 *   being removed, one not yet taken) is not published.
 * - A camera added is taken; one replaced or whose areas changed is
 *   forgotten (its workers may differ) and taken again; one removed ends its
 *   events in progress and has its retained topics cleared, its results and
 *   silence forgotten. A worker enabled, disabled or restarted has its state
 *   published again (answering a command that changed nothing too).
 * - Once the system runs, every camera and shared worker is taken, the sink
 *   is told (`onRunning`) and the sweep may begin. Events the system's
 *   stream dropped for this slow reader are counted (`eventsLost`).
 */
import type { EventOf, SystemEvent, VisionSystem } from '../../pipeline/index.js';
import type { SinkParts } from './sink-parts.js';

export const SINK_EVENT_TYPES = [
  'system-state',
  'camera-state',
  'worker-state',
  'result',
  'objective',
  'config-change',
  'tracked-object',
  'zone-count',
  'line',
  'dwell',
  'motion',
  'summary',
  'silence',
  'fall',
  'fall-notify',
  'fall-room',
  'events-lost',
] as const;

export interface SinkEventRouterOptions {
  readonly system: VisionSystem;
  readonly parts: SinkParts;
  /** The system runs and the retained state has taken its cameras. */
  readonly onRunning: () => void;
}

export class SinkEventRouter {
  readonly #system: VisionSystem;
  readonly #parts: SinkParts;
  readonly #onRunning: () => void;
  #eventsLost = 0;

  constructor(options: SinkEventRouterOptions) {
    this.#system = options.system;
    this.#parts = options.parts;
    this.#onRunning = options.onRunning;
  }

  /** System events the stream dropped before the sink read them. */
  get eventsLost(): number {
    return this.#eventsLost;
  }

  route(event: SystemEvent): void {
    const { results, answers, events, lineCounts, retained, silence, falls, sweep } = this.#parts;
    switch (event.type) {
      case 'result':
        results.onResult(event);
        answers.onResult(event);
        events.onResult(event);
        return;
      case 'tracked-object':
        events.onTracked(event);
        return;
      case 'zone-count':
        events.onZoneCount(event);
        return;
      case 'line':
        lineCounts.onCrossing(event);
        events.onLineOrDwell(event);
        return;
      case 'dwell':
        events.onLineOrDwell(event);
        return;
      case 'camera-state':
        if (retained.knowsCamera(event.camera)) retained.cameraState(event.camera, event.state, event.lastError, event.at);
        return;
      case 'worker-state':
        if (event.camera === null || retained.knowsCamera(event.camera)) retained.workerState(event.camera, event.worker, event.to, event.lastExit, event.at);
        return;
      case 'objective':
        if (event.camera === null || retained.knowsCamera(event.camera)) retained.workerObjective(event);
        return;
      case 'motion':
        if (retained.knowsCamera(event.camera)) retained.cameraMotion(event.camera, event.state === 'on');
        return;
      case 'fall':
        falls.onFall(event);
        return;
      case 'fall-notify':
        falls.onNotify(event);
        return;
      case 'fall-room':
        falls.refresh(event.camera);
        return;
      case 'summary':
        // The camera's latest summary (ADR 0073), retained: Home Assistant's summary sensor reads it.
        if (retained.knowsCamera(event.camera)) retained.summary(event.camera, event.summary);
        return;
      case 'silence':
        silence.onSilence(event);
        return;
      case 'config-change':
        this.#onConfigChange(event);
        return;
      case 'system-state':
        // The config's cameras and shared workers exist once the system runs.
        if (event.state === 'running') {
          this.takeSnapshot();
          this.#onRunning();
          sweep.begin(); // if connected and not swept yet
        }
        return;
      case 'events-lost':
        this.#eventsLost += event.count;
        return;
      default:
        return;
    }
  }

  /** The retained state of every camera (or one), its silence when it is care-critical, and its person-down state. */
  takeSnapshot(only?: string): void {
    const stats = this.#system.stats();
    this.#parts.retained.takeSnapshot(stats, only);
    this.#parts.silence.takeSnapshot(stats, only);
    this.#parts.falls.takeCameras(only === undefined ? Object.keys(stats.cameras) : [only]);
  }

  #onConfigChange(event: EventOf<'config-change'>): void {
    const { events, retained, results, silence } = this.#parts;
    const camera = event.camera;
    if (camera === null) return;
    switch (event.change) {
      case 'camera-added':
        this.takeSnapshot(camera);
        return;
      case 'camera-replaced':
      case 'camera-areas':
        // Its workers may differ: forget the old camera's topics, then take the new one's.
        retained.forgetCamera(camera, false);
        results.forgetCamera(camera);
        this.takeSnapshot(camera);
        return;
      case 'camera-removed':
        events.endAll(Date.now(), camera);
        retained.forgetCamera(camera, true);
        results.forgetCamera(camera);
        silence.forgetCamera(camera);
        return;
      default:
        // enabled, disabled, restarted: the worker-state events say it; answer a command that changed nothing too.
        if (event.worker !== null) retained.republishWorker(camera, event.worker);
    }
  }
}
