/**
 * Silence alarms on MQTT and in Home Assistant (ADR 0138), the MQTT sink's part for them. Per care-critical
 * camera (a worker of it watched: its profile's `care`):
 *
 *   <prefix>/<camera>/silence   retained, no expiry: the camera's silence now, JSON
 *                               { silent, reason, detail, since, workers: { <id>: { silent, reason, detail,
 *                               silence_seconds, last_result, since } }, at } (times: seconds since the epoch,
 *                               as Frigate's); published at start (not silent until the watch says so) and on
 *                               every change; cleared with the camera's other topics when it goes
 *   <prefix>/alarms             QoS 1 through its own outbox (queued while the broker is away, at least once),
 *                               Frigate's event shape: { type: new | update | end, before, after }, `after` the
 *                               alarm { id, kind: "silence", camera, reason, detail, workers, start_time,
 *                               end_time, silence_seconds }: new when the camera goes silent, update when its
 *                               reason changes, end when it clears
 *   Home Assistant              a binary_sensor `<camera> silent` per care camera, device class problem, ON while
 *                               silent, the whole payload as attributes (silenceDiscovery below)
 *
 * No expiry on either: an alarm must not vanish from the broker while it holds. When framesupplier itself stops,
 * `<prefix>/available` (offline, the will; stopped) makes its entities unavailable but the silent sensor, which
 * stays available while `framesupplier watchdog` (a process of its own, watchdog.ts) is online and shows its
 * `system-down` alarm on the same topics. Nothing is published for a camera the retained state does not know
 * (removed, or not yet taken).
 */
import type { CameraSilence, EventOf, SystemStats, VisionSystem, WorkerSilence } from '../../pipeline/index.js';
import type { Logger } from '../../internal/logger.js';
import { type BrokerConnection, EventOutbox, type RetainedStore, type Topics } from '../broker/index.js';

const seconds = (ms: number | null): number | null => (ms === null ? null : ms / 1000);

/** The retained payload of a camera's silence. */
export function silencePayload(silence: CameraSilence, at: number): string {
  return JSON.stringify({
    silent: silence.silent,
    reason: silence.reason,
    detail: silence.detail,
    since: seconds(silence.since),
    workers: Object.fromEntries(Object.entries(silence.workers).map(([id, w]) => [id, workerPayload(w)])),
    at: at / 1000,
  });
}

function workerPayload(w: WorkerSilence): Record<string, unknown> {
  return {
    silent: w.silent,
    reason: w.reason,
    detail: w.detail,
    silence_seconds: w.silenceSeconds,
    last_result: seconds(w.lastResultAt),
    since: seconds(w.since),
  };
}

/** A silence alarm as `<prefix>/alarms` carries it (the `before` and `after` of its events): one id from start to end. */
export function alarmPayload(camera: string, silence: CameraSilence, startMs: number, endMs: number | null): Record<string, unknown> {
  const watched = Object.entries(silence.workers);
  return {
    id: `${camera}-silence-${Math.round(startMs)}`,
    kind: 'silence',
    camera,
    reason: silence.reason,
    detail: silence.detail,
    workers: Object.fromEntries(watched.map(([id, w]) => [id, workerPayload(w)])),
    start_time: startMs / 1000,
    end_time: seconds(endMs),
    silence_seconds: Math.min(...watched.map(([, w]) => w.silenceSeconds)),
  };
}

/**
 * Home Assistant's binary_sensor config of a care camera's silence (the discovery part adds the device). Available
 * while framesupplier or its outside watchdog is online (`availability_mode: any`): when the system stops, the
 * watchdog's alarm still shows as the sensor's state instead of `unavailable`.
 */
export function silenceDiscovery(topics: Topics, camera: string): Record<string, unknown> {
  return {
    name: 'silent',
    availability: [
      { topic: topics.available, value_template: "{{ 'online' if value == 'online' else 'offline' }}" },
      { topic: topics.watchdogAvailable, value_template: "{{ 'online' if value == 'online' else 'offline' }}" },
    ],
    availability_mode: 'any',
    device_class: 'problem',
    state_topic: topics.silence(camera),
    value_template: "{{ 'ON' if value_json.silent else 'OFF' }}",
    json_attributes_topic: topics.silence(camera),
    icon: 'mdi:cctv-off',
  };
}

