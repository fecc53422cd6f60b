/**
 * Home Assistant MQTT discovery (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery):
 * per camera, a device with, for each configured label, an occupancy
 * binary_sensor and a count sensor (both from the label's count topic), and
 * two diagnostic sensors, the capture's status and its fps (from the stats
 * topic); per zone of the camera, an occupancy binary_sensor and a count
 * sensor for each configured label the zone admits (from the zone count
 * topics); per label an `image` entity showing the latest tracked-object
 * snapshot; per line, direction and label it counts, a `total_increasing`
 * sensor of its crossings (from the line count topics); per worker a `switch` (ON/OFF on its set topic, its state from
 * the state topic), a restart `button` and a `behind` binary_sensor (problem: it misses its freshness objective,
 * with the reason and the fix as attributes); per vlm worker a sensor of its last answer (and a binary_sensor per
 * boolean field of its schema); per cascade a sensor of its last result on a crop (the object it showed, the
 * whole result as attributes); for a camera with summaries (ADR 0073) a `button` asking for the last hour's and a
 * sensor of the latest (its title; the whole summary as attributes); for a care-critical camera (ADR 0138) a
 * `silent` problem binary_sensor (silence.ts); for a camera with a fall worker (ADR 0132) a
 * `binary_sensor` "person down", a `button` acknowledging its alerts and an `image` of the person down, and an "assisted" `binary_sensor` for a single-occupancy room (falls.ts). Every entity is available while `<prefix>/available` is `online`
 * (offline and stopped both mean unavailable). Removing a camera publishes an
 * empty retained payload on each of its config topics, which removes the
 * entities.
 */
import { silenceDiscovery, fallEntities, FallTopics } from '../alarms/index.js';
import type { Topics } from '../broker/index.js';

export interface DiscoveryOptions {
  /** Home Assistant's discovery prefix (homeassistant). */
  readonly prefix: string;
  /** The node id in discovery topics and unique ids: this instance (the client id, cleaned). */
  readonly node: string;
  readonly labels: readonly string[];
  readonly topics: Topics;
  /** The camera's zones (name → the labels it counts, null for every label). Default none. */
  readonly zones?: ReadonlyMap<string, readonly string[] | null>;
  /** The camera's lines (name → the labels it counts, null for every label). Default none. */
  readonly lines?: ReadonlyMap<string, readonly string[] | null>;
  /** The camera's workers' ids. Default none. */
  readonly workers?: readonly string[];
  /** Whether a worker of the camera tracks objects (then: snapshot images). Default false. */
  readonly tracked?: boolean;
  /**
   * Home Assistant's expire_after (seconds) for the label count entities
   * (`counts`) and the zone ones (`zones`): the budget of the workers that
   * feed them, whose results publish those states again within it (ADR
   * 0032). null or absent: never expire.
   */
  readonly expireAfter?: { readonly counts: number | null; readonly zones: number | null };
  /** The camera's vlm workers (ADR 0050): a sensor of each one's last answer, and a binary_sensor per boolean field of its schema. Default none. */
  readonly answers?: readonly { readonly worker: string; readonly prompt: string; readonly booleans: readonly string[] }[];
  /** Whether the camera measures motion (ADR 0066): then a motion binary_sensor. Default false. */
  readonly motion?: boolean;
  /** Whether the camera has summaries (ADR 0073): then a button asking for the last hour's, and a sensor of the latest. Default false. */
  readonly summaries?: boolean;
  /** The camera's cascades (ADR 0051): a sensor of each one's last result on a crop. Default none. */
  readonly cascades?: readonly { readonly worker: string; readonly of: string }[];
  /** Whether a worker of the camera is care-critical (ADR 0138): then a `silent` problem binary_sensor. Default false. */
  readonly silence?: boolean;
  /** Whether a worker of the camera raises falls (ADR 0132): then person down, acknowledge and its snapshot. Default false. */
  readonly falls?: boolean;
  /** Whether the camera is a single-occupancy room (ADR 0158): then its "assisted" sensor. Default false. */
  readonly singleOccupancy?: boolean;
}

