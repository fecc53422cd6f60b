/**
 * The MQTT sink's parts that talk to the broker, on their own against a real
 * mosquitto (ADR 0038, applied to the sink): the broker connection (`online`
 * on connect, `stopped` on close, the will when the connection is cut, a
 * fresh client after it, publish refused while away, start and close
 * idempotent) and the events outbox (bounded while away, the oldest dropped
 * and counted, the rest delivered in order once connected, drained()).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseConfig, type MqttConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { BrokerConnection, type MqttConnectionState } from '../../src/mqtt/broker/connection.js';
import { EventOutbox } from '../../src/mqtt/broker/event-outbox.js';
import { Mosquitto, Recorder, TcpProxy } from '../helpers/mosquitto.js';

const silent = createLogger({ level: 'silent' });

function mqttConfig(url: string, extra: object = {}): MqttConfig {
  return parseConfig(JSON.stringify({ cameras: {}, mqtt: { url, reconnect: { initialMs: 50, maxMs: 200 }, ...extra } })).mqtt!;
}

/** A connection and its outbox as the sink wires them, with the states it went through. */
function wired(url: string, prefix: string, queue = { maxEvents: 1000, maxBytes: 1 << 20 }) {
  const states: MqttConnectionState[] = [];
  const waiting = new Set<() => void>();
  let outbox: EventOutbox | null = null;
  const connection = new BrokerConnection({
    config: mqttConfig(url, { topicPrefix: prefix }),
    clientId: `rooms-${prefix}`,
    availableTopic: `${prefix}/available`,
    subscriptions: [`${prefix}/+/+/set`],
    log: silent,
    hooks: {
      state: (state) => {
        states.push(state);
        for (const wake of [...waiting]) wake();
      },
      connected: () => {
        outbox?.connected();
        outbox?.pump();
      },
      message: () => undefined,
      lost: () => outbox?.requeueInFlight(),
      queued: () => outbox?.queued ?? 0,
    },
  });
  outbox = new EventOutbox({ queue, connection, topic: `${prefix}/events`, log: silent });
  /** Resolves when the connection's state is `state` (now or later). */
  const reaches = (state: MqttConnectionState, from = 0): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (states.slice(from).includes(state)) {
          waiting.delete(check);
          resolve();
        }
      };
      waiting.add(check);
      check();
    });
  return { connection, outbox, states, reaches };
}

describe('MQTT sink parts on a real broker', { timeout: 60_000 }, () => {
  let broker: Mosquitto;
  let recorder: Recorder;

  before(async () => {
    broker = await Mosquitto.start();
    recorder = await Recorder.connect(broker.url);
  });

  after(async () => {
    await recorder.close();
    await broker.close();
  });

  it('the connection: online on connect, the will when cut, a fresh client after, stopped on close; start and close idempotent', async () => {
    const proxy = await TcpProxy.start(broker.port);
    const { connection, states, reaches } = wired(`mqtt://127.0.0.1:${proxy.port}`, 'conn');
    assert.equal(connection.publish('conn/x', 'y', 0, false), false, 'nothing goes before a connection');
    connection.start();
    connection.start();
    await reaches('connected');
    await recorder.waitFor((m) => m.topic === 'conn/available' && m.payload === 'online', 'online');
    assert.equal(connection.connects, 1);
    assert.ok(connection.publish('conn/x', 'y', 0, false));

    const from = states.length;
    const seen = recorder.messages.length;
    proxy.cut();
    await recorder.waitFor((m) => m.topic === 'conn/available' && m.payload === 'offline', 'the will', { from: seen });
    await reaches('backoff', from);
    await reaches('connected', from);
    assert.equal(connection.connects, 2, 'a fresh client connected again');
    assert.equal(connection.lastError?.code, 'ERR_MQTT_CONNECTION');

    const closing = recorder.messages.length;
    await Promise.all([connection.close(), connection.close()]);
    await recorder.waitFor((m) => m.topic === 'conn/available' && m.payload === 'stopped', 'stopped', { from: closing });
    assert.equal(connection.state, 'closed');
    const later = await Recorder.connect(broker.url, ['conn/available']);
    await later.waitFor((m) => m.payload === 'stopped' && m.retain, 'stopped, retained');
    await later.close();
    assert.equal(connection.publish('conn/x', 'y', 0, false), false, 'nothing goes after close');
    connection.start();
    assert.equal(connection.state, 'closed', 'start() after close() starts nothing');
    assert.deepEqual(states.slice(0, 3), ['connecting', 'connected', 'backoff']);
    await proxy.close();
  });

  it('the outbox: bounded while away (oldest dropped, counted), the rest in order once connected; drained() resolves', async () => {
    const proxy = await TcpProxy.start(broker.port);
    proxy.block(true);
    const { connection, outbox, reaches } = wired(`mqtt://127.0.0.1:${proxy.port}`, 'box', { maxEvents: 5, maxBytes: 1 << 20 });
    connection.start();
    for (let i = 0; i < 8; i++) outbox.push(JSON.stringify({ i }), null);
    outbox.pump();
    assert.deepEqual([outbox.emitted, outbox.queued, outbox.dropped, outbox.inFlight], [8, 5, 3, 0], 'the five newest wait');
    const seen = recorder.messages.length;
    proxy.block(false);
    await reaches('connected');
    await outbox.drained();
    await recorder.waitFor((m) => m.topic === 'box/events' && m.payload === '{"i":7}', 'the newest event', { from: seen });
    const delivered = recorder.messages.slice(seen).filter((m) => m.topic === 'box/events');
    assert.deepEqual(
      delivered.map((m) => JSON.parse(m.payload) as { i: number }).map((e) => e.i),
      [3, 4, 5, 6, 7],
      'the oldest went, the rest in order',
    );
    assert.ok(delivered.every((m) => m.qos === 1));
    assert.deepEqual([outbox.published, outbox.queued, outbox.inFlight], [5, 0, 0]);
    await connection.close();
    await proxy.close();
  });
});
