/**
 * MqttSink against Debian's real mosquitto (started here on a free loopback
 * port) and a real system on the test clip: two cameras, a detector module
 * the test steers (detector.ts) and the built-in motion worker. A recorder
 * subscribed to every topic checks each topic and payload: availability,
 * statuses, worker states, results, object events with hysteresis, stats,
 * Home Assistant discovery (and its removal with a camera); commands take
 * effect and bad ones are ignored with a log line; the sink's connection cut
 * (the broker sends the will `offline`, then the sink is `online` again);
 * the broker killed and restarted while the cameras run: events of the
 * outage arrive up to the queue's bound and the overflow is counted. The
 * password never appears in a message or a log line. Every wait is on a
 * message, an event or a stats figure.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { MqttSink, type MqttConnectionState, type ObjectEvent } from '../../src/mqtt/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { Mosquitto, Recorder, TcpProxy, type Message } from '../helpers/mosquitto.js';
import { nextEvent, resolvedConfig, vtest } from '../pipeline/helpers.js';
import { setPersons } from './detector.js';
import { startSystemWithSink } from './system-sink.js';

const A = `mq-a-${process.pid}`;
const B = `mq-b-${process.pid}`;
const PREFIX = `fs-test-${process.pid}`;
const PASSWORD = `s3cret-${process.pid}-pw`;
const CLIENT_ID = `fs-test-client-${process.pid}`;
const SHM_DIR = `/dev/shm/framesupplier-test-mqtt-${process.pid}`;
const LOG = join(tmpdir(), `framesupplier-mqtt-test-${process.pid}.log`);
const DETECTOR = fileURLToPath(new URL('./detector.js', import.meta.url));
const MAX_EVENTS = 5;

const capture = { output: { format: 'gray' as const, width: 160, fps: 5 }, loop: true };

function logLines(): Record<string, unknown>[] {
  return readFileSync(LOG, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const json = (m: Message): Record<string, unknown> => JSON.parse(m.payload) as Record<string, unknown>;
const isEvent = (m: Message, match: (e: ObjectEvent) => boolean): boolean => m.topic === `${PREFIX}/events` && match(JSON.parse(m.payload) as ObjectEvent);

describe('MqttSink with mosquitto and a running system', { timeout: 180_000 }, () => {
  let broker: Mosquitto;
  let proxy: TcpProxy;
  let system: VisionSystem;
  let sink: MqttSink;
  let closeSystem: (() => Promise<void>) | undefined;
  let recorder: Recorder;

  /** Waits until the detector's output with n people has reached the system's event stream. */
  const detected = (n: number) => nextEvent(system, 'result', (e) => e.camera === A && e.worker === 'det' && (e.output as { persons: number }).persons === n);

  /** Resolves when the sink's connection next reaches this state (register before causing it). */
  const sinkState = (state: MqttConnectionState) =>
    new Promise<void>((resolve) => {
      const listener = (s: MqttConnectionState): void => {
        if (s !== state) return;
        sink.off('state', listener);
        resolve();
      };
      sink.on('state', listener);
    });

  /** Resolves with the next n object events the sink makes. */
  const objectEvents = (n: number) =>
    new Promise<ObjectEvent[]>((resolve) => {
      const got: ObjectEvent[] = [];
      const listener = (e: ObjectEvent): void => {
        got.push(e);
        if (got.length < n) return;
        sink.off('object-event', listener);
        resolve(got);
      };
      sink.on('object-event', listener);
    });

  before(async () => {
    setPersons(0);
    broker = await Mosquitto.start();
    proxy = await TcpProxy.start(broker.port);
    recorder = await Recorder.connect(broker.url, [`${PREFIX}/#`, 'homeassistant/#']);
    const config = resolvedConfig({
      shmDir: SHM_DIR,
      cameras: {
        [A]: {
          source: vtest(),
          capture,
          workers: [
            { id: 'det', module: DETECTOR },
            { id: 'motion', module: 'builtin:motion' },
          ],
        },
        [B]: { source: vtest(), capture, workers: [{ id: 'motion', module: 'builtin:motion' }] },
      },
      shared: { mix: { module: 'builtin:motion', cameras: [A, B], maxFps: 2 } },
      mqtt: {
        url: proxy.url,
        username: 'tester',
        password: PASSWORD,
        clientId: CLIENT_ID,
        topicPrefix: PREFIX,
        statsIntervalS: 1,
        reconnect: { initialMs: 100, maxMs: 500 },
        queue: { maxEvents: MAX_EVENTS },
        results: { perWorker: { motion: 2 } },
        events: { endAfterS: 0.5, workers: ['det'] },
      },
    });
    const log = createLogger({ level: 'info', destination: LOG });
    ({ system, sink, close: closeSystem } = await startSystemWithSink(config, log));
  });

  after(async () => {
    await closeSystem?.();
    await recorder?.close();
    await proxy?.close();
    await broker?.close();
    rmSync(LOG, { force: true });
  });

  it('says it is online and publishes every camera status and worker state, retained', async () => {
    const online = await recorder.waitFor((m) => m.topic === `${PREFIX}/available` && m.payload === 'online', 'online');
    assert.equal(online.qos, 1);
    for (const camera of [A, B]) {
      const status = await recorder.waitFor((m) => m.topic === `${PREFIX}/${camera}/status` && json(m).state === 'streaming', `${camera} streaming`);
      assert.deepEqual(Object.keys(json(status)).sort(), ['at', 'error', 'state']);
      assert.equal(json(status).error, null);
    }
    for (const [camera, worker] of [
      [A, 'det'],
      [A, 'motion'],
      [B, 'motion'],
    ] as const) {
      const state = await recorder.waitFor(
        (m) => m.topic === `${PREFIX}/${camera}/${worker}/state` && json(m).state === 'running',
        `${camera}/${worker} running`,
      );
      assert.equal(json(state).enabled, true);
      assert.equal(json(state).lastExit, null);
    }
    // A late subscriber gets the states as retained messages.
    const late = await Recorder.connect(broker.url, [`${PREFIX}/+/status`, `${PREFIX}/available`]);
    try {
      const retained = await late.waitFor((m) => m.topic === `${PREFIX}/${A}/status`, 'retained status');
      assert.equal(retained.retain, true);
      assert.equal((await late.waitFor((m) => m.topic === `${PREFIX}/available`, 'retained available')).payload, 'online');
    } finally {
      await late.close();
    }
  });

  it('publishes each worker result as JSON: seq, capture time, age, output', async () => {
    const from = recorder.messages.length;
    const m = await recorder.waitFor((x) => x.topic === `${PREFIX}/${A}/motion/result`, 'a motion result', { from });
    assert.equal(m.qos, 0);
    assert.equal(m.retain, false);
    const r = json(m);
    assert.equal(r.camera, A);
    assert.equal(r.worker, 'motion');
    assert.equal(r.shared, false);
    assert.ok(Number.isInteger(r.seq));
    assert.ok(typeof r.captureTime === 'number' && r.captureTime > Date.now() - 600_000 && r.captureTime <= Date.now());
    assert.ok(typeof r.ageMs === 'number' && r.ageMs >= 0);
    assert.equal(typeof (r.output as { brightness: unknown }).brightness, 'number');
    const det = json(await recorder.waitFor((x) => x.topic === `${PREFIX}/${A}/det/result`, 'a det result', { from }));
    assert.deepEqual(det.output, { detections: [], persons: 0 });
  });

  it('turns detections into new, update and end events with hysteresis, and the count topic follows', async () => {
    const from = recorder.messages.length;
    setPersons(2);
    const created = JSON.parse(
      (await recorder.waitFor((m) => isEvent(m, (e) => e.camera === A && e.type === 'new'), 'a new event', { from })).payload,
    ) as ObjectEvent;
    assert.equal(created.label, 'person');
    assert.equal(created.worker, 'det');
    assert.equal(created.count, 2);
    assert.equal(created.maxCount, 2);
    assert.equal(created.bestScore, 0.65);
    assert.deepEqual(created.box, [0.05, 0.1, 0.15000000000000002, 0.5]);
    assert.equal(created.endTime, null);
    assert.ok(created.startTime <= created.lastSeen);
    assert.match(created.id, /^[0-9a-f-]{36}$/);
    await recorder.waitFor((m) => m.topic === `${PREFIX}/${A}/objects/person/count` && m.payload === '2', 'count 2', { from });

    setPersons(1);
    const updated = JSON.parse(
      (await recorder.waitFor((m) => isEvent(m, (e) => e.type === 'update' && e.count === 1), 'an update', { from })).payload,
    ) as ObjectEvent;
    assert.equal(updated.id, created.id);
    assert.equal(updated.maxCount, 2);
    assert.equal(updated.bestScore, 0.65, 'the best score is the best over the event');

    setPersons(0);
    const ended = JSON.parse((await recorder.waitFor((m) => isEvent(m, (e) => e.type === 'end'), 'the end', { from })).payload) as ObjectEvent;
    assert.equal(ended.id, created.id);
    assert.ok(ended.endTime !== null && ended.endTime - ended.lastSeen >= 500, 'ends only after endAfterS of absence');
    await recorder.waitFor((m) => m.topic === `${PREFIX}/${A}/objects/person/count` && m.payload === '0', 'count 0', { from });
    const events = recorder.messages.slice(from).filter((m) => m.topic === `${PREFIX}/events`);
    assert.ok(events.every((m) => m.qos === 1 && !m.retain));
    const types = events.map((m) => (JSON.parse(m.payload) as ObjectEvent).type);
    assert.equal(types[0], 'new');
    assert.equal(types.at(-1), 'end');
    assert.equal(types.filter((t) => t === 'new').length, 1, `one appearance, one event: ${types.join(',')}`);
  });

  it('publishes stats every statsIntervalS, with the sink figures and no secret', async () => {
    const from = recorder.messages.length;
    const m = await recorder.waitFor((x) => x.topic === `${PREFIX}/stats`, 'stats', { from });
    const stats = json(m) as { state: string; cameras: Record<string, unknown>; mqtt: { connected: boolean; url: string; events: Record<string, number> } };
    assert.equal(stats.state, 'running');
    assert.deepEqual(Object.keys(stats.cameras).sort(), [A, B].sort());
    assert.equal(stats.mqtt.connected, true);
    assert.equal(stats.mqtt.url, proxy.url);
    assert.ok((stats.mqtt.events.published ?? 0) >= 3);
    const own = sink.stats();
    assert.equal(own.clientId, CLIENT_ID);
    assert.ok(!JSON.stringify(own).includes(PASSWORD));
  });

  it("publishes Home Assistant discovery for every camera, and again on Home Assistant's birth message", async () => {
    const configs = new Map<string, Record<string, unknown>>();
    // A subscriber that comes later (Home Assistant starting) finds them retained.
    const late = await Recorder.connect(broker.url, [`homeassistant/+/${CLIENT_ID}/#`]);
    try {
      for (const camera of [A, B]) {
        for (const [component, object] of [
          ['binary_sensor', 'person_occupancy'],
          ['sensor', 'person_count'],
          ['sensor', 'status'],
          ['sensor', 'fps'],
        ] as const) {
          const topic = `homeassistant/${component}/${CLIENT_ID}/${camera}_${object}/config`;
          const m = await late.waitFor((x) => x.topic === topic, topic);
          assert.equal(m.retain, true);
          configs.set(topic, json(m));
        }
      }
    } finally {
      await late.close();
    }
    const occupancy = configs.get(`homeassistant/binary_sensor/${CLIENT_ID}/${A}_person_occupancy/config`)!;
    assert.equal(occupancy.device_class, 'occupancy');
    assert.equal(occupancy.state_topic, `${PREFIX}/${A}/objects/person/count`);
    assert.equal(occupancy.unique_id, `${CLIENT_ID}_${A}_person_occupancy`);
    assert.deepEqual(occupancy.availability, [{ topic: `${PREFIX}/available`, value_template: "{{ 'online' if value == 'online' else 'offline' }}" }]);
    assert.deepEqual((occupancy.device as { identifiers: string[] }).identifiers, [`${CLIENT_ID}_${A}`]);
    const fps = configs.get(`homeassistant/sensor/${CLIENT_ID}/${A}_fps/config`)!;
    assert.equal(fps.state_topic, `${PREFIX}/stats`);
    assert.equal(fps.unit_of_measurement, 'fps');
    const uniqueIds = [...configs.values()].map((c) => c.unique_id);
    assert.equal(new Set(uniqueIds).size, uniqueIds.length, 'unique ids are unique');
    for (const c of configs.values()) {
      for (const key of ['state_topic', 'name', 'unique_id', 'device', 'availability']) assert.ok(key in c, `${key} in ${JSON.stringify(c)}`);
      assert.match(String(c.state_topic), new RegExp(`^${PREFIX}/`));
    }

    const from = recorder.messages.length;
    await recorder.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await recorder.waitFor(
      (x) => x.topic === `homeassistant/binary_sensor/${CLIENT_ID}/${A}_person_occupancy/config` && x.payload.length > 0,
      'discovery again',
      { from },
    );
  });

  it('takes ON, OFF and RESTART on <prefix>/<camera>/<worker>/set and answers on the state topic', async () => {
    const set = `${PREFIX}/${A}/motion/set`;
    let from = recorder.messages.length;
    const disabled = nextEvent(system, 'config-change', (e) => e.change === 'worker-disabled' && e.camera === A);
    await recorder.client.publishAsync(set, 'OFF', { qos: 1 });
    await disabled;
    await recorder.waitFor((m) => m.topic === `${PREFIX}/${A}/motion/state` && json(m).state === 'disabled' && json(m).enabled === false, 'disabled state', {
      from,
    });
    assert.equal(system.stats().cameras[A]!.workers.motion!.enabled, false);

    from = recorder.messages.length;
    const enabled = nextEvent(system, 'config-change', (e) => e.change === 'worker-enabled' && e.camera === A);
    await recorder.client.publishAsync(set, ' on\n', { qos: 1 });
    await enabled;
    await recorder.waitFor((m) => m.topic === `${PREFIX}/${A}/motion/state` && json(m).state === 'running', 'running again', { from });

    const restarts = system.stats().cameras[A]!.workers.motion!.restarts;
    from = recorder.messages.length;
    const restarted = nextEvent(system, 'config-change', (e) => e.change === 'worker-restarted' && e.camera === A && e.worker === 'motion');
    await recorder.client.publishAsync(set, 'RESTART', { qos: 1 });
    await restarted;
    assert.equal(system.stats().cameras[A]!.workers.motion!.restarts, restarts + 1);
    await recorder.waitFor((m) => m.topic === `${PREFIX}/${A}/motion/state` && json(m).state === 'running', 'running after restart', { from });
  });

  it("puts a shared worker under @shared: its state, its results (naming the frame's camera) and its commands", async () => {
    await recorder.waitFor((m) => m.topic === `${PREFIX}/@shared/mix/state` && json(m).state === 'running', 'shared running');
    let from = recorder.messages.length;
    const result = json(await recorder.waitFor((m) => m.topic === `${PREFIX}/@shared/mix/result`, 'a shared result', { from }));
    assert.equal(result.shared, true);
    assert.equal(result.worker, 'mix');
    assert.ok(result.camera === A || result.camera === B);
    from = recorder.messages.length;
    const disabled = nextEvent(system, 'config-change', (e) => e.change === 'worker-disabled' && e.shared && e.worker === 'mix');
    await recorder.client.publishAsync(`${PREFIX}/@shared/mix/set`, 'OFF', { qos: 1 });
    await disabled;
    await recorder.waitFor((m) => m.topic === `${PREFIX}/@shared/mix/state` && json(m).state === 'disabled', 'shared disabled', { from });
    const enabled = nextEvent(system, 'config-change', (e) => e.change === 'worker-enabled' && e.shared && e.worker === 'mix');
    await recorder.client.publishAsync(`${PREFIX}/@shared/mix/set`, 'ON', { qos: 1 });
    await enabled;
  });

  it('ignores malformed commands and unknown targets with a log line for the first of each kind, and keeps running', async () => {
    const { rejected, logSuppressed } = sink.stats().commands;
    await recorder.client.publishAsync(`${PREFIX}/${A}/motion/set`, '"DANCE"\n', { qos: 1 });
    await recorder.client.publishAsync(`${PREFIX}/${A}/motion/set`, Buffer.from([0xff, 0xfe, 0x00]), { qos: 1 });
    await recorder.client.publishAsync(`${PREFIX}/${A}/motion/set`, 'ON'.repeat(100), { qos: 1 });
    await recorder.client.publishAsync(`${PREFIX}/${A}/nosuch/set`, 'OFF', { qos: 1 });
    await recorder.client.publishAsync(`${PREFIX}/nosuch-camera/motion/set`, 'OFF', { qos: 1 });
    await recorder.client.publishAsync(`${PREFIX}/bad.camera/motion/set`, 'OFF', { qos: 1 });
    // Larger than the sink takes (MQTT 5's maximum packet size): the broker drops it for the sink, it never arrives.
    await recorder.client.publishAsync(`${PREFIX}/${A}/motion/set`, Buffer.alloc(1 << 20, 0x4f), { qos: 1 });
    // Commands are handled in order: once this one has taken effect, the bad ones were seen.
    const disabled = nextEvent(system, 'config-change', (e) => e.change === 'worker-disabled' && e.camera === B);
    await recorder.client.publishAsync(`${PREFIX}/${B}/motion/set`, 'OFF', { qos: 1 });
    await disabled;
    assert.equal(sink.stats().commands.rejected, rejected + 6);
    const lines = logLines().filter((l) => typeof l.code === 'string' && String(l.msg).startsWith('mqtt: ignored'));
    const codes = lines.map((l) => l.code);
    // One line for the bad topic, one for the first of the three bad payloads (the other two counted, for a later line).
    assert.equal(codes.filter((c) => c === 'ERR_MQTT_BAD_COMMAND').length, 2, JSON.stringify(lines));
    assert.equal(sink.stats().commands.logSuppressed, logSuppressed + 2);
    // The payload as it came, its control characters escaped once, its quotes left to the JSON line.
    assert.ok(
      lines.some((l) => l.payload === '"DANCE"\\u000a'),
      JSON.stringify(lines.map((l) => l.payload)),
    );
    assert.ok(codes.includes('ERR_UNKNOWN_WORKER'));
    assert.ok(codes.includes('ERR_UNKNOWN_CAMERA'));
    assert.equal(system.stats().cameras[A]!.workers.motion!.enabled, true);
    assert.equal(system.stats().cameras[A]!.state, 'streaming');
  });

  it('reconnects when its connection is cut: the broker sends the will offline, then the sink is online again', async () => {
    const from = recorder.messages.length;
    const reconnects = sink.stats().reconnects;
    const reconnected = sinkState('connected');
    proxy.cut();
    await recorder.waitFor((m) => m.topic === `${PREFIX}/available` && m.payload === 'offline', 'the will', { from });
    await recorder.waitFor((m) => m.topic === `${PREFIX}/available` && m.payload === 'online', 'online again', { from });
    await reconnected;
    assert.equal(sink.stats().reconnects, reconnects + 1);
    assert.equal(sink.stats().lastError?.code, 'ERR_MQTT_CONNECTION');
  });

  it("keeps the system running while the broker is killed, then sends the outage's events up to the bound and counts the rest", async () => {
    const before = sink.stats().events;
    assert.equal(before.queued, 0);
    assert.equal(before.inFlight, 0);
    const droppedBefore = before.dropped;
    const supersededBefore = sink.stats().results.superseded;
    proxy.block(true); // the sink stays away until the recorder is back
    const gone = sinkState('backoff');
    await broker.kill();
    await gone;
    // Capture and workers go on: each count the detector is given reaches the event stream, and makes an event.
    const made = objectEvents(8);
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const seen = detected(n);
      setPersons(n);
      await seen;
    }
    assert.deepEqual(
      (await made).map((e) => `${e.type} ${e.count}`),
      ['new 1', 'update 2', 'update 3', 'update 4', 'update 5', 'update 6', 'update 7', 'update 8'],
    );
    const outage = sink.stats().events.emitted - before.emitted;
    assert.equal(outage, 8);
    assert.equal(sink.stats().events.queued, MAX_EVENTS);
    assert.equal(sink.stats().events.dropped - droppedBefore, outage - MAX_EVENTS);
    assert.ok(logLines().some((l) => l.code === 'ERR_MQTT_QUEUE_OVERFLOW'));
    // Results are not queued: each worker's newest replaces the one before while the broker is away.
    assert.ok(sink.stats().results.superseded - supersededBefore >= 7);

    await broker.start();
    const from = recorder.messages.length;
    if (!recorder.client.connected) await new Promise<void>((resolve) => recorder.client.once('connect', () => resolve()));
    await recorder.client.subscribeAsync([`${PREFIX}/#`], { qos: 1 });
    proxy.block(false);
    await recorder.waitFor((m) => m.topic === `${PREFIX}/available` && m.payload === 'online', 'online after the restart', { from });
    // The det worker's newest result goes out on reconnect: the frame with 8 people.
    const latest = json(await recorder.waitFor((m) => m.topic === `${PREFIX}/${A}/det/result`, 'the latest det result', { from }));
    assert.equal((latest.output as { persons: number }).persons, 8);
    // The newest MAX_EVENTS of the outage, in order: counts 4 … 8.
    await recorder.waitFor((m) => isEvent(m, (e) => e.count === 8), 'the last outage event', { from });
    const received = recorder.messages
      .slice(from)
      .filter((m) => m.topic === `${PREFIX}/events`)
      .map((m) => JSON.parse(m.payload) as ObjectEvent);
    assert.deepEqual(
      received.slice(0, MAX_EVENTS).map((e) => `${e.type} ${e.count}`),
      ['update 4', 'update 5', 'update 6', 'update 7', 'update 8'],
    );
    assert.equal(sink.stats().reconnects >= 2, true);
    // Retained states are there again on the fresh broker.
    const late = await Recorder.connect(broker.url, [`${PREFIX}/${A}/status`]);
    try {
      assert.equal(json(await late.waitFor((m) => m.topic === `${PREFIX}/${A}/status`, 'status after restart')).state, 'streaming');
    } finally {
      await late.close();
    }
    setPersons(0);
  });

  it('clears the discovery of what a camera no longer has once replaced or its areas changed: a worker, a zone', async () => {
    const config = (object: string, component = 'binary_sensor') => `homeassistant/${component}/${CLIENT_ID}/${object}/config`;
    let from = recorder.messages.length;
    await system.cameras.setAreas(A, {
      zones: {
        porch: {
          polygon: [
            [0, 0],
            [0.5, 0],
            [0.5, 0.5],
          ],
        },
      },
    });
    await recorder.waitFor((x) => x.topic === config(`${A}_porch_person_occupancy`) && x.payload.length > 0, 'the zone', { from });
    from = recorder.messages.length;
    await system.cameras.setAreas(A, {});
    await recorder.waitFor((x) => x.topic === config(`${A}_porch_person_occupancy`) && x.payload === '', 'the zone cleared', { from });
    from = recorder.messages.length;
    await system.cameras.replace(B, { source: vtest(), capture, workers: [{ id: 'still', module: 'builtin:motion' }] });
    await recorder.waitFor((x) => x.topic === config(`${B}_still_enabled`, 'switch') && x.payload.length > 0, "the new worker's switch", { from });
    for (const gone of [config(`${B}_motion_enabled`, 'switch'), config(`${B}_motion_restart`, 'button')])
      await recorder.waitFor((x) => x.topic === gone && x.payload === '', `${gone} cleared`, { from });
    // What stays is not cleared (no entity flaps): the camera's own sensors.
    assert.ok(!recorder.messages.slice(from).some((x) => x.topic === config(`${B}_person_occupancy`) && x.payload === ''));
    // Home Assistant's birth message brings back what there is, not what was.
    from = recorder.messages.length;
    await recorder.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await recorder.waitFor((x) => x.topic === config(`${B}_still_enabled`, 'switch') && x.payload.length > 0, 'discovery again', { from });
    assert.ok(!recorder.messages.slice(from).some((x) => x.topic === config(`${B}_motion_enabled`, 'switch') && x.payload.length > 0));
    // B as it was, for the removal below.
    from = recorder.messages.length;
    await system.cameras.replace(B, { source: vtest(), capture, workers: [{ id: 'motion', module: 'builtin:motion' }] });
    await recorder.waitFor((x) => x.topic === config(`${B}_still_enabled`, 'switch') && x.payload === '', 'the switch cleared again', { from });
    await recorder.waitFor((x) => x.topic === `${PREFIX}/${B}/motion/state` && x.payload.length > 0, "motion's state again", { from });
  });

  it("removes a camera's discovery and retained topics when the camera is removed, its tracked objects' snapshots too", async () => {
    const snapshot = `${PREFIX}/${B}/objects/person/snapshot`;
    const before = recorder.messages.length;
    assert.equal(sink.publishSnapshot(B, 'person', Buffer.from([0xff, 0xd8, 0xff, 0xd9])), true);
    await recorder.waitFor((x) => x.topic === snapshot && x.payload.length > 0, 'the snapshot', { from: before });
    const from = recorder.messages.length;
    await system.cameras.remove(B);
    for (const topic of [
      `homeassistant/binary_sensor/${CLIENT_ID}/${B}_person_occupancy/config`,
      `${PREFIX}/${B}/status`,
      `${PREFIX}/${B}/motion/state`,
      snapshot,
    ]) {
      const m = await recorder.waitFor((x) => x.topic === topic && x.payload === '', `${topic} cleared`, { from });
      assert.equal(m.retain, false, 'an empty retained message reaches live subscribers as a normal delivery');
    }
  });

  it('says stopped on close, and no message or log line holds the password', async () => {
    const from = recorder.messages.length;
    await sink.close();
    await recorder.waitFor((m) => m.topic === `${PREFIX}/available` && m.payload === 'stopped', 'stopped', { from });
    assert.equal(sink.state, 'closed');
    assert.throws(() => sink.start(), { code: 'ERR_MQTT_CLOSED' });
    assert.ok(!recorder.messages.some((m) => m.payload.includes(PASSWORD)));
    assert.ok(!readFileSync(LOG, 'utf8').includes(PASSWORD));
  });
});
