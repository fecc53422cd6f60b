/**
 * Stale detections never reach an automation (ADR 0032), against Debian's
 * real mosquitto and a real system on the test clip: a detector module (the
 * test steers it, detector.ts) with a 1 s age budget. A subscriber speaking
 * MQTT v5 sees the budget as message expiry on results and object events;
 * the label count, retained, is published again while results confirm it
 * (a late subscriber finds it), and once the worker is disabled it is gone
 * from the broker for a late subscriber after its expiry; Home Assistant's
 * discovery carries the budget as expire_after on the entities so
 * refreshed, and not on the others. A sink on MQTT 3.1.1
 * (protocolVersion 4) publishes the same without expiry. Every wait is on a
 * message or a condition.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { MqttSink } from '../../src/mqtt/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { Mosquitto, Recorder, type Message } from '../helpers/mosquitto.js';
import { eventuallyAsync } from '../helpers/process.js';
import { resolvedConfig, vtest } from '../pipeline/helpers.js';
import { setPersons } from './detector.js';
import { startSystemWithSink } from './system-sink.js';

const CAM = `exp-${process.pid}`;
const PREFIX = `fs-exp-${process.pid}`;
const SHM_DIR = `/dev/shm/framesupplier-test-mqtt-expiry-${process.pid}`;
const DETECTOR = fileURLToPath(new URL('./detector.js', import.meta.url));
const capture = { output: { format: 'gray' as const, width: 160, fps: 5 }, loop: true };
const COUNT = `${PREFIX}/${CAM}/objects/person/count`;

const json = (m: Message): Record<string, unknown> => JSON.parse(m.payload) as Record<string, unknown>;

/**
 * What a subscriber arriving now finds retained on `topic`: it subscribes to
 * it, then to `<prefix>/available` (retained `online`, always there); the
 * broker answers the two in order, so once `online` is in, anything retained
 * on `topic` would already be.
 */
async function retainedNow(url: string, topic: string): Promise<Message | undefined> {
  const late = await Recorder.connect(url, [topic], undefined, 5);
  try {
    await late.client.subscribeAsync(`${PREFIX}/available`, { qos: 1 });
    await late.waitFor((m) => m.topic === `${PREFIX}/available`, 'retained available', { timeoutMs: 10_000 });
    return late.on(topic).find((m) => m.retain);
  } finally {
    await late.close();
  }
}

