/**
 * The system's one stream of events: a union told apart by `type`, which every
 * sink (results writer, MQTT, metrics, dashboard) subscribes to; nothing in
 * the core imports a sink.
 *
 * Contract: listeners are called synchronously, in order, when the event
 * happens; a listener that throws is logged and the others still run. An
 * events() iterator buffers at most `bufferSize` events for a slow consumer:
 * past that the oldest are dropped (latency over completeness, as for frames)
 * and the consumer is told how many with an `events-lost` event. Iterators
 * end when their signal aborts or the system closes.
 */
import type { CaptureErrorRecord, CaptureState } from '../../capture/index.js';
import { abortable } from '../../internal/abort.js';
import { InvalidArgumentError } from '../../supplier/index.js';
import type { LastExit, WorkerState } from '../../workers/index.js';
import type { DwellEvent, LineCrossingEvent, SnapshotRequest, TrackedEvent } from '../../objects/index.js';
import type { CameraSilence, FallAlert, FallEvent, WorkerSilence } from '../../care/index.js';
import type { Criticality } from './config-types.js';
import type { WorkerProfile } from './worker-profile.js';
import type { Summary } from './summaries.js';
import type { FreshnessObjective, WindowStats } from './freshness.js';
import type { ShedReport } from './decode-shedding.js';

export type SystemState = 'created' | 'starting' | 'running' | 'closing' | 'closed';
/** A capture's state, or 'disabled' (enabled: false in its config). */
export type CameraState = CaptureState | 'disabled';
/** A supervised worker's state: 'disabled' after workers.setEnabled(…, false) or with enabled: false. */
export type PipelineWorkerState = WorkerState;
/**
 * A model server's state. Started servers: starting → ready → (backoff →
 * starting → ready …) → stopped. Servers someone else runs: connecting ↔
 * ready, by ping.
 */
export type ModelState = 'starting' | 'connecting' | 'ready' | 'backoff' | 'stopped';

export interface ModelExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** Why: the process's exit, a failed health check, a start timeout; with the last stderr line. */
  readonly message: string;
  /** Wall clock. */
  readonly at: number;
}

interface Base {
  /** Wall clock (Date.now()). */
  readonly at: number;
}

export interface SystemStateEvent extends Base {
  readonly type: 'system-state';
  readonly state: SystemState;
}

export interface CameraStateEvent extends Base {
  readonly type: 'camera-state';
  readonly camera: string;
  readonly state: CameraState;
  readonly lastError: CaptureErrorRecord | null;
}

export interface WorkerStateEvent extends Base {
  readonly type: 'worker-state';
  /** The worker's camera; null for a shared worker. */
  readonly camera: string | null;
  readonly worker: string;
  readonly shared: boolean;
  readonly from: PipelineWorkerState;
  readonly to: PipelineWorkerState;
  /** Why its last incarnation ended badly, with `code`, the project code behind it where one is known. */
  readonly lastExit: LastExit | null;
}

export interface ResultEvent extends Base {
  readonly type: 'result';
  /** The camera the frame came from (also for a shared worker). */
  readonly camera: string;
  readonly worker: string;
  readonly shared: boolean;
  /** What the worker is (kind, model, age budget, tracking…): the one its pipeline built, the same object for each of its results. */
  readonly profile: WorkerProfile;
  readonly seq: number;
  /** Monotonic capture time of the frame (ms, this process's performance.now()). */
  readonly captureTime: number;
  /** Wall-clock capture time. */
  readonly wallTime: number;
  /** The frame's age when the result was emitted (capture → result, ms): how old what a user acts on is (ADR 0041). */
  readonly ageMs: number;
  /** What the worker answered: for a model, { detections, metadata, frame_id } or { detections: [], error }. */
  readonly output: unknown;
}

export interface DropAlertEvent extends Base {
  readonly type: 'drop-alert';
  readonly camera: string | null;
  readonly worker: string;
  readonly shared: boolean;
  readonly criticality: Criticality;
  readonly state: 'raised' | 'recovered';
  /** Drops ÷ (drops + delivered) over the window; frames let pass by maxFps are not drops. */
  readonly dropRatio: number;
  readonly threshold: number;
  readonly windowMs: number;
}

/**
 * A worker missed its freshness objective (its age budget, its skip tolerance) over the last seconds, or meets it
 * again (ADR 0042): why, from measured figures, and what would fix it. One `missed` and one `met` per episode.
 */
