/**
 * Fall and person-down alerts on MQTT (ADR 0132), the MQTT sink's room for them, beside the object events:
 *
 *   <prefix>/falls                          each alert's new, update and end (Frigate's `{ type, before, after }` of
 *                                           FallAlert), QoS 1, queued while the broker is away (its own outbox),
 *                                           MQTT 5 message expiry: the worker's falls.expirySeconds
 *   <prefix>/<camera>/person_down           ON while an alert of the camera stands (alertStands: a person down, or
 *                                           one lost from sight while down and not acknowledged), else OFF, with
 *                                           the alerts as attributes (JSON, retained)
 *   <prefix>/<camera>/person_down/snapshot  the latest alert's snapshot, the person down (JPEG, retained)
 *   <prefix>/<camera>/acknowledge           acknowledges: ACK (Home Assistant's button) every alert of the camera, or
 *                                           an alert's id that one
 *
 * Home Assistant gets, per camera with a fall worker, a `binary_sensor` "person down" (device class safety), a
 * `button` to acknowledge and an `image` of the snapshot (fallEntities(), added to the camera's device).
 *
 * Contract: an acknowledgement from the broker is untrusted: a payload that is neither ACK nor an alert's id, or
 * a retained one (it would be obeyed again at every connect), is counted and logged with ERR_MQTT_BAD_COMMAND or
 * ERR_MQTT_RETAINED_COMMAND by the command handler's rules (rate-limited), and ignored; a camera the system does
 * not have is refused with ERR_UNKNOWN_CAMERA. The person-down state follows the system's alerts
 * (system.objects.falls) after each of their events, so it is never out of step with them.
 */
import type { EventOf, VisionSystem } from '../pipeline/index.js';
import { alertStands, type FallAlert } from '../objects/index.js';
import { isId } from '../internal/ids.js';
import type { Logger } from '../internal/logger.js';
import type { BrokerConnection } from './connection.js';
import { EventOutbox } from './event-outbox.js';
import type { RetainedStore } from './retained-store.js';

/** An acknowledgement's payload: ACK, or an alert's id (Frigate's event id shape). */
const ALERT_ID = /^[0-9]+\.[0-9]{6}-[a-z0-9]{6}$/;
const MAX_ACK_BYTES = 64;

/** The fall topics under a prefix (the layout above). */
export class FallTopics {
  readonly events: string;
  /** What the sink subscribes to for acknowledgements. */
  readonly acknowledgements: string;
  readonly #prefix: string;

  constructor(prefix: string) {
    this.#prefix = prefix;
    this.events = `${prefix}/falls`;
    this.acknowledgements = `${prefix}/+/acknowledge`;
  }

  state(camera: string): string {
    return `${this.#prefix}/${camera}/person_down`;
  }

  snapshot(camera: string): string {
    return `${this.#prefix}/${camera}/person_down/snapshot`;
  }

  acknowledge(camera: string): string {
    return `${this.#prefix}/${camera}/acknowledge`;
  }

  /** The camera of an acknowledge topic, or null when the topic is not one. */
  parseAcknowledge(topic: string): string | null {
    if (!topic.startsWith(`${this.#prefix}/`)) return null;
    const parts = topic.slice(this.#prefix.length + 1).split('/');
    if (parts.length !== 2 || parts[1] !== 'acknowledge' || !isId(parts[0]!)) return null;
    return parts[0];
  }
}

/** The Home Assistant entities of a camera with a fall worker: its person-down sensor, the acknowledge button, the snapshot. */
export function fallEntities(
  camera: string,
  topics: FallTopics,
): { component: 'binary_sensor' | 'button' | 'image'; object: string; config: Record<string, unknown> }[] {
  const state = topics.state(camera);
  return [
    {
      component: 'binary_sensor',
      object: 'person_down',
      config: {
        name: 'person down',
        device_class: 'safety',
        state_topic: state,
        value_template: '{{ value_json.state }}',
        json_attributes_topic: state,
        icon: 'mdi:human-handsdown',
      },
    },
    {
      component: 'button',
      object: 'acknowledge_fall',
      config: { name: 'acknowledge fall', command_topic: topics.acknowledge(camera), payload_press: 'ACK', icon: 'mdi:check-circle' },
    },
    {
      component: 'image',
      object: 'person_down_snapshot',
      config: { name: 'person down snapshot', image_topic: topics.snapshot(camera), content_type: 'image/jpeg' },
    },
  ];
}

/** An acknowledgement's payload: 'all' for ACK (case and blanks aside), an alert id, or null. */
export function parseAcknowledgement(payload: Uint8Array): { all: true } | { id: string } | null {
  if (payload.byteLength === 0 || payload.byteLength > MAX_ACK_BYTES) return null;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload).trim();
  } catch {
    return null;
  }
  if (text.toUpperCase() === 'ACK') return { all: true };
  return ALERT_ID.test(text) ? { id: text } : null;
}

