/**
 * The retained sweep (ADR 0100): what this node left retained on the broker
 * in an earlier run and the config no longer has (a camera, worker, zone or
 * line removed while framesupplier was stopped) is cleared at connect, with
 * an empty retained message; within a run RetainedState clears what goes.
 *
 * At each connect, once the system runs (its cameras are the config's), it
 * subscribes for a while to this node's Home Assistant configs
 * (`<discovery prefix>/+/<node>/+/config`, the node id being this client's:
 * another instance's entities are never looked at) and to the retained
 * state topics this sink writes under its own topic prefix (status, worker
 * state, objective and answer, counts, motion, summary, silence, person down), then publishes a
 * marker (`<prefix>/@sweep`, a nonce, not retained) on a topic it
 * subscribed in the same packet: the broker queues a subscription's retained
 * messages before anything published after it, so the marker coming back
 * means every retained message has been seen; then it unsubscribes.
 *
 * Contract:
 * - Only messages delivered retained are judged (live traffic on those
 *   topics, the sink's own publishes among it, is not).
 * - A discovery config is stale unless RetainedState holds it now (a camera
 *   the system has but the sink has not seen yet is taken first). A state
 *   topic is stale when its camera is not the system's, or its worker, zone
 *   or line is not the camera's (a shared worker's when not configured), or
 *   it is a camera's motion and the camera measures none, or its silence and
 *   no worker of it is care-critical, or its person down and it has no fall
 *   worker, or a label's count
 *   and the label is neither one events are kept for (mqtt.events.labels) nor
 *   one of discovery.labels (with events of every label, counts are not
 *   judged);
 *   anything else under the prefix is left alone. A stale camera's snapshots
 *   (`objects/<label>/snapshot`, for mqtt.discovery.labels) are cleared
 *   blindly: they are not subscribed (pictures, larger than the sink takes).
 * - Each stale topic is cleared as it arrives, so what is held is a few
 *   counters and the stale cameras seen; at most SWEEP_MAX_CLEARS clears per
 *   connect (then it stops; the next connect goes on), and the sweep stops
 *   after SWEEP_TIMEOUT_MS without the marker (a broker that refused it).
 */
import { randomUUID } from 'node:crypto';
import { isId, toId } from '../../internal/ids.js';
import type { Logger } from '../../internal/logger.js';
import type { VisionSystem } from '../../pipeline/index.js';
import { type BrokerConnection, SHARED, topicLabel, type Topics } from '../broker/index.js';
import { deviceId } from './discovery.js';
import type { RetainedState } from './retained-state.js';

/** Clears one sweep sends at most: a broker holding more stale topics gets the rest at the next connect. */
export const SWEEP_MAX_CLEARS = 10_000;
/** A sweep whose marker has not come back by then stops listening. */
export const SWEEP_TIMEOUT_MS = 10_000;
/** A discovery config longer than this is not read for its camera (the sink takes 16 KiB with MQTT 5). */
const MAX_CONFIG_BYTES = 64 * 1024;

/** What the system has now, as the state topics name it. */
export interface SweepView {
  /** A camera's workers, zones and lines (as topic levels), or undefined for one the system does not have. */
  camera(id: string): SweptCamera | undefined;
  readonly shared: ReadonlySet<string>;
  /** The labels whose counts the sink writes (as topic levels), or null when any label's may be (events of every label). */
  readonly countLabels: ReadonlySet<string> | null;
}

/** A camera the system has: its workers, zones and lines (as topic levels), and whether it measures motion. */
export interface SweptCamera {
  readonly workers: ReadonlySet<string>;
  readonly zones: ReadonlySet<string>;
  readonly lines: ReadonlySet<string>;
  readonly motion: boolean;
  /** Whether a worker of it is care-critical (ADR 0138): its silence topic is then desired. */
  readonly silence: boolean;
  /** Whether a worker of it raises falls (ADR 0132): its person-down state. */
  readonly falls?: boolean;
}

export type Judgement = 'desired' | 'stale' | 'not-ours';

