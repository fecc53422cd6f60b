/**
 * What a run leaves retained, and the next run with less in its config,
 * against Debian's real mosquitto (ADR 0100). A first system and sink publish
 * discovery and retained states for cameras A (a worker and a zone more) and
 * B; a second system and sink, with the same client id (the same discovery
 * node) and only A with one worker and no motion, and `person` alone where
 * the first counted `car` too, clear at connect every retained topic of B, of
 * A's removed worker, of its removed zone, of its motion and of its car
 * count, and nothing else: no
 * empty payload on any topic A still has (a recorder sees every message), a
 * retained config of another node and an unknown topic under the prefix
 * left alone. Then 1000 bad commands give a bounded number of log lines,
 * and the count of those not written is right. A cluster node's sink
 * (ADR 0102) judges its own node's configs only, and only once told its
 * share settled.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { Mosquitto, Recorder, type Message } from '../helpers/mosquitto.js';
import { nextEvent, resolvedConfig } from '../pipeline/helpers.js';
import { startSystemWithSink, type SystemWithSink } from './system-sink.js';

const A = `sw-a-${process.pid}`;
const B = `sw-b-${process.pid}`;
const PREFIX = `fs-sweep-${process.pid}`;
const CLIENT_ID = `fs-sweep-client-${process.pid}`;
const OTHER_NODE_CONFIG = `homeassistant/sensor/other-node-${process.pid}/${A}_status/config`;
const NOT_OURS = `${PREFIX}/notes/kept`;
/** A's motion binary_sensor (the camera's motion, on in the first run only); `${A}_motion_enabled` is its worker's switch. */
const A_MOTION_CONFIG = `homeassistant/binary_sensor/${CLIENT_ID}/${A}_motion/config`;
const LOG = join(tmpdir(), `framesupplier-mqtt-sweep-${process.pid}.log`);
const source = 'lavfi:testsrc2=size=160x120:rate=5';
const capture = { output: { format: 'gray' as const } };
const porch = {
  polygon: [
    [0, 0],
    [0.5, 0],
    [0.5, 0.5],
  ],
};

/** `labels`: discovery's and events' (the labels whose counts are written). */
function config(url: string, cameras: Record<string, unknown>, labels: readonly string[] = ['person']) {
  return resolvedConfig({
    shmDir: `/dev/shm/framesupplier-test-mqtt-sweep-${process.pid}`,
    cameras,
    mqtt: {
      url,
      clientId: CLIENT_ID,
      topicPrefix: PREFIX,
      statsIntervalS: 1,
      reconnect: { initialMs: 50, maxMs: 200 },
      discovery: { labels },
      events: { labels },
    },
  });
}