/** The person-down state of a camera: ON while one of its alerts stands, with the alerts as attributes. */
export function personDownPayload(alerts: readonly FallAlert[], at: number): string {
  const standing = alerts.filter(alertStands);
  return JSON.stringify({
    state: standing.length > 0 ? 'ON' : 'OFF',
    alerts: alerts.map((a) => ({
      id: a.id,
      kind: a.kind,
      object_id: a.object_id,
      down_time: a.down_time,
      end_time: a.end_time,
      end_reason: a.end_reason,
      acknowledged: a.acknowledged_at !== null,
      raised: a.raised,
      seen_down: a.seen_down !== false,
    })),
    unacknowledged: alerts.filter((a) => a.acknowledged_at === null).length,
    at,
  });
}

export interface FallPublisherOptions {
  readonly system: VisionSystem;
  readonly topics: FallTopics;
  readonly retained: RetainedStore;
  /** The offline queue's bounds (mqtt.queue), for `<prefix>/falls`' own outbox. */
  readonly queue: { readonly maxEvents: number; readonly maxBytes: number };
  readonly connection: BrokerConnection;
  readonly log: Logger;
  /** Publishes a retained picture (the sink's connection); false when it could not go. */
  readonly publishPicture: (topic: string, jpeg: Buffer) => boolean;
  /** Says why an acknowledgement was ignored (the command handler's rate-limited warn lines). */
  readonly refuse: (kind: string, fields: Record<string, unknown>, message: string) => void;
  /** Counts an acknowledgement taken. */
  readonly accepted: () => void;
}

export class FallPublisher {
  /** `<prefix>/falls`' outbox, its own (alerts never wait behind object events): the sink pumps it on connect and drains it at close. */
  readonly outbox: EventOutbox;
  readonly #o: FallPublisherOptions;

  constructor(options: FallPublisherOptions) {
    this.#o = options;
    this.outbox = new EventOutbox({ queue: options.queue, connection: options.connection, topic: options.topics.events, log: options.log });
  }

  /** A `fall` event: out on `<prefix>/falls` (at least once), and the camera's person-down state after it. */
  onFall(event: EventOf<'fall'>): void {
    const after = event.event.after;
    const expiryS = this.#o.system.workers.profile(after.camera, after.worker)?.falls?.expirySeconds ?? null;
    this.outbox.push(JSON.stringify(event.event), expiryS);
    this.outbox.pump();
    this.refresh(after.camera);
  }

  /** The camera's person-down state, as its alerts are now (retained; only for a camera the retained state knows). */
  refresh(camera: string): void {
    if (!this.#o.retained.knowsCamera(camera)) return;
    this.#o.retained.set(camera, this.#o.topics.state(camera), personDownPayload(this.#o.system.objects.falls(camera), Date.now()));
  }

  /** The cameras with a fall worker get their person-down state at once (OFF until an alert stands). */
  takeCameras(cameras: readonly string[]): void {
    for (const camera of cameras) if (this.#o.system.workers.profiles(camera).some((w) => w.falls !== undefined)) this.refresh(camera);
  }

  /** A fall alert's snapshot, retained on the camera's person_down/snapshot (cleared with the camera). */
  publishSnapshot(camera: string, jpeg: Buffer): boolean {
    const topic = this.#o.topics.snapshot(camera);
    this.#o.retained.noteCameraTopic(camera, topic);
    return this.#o.publishPicture(topic, jpeg);
  }

  /** A message on an acknowledge topic (not retained: the command handler refused those); true when the topic was one. */
  onMessage(topic: string, payload: Buffer): boolean {
    const camera = this.#o.topics.parseAcknowledge(topic);
    if (camera === null) return false;
    const ack = parseAcknowledgement(payload);
    if (ack === null) {
      this.#o.refuse(
        'bad-acknowledgement',
        { code: 'ERR_MQTT_BAD_COMMAND', topic, payload: payload.subarray(0, 64).toString('utf8') },
        "mqtt: ignored an acknowledgement: the payload must be ACK or an alert's id",
      );
      return true;
    }
    if (this.#o.system.stats().cameras[camera] === undefined) {
      this.#o.refuse('ERR_UNKNOWN_CAMERA', { code: 'ERR_UNKNOWN_CAMERA', camera }, 'mqtt: ignored an acknowledgement for a camera the system does not have');
      return true;
    }
    this.#o.accepted();
    if ('all' in ack) this.#o.system.objects.acknowledgeFalls({ camera }, 'mqtt');
    else if (this.#o.system.objects.falls(camera).some((a) => a.id === ack.id)) this.#o.system.objects.acknowledgeFalls({ id: ack.id }, 'mqtt');
    return true;
  }
}
