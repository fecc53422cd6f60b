/**
 * Fall and person-down alerts on MQTT (ADR 0132), the MQTT sink's part for them, beside the object events:
 *
 *   <prefix>/falls                          each alert's new, update and end (Frigate's `{ type, before, after }` of
 *                                           FallAlert), QoS 1, queued while the broker is away (its own outbox),
 *                                           MQTT 5 message expiry: the worker's falls.expirySeconds
 *   <prefix>/<camera>/person_down           ON while an alert of the camera stands (alertStands: a person down, or
 *                                           one lost from sight while down and not acknowledged), else OFF, with
 *                                           the alerts as attributes (JSON, retained)
 *   <prefix>/<camera>/person_down/snapshot  the latest alert's snapshot, the person down (JPEG, retained)
 *   <prefix>/<camera>/acknowledge           acknowledges: `ACK <epoch seconds>` (Home Assistant's button: the press's
 *                                           time) the camera's alerts whose `new` went out at or before the press
 *                                           (ADR 0157), `ACK` those out before it arrived, an alert's id that one
 *   an escalation step's `mqtt` topics      the step (escalationMessage) when it falls due (ADR 0159), QoS 1, not
 *                                           retained, queued while the broker is away, each topic its own outbox;
 *                                           the broker's acknowledgement goes in the alert's log (fallNotified)
 *
 * Home Assistant gets, per camera with a fall worker, a `binary_sensor` "person down" (device class safety), a
 * `button` to acknowledge (its attributes: what a press covers now, and what the last press acknowledged), an
 * `image` of the snapshot, and for a single-occupancy room an "assisted" `binary_sensor` (ADR 0158) (fallEntities(),
 * added to the camera's device). The person-down state carries the room's state and each alert's figures.
 *
 * Contract: an acknowledgement from the broker is untrusted: a payload that is neither ACK nor an alert's id, or
 * a retained one (it would be obeyed again at every connect), is counted and logged with ERR_MQTT_BAD_COMMAND or
 * ERR_MQTT_RETAINED_COMMAND by the command handler's rules (rate-limited), and ignored; a camera the system does
 * not have is refused with ERR_UNKNOWN_CAMERA. The person-down state follows the system's alerts
 * (system.objects.falls) after each of their events, so it is never out of step with them.
 */
import type { EventOf, VisionSystem } from '../../pipeline/index.js';
import { alertStands, escalationMessage, targetLabel, type FallAlert } from '../../care/index.js';
import { isId } from '../../internal/ids.js';
import type { Logger } from '../../internal/logger.js';
import { type BrokerConnection, EventOutbox, type RetainedStore } from '../broker/index.js';

/** An acknowledgement's payload: ACK (with the press's epoch seconds, as Home Assistant's button sends it), or an alert's id (Frigate's event id shape). */
const ALERT_ID = /^[0-9]+\.[0-9]{6}-[a-z0-9]{6}$/;
const ACK = /^ACK(?:\s+([0-9]{1,12}(?:\.[0-9]{1,9})?))?$/i;
/** What Home Assistant's button sends: ACK and the press's time on Home Assistant's clock. */
export const ACK_TEMPLATE = 'ACK {{ now().timestamp() }}';
/** What a press covers, as the button's attributes say it. */
export const PRESS_RULE = "a press acknowledges this camera's alerts raised before it, never one raised after";
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
  single = false,
): { component: 'binary_sensor' | 'button' | 'image'; object: string; config: Record<string, unknown> }[] {
  const state = topics.state(camera);
  const assisted = {
    component: 'binary_sensor' as const,
    object: 'assisted',
    config: {
      name: 'assisted',
      device_class: 'occupancy',
      state_topic: state,
      value_template: "{{ 'ON' if value_json.assisted else 'OFF' }}",
      json_attributes_topic: state,
      json_attributes_template: '{{ value_json.room | tojson }}',
      icon: 'mdi:account-multiple',
    },
  };
  return [
    ...(single ? [assisted] : []),
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
      config: {
        name: 'acknowledge fall',
        command_topic: topics.acknowledge(camera),
        payload_press: 'ACK',
        command_template: ACK_TEMPLATE,
        json_attributes_topic: state,
        json_attributes_template: '{{ value_json.acknowledge | tojson }}',
        icon: 'mdi:check-circle',
      },
    },
    {
      component: 'image',
      object: 'person_down_snapshot',
      config: { name: 'person down snapshot', image_topic: topics.snapshot(camera), content_type: 'image/jpeg' },
    },
  ];
}

/** An acknowledgement's payload: 'all' for ACK (case and blanks aside; with the press's epoch seconds when given), an alert id, or null. */
export function parseAcknowledgement(payload: Uint8Array): { all: true; pressedAt?: number } | { id: string } | null {
  if (payload.byteLength === 0 || payload.byteLength > MAX_ACK_BYTES) return null;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload).trim();
  } catch {
    return null;
  }
  const ack = ACK.exec(text);
  if (ack !== null) return ack[1] === undefined ? { all: true } : { all: true, pressedAt: Number(ack[1]) };
  return ALERT_ID.test(text) ? { id: text } : null;
}