function logLines(): Record<string, unknown>[] {
  return readFileSync(LOG, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Every retained message on the broker under these topics now: a fresh subscriber's, up to a marker it publishes after subscribing. */
async function retainedNow(url: string, topics: readonly string[]): Promise<Message[]> {
  const marker = `${PREFIX}-test/marker`;
  const recorder = await Recorder.connect(url, [...topics, marker]);
  try {
    await recorder.client.publishAsync(marker, 'end', { qos: 1 });
    await recorder.waitFor((m) => m.topic === marker, 'the marker');
    return recorder.messages.filter((m) => m.retain);
  } finally {
    await recorder.close();
  }
}

describe('A run with less in its config clears what the last run left retained', { timeout: 120_000 }, () => {
  let broker: Mosquitto;
  let recorder: Recorder;
  let second: SystemWithSink | undefined;
  const discovery = (topic: string, camera: string) => topic.startsWith('homeassistant/') && topic.includes(`/${CLIENT_ID}/${camera}_`);

  before(async () => {
    broker = await Mosquitto.start();
    recorder = await Recorder.connect(broker.url, [`${PREFIX}/#`, 'homeassistant/#']);
  });

  after(async () => {
    await second?.close();
    await recorder?.close();
    await broker?.close();
    rmSync(LOG, { force: true });
  });

  it('clears B, the worker and the zone gone while stopped, and nothing that stays', async () => {
    const log = createLogger({ level: 'info', destination: LOG });
    const url = broker.url;
    // Run 1: A with two workers and a zone, B.
    const one = config(
      url,
      {
        [A]: {
          source,
          capture,
          motion: {},
          zones: { porch },
          workers: [
            { id: 'motion', module: 'builtin:motion' },
            { id: 'extra', module: 'builtin:motion' },
          ],
        },
        [B]: { source, capture, workers: [{ id: 'motion', module: 'builtin:motion' }] },
      },
      ['person', 'car'],
    );
    const first = await startSystemWithSink(one, log);
    try {
      for (const topic of [
        `homeassistant/switch/${CLIENT_ID}/${B}_motion_enabled/config`,
        `homeassistant/switch/${CLIENT_ID}/${A}_extra_enabled/config`,
        `homeassistant/binary_sensor/${CLIENT_ID}/${A}_porch_person_occupancy/config`,
        `${PREFIX}/${B}/motion/state`,
        `${PREFIX}/${A}/extra/state`,
        `${PREFIX}/${A}/motion`,
        A_MOTION_CONFIG,
        `${PREFIX}/${A}/objects/car/count`,
      ])
        await recorder.waitFor((m) => m.topic === topic && m.payload.length > 0, topic);
    } finally {
      await first.close();
    }
    // Left by others: another node's entity, a topic under the prefix that is not one of the sink's.
    await recorder.client.publishAsync(OTHER_NODE_CONFIG, '{"name":"theirs"}', { qos: 1, retain: true });
    await recorder.client.publishAsync(NOT_OURS, 'kept', { qos: 1, retain: true });

    const left = await retainedNow(url, [`${PREFIX}/#`, 'homeassistant/#']);
    const gone = (m: Message) =>
      discovery(m.topic, B) ||
      m.topic.startsWith(`${PREFIX}/${B}/`) ||
      discovery(m.topic, `${A}_extra`) ||
      discovery(m.topic, `${A}_porch`) ||
      m.topic.startsWith(`${PREFIX}/${A}/extra/`) ||
      m.topic === `${PREFIX}/${A}/motion` ||
      m.topic === A_MOTION_CONFIG ||
      m.topic === `${PREFIX}/${A}/objects/car/count` ||
      discovery(m.topic, `${A}_car`);
    const toClear = left.filter(gone).map((m) => m.topic);
    const toKeep = left.filter((m) => !gone(m)).map((m) => m.topic);
    assert.ok(toClear.includes(`${PREFIX}/${B}/status`) && toClear.includes(`homeassistant/sensor/${CLIENT_ID}/${B}_status/config`), toClear.join(' '));
    assert.ok(toKeep.includes(`homeassistant/switch/${CLIENT_ID}/${A}_motion_enabled/config`) && toKeep.includes(`${PREFIX}/${A}/motion/state`));
    assert.ok(toKeep.includes(OTHER_NODE_CONFIG) && toKeep.includes(NOT_OURS));

    // Run 2, the same node: A with one worker and no zone.
    const from = recorder.messages.length;
    const two = config(url, { [A]: { source, capture, workers: [{ id: 'motion', module: 'builtin:motion' }] } });
    second = await startSystemWithSink(two, log);
    for (const topic of toClear) await recorder.waitFor((m) => m.topic === topic && m.payload === '', `${topic} cleared`, { from, timeoutMs: 15_000 });
    // The sweep is over once a stats message says so: the sink sent every clear before it.
    await recorder.waitFor(
      (m) => m.topic === `${PREFIX}/stats` && (JSON.parse(m.payload) as { mqtt: { sweep: { completed: number } } }).mqtt.sweep.completed === 1,
      'the sweep completed',
      { from },
    );
    const cleared = new Set(
      recorder.messages
        .slice(from)
        .filter((m) => m.payload === '')
        .map((m) => m.topic),
    );
    const flapped = toKeep.filter((topic) => cleared.has(topic));
    assert.deepEqual(flapped, [], 'nothing that stays is cleared');
    // B's snapshot topics, never subscribed, are cleared with it; nothing else of the prefix's or another node's.
    assert.deepEqual(
      [...cleared].filter((topic) => !toClear.includes(topic)),
      [`${PREFIX}/${B}/objects/person/snapshot`],
    );
    const stats = second.sink.stats().sweep;
    assert.deepEqual(stats, { completed: 1, cut: 0, cleared: toClear.length + 1 });
    const after = await retainedNow(url, [`${PREFIX}/#`, 'homeassistant/#']);
    assert.deepEqual(after.filter(gone), [], 'nothing of what went is left on the broker');
  });

  it('writes a bounded number of warn lines for 1000 bad commands, and counts the rest', async () => {
    const sink = second!.sink;
    const { rejected, logSuppressed } = sink.stats().commands;
    const before = logLines().length;
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 500; i++) {
      sends.push(recorder.client.publishAsync(`${PREFIX}/${A}/motion/set`, `DANCE ${i}`, { qos: 1 }));
      sends.push(recorder.client.publishAsync(`${PREFIX}/${A}/nosuch/set`, 'ON', { qos: 1 }));
    }
    await Promise.all(sends);
    // Commands are handled in order: once this one has taken effect, the bad ones were seen.
    const disabled = nextEvent(second!.system, 'config-change', (e) => e.change === 'worker-disabled' && e.camera === A);
    await recorder.client.publishAsync(`${PREFIX}/${A}/motion/set`, 'OFF', { qos: 1 });
    await disabled;
    const stats = sink.stats().commands;
    assert.equal(stats.rejected - rejected, 1000);
    assert.equal(stats.logSuppressed - logSuppressed, 998, 'the first of each kind is written');
    const during = logLines()
      .slice(before)
      .filter((l) => String(l.msg).startsWith('mqtt: ignored'));
    assert.deepEqual(during.map((l) => l.code).sort(), ['ERR_MQTT_BAD_COMMAND', 'ERR_UNKNOWN_WORKER']);
    // close() writes what is pending: one line per kind, with how many and the last one's details.
    await second!.close();
    second = undefined;
    const ignored = logLines()
      .slice(before)
      .filter((l) => String(l.msg).startsWith('mqtt: ignored'));
    assert.equal(ignored.length, 4, JSON.stringify(ignored));
    const summaries = ignored.filter((l) => typeof l.suppressed === 'number');
    assert.deepEqual(
      summaries.map((l) => l.suppressed),
      [499, 499],
    );
    assert.ok(
      summaries.some((l) => l.payload === 'DANCE 499'),
      JSON.stringify(summaries),
    );
  });

  it("a sink told not to sweep (a cluster node, whose cameras come later and whose others are other nodes') clears nothing", async () => {
    const url = broker.url;
    const theirs = [`${PREFIX}/${B}/status`, `homeassistant/sensor/${CLIENT_ID}/${B}_status/config`];
    for (const topic of theirs) await recorder.client.publishAsync(topic, topic.endsWith('config') ? '{"name":"b"}' : 'running', { qos: 1, retain: true });
    const from = recorder.messages.length;
    const log = createLogger({ level: 'info', destination: LOG });
    const node = await startSystemWithSink(config(url, { [A]: { source, capture, workers: [{ id: 'motion', module: 'builtin:motion' }] } }), log, {
      sweepRetained: false,
    });
    try {
      // Three stats messages after its connect: a sweep (milliseconds on loopback) would have cleared by then.
      for (let k = 0; k < 3; k++) {
        const seen = recorder.messages.length;
        await recorder.waitFor((m) => m.topic === `${PREFIX}/stats`, `stats ${k + 1}`, { from: Math.max(from, seen) });
      }
      assert.deepEqual(node.sink.stats().sweep, { completed: 0, cut: 0, cleared: 0 });
      assert.deepEqual(
        recorder.messages.slice(from).filter((m) => theirs.includes(m.topic) && m.payload === ''),
        [],
      );
      const still = await retainedNow(url, theirs);
      assert.deepEqual(still.map((m) => m.topic).sort(), [...theirs].sort());
    } finally {
      await node.close();
      for (const topic of theirs) await recorder.client.publishAsync(topic, '', { qos: 1, retain: true });
    }
  });
  it("a cluster node's sink (node-configs) clears nothing until its share settled, then only its own configs of cameras it does not run", async () => {
    const url = broker.url;
    const staleConfig = `homeassistant/sensor/${CLIENT_ID}/${B}_status/config`;
    const otherNodes = [`${PREFIX}/${B}/status`, OTHER_NODE_CONFIG]; // B's state may be another node's now; another node's entity
    await recorder.client.publishAsync(staleConfig, '{"name":"b"}', { qos: 1, retain: true });
    for (const topic of otherNodes)
      await recorder.client.publishAsync(topic, topic.endsWith('config') ? '{"name":"theirs"}' : 'running', { qos: 1, retain: true });
    const from = recorder.messages.length;
    const log = createLogger({ level: 'info', destination: LOG });
    const node = await startSystemWithSink(config(url, { [A]: { source, capture, workers: [{ id: 'motion', module: 'builtin:motion' }] } }), log, {
      sweepRetained: 'node-configs',
    });
    try {
      for (let k = 0; k < 3; k++) {
        const seen = recorder.messages.length;
        await recorder.waitFor((m) => m.topic === `${PREFIX}/stats`, `stats ${k + 1}`, { from: Math.max(from, seen) });
      }
      assert.deepEqual(node.sink.stats().sweep, { completed: 0, cut: 0, cleared: 0 }, 'nothing judged before the share settled');
      node.sink.sweepFromNow();
      // The sweep is over once a stats message says so: the sink sent every clear before it.
      await recorder.waitFor(
        (m) => m.topic === `${PREFIX}/stats` && (JSON.parse(m.payload) as { mqtt: { sweep: { completed: number } } }).mqtt.sweep.completed === 1,
        'the sweep completed',
        { from },
      );
      assert.deepEqual(node.sink.stats().sweep, { completed: 1, cut: 0, cleared: 1 });
      const cleared = recorder.messages.slice(from).filter((m) => m.payload === '');
      assert.deepEqual(
        cleared.map((m) => m.topic),
        [staleConfig],
        "one topic cleared: no state topic under the prefix, none of A, no other node's",
      );
      const still = await retainedNow(url, [...otherNodes, `homeassistant/+/${CLIENT_ID}/+/config`]);
      const topics = still.map((m) => m.topic);
      for (const topic of otherNodes) assert.ok(topics.includes(topic), topic);
      assert.ok(topics.includes(`homeassistant/sensor/${CLIENT_ID}/${A}_status/config`), "A's entity stays");
      assert.ok(!topics.includes(staleConfig));
      // A leaves this node (moved, or its lease lost): its configs here go; its state topics are every node's, and the
      // node it moved to has published them already (ADR 0103), so none is cleared.
      const leaving = recorder.messages.length;
      const aConfig = `homeassistant/sensor/${CLIENT_ID}/${A}_status/config`;
      await node.system.cameras.remove(A);
      await recorder.waitFor((m) => m.topic === aConfig && m.payload === '', "A's config cleared", { from: leaving });
      await recorder.waitFor((m) => m.topic === `${PREFIX}/stats`, 'a stats message after it', { from: recorder.messages.length });
      const clearedAfter = recorder.messages.slice(leaving).filter((m) => m.payload === '' && m.topic.startsWith(`${PREFIX}/`));
      assert.deepEqual(
        clearedAfter.map((m) => m.topic),
        [],
        'no state topic of A cleared',
      );
      const left = (await retainedNow(url, [`${PREFIX}/${A}/#`])).map((m) => m.topic);
      assert.ok(left.includes(`${PREFIX}/${A}/status`), `A's status left retained: ${left.join(', ')}`);
    } finally {
      await node.close();
      for (const topic of otherNodes) await recorder.client.publishAsync(topic, '', { qos: 1, retain: true });
    }
  });
});