export interface ObjectiveEvent extends Base {
  readonly type: 'objective';
  readonly camera: string | null;
  readonly worker: string;
  readonly shared: boolean;
  readonly state: 'missed' | 'met';
  readonly objective: FreshnessObjective;
  /** The span it was judged over: frames offered and missed, results and the share within the age budget. */
  readonly figures: WindowStats;
  /** Frames it works on per second (taken, for a model worker). */
  readonly fps: number;
  /** One line: what it misses and why, with the figures ("person serves 7.9 frames/s on 1 thread; …"). */
  readonly reason: string;
  /** What would fix it, most direct first (empty once met). */
  readonly fix: readonly string[];
  /** Its model's capacity (frames/s on its threads) and this worker's fair share of it; null without a model. */
  readonly capacityFps: number | null;
  readonly shareFps: number | null;
  /**
   * A missed alert while the machine is saturated and decoding nobody needs now was shed (ADR 0115): what, what it
   * cost and why, with a stable `code` (`main-decoding-shed`) and `cause` (`cpu-saturated`); null otherwise.
   */
  readonly shed: ShedReport | null;
}

export interface ModelStateEvent extends Base {
  readonly type: 'model-state';
  readonly model: string;
  readonly from: ModelState;
  readonly to: ModelState;
  readonly pid: number | null;
  readonly restarts: number;
  readonly lastExit: ModelExit | null;
}

export type ConfigChange =
  | 'camera-added'
  | 'camera-replaced'
  | 'camera-removed'
  | 'worker-enabled'
  | 'worker-disabled'
  | 'worker-restarted'
  /** A camera's zones, masks or lines, changed while it runs (setCameraAreas): no restart, tracked objects kept. */
  | 'camera-areas';

export interface ConfigChangeEvent extends Base {
  readonly type: 'config-change';
  readonly change: ConfigChange;
  readonly camera: string | null;
  readonly worker: string | null;
  readonly shared: boolean;
}

/** A tracked object's new, update or end (Frigate's payload), from a worker with `track` on. */
export interface TrackedObjectEvent extends Base {
  readonly type: 'tracked-object';
  readonly worker: string;
  readonly event: TrackedEvent;
  /** Set when this frame gave the object a better score: a snapshot of it is wanted (at most once a second per object). */
  readonly snapshot: SnapshotRequest | null;
}

/** Objects of a label in a zone now, when the count changed. */
export interface ZoneCountEvent extends Base {
  readonly type: 'zone-count';
  readonly camera: string;
  readonly worker: string;
  readonly zone: string;
  readonly label: string;
  readonly count: number;
}

/** A tracked object crossed one of its camera's lines (the crossing's fields, with its counts after it). */
export interface LineEvent extends Base {
  readonly type: 'line';
  readonly crossing: LineCrossingEvent;
}

/** A tracked object has been in a zone for one of the zone's dwellSeconds. */
export interface DwellSystemEvent extends Base {
  readonly type: 'dwell';
  readonly dwell: DwellEvent;
}

/**
 * A camera's motion (ADR 0066): `on` at the first frame with motion after it was off, `off` once MOTION_OFF_MS
 * passed without any (a camera with `motion`, or a gated worker). For Home Assistant's motion binary_sensor.
 */
export interface MotionEvent extends Base {
  readonly type: 'motion';
  readonly camera: string;
  readonly state: 'on' | 'off';
}

/** A summary of a stretch of a camera's time was made (ADR 0073): kept in the events store, published on MQTT. */
export interface SummaryEvent extends Base {
  readonly type: 'summary';
  readonly camera: string;
  readonly summary: Summary;
}

/**
 * A care-critical worker's silence alarm (ADR 0138) raised (no result on a frame captured within its silence), its
 * reason updated, or cleared (a fresh result came, or it is no longer watched), with its camera's silence after it.
 */
export interface SilenceEvent extends Base {
  readonly type: 'silence';
  readonly camera: string;
  readonly worker: string;
  readonly state: 'raised' | 'updated' | 'cleared';
  readonly silence: WorkerSilence;
  readonly cameraSilence: CameraSilence;
}

/**
 * A fall or person-down alert's new, update or end (ADR 0132; Frigate's `{ type, before, after }` of FallAlert):
 * `new` when raised, `update` when raised again (not acknowledged), acknowledged, given a snapshot or a vision
 * model's answer, `end` when the person is up again or gone; an `update` may follow an `end` (an acknowledgement).
 */
export interface FallSystemEvent extends Base {
  readonly type: 'fall';
  readonly event: FallEvent;
  /** Set with `new`: a snapshot of the person down is wanted (its id is the alert's). */
  readonly snapshot: SnapshotRequest | null;
}

/**
 * An escalation step of a fall alert is due (ADR 0159): whoever delivers its targets (the MQTT sink its `mqtt`
 * topics, the app's webhooks its `webhook` URLs, read from the worker's profile: `falls.escalate[step]`) sends it
 * and says how it went (system.objects.fallNotified), which the alert's log keeps. The alert is as it was when the
 * step fell due. The event names the targets as they may be shown (never a webhook's URL: it may carry a token).
 */