/** An id as Home Assistant's node_id and object_id want it: A–Z a–z 0–9 _ -. */
export function discoveryId(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Every discovery config of one camera: topic → payload (JSON). */
/** A camera's Home Assistant device identifier on this node: `<node>_<camera>` (the retained sweep reads it back). */
export function deviceId(node: string, camera: string): string {
  return `${node}_${camera}`;
}

export function cameraDiscovery(camera: string, options: DiscoveryOptions): Map<string, string> {
  const { prefix, node, labels, topics } = options;
  const device = { identifiers: [deviceId(node, camera)], name: camera, manufacturer: 'framesupplier', model: 'camera' };
  const availability = [{ topic: topics.available, value_template: "{{ 'online' if value == 'online' else 'offline' }}" }];
  const common = { availability, device, origin: { name: 'framesupplier' } };
  const out = new Map<string, string>();
  const add = (component: 'binary_sensor' | 'sensor' | 'image' | 'switch' | 'button', object: string, config: Record<string, unknown>): void => {
    const objectId = discoveryId(`${camera}_${object}`);
    // An entity's own availability (the silent sensor's) stands over the device's.
    const own = 'availability' in config ? { availability: config.availability } : {};
    out.set(`${prefix}/${component}/${node}/${objectId}/config`, JSON.stringify({ unique_id: `${node}_${objectId}`, ...config, ...common, ...own }));
  };
  const expire = (s: number | null | undefined): { expire_after?: number } => (s == null ? {} : { expire_after: s });
  const countsExpire = expire(options.expireAfter?.counts);
  const zonesExpire = expire(options.expireAfter?.zones);
  for (const label of labels) {
    const state = topics.count(camera, label);
    add('binary_sensor', `${label}_occupancy`, {
      name: `${label} occupancy`,
      device_class: 'occupancy',
      state_topic: state,
      value_template: "{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}",
      ...countsExpire,
    });
    add('sensor', `${label}_count`, { name: `${label} count`, state_topic: state, state_class: 'measurement', icon: 'mdi:counter', ...countsExpire });
  }
  for (const [zone, admits] of options.zones ?? []) {
    for (const label of labels) {
      if (admits !== null && !admits.includes(label)) continue;
      const state = topics.zoneCount(camera, zone, label);
      add('binary_sensor', `${zone}_${label}_occupancy`, {
        name: `${zone} ${label} occupancy`,
        device_class: 'occupancy',
        state_topic: state,
        value_template: "{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}",
        ...zonesExpire,
      });
      add('sensor', `${zone}_${label}_count`, {
        name: `${zone} ${label} count`,
        state_topic: state,
        state_class: 'measurement',
        icon: 'mdi:counter',
        ...zonesExpire,
      });
    }
  }
  for (const [line, admits] of options.lines ?? []) {
    for (const direction of ['in', 'out'] as const) {
      for (const label of labels) {
        if (admits !== null && !admits.includes(label)) continue;
        add('sensor', `line_${line}_${direction}_${label}`, {
          name: `${line} ${direction} ${label}`,
          state_topic: topics.lineCount(camera, line, direction, label),
          state_class: 'total_increasing',
          icon: direction === 'in' ? 'mdi:location-enter' : 'mdi:location-exit',
        });
        add('sensor', `line_${line}_${direction}_${label}_last_hour`, {
          name: `${line} ${direction} ${label} last hour`,
          state_topic: topics.lineCountLastHour(camera, line, direction, label),
          state_class: 'measurement',
          icon: direction === 'in' ? 'mdi:location-enter' : 'mdi:location-exit',
        });
      }
    }
  }
  if (options.motion === true)
    add('binary_sensor', 'motion', { name: 'motion', device_class: 'motion', state_topic: topics.motion(camera), payload_on: 'ON', payload_off: 'OFF' });
  if (options.tracked === true)
    for (const label of labels)
      add('image', `${label}_snapshot`, { name: `${label} snapshot`, image_topic: topics.snapshot(camera, label), content_type: 'image/jpeg' });
  for (const worker of options.workers ?? []) {
    add('switch', `${worker}_enabled`, {
      name: `${worker}`,
      command_topic: topics.worker(camera, worker, 'set'),
      state_topic: topics.worker(camera, worker, 'state'),
      value_template: "{{ 'ON' if value_json.enabled else 'OFF' }}",
      payload_on: 'ON',
      payload_off: 'OFF',
      entity_category: 'config',
    });
    add('binary_sensor', `${worker}_behind`, {
      name: `${worker} behind`,
      device_class: 'problem',
      state_topic: topics.worker(camera, worker, 'objective'),
      value_template: "{{ 'ON' if value_json.behind else 'OFF' }}",
      json_attributes_topic: topics.worker(camera, worker, 'objective'),
      entity_category: 'diagnostic',
    });
    add('button', `${worker}_restart`, {
      name: `${worker} restart`,
      command_topic: topics.worker(camera, worker, 'set'),
      payload_press: 'RESTART',
      device_class: 'restart',
      entity_category: 'config',
    });
  }
  for (const { worker, prompt, booleans } of options.answers ?? []) {
    const state = topics.worker(camera, worker, 'answer');
    // A state is at most 255 characters in Home Assistant: the whole answer is in the attributes.
    add('sensor', `${worker}_${prompt}`, {
      name: `${prompt}`,
      state_topic: state,
      value_template: '{{ ((value_json.answer if value_json.answer is string else (value_json.answer | tojson)) | string)[:255] }}',
      json_attributes_topic: state,
      icon: 'mdi:text-box-outline',
    });
    for (const field of booleans)
      add('binary_sensor', `${worker}_${prompt}_${field}`, {
        name: `${prompt} ${field}`,
        state_topic: state,
        value_template: `{{ 'ON' if (value_json.answer | default({}))[${JSON.stringify(field)}] | default(false) else 'OFF' }}`,
      });
  }
  for (const { worker, of } of options.cascades ?? []) {
    const state = topics.worker(camera, worker, 'result');
    // The object or detection its last crop showed; the whole result (the second model's answer, the crop's
    // ages) in the attributes, for templates: a cascade's output has no one shape.
    add('sensor', `${worker}_last`, {
      name: `${worker} on ${of}'s crops`,
      state_topic: state,
      value_template: "{{ ((value_json.output.crop.label | default('')) ~ ' ' ~ (value_json.output.crop.objectId | default('', true))) | trim }}",
      json_attributes_topic: state,
      json_attributes_template: '{{ value_json.output | tojson }}',
      icon: 'mdi:crop',
    });
  }
  if (options.summaries === true) {
    add('button', 'summarize', {
      name: 'summarize last hour',
      command_topic: topics.summarize(camera),
      payload_press: 'LAST_HOUR',
      icon: 'mdi:text-box-search-outline',
    });
    // A state is at most 255 characters: the title; the summary, its level and window in the attributes.
    add('sensor', 'summary', {
      name: 'summary',
      state_topic: topics.summary(camera),
      value_template: '{{ (value_json.title | string)[:255] }}',
      json_attributes_topic: topics.summary(camera),
      json_attributes_template:
        '{{ {"summary": value_json.summary, "level": value_json.level, "from": value_json.from, "to": value_json.to, "events": value_json.events.total, "answer": value_json.answer} | tojson }}',
      icon: 'mdi:text-box-outline',
    });
  }
  if (options.silence === true) add('binary_sensor', 'silent', silenceDiscovery(topics, camera));
  if (options.falls === true)
    for (const e of fallEntities(camera, new FallTopics(topics.prefix), options.singleOccupancy === true)) add(e.component, e.object, e.config);
  add('sensor', 'status', {
    name: 'status',
    state_topic: topics.status(camera),
    value_template: '{{ value_json.state }}',
    entity_category: 'diagnostic',
  });
  add('sensor', 'fps', {
    name: 'fps',
    state_topic: topics.stats,
    value_template: `{{ ((value_json.cameras[${JSON.stringify(camera)}] | default({})).capture | default({}, true)).fps | default(0) | round(1) }}`,
    unit_of_measurement: 'fps',
    state_class: 'measurement',
    entity_category: 'diagnostic',
  });
  return out;
}
