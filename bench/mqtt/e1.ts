/**
 * E1 (../shared/bench/WORKLOADS.md): P1's configuration at 16 cameras (720p
 * H.264 at 10 fps, looped; one shared mock model serving one frame at a time
 * in 20 ms; a do-nothing worker per camera) with MQTT on, against a real
 * mosquitto on loopback, for 60 s after a 5 s warm-up, with a separate client
 * subscribed to every topic. Then the broker is stopped (SIGTERM) for 10 s and
 * started again while the cameras run.
 *
 * Latency: a result's capture wall time (in its payload) to the subscriber's
 * receipt, both on this machine's wall clock (ms resolution). Events: every
 * object event the sink makes while the broker is away (from the stop until
 * the sink is connected again) against what the subscriber receives; the
 * subscriber keeps a persistent session (clean: false, QoS 1) on a broker
 * with persistence, so it is not racing the sink to resubscribe after the
 * restart, and repeats (at-least-once) are counted once.
 */
import { fileURLToPath } from 'node:url';
import { connect } from 'mqtt';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { MqttSink, type ObjectEvent } from '../../src/mqtt/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { Mosquitto } from '../../test/helpers/mosquitto.js';
import { testClip } from '../capture/workloads.js';
import { emit, log, percentile, round, sleep, sortedCopy } from '../stats.js';

const NOOP = fileURLToPath(new URL('./noop-module.js', import.meta.url));

export async function e1(cameras = 16, seconds = 60, outageS = 10): Promise<void> {
  const file = await testClip('testsrc2-720p10-20s.mp4', '1280x720', 10, 20);
  const broker = await Mosquitto.start({ persistence: true });
  const prefix = `e1-${process.pid}`;
  const ids = Array.from({ length: cameras }, (_, i) => `cam${i}`);
  const config = parseConfig(
    JSON.stringify({
      shmDir: `/dev/shm/framesupplier-bench-e1-${process.pid}`,
      models: { mock: { handler: 'mock', delayMs: 20 } },
      cameras: Object.fromEntries(ids.map((id) => [id, { source: file, capture: { loop: true, output: { format: 'nv12' } }, workers: [{ id: 'light', module: NOOP }] }])),
      shared: { model: { model: 'mock', cameras: ids } },
      mqtt: { url: broker.url, clientId: `e1-sink-${process.pid}`, topicPrefix: prefix, statsIntervalS: 10, reconnect: { initialMs: 500, maxMs: 2_000 } },
    }),
    { env: {}, fileName: 'E1' },
  );
  const logger = createLogger({ level: 'warn' });
  const system = new VisionSystem({ config, logger });
  const sink = new MqttSink({ system, config: config.mqtt!, logger });
  // A persistent session (clean: false, QoS 1): the broker keeps the subscriber's messages across the restart.
  const client = connect(broker.url, { clientId: `e1-subscriber-${process.pid}`, clean: false, reconnectPeriod: 200 });
  client.on('error', () => undefined);
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  await client.subscribeAsync(`${prefix}/#`, { qos: 1 });

  let measuring = false;
  let results = 0;
  let modelResults = 0;
  const latencies: number[] = [];
  /** The sink's publish (capture time + the payload's age at sending) to the subscriber's receipt: MQTT's own share. */
  const transit: number[] = [];
  const received = new Set<string>();
  client.on('message', (topic, payload) => {
    if (topic === `${prefix}/events`) received.add(payload.toString('utf8'));
    else if (measuring && topic.endsWith('/result')) {
      const now = Date.now();
      results++;
      if (topic.includes('/@shared/')) modelResults++;
      const { captureTime, ageMs } = JSON.parse(payload.toString('utf8')) as { captureTime: number; ageMs: number };
      latencies.push(now - captureTime);
      transit.push(now - captureTime - ageMs);
    }
  });

  sink.start();
  await system.start();
  log(`E1: ${cameras} cameras running; ${5} s warm-up`);
  await sleep(5_000);
  measuring = true;
  const start = performance.now();
  await sleep(seconds * 1000);
  measuring = false;
  const wall = (performance.now() - start) / 1000;

  // The outage: what the sink makes from the broker's stop until it is connected again.
  const duringOutage: string[] = [];
  let outage = true;
  sink.on('object-event', (e: ObjectEvent) => {
    if (outage) duringOutage.push(JSON.stringify(e));
  });
  const reconnected = new Promise<void>((resolve) => {
    const listener = (state: string): void => {
      if (state !== 'connected') return;
      sink.off('state', listener);
      resolve();
    };
    // Registered once the sink has seen the broker go, so the current connection does not count.
    sink.once('state', () => sink.on('state', listener));
  });
  log('E1: broker stopped');
  await broker.stop();
  await sleep(outageS * 1000);
  await broker.start();
  log('E1: broker started again');
  await reconnected;
  outage = false;
  // Until the queue has gone out and the subscriber has what the broker has for it.
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline && (sink.stats().events.queued > 0 || sink.stats().events.inFlight > 0 || !duringOutage.every((e) => received.has(e)))) await sleep(200);
  const sinkStats = sink.stats();
  const receivedOfOutage = duringOutage.filter((e) => received.has(e)).length;

  await sink.close();
  await system.close();
  await client.endAsync(true);
  await broker.close();
  const sorted = sortedCopy(latencies);
  emit({
    workload: 'E1',
    impl: 'framesupplier',
    cameras,
    seconds,
    outage_s: outageS,
    results_per_s: round(results / wall, 1),
    result_latency_ms_p50: round(percentile(sorted, 50), 1),
    result_latency_ms_p99: round(percentile(sorted, 99), 1),
    model_results_per_s: round(modelResults / wall, 1),
    mqtt_transit_ms_p50: round(percentile(sortedCopy(transit), 50), 1),
    mqtt_transit_ms_p99: round(percentile(sortedCopy(transit), 99), 1),
    events_sent_during_outage: duringOutage.length,
    events_received_after: receivedOfOutage,
    events_lost: duringOutage.length - receivedOfOutage,
    queue_dropped: sinkStats.events.dropped,
    reconnects: sinkStats.reconnects,
  });
}