export interface FallNotifySystemEvent extends Base {
  readonly type: 'fall-notify';
  readonly alert: FallAlert;
  /** The step's index (0 first), and how many steps its worker has. */
  readonly step: number;
  readonly steps: number;
  /** The step's targets as they may be shown (targetLabel). */
  readonly targets: readonly string[];
}

/** A single-occupancy room turned assisted (two or more people tracked: a carer with the resident) or back to watched alone (ADR 0158). */
export interface FallRoomSystemEvent extends Base {
  readonly type: 'fall-room';
  readonly camera: string;
  readonly state: 'alone' | 'assisted';
}

/** Only to the events() iterator that lost them. */
export interface EventsLostEvent extends Base {
  readonly type: 'events-lost';
  readonly count: number;
}

export type SystemEvent =
  | SystemStateEvent
  | CameraStateEvent
  | WorkerStateEvent
  | ResultEvent
  | DropAlertEvent
  | ObjectiveEvent
  | ModelStateEvent
  | ConfigChangeEvent
  | TrackedObjectEvent
  | ZoneCountEvent
  | LineEvent
  | DwellSystemEvent
  | MotionEvent
  | SummaryEvent
  | SilenceEvent
  | FallSystemEvent
  | FallNotifySystemEvent
  | FallRoomSystemEvent
  | EventsLostEvent;

export type SystemEventType = SystemEvent['type'];
export type EventOf<T extends SystemEventType> = Extract<SystemEvent, { type: T }>;

export interface EventsOptions {
  readonly signal?: AbortSignal;
  /** Only these types. Default: all. */
  readonly types?: readonly SystemEventType[];
  /** Events held for a slow consumer before the oldest are dropped. Default 1 000. */
  readonly bufferSize?: number;
}

type Listener = (event: SystemEvent) => void;

interface Iteration {
  readonly buffer: SystemEvent[];
  readonly types: ReadonlySet<string> | null;
  readonly bufferSize: number;
  lost: number;
  wake: (() => void) | null;
  ended: boolean;
}

/** Fan-out of system events to listeners and iterators. */
export class EventHub {
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #iterations = new Set<Iteration>();
  readonly #onListenerError: (error: unknown, event: SystemEvent) => void;
  #closed = false;

  constructor(onListenerError: (error: unknown, event: SystemEvent) => void) {
    this.#onListenerError = onListenerError;
  }

  on<T extends SystemEventType>(type: T | '*', listener: (event: EventOf<T>) => void): void {
    let set = this.#listeners.get(type);
    if (set === undefined) this.#listeners.set(type, (set = new Set()));
    set.add(listener as Listener);
  }

  off<T extends SystemEventType>(type: T | '*', listener: (event: EventOf<T>) => void): void {
    this.#listeners.get(type)?.delete(listener as Listener);
  }

  emit(event: SystemEvent): void {
    for (const key of [event.type, '*']) {
      const set = this.#listeners.get(key);
      if (set === undefined) continue;
      for (const listener of [...set]) {
        try {
          listener(event);
        } catch (error) {
          this.#onListenerError(error, event);
        }
      }
    }
    for (const it of this.#iterations) {
      if (it.types !== null && !it.types.has(event.type)) continue;
      if (it.buffer.length >= it.bufferSize) {
        it.buffer.shift();
        it.lost++;
      }
      it.buffer.push(event);
      it.wake?.();
    }
  }

  /** Ends every iterator (after what they buffered); later events() end at once. */
  close(): void {
    this.#closed = true;
    for (const it of this.#iterations) {
      it.ended = true;
      it.wake?.();
    }
  }

  async *events(options: EventsOptions = {}): AsyncGenerator<SystemEvent, void, undefined> {
    const bufferSize = options.bufferSize ?? 1_000;
    if (!(Number.isInteger(bufferSize) && bufferSize > 0)) throw new InvalidArgumentError(`bufferSize must be a positive integer, got ${String(bufferSize)}`);
    const it: Iteration = {
      buffer: [],
      types: options.types === undefined ? null : new Set(options.types),
      bufferSize,
      lost: 0,
      wake: null,
      ended: this.#closed,
    };
    const signal = options.signal;
    if (signal?.aborted) return;
    this.#iterations.add(it);
    try {
      for (;;) {
        if (signal?.aborted) return; // what it buffered is dropped
        if (it.lost > 0) {
          const count = it.lost;
          it.lost = 0;
          yield { type: 'events-lost', at: Date.now(), count };
          continue;
        }
        const next = it.buffer.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (it.ended) return;
        try {
          await abortable(new Promise<void>((resolve) => (it.wake = resolve)), signal);
        } catch {
          return; // aborted
        } finally {
          it.wake = null;
        }
      }
    } finally {
      this.#iterations.delete(it);
    }
  }
}