/**
 * A topic under the prefix (its levels after it) judged against what the system has: one of the retained state
 * topics the sink writes, and whether what it is about is still there; 'not-ours' for any other topic.
 */
export function judgeStateTopic(levels: readonly string[], view: SweepView): Judgement {
  const [camera, second, third] = levels;
  if (camera === undefined || second === undefined) return 'not-ours';
  if (camera === SHARED) {
    if (levels.length !== 3 || !isId(second) || !(third === 'state' || third === 'objective' || third === 'answer')) return 'not-ours';
    return view.shared.has(second) ? 'desired' : 'stale';
  }
  if (!isId(camera) || !ownShape(levels)) return 'not-ours';
  const has = view.camera(camera);
  if (has === undefined) return 'stale';
  if (levels.length === 2 && second === 'motion') return has.motion ? 'desired' : 'stale';
  if (levels.length === 2 && second === 'silence') return has.silence ? 'desired' : 'stale';
  if (levels.length === 2 && second === 'person_down') return has.falls === true ? 'desired' : 'stale';
  if (levels.length === 3) return has.workers.has(second) ? 'desired' : 'stale';
  if (second === 'objects' && levels[3] === 'count' && view.countLabels !== null) return view.countLabels.has(third!) ? 'desired' : 'stale';
  if (second === 'zones') return has.zones.has(third!) ? 'desired' : 'stale';
  if (second === 'lines') return has.lines.has(third!) ? 'desired' : 'stale';
  return 'desired';
}

/** The shapes of the retained topics under a camera (topics.ts), the subscriptions below. */
function ownShape(levels: readonly string[]): boolean {
  const [, second, third, fourth, fifth, sixth] = levels;
  switch (levels.length) {
    case 2:
      return second === 'status' || second === 'motion' || second === 'summary' || second === 'silence' || second === 'person_down';
    case 3:
      return isId(second) && (third === 'state' || third === 'objective' || third === 'answer');
    case 4:
      return second === 'objects' && (fourth === 'count' || fourth === 'snapshot');
    case 5:
      return second === 'zones' && fifth === 'count';
    case 6:
      return second === 'lines' && (fourth === 'in' || fourth === 'out') && (sixth === 'count' || sixth === 'count_last_hour');
    default:
      return false;
  }
}

/**
 * What a sweep judges: 'everything', this node's configs and the state topics under the prefix, from the first
 * connect once the system runs; 'node-configs' (a cluster node, ADR 0102), this node's configs only (the prefix is
 * every node's) and only once allow() was called (its cameras come from the cluster after it connects, and are its
 * share of the cluster once that settled); 'none', nothing.
 */
export type SweepScope = 'everything' | 'node-configs' | 'none';

export interface RetainedSweepOptions {
  readonly scope: SweepScope;
  readonly system: VisionSystem;
  readonly topics: Topics;
  readonly discoveryPrefix: string;
  /** The discovery node id (from the client id): only this node's configs are looked at. */
  readonly node: string;
  /** mqtt.discovery.labels: the snapshot topics cleared with a stale camera; their counts are written from the start. */
  readonly labels: readonly string[];
  /** mqtt.events.labels: counts are written for these labels' events; null (every label): any label's. */
  readonly eventLabels: readonly string[] | null;
  readonly retained: RetainedState;
  readonly connection: Pick<BrokerConnection, 'connected' | 'generation' | 'publish' | 'subscribe' | 'unsubscribe'>;
  readonly log: Logger;
  /** Default SWEEP_MAX_CLEARS. */
  readonly maxClears?: number;
}

export class RetainedSweep {
  readonly #o: RetainedSweepOptions;
  readonly #marker: string;
  readonly #subscriptions: readonly string[];
  readonly #maxClears: number;
  readonly #countLabels: ReadonlySet<string> | null;
  /** Whether begin() sweeps: from the start for 'everything', from allow() for 'node-configs'. */
  #allowed: boolean;
  /** The connection (its generation) swept or being swept: one sweep per connection. */
  #generation = -1;
  #active = false;
  #nonce = '';
  #timer: NodeJS.Timeout | null = null;
  #granted: string[] = [];
  #clearedNow = 0;
  readonly #staleCameras = new Set<string>();
  /** What the system has, read once per turn of the event loop (a burst of retained messages shares one). */
  #view: SweepView | null = null;
  /** Sweeps that saw the marker, and those stopped before it (the cap, the timeout). */
  completed = 0;
  cut = 0;
  /** Retained topics cleared by sweeps (every connect). */
  cleared = 0;

