/**
 * E1 (bench/README.md): P1's configuration at 16 cameras (720p
 * H.264 at 10 fps, looped; one shared mock model serving one frame at a time
 * in 20 ms; a do-nothing worker per camera) with MQTT on, against a real
 * mosquitto on loopback, for 60 s after a 5 s warm-up, with a separate client
 * subscribed to every topic. Then the broker is stopped (SIGTERM) for 10 s and
 * started again while the cameras run.
 *
 * The subscriber is Debian's mosquitto_sub in a process of its own, so its
 * receipt times are not delayed by this process's event loop; it stamps each
 * message with the wall clock (ns). Latency: a result's capture wall time (in
 * its payload) to that stamp; transit: the sink's publish (capture time plus
 * the payload's age when it was sent) to the stamp, MQTT's own share. Events:
 * every object event the sink makes from the broker's stop until it is
 * connected again, against what the subscriber receives; the subscriber keeps
 * a persistent session (-c, QoS 1) on a broker with persistence, so it is not
 * racing the sink to resubscribe after the restart, and repeats
 * (at-least-once) count once.
 */
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { MqttSink, type MqttConnectionState, type ObjectEvent } from '../../src/mqtt/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { findExecutable, spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { Mosquitto } from '../../test/helpers/mosquitto.js';
import { testClip } from '../capture/workloads.js';
import { emit, log, percentile, round, sleep, sortedCopy } from '../stats.js';

const NOOP = fileURLToPath(new URL('./noop-module.js', import.meta.url));

interface Subscriber {
  /** Resolves once the broker has the subscription. */
  readonly subscribed: Promise<void>;
  stop(): Promise<void>;
}

/**
 * mosquitto_sub printing `<unix time with ns> <topic> <payload>` per message;
 * started again if it exits (it also reconnects by itself).
 */
function startSubscriber(port: number, clientId: string, topic: string, onMessage: (atMs: number, topic: string, payload: string) => void): Subscriber {
  const executable = findExecutable('mosquitto_sub');
  if (executable === null) throw new Error("mosquitto_sub is not installed (Debian's mosquitto-clients: bash scripts/setup.sh test)");
  const stdbuf = findExecutable('stdbuf');
  let child: ManagedProcess | null = null;
  let stopped = false;
  let onSubscribed: () => void = () => undefined;
  const subscribed = new Promise<void>((resolve) => (onSubscribed = resolve));
  const spawn = (): void => {
    // stdbuf: line-buffered stdout, so each line (the -d protocol log included) arrives when it is printed.
    const c = spawnManaged(stdbuf ?? executable, [
      ...(stdbuf === null ? [] : ['-oL', executable]),
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-i',
      clientId,
      '-c',
      '-q',
      '1',
      '-t',
      topic,
      '-F',
      '%U %t %p',
      '-d',
    ]);
    child = c;
    createInterface({ input: c.child.stdout }).on('line', (line) => {
      // -d prints the client's protocol log on stdout too: SUBACK says the subscription is in place.
      if (line.startsWith('Client ')) {
        if (line.includes('received SUBACK')) onSubscribed();
        return;
      }
      const first = line.indexOf(' ');
      const second = line.indexOf(' ', first + 1);
      if (first > 0 && second > first) onMessage(Number(line.slice(0, first)) * 1000, line.slice(first + 1, second), line.slice(second + 1));
    });
    c.child.stderr.resume();
    void c.exited.then(() => {
      if (!stopped) setTimeout(spawn, 200);
    });
  };
  spawn();
  return {
    subscribed,
    stop: async () => {
      stopped = true;
      await child?.stop(1_000);
    },
  };
}

export async function e1(cameras = 16, seconds = 60, outageS = 10): Promise<void> {
  const file = await testClip('testsrc2-720p10-20s.mp4', '1280x720', 10, 20);
  const broker = await Mosquitto.start({ persistence: true });
  const prefix = `e1-${process.pid}`;
  const ids = Array.from({ length: cameras }, (_, i) => `cam${i}`);
  const config = parseConfig(
    JSON.stringify({
      shmDir: `/dev/shm/framesupplier-bench-e1-${process.pid}`,
      models: { mock: { handler: 'mock', delayMs: 20 } },
      cameras: Object.fromEntries(
        ids.map((id) => [id, { source: file, capture: { loop: true, output: { format: 'nv12' } }, workers: [{ id: 'light', module: NOOP }] }]),
      ),
      shared: { model: { model: 'mock', cameras: ids } },
      mqtt: { url: broker.url, clientId: `e1-sink-${process.pid}`, topicPrefix: prefix, statsIntervalS: 10, reconnect: { initialMs: 500, maxMs: 2_000 } },
    }),
    { env: {}, fileName: 'E1' },
  );
  const logger = createLogger({ level: 'warn' });
  const system = new VisionSystem({ config, logger });
  const sink = new MqttSink({ system, config: config.mqtt!, logger });

  let measuring = false;
  let results = 0;
  let modelResults = 0;
  const latencies: number[] = [];
  const transit: number[] = [];
  const received = new Set<string>();
  const subscriber = startSubscriber(broker.port, `e1-subscriber-${process.pid}`, `${prefix}/#`, (at, topic, payload) => {
    if (topic === `${prefix}/events`) received.add(payload);
    else if (measuring && topic.endsWith('/result')) {
      results++;
      if (topic.includes('/@shared/')) modelResults++;
      const { captureTime, ageMs } = JSON.parse(payload) as { captureTime: number; ageMs: number };
      latencies.push(at - captureTime);
      transit.push(at - captureTime - ageMs);
    }
  });
  await subscriber.subscribed;

  sink.start();
  await system.start();
  log(`E1: ${cameras} cameras running; 5 s warm-up`);
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
    const listener = (state: MqttConnectionState): void => {
      if (state !== 'connected') return;
      sink.off('state', listener);
      resolve();
    };
    sink.on('state', listener);
  });
  log('E1: broker stopped');
  await broker.stop();
  await sleep(outageS * 1000);
  await broker.start();
  log('E1: broker started again');
  await reconnected;
  outage = false;
  // Until the queue has gone out and the subscriber has what the broker holds for it (or 30 s).
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline && (sink.stats().events.queued > 0 || sink.stats().events.inFlight > 0 || !duringOutage.every((e) => received.has(e))))
    await sleep(200);
  const sinkStats = sink.stats();
  const receivedOfOutage = duringOutage.filter((e) => received.has(e)).length;

  await sink.close();
  await system.close();
  await subscriber.stop();
  await broker.close();
  const sorted = sortedCopy(latencies);
  const transitSorted = sortedCopy(transit);
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
    mqtt_transit_ms_p50: round(percentile(transitSorted, 50), 1),
    mqtt_transit_ms_p99: round(percentile(transitSorted, 99), 1),
    events_sent_during_outage: duringOutage.length,
    events_received_after: receivedOfOutage,
    events_lost: duringOutage.length - receivedOfOutage,
    queue_dropped: sinkStats.events.dropped,
    reconnects: sinkStats.reconnects,
  });
}