/** A camera's silence as nobody has judged it yet: not silent, its watched workers named. */
function notJudged(watched: readonly { readonly id: string; readonly silenceSeconds: number }[]): CameraSilence {
  const workers = Object.fromEntries(
    watched.map((w) => [w.id, { silent: false, reason: null, detail: null, silenceSeconds: w.silenceSeconds, lastResultAt: null, since: null }]),
  );
  return { silent: false, reason: null, detail: null, since: null, workers };
}

export class SilencePublisher {
  readonly #system: VisionSystem;
  readonly #topics: Topics;
  readonly #retained: RetainedStore;
  /** `<prefix>/alarms`' outbox: the sink pumps it on connect and drains it at close, as its events'. */
  readonly outbox: EventOutbox;
  /** Per camera, its silence as last published: an alarm event says before and after. */
  readonly #last = new Map<string, CameraSilence>();
  /** Per camera with an alarm raised, when it began (wall ms): its events' id. */
  readonly #started = new Map<string, number>();

  constructor(options: {
    system: VisionSystem;
    topics: Topics;
    retained: RetainedStore;
    /** The offline queue's bounds (mqtt.queue, as object events'). */
    queue: { maxEvents: number; maxBytes: number };
    connection: BrokerConnection;
    log: Logger;
  }) {
    this.#system = options.system;
    this.#topics = options.topics;
    this.#retained = options.retained;
    this.outbox = new EventOutbox({ queue: options.queue, connection: options.connection, topic: options.topics.alarms, log: options.log });
  }

  /** Whether a camera has a watched worker (by its workers' profiles). */
  watches(camera: string): boolean {
    return this.#system.workers.profiles(camera).some((w) => !w.shared && w.care !== null);
  }

  /** The retained silence of every care camera in stats (at start, a camera added or replaced): the watch's if it judged it, else not silent. */
  takeSnapshot(stats: SystemStats, only?: string): void {
    for (const id of Object.keys(stats.cameras)) {
      if (only !== undefined && id !== only) continue;
      const watched = this.#system.workers
        .profiles(id)
        .flatMap((w) => (w.shared || w.care === null ? [] : [{ id: w.id, silenceSeconds: w.care.silenceSeconds }]));
      if (watched.length === 0) continue;
      const silence = stats.silence[id] ?? this.#last.get(id) ?? notJudged(watched);
      this.#last.set(id, silence);
      this.#retained.set(id, this.#topics.silence(id), silencePayload(silence, Date.now()));
    }
  }

  /** A worker's alarm changed: the camera's retained silence, and an alarm event when the camera's own changed. */
  onSilence(event: EventOf<'silence'>): void {
    if (!this.#retained.knowsCamera(event.camera)) return;
    const before = this.#last.get(event.camera) ?? null;
    const after = event.cameraSilence;
    this.#last.set(event.camera, after);
    this.#retained.set(event.camera, this.#topics.silence(event.camera), silencePayload(after, event.at));
    const wasSilent = before?.silent === true;
    if (!wasSilent && !after.silent) return;
    if (wasSilent && after.silent && before.reason === after.reason && before.detail === after.detail) return;
    const type = !wasSilent ? 'new' : after.silent ? 'update' : 'end';
    // One id from its start to its end, however its workers come and go meanwhile.
    let started = this.#started.get(event.camera);
    if (started === undefined || type === 'new') this.#started.set(event.camera, (started = after.since ?? event.at));
    if (type === 'end') this.#started.delete(event.camera);
    const ended = type === 'end' ? { ...after, reason: before?.reason ?? null, detail: before?.detail ?? null } : after;
    this.outbox.push(
      JSON.stringify({
        type,
        before: type === 'new' || before === null ? null : alarmPayload(event.camera, before, started, null),
        after: alarmPayload(event.camera, ended, started, type === 'end' ? event.at : null),
      }),
      null,
    );
    this.outbox.pump();
  }

  /** A camera removed: its silence is forgotten (its retained topic is cleared with the camera's others). */
  forgetCamera(camera: string): void {
    this.#last.delete(camera);
    this.#started.delete(camera);
  }
}