/** What the last press of a camera's button acknowledged (epoch seconds). */
export interface LastPress {
  readonly at: number;
  readonly pressed_at: number;
  readonly acknowledged: readonly string[];
}

/** A single-occupancy room as the person-down state says it; null: the camera is not one. */
export interface RoomState {
  readonly state: 'alone' | 'assisted';
  readonly people: number;
  readonly assisted_seconds: number;
}

/**
 * The person-down state of a camera: ON while one of its alerts stands, with the alerts (and their figures) as
 * attributes, the room's state (a single-occupancy room), and what a press of the button covers now and what the
 * last one acknowledged.
 */
export function personDownPayload(alerts: readonly FallAlert[], at: number, room: RoomState | null = null, lastPress: LastPress | null = null): string {
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
      assisted: a.assisted,
      first_raised_at: a.first_raised_at,
      acknowledged_by: a.acknowledged_by,
      escalated: a.escalated,
      time_to_acknowledge_ms: a.time_to_acknowledge_ms,
      time_on_floor_ms: a.time_on_floor_ms,
    })),
    unacknowledged: alerts.filter((a) => a.acknowledged_at === null).length,
    assisted: room === null ? null : room.state === 'assisted',
    room,
    acknowledge: {
      covers: alerts.filter((a) => a.acknowledged_at === null).map((a) => a.id),
      rule: PRESS_RULE,
      last: lastPress,
    },
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
  /** Each escalation topic's outbox (made at its first step). */
  readonly #escalations = new Map<string, EventOutbox>();
  /** An escalation message waiting for its broker acknowledgement: whose step it is. */
  readonly #pending = new Map<string, { id: string; step: number; target: string }>();
  /** What each camera's last press acknowledged. */
  readonly #presses = new Map<string, LastPress>();

  constructor(options: FallPublisherOptions) {
    this.#o = options;
    this.outbox = new EventOutbox({ queue: options.queue, connection: options.connection, topic: options.topics.events, log: options.log });
  }

  /** The escalation topics' outboxes, pumped on connect and drained at close with the others. */
  escalationOutboxes(): EventOutbox[] {
    return [...this.#escalations.values()];
  }

  /** An escalation step due: its `mqtt` targets get it (queued while the broker is away), each delivery said in the alert's log. */
  onNotify(event: EventOf<'fall-notify'>): void {
    const { camera, worker } = event.alert;
    for (const target of this.#o.system.workers.profile(camera, worker)?.falls?.escalate[event.step]?.notify ?? []) {
      if (!('mqtt' in target)) continue;
      let outbox = this.#escalations.get(target.mqtt);
      if (outbox === undefined) {
        outbox = new EventOutbox({
          queue: this.#o.queue,
          connection: this.#o.connection,
          topic: target.mqtt,
          log: this.#o.log,
          settled: (payload, ok) => this.#settled(payload, ok),
        });
        this.#escalations.set(target.mqtt, outbox);
      }
      const payload = JSON.stringify(escalationMessage(event.alert, event.step, event.steps));
      this.#pending.set(payload, { id: event.alert.id, step: event.step, target: targetLabel(target) });
      outbox.push(payload, null);
      outbox.pump();
    }
  }

  #settled(payload: string, ok: boolean): void {
    const pending = this.#pending.get(payload);
    if (pending === undefined) return;
    this.#pending.delete(payload);
    this.#o.system.objects.fallNotified(pending.id, pending.step, pending.target, ok ? { ok } : { ok, code: 'ERR_MQTT_CONNECTION' });
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
    const room = this.#o.system.objects.fallRoom(camera);
    this.#o.retained.set(
      camera,
      this.#o.topics.state(camera),
      personDownPayload(
        this.#o.system.objects.falls(camera),
        Date.now(),
        room === null ? null : { state: room.state, people: room.people, assisted_seconds: room.assistedSeconds },
        this.#presses.get(camera) ?? null,
      ),
    );
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
    if ('all' in ack) {
      // A press is never later than its arrival: a clock ahead of this one's covers no more than now.
      const arrived = Date.now() / 1000;
      const pressedAt = Math.min(ack.pressedAt ?? arrived, arrived);
      const acknowledged = this.#o.system.objects.acknowledgeFalls({ camera, raisedBefore: pressedAt }, 'mqtt');
      this.#presses.set(camera, { at: arrived, pressed_at: pressedAt, acknowledged: acknowledged.map((a) => a.id) });
      this.refresh(camera);
    } else if (this.#o.system.objects.falls(camera).some((a) => a.id === ack.id)) this.#o.system.objects.acknowledgeFalls({ id: ack.id }, 'mqtt');
    return true;
  }
}