  constructor(options: RetainedSweepOptions) {
    this.#o = options;
    this.#maxClears = options.maxClears ?? SWEEP_MAX_CLEARS;
    this.#countLabels = options.eventLabels === null ? null : new Set([...options.eventLabels, ...options.labels].map(topicLabel));
    const p = options.topics.prefix;
    this.#marker = `${p}/@sweep`;
    this.#allowed = options.scope === 'everything';
    // A node-configs sweep reads this node's configs alone: the state topics under the prefix are every node's.
    const states =
      options.scope === 'node-configs'
        ? []
        : [
            `${p}/+/status`,
            `${p}/+/motion`,
            `${p}/+/summary`,
            `${p}/+/silence`,
            `${p}/+/+/state`,
            `${p}/+/+/objective`,
            `${p}/+/+/answer`,
            `${p}/+/objects/+/count`,
            `${p}/+/zones/+/+/count`,
            `${p}/+/lines/+/+/+/count`,
            `${p}/+/lines/+/+/+/count_last_hour`,
          ];
    this.#subscriptions = [`${options.discoveryPrefix}/+/${options.node}/+/config`, ...states, this.#marker];
  }

  /** A 'node-configs' sweep may begin: what the system runs now is what this node should have (its share settled). */
  allow(): void {
    if (this.#o.scope === 'node-configs') this.#allowed = true;
  }

  /** Connected and the system runs: sweeps this connection, unless it already did or may not (yet). */
  begin(): void {
    const { connection } = this.#o;
    const generation = connection.generation;
    if (!this.#allowed || !connection.connected || generation === this.#generation) return;
    this.#stop();
    this.#generation = generation;
    this.#active = true;
    this.#nonce = randomUUID();
    this.#clearedNow = 0;
    this.#timer = setTimeout(() => this.#finish('timeout'), SWEEP_TIMEOUT_MS);
    this.#timer.unref();
    void connection.subscribe(this.#subscriptions).then((granted) => {
      if (granted === null || generation !== connection.generation) return;
      if (!this.#active || generation !== this.#generation) {
        connection.unsubscribe(granted); // ended (the timeout, close) before the broker answered
        return;
      }
      this.#granted = granted;
      // Published after the broker took the subscriptions: it comes back after their retained messages.
      connection.publish(this.#marker, this.#nonce, 1, false);
    });
  }

  /** A message from the broker: true if it is one of the sweep's topics (then it is nobody else's). */
  onMessage(topic: string, payload: Buffer, retained: boolean): boolean {
    if (topic === this.#marker) {
      if (this.#active && payload.toString('utf8') === this.#nonce) this.#finish('complete');
      return true;
    }
    const discovery = this.#isOwnDiscovery(topic);
    const prefix = `${this.#o.topics.prefix}/`;
    // Other nodes' state topics share the prefix: a node-configs sweep judges none of them.
    const levels = discovery || this.#o.scope === 'node-configs' || !topic.startsWith(prefix) ? null : topic.slice(prefix.length).split('/');
    const judgement = levels === null ? null : judgeStateTopic(levels, this.#currentView());
    if (!discovery && (judgement === null || judgement === 'not-ours')) return false;
    // A system closing (or not yet running) has not the config's cameras: nothing is judged by it.
    if (!retained || !this.#active || payload.byteLength === 0 || this.#o.system.state !== 'running') return true;
    if (discovery) {
      const camera = this.#cameraOfConfig(payload);
      // A camera of the system the sink has not taken yet (its event still on the way): its configs first.
      if (camera !== null && this.#currentView().camera(camera) !== undefined) this.#o.retained.knowsCamera(camera);
      if (!this.#o.retained.holdsDiscovery(topic)) this.#clear(topic);
      return true;
    }
    if (judgement !== 'stale') return true;
    this.#clear(topic);
    const camera = levels![0]!;
    if (camera !== SHARED && this.#currentView().camera(camera) === undefined && !this.#staleCameras.has(camera)) {
      this.#staleCameras.add(camera);
      for (const label of this.#o.labels) this.#clear(this.#o.topics.snapshot(camera, label));
    }
    return true;
  }

  close(): void {
    this.#stop();
    this.#active = false;
  }

  #isOwnDiscovery(topic: string): boolean {
    const prefix = `${this.#o.discoveryPrefix}/`;
    if (!topic.startsWith(prefix)) return false;
    const levels = topic.slice(prefix.length).split('/');
    return levels.length === 4 && levels[1] === this.#o.node && levels[3] === 'config';
  }

  /** The camera a config of this node is about (its device's identifier is `<node>_<camera>`), or null. */
  #cameraOfConfig(payload: Buffer): string | null {
    if (payload.byteLength > MAX_CONFIG_BYTES) return null;
    try {
      const config = JSON.parse(payload.toString('utf8')) as { device?: { identifiers?: unknown } };
      const id = Array.isArray(config.device?.identifiers) ? (config.device.identifiers[0] as unknown) : undefined;
      const head = deviceId(this.#o.node, '');
      if (typeof id !== 'string' || !id.startsWith(head)) return null;
      const camera = id.slice(head.length);
      return isId(camera) ? camera : null;
    } catch {
      return null;
    }
  }

  #currentView(): SweepView {
    if (this.#view !== null) return this.#view;
    const system = this.#o.system;
    const stats = system.stats();
    const cameras = new Map<string, SweptCamera>();
    const view: SweepView = {
      camera: (id) => {
        const figures = stats.cameras[id];
        if (figures === undefined) return undefined;
        let has = cameras.get(id);
        if (has === undefined) {
          has = {
            workers: new Set(Object.keys(figures.workers)),
            zones: new Set(system.objects.zones(id).map((z) => toId(z.name))),
            lines: new Set(system.objects.lines(id).map((l) => toId(l.name))),
            motion: figures.motion != null,
            silence: system.workers.profiles(id).some((w) => !w.shared && w.care !== null),
            falls: system.workers.profiles(id).some((w) => w.falls !== undefined),
          };
          cameras.set(id, has);
        }
        return has;
      },
      shared: new Set(Object.keys(stats.shared)),
      countLabels: this.#countLabels,
    };
    this.#view = view;
    setImmediate(() => {
      if (this.#view === view) this.#view = null;
    });
    return view;
  }

  #clear(topic: string): void {
    if (!this.#active) return;
    if (this.#clearedNow >= this.#maxClears) {
      this.#finish('cap');
      return;
    }
    if (!this.#o.connection.publish(topic, '', 1, true)) return;
    this.#clearedNow++;
    this.cleared++;
  }

  #finish(reason: 'complete' | 'timeout' | 'cap'): void {
    if (!this.#active) return;
    this.#active = false;
    const cleared = this.#clearedNow;
    this.#stop();
    if (reason === 'complete') {
      this.completed++;
      if (cleared > 0) this.#o.log.info({ cleared }, 'mqtt: cleared retained topics an earlier run left for what the config no longer has');
      return;
    }
    this.cut++;
    this.#o.log.warn(
      { cleared, reason, ...(reason === 'cap' ? { max: this.#maxClears } : { timeoutMs: SWEEP_TIMEOUT_MS }) },
      reason === 'cap'
        ? 'mqtt: the retained sweep stopped at its bound of clears per connect; the next connect goes on'
        : 'mqtt: the retained sweep stopped without its marker back (the broker refused it?); what it saw was judged',
    );
  }

  /** Stops listening: the timer, the subscriptions (on this connection; a new one has none). */
  #stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#granted.length > 0 && this.#o.connection.generation === this.#generation) this.#o.connection.unsubscribe(this.#granted);
    this.#granted = [];
    this.#staleCameras.clear();
  }
}