describe('MQTT v5 message expiry and Home Assistant expire_after from the age budget', { timeout: 180_000 }, () => {
  let broker: Mosquitto;
  let system: VisionSystem;
  let closeSystem: (() => Promise<void>) | undefined;
  let recorder: Recorder;

  before(async () => {
    setPersons(0);
    broker = await Mosquitto.start();
    recorder = await Recorder.connect(broker.url, [`${PREFIX}/#`, 'homeassistant/#'], undefined, 5);
    const config = resolvedConfig({
      shmDir: SHM_DIR,
      cameras: {
        [CAM]: {
          source: vtest(),
          capture,
          workers: [
            { id: 'det', module: DETECTOR, maxAgeMs: 1_000 },
            { id: 'motion', module: 'builtin:motion', maxFps: 2 },
          ],
        },
      },
      mqtt: { url: broker.url, clientId: `fs-exp-${process.pid}`, topicPrefix: PREFIX, events: { endAfterS: 0.5, workers: ['det'] } },
    });
    const log = createLogger({ level: 'warn' });
    ({ system, close: closeSystem } = await startSystemWithSink(config, log));
  });

  after(async () => {
    await closeSystem?.();
    await recorder?.close();
    await broker?.close();
  });

  it("sends results and object events with the worker's budget as message expiry, and the frame's age in them", async () => {
    const from = recorder.messages.length;
    const result = await recorder.waitFor((m) => m.topic === `${PREFIX}/${CAM}/det/result`, 'a det result', { from });
    assert.equal(result.expiryS, 1);
    assert.ok(typeof json(result).ageMs === 'number');
    // A worker without a budget: no expiry.
    const motion = await recorder.waitFor((m) => m.topic === `${PREFIX}/${CAM}/motion/result`, 'a motion result', { from });
    assert.equal(motion.expiryS, undefined);
    setPersons(1);
    const event = await recorder.waitFor((m) => m.topic === `${PREFIX}/events` && json(m).type === 'new', 'a new event', { from });
    assert.equal(event.expiryS, 1);
    const age = json(event).frameAgeMs;
    assert.ok(typeof age === 'number' && age >= 0 && age < 60_000, `frameAgeMs ${String(age)}`);
    const count = await recorder.waitFor((m) => m.topic === COUNT && m.payload === '1', 'count 1', { from });
    // Retained: the budget and one second more (Mosquitto's whole-second clock).
    assert.equal(count.expiryS, 2);
    setPersons(0);
    await recorder.waitFor((m) => m.topic === `${PREFIX}/events` && json(m).type === 'end' && m.expiryS === 1, 'the end event', { from });
    await recorder.waitFor((m) => m.topic === COUNT && m.payload === '0', 'count 0', { from });
  });

  it('publishes an unchanged count again while results confirm it, so it does not expire under a running worker', async () => {
    const from = recorder.messages.length;
    // Count 0 does not change, yet it comes again (at most every half expiry) while det runs.
    await recorder.waitFor((m) => m.topic === COUNT && m.payload === '0', 'count 0 again', { from });
    const again = await recorder.waitFor((m) => m.topic === COUNT && m.payload === '0', 'count 0 once more', { from: recorder.messages.length });
    assert.equal(again.expiryS, 2);
    const refreshes = recorder.on(COUNT).filter((m) => m.payload === '0');
    const last = refreshes.at(-1)!;
    const previous = refreshes.at(-2)!;
    assert.ok(last.at - previous.at >= 450, `refreshed ${String(last.at - previous.at)} ms apart: at most every half expiry`);
    // Late subscribers one after another for 2.5 s, across second boundaries
    // (where Mosquitto's whole-second clock drops expired messages): each finds it.
    const until = performance.now() + 2_500;
    let asked = 0;
    while (performance.now() < until) {
      const found = await retainedNow(broker.url, COUNT);
      asked++;
      assert.ok(found !== undefined, `late subscriber ${asked} finds the count while the worker runs`);
      assert.equal(found.payload, '0');
      assert.ok(found.expiryS !== undefined && found.expiryS <= 2);
    }
  });

  it('lets the retained count expire once the worker stops confirming it: a late subscriber no longer finds it', async () => {
    await system.workers.setEnabled(CAM, 'det', false);
    await recorder.waitFor((m) => m.topic === `${PREFIX}/${CAM}/det/state` && json(m).enabled === false, 'det disabled');
    await eventuallyAsync(async () => (await retainedNow(broker.url, COUNT)) === undefined, 'the retained count to expire', 10_000);
    // The other retained states carry no expiry: still there.
    assert.ok((await retainedNow(broker.url, `${PREFIX}/${CAM}/status`)) !== undefined);
    await system.workers.setEnabled(CAM, 'det', true);
    assert.ok((await recorder.waitFor((m) => m.topic === COUNT, 'count back with det', { from: recorder.messages.length })).expiryS === 2);
  });

  it('gives expire_after (whole seconds) to the count and occupancy entities, and to no other', async () => {
    const configs = new Map<string, Record<string, unknown>>();
    await recorder.waitFor((m) => m.topic.endsWith(`/${CAM}_person_count/config`), 'count discovery');
    for (const m of recorder.messages) if (m.topic.startsWith('homeassistant/') && m.payload !== '') configs.set(m.topic, json(m));
    const byObject = (suffix: string): Record<string, unknown> => {
      const found = [...configs].find(([topic]) => topic.endsWith(`/${CAM}_${suffix}/config`));
      assert.ok(found !== undefined, suffix);
      return found[1];
    };
    assert.equal(byObject('person_count').expire_after, 1);
    assert.equal(byObject('person_occupancy').expire_after, 1);
    for (const other of ['status', 'fps', 'det_enabled', 'motion_enabled']) assert.equal(byObject(other).expire_after, undefined, other);
  });

  it('publishes without expiry on MQTT 3.1.1 (protocolVersion 4)', async () => {
    const prefix = `${PREFIX}-v4`;
    const config = resolvedConfig({
      shmDir: SHM_DIR,
      cameras: {},
      mqtt: { url: broker.url, clientId: `fs-exp-v4-${process.pid}`, topicPrefix: prefix, protocolVersion: 4 },
    });
    assert.equal(resolvedConfig({ shmDir: SHM_DIR, cameras: {}, mqtt: { url: broker.url } }).mqtt?.protocolVersion, 5);
    const v4 = new MqttSink({ system, config: config.mqtt!, logger: createLogger({ level: 'warn' }) }).start();
    try {
      const from = recorder.messages.length;
      await recorder.client.subscribeAsync(`${prefix}/#`, { qos: 1 });
      const result = await recorder.waitFor((m) => m.topic === `${prefix}/${CAM}/det/result`, 'a det result through the v4 sink', { from });
      assert.equal(result.expiryS, undefined);
      assert.equal(v4.stats().connects, 1);
    } finally {
      await v4.close();
    }
  });
});
