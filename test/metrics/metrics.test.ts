/**
 * /metrics of a real system: two cameras on the test clip (vtest.avi), a
 * module worker on each, a mock model server's client on one, and a shared
 * worker fed by both. Scraped over real HTTP, checked by Debian's `promtool
 * check metrics`, and parsed: names, types and labels; counts that never go
 * down across a worker restart (the worker's own figures start over); the
 * series of a removed camera gone. Every wait is on an event.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { listenMetrics, serveSystemMetrics, SystemMetrics, type MetricsListener, type ServedMetrics } from '../../src/metrics/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { nextEvent, nextResults, resolvedConfig, vtest } from '../pipeline/helpers.js';
import { parseMetrics, promtoolCheck, scrape, valueOf, type Family } from './helpers.js';

const id = (name: string): string => `${name}-${process.pid}`;
const A = id('a');
const B = id('b');
const SHM_DIR = `/dev/shm/framesupplier-test-metrics-${process.pid}`;
const LOG = join(tmpdir(), `framesupplier-metrics-test-${process.pid}.log`);
const capture = { output: { format: 'rgb24' as const, width: 160, fps: 5 }, loop: true };

/** Labels a framesupplier metric may have: bounded ones only. */
const ALLOWED_LABELS = new Set([
  'stream',
  'camera',
  'worker',
  'model',
  'state',
  'le',
  'quantile',
  'code',
  'outcome',
  'reason',
  'version',
  'node_version',
  'hop',
]);

const EXPECTED_TYPES: Record<string, string> = {
  framesupplier_build_info: 'gauge',
  framesupplier_frame_age_seconds: 'histogram',
  framesupplier_system_state: 'gauge',
  framesupplier_camera_state: 'gauge',
  framesupplier_capture_restarts_total: 'counter',
  framesupplier_capture_frames_decoded_total: 'counter',
  framesupplier_capture_fps: 'gauge',
  framesupplier_stream_frames_received_total: 'counter',
  framesupplier_stream_frames_decoded_total: 'counter',
  framesupplier_stream_frames_converted_total: 'counter',
  framesupplier_stream_frames_used_total: 'counter',
  framesupplier_stream_packet_buffer_bytes: 'gauge',
  framesupplier_frames_published_total: 'counter',
  framesupplier_inbox_drops_total: 'counter',
  framesupplier_worker_state: 'gauge',
  framesupplier_worker_restarts_total: 'counter',
  framesupplier_worker_frames_delivered_total: 'counter',
  framesupplier_worker_frames_dropped_total: 'counter',
  framesupplier_worker_frames_gated_total: 'counter',
  framesupplier_worker_stale_skips_total: 'counter',
  framesupplier_worker_results_total: 'counter',
  framesupplier_worker_frames_taken_total: 'counter',
  framesupplier_worker_frames_skipped_total: 'counter',
  framesupplier_worker_frame_age_seconds: 'histogram',
  framesupplier_worker_drop_alert: 'gauge',
  framesupplier_worker_waiting_for_model: 'gauge',
  framesupplier_worker_decode_added_age_seconds: 'gauge',
  framesupplier_model_server_state: 'gauge',
  framesupplier_model_server_restarts_total: 'counter',
  framesupplier_model_server_ping_seconds: 'gauge',
  framesupplier_model_max_batch: 'gauge',
  framesupplier_model_batch_size_p50: 'gauge',
  framesupplier_model_batch_size_p99: 'gauge',
  framesupplier_model_batch_oldest_frame_age_p50_seconds: 'gauge',
  framesupplier_model_batch_oldest_frame_age_p99_seconds: 'gauge',
  framesupplier_model_call_fixed_seconds: 'gauge',
  framesupplier_model_call_per_frame_seconds: 'gauge',
  framesupplier_inference_duration_seconds: 'histogram',
  framesupplier_model_error_answers_total: 'counter',
  // prom-client's default process metrics
  process_cpu_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  nodejs_eventloop_lag_seconds: 'gauge',
};

/** Every counter sample of a scrape, by name and labels. */
function counters(families: Map<string, Family>): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of families.values()) {
    if (!f.name.startsWith('framesupplier_')) continue;
    if (f.type !== 'counter' && f.type !== 'histogram') continue;
    for (const s of f.samples) {
      if (f.type === 'histogram' && s.name.endsWith('_sum')) continue; // sums of ages only grow too, but are floats
      out.set(`${s.name}${JSON.stringify(s.labels)}`, s.value);
    }
  }
  return out;
}

describe('Prometheus metrics of a running system', { timeout: 120_000 }, () => {
  let system: VisionSystem;
  let served: ServedMetrics;
  let url: string;

  before(async () => {
    system = new VisionSystem({
      config: resolvedConfig({
        shmDir: SHM_DIR,
        // Batches of up to 4 (ADR 0127): one camera asks it, so its calls hold one frame each.
        models: { mock: { handler: 'mock', batch: 4 } },
        cameras: {
          [A]: {
            source: vtest(),
            capture,
            workers: [
              { id: 'motion', module: 'builtin:motion' },
              { id: 'detect', model: 'mock' },
            ],
          },
          [B]: { source: vtest(), capture, workers: [{ id: 'motion', module: 'builtin:motion' }] },
        },
        shared: { mix: { module: 'builtin:motion', cameras: [A, B] } },
      }),
      logger: createLogger({ level: 'info', destination: LOG }),
      drainTimeoutMs: 2_000,
      // The server's per-camera figures reach the system with each health ping.
      modelHealthIntervalMs: 200,
    });
    served = await serveSystemMetrics({ system, port: 0 });
    url = served.listener.url;
    const ready = Promise.all([nextResults(system, A, 'detect', 3), nextResults(system, A, 'motion', 5), nextResults(system, B, 'motion', 2)]);
    await system.start();
    await ready;
  });

  after(async () => {
    await served?.close();
    await system?.close();
    rmSync(LOG, { force: true });
  });

  it('serves the text format over HTTP on 127.0.0.1, and promtool finds nothing wrong with it', async () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await scrape(url);
    assert.equal(res.status, 200);
    assert.equal(res.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    const check = await promtoolCheck(res.body);
    assert.equal(check.code, 0, `promtool check metrics:\n${check.output}`);
    assert.equal(check.output.trim(), '', 'no lint warnings either');
  });

  it('has every metric with its type, framesupplier_ names in base units, bounded labels', async () => {
    const families = parseMetrics((await scrape(url)).body);
    for (const [name, type] of Object.entries(EXPECTED_TYPES)) assert.equal(families.get(name)?.type, type, name);
    for (const f of families.values()) {
      if (!f.name.startsWith('framesupplier_')) continue;
      assert.ok(f.help.length > 0, `${f.name} has help`);
      assert.equal(f.type === 'counter', f.name.endsWith('_total'), `${f.name}: counters and only counters end in _total`);
      assert.ok(!/_(ms|milliseconds|us|kb|mb|fps_total)\b/.test(f.name), `${f.name}: base units`);
      for (const s of f.samples) for (const label of Object.keys(s.labels)) assert.ok(ALLOWED_LABELS.has(label), `${f.name}: label ${label}`);
    }
    const build = families.get('framesupplier_build_info')!.samples[0]!;
    assert.deepEqual(build.labels, { version: '0.1.0', node_version: process.version });

    // Per camera, per worker (a shared worker's camera is empty), per model.
    const delivered = families
      .get('framesupplier_worker_frames_delivered_total')!
      .samples.map((s) => `${s.labels.camera}/${s.labels.worker}`)
      .sort();
    assert.deepEqual(delivered, [`${A}/detect`, `${A}/motion`, `${B}/motion`, '/mix'].sort());
    assert.ok(valueOf(families, 'framesupplier_worker_frames_delivered_total', { camera: A, worker: 'motion' })! >= 5);
    assert.ok(valueOf(families, 'framesupplier_frames_published_total', { camera: A })! >= 5);
    assert.equal(valueOf(families, 'framesupplier_camera_state', { camera: A, state: 'streaming' }), 1);
    assert.equal(valueOf(families, 'framesupplier_camera_state', { camera: A, state: 'backoff' }), 0);
    assert.equal(valueOf(families, 'framesupplier_worker_state', { camera: A, worker: 'detect', state: 'running' }), 1);
    assert.equal(valueOf(families, 'framesupplier_model_server_state', { model: 'mock', state: 'ready' }), 1);
    assert.equal(valueOf(families, 'framesupplier_worker_waiting_for_model', { camera: A, worker: 'detect', model: 'mock' }), 0);
    assert.ok(valueOf(families, 'framesupplier_capture_fps', { camera: A })! > 0);
    // decode: auto adds no age to what a worker takes (ADR 0065, 0070): the worker's own figure, per camera worker.
    assert.equal(valueOf(families, 'framesupplier_worker_decode_added_age_seconds', { camera: A, worker: 'motion' }), 0);

    // Histograms: buckets 1 ms … 10 s and +Inf, cumulative, _count the +Inf bucket.
    const age = families.get('framesupplier_worker_frame_age_seconds')!;
    const buckets = age.samples.filter((s) => s.name.endsWith('_bucket') && s.labels.camera === A && s.labels.worker === 'motion');
    assert.deepEqual(
      buckets.map((s) => s.labels.le),
      ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'],
    );
    assert.ok(
      buckets.every((s, i) => i === 0 || s.value >= buckets[i - 1]!.value),
      'cumulative',
    );
    const count = valueOf(families, 'framesupplier_worker_frame_age_seconds', { camera: A, worker: 'motion' }, 'framesupplier_worker_frame_age_seconds_count')!;
    assert.equal(count, buckets.at(-1)!.value);
    assert.equal(count, valueOf(families, 'framesupplier_worker_frames_delivered_total', { camera: A, worker: 'motion' }), 'one age per frame read');
    // A model worker's frames at the model boundary (ADR 0040): taken, skipped by reason; its ages are of the frames taken.
    const taken = valueOf(families, 'framesupplier_worker_frames_taken_total', { camera: A, worker: 'detect' })!;
    assert.ok(taken >= 1, `frames taken: ${taken}`);
    assert.equal(valueOf(families, 'framesupplier_worker_frames_taken_total', { camera: A, worker: 'motion' }), undefined, 'a module worker has no model');
    assert.deepEqual(
      families
        .get('framesupplier_worker_frames_skipped_total')!
        .samples.filter((s) => s.labels.camera === A && s.labels.worker === 'detect')
        .map((s) => s.labels.reason)
        .sort(),
      ['error', 'overwritten', 'stale', 'superseded', 'unanswered'],
    );
    assert.equal(
      valueOf(families, 'framesupplier_worker_frame_age_seconds', { camera: A, worker: 'detect' }, 'framesupplier_worker_frame_age_seconds_count'),
      taken,
      'one age per frame taken',
    );
    // The age at each hop (ADR 0041): the camera's (worker="") once per frame published; a model worker's per frame taken.
    const hopCount = (camera: string, worker: string, hop: string): number | undefined =>
      valueOf(families, 'framesupplier_frame_age_seconds', { camera, worker, hop }, 'framesupplier_frame_age_seconds_count');
    const published = valueOf(families, 'framesupplier_frames_published_total', { camera: A })!;
    assert.equal(hopCount(A, '', 'decoded'), published, 'one decoded age per frame published');
    assert.equal(hopCount(A, '', 'converted'), published, 'one converted age per frame published');
    assert.equal(hopCount(A, 'detect', 'delivered'), taken, "a model worker's delivered ages: the frames its model ran on");
    assert.equal(hopCount(A, 'detect', 'taken'), taken);
    const results = valueOf(families, 'framesupplier_worker_results_total', { camera: A, worker: 'detect' })!;
    assert.equal(hopCount(A, 'detect', 'result'), results, 'one result age per result');
    assert.equal(hopCount(A, 'motion', 'delivered'), valueOf(families, 'framesupplier_worker_frames_delivered_total', { camera: A, worker: 'motion' }));
    assert.equal(hopCount(A, 'detect', 'published'), undefined, 'no MQTT here: nothing published');
    const inferences = valueOf(families, 'framesupplier_inference_duration_seconds', { model: 'mock' }, 'framesupplier_inference_duration_seconds_count')!;
    assert.ok(inferences >= 3, `inference durations observed: ${inferences}`);
  });

  it("exports the model server's own per-camera figures (protocol 2's pong): requests by outcome, wait and inference percentiles", async () => {
    // Each result proves a request was served; the figures arrive with the next ping after it.
    while ((system.stats().models.mock?.scheduling?.cameras[A]?.served ?? 0) === 0) await nextResults(system, A, 'detect', 1);
    const families = parseMetrics((await scrape(url)).body);
    assert.ok(valueOf(families, 'framesupplier_model_requests_total', { model: 'mock', camera: A, outcome: 'served' })! >= 1);
    assert.equal(families.get('framesupplier_model_requests_total')?.type, 'counter');
    for (const name of [
      'framesupplier_model_wait_p50_seconds',
      'framesupplier_model_wait_p99_seconds',
      'framesupplier_model_camera_inference_p50_seconds',
      'framesupplier_model_camera_inference_p99_seconds',
    ]) {
      const value = valueOf(families, name, { model: 'mock', camera: A });
      assert.equal(families.get(name)?.type, 'gauge');
      assert.ok(value !== undefined && value >= 0, `${name} has the camera's figure`);
    }
  });

  it("exports a batched model's batches (ADR 0127, 0128): its max_batch, its calls' size and oldest frame by quantile, and what a call costs", async () => {
    while ((system.stats().models.mock?.scheduling?.maxBatch ?? 1) === 1) await nextResults(system, A, 'detect', 1);
    const families = parseMetrics((await scrape(url)).body);
    assert.equal(valueOf(families, 'framesupplier_model_max_batch', { model: 'mock' }), 4);
    for (const p of ['p50', 'p99']) {
      assert.equal(valueOf(families, `framesupplier_model_batch_size_${p}`, { model: 'mock' }), 1, 'one camera: calls of one frame');
      assert.ok(valueOf(families, `framesupplier_model_batch_oldest_frame_age_${p}_seconds`, { model: 'mock' })! >= 0);
    }
    assert.ok(valueOf(families, 'framesupplier_model_call_fixed_seconds', { model: 'mock' })! >= 0);
    assert.ok(valueOf(families, 'framesupplier_model_call_per_frame_seconds', { model: 'mock' })! >= 0);
    const stats = system.stats().models.mock!.calls;
    assert.ok(stats.calls > 0 && stats.batchSizeP99 === 1 && stats.cost !== null, JSON.stringify(stats));
    const check = await promtoolCheck((await scrape(url)).body);
    assert.equal(check.code, 0, `promtool check metrics:\n${check.output}`);
  });

  it('answers 404 elsewhere, 405 to other methods, and HEAD without a body', async () => {
    const base = url.replace(/\/metrics$/, '');
    assert.equal((await scrape(`${base}/other`)).status, 404);
    assert.equal((await scrape(url, 'POST')).status, 405);
    const head = await scrape(url, 'HEAD');
    assert.deepEqual([head.status, head.body], [200, '']);
  });

  it("never lets a count go down across a worker restart, though the worker's own figures start over", async () => {
    const before = parseMetrics((await scrape(url)).body);
    const restarts = valueOf(before, 'framesupplier_worker_restarts_total', { camera: A, worker: 'motion' })!;
    const delivered = valueOf(before, 'framesupplier_worker_frames_delivered_total', { camera: A, worker: 'motion' })!;
    assert.ok(delivered >= 5);
    const running = nextEvent(system, 'worker-state', (e) => e.camera === A && e.worker === 'motion' && e.to === 'running');
    await system.workers.restart(A, 'motion');
    await running;
    await nextResults(system, A, 'motion', 1);
    // The new incarnation has read fewer frames than the old one had: the system's per-incarnation figure started over.
    assert.ok(system.stats().cameras[A]!.workers.motion!.delivered < delivered);
    const afterRestart = parseMetrics((await scrape(url)).body);
    assert.equal(valueOf(afterRestart, 'framesupplier_worker_restarts_total', { camera: A, worker: 'motion' }), restarts + 1);
    assert.ok(valueOf(afterRestart, 'framesupplier_worker_frames_delivered_total', { camera: A, worker: 'motion' })! > delivered);
    const was = counters(before);
    const now = counters(afterRestart);
    for (const [key, value] of was) {
      const later = now.get(key);
      assert.ok(later !== undefined, `${key} still there`);
      assert.ok(later >= value, `${key}: ${value} → ${later}`);
    }
  });

  it('drops every series of a removed camera; the others stay', async () => {
    await system.cameras.remove(B);
    const families = parseMetrics((await scrape(url)).body);
    for (const f of families.values()) for (const s of f.samples) assert.notEqual(s.labels.camera, B, `${s.name} of the removed camera`);
    assert.ok(valueOf(families, 'framesupplier_worker_frames_delivered_total', { camera: A, worker: 'motion' })! > 0);
    assert.ok(valueOf(families, 'framesupplier_worker_frames_delivered_total', { camera: '', worker: 'mix' }) !== undefined);
  });

  it('exports what an MQTT sink reports through its stats()', async () => {
    let dropped = 7;
    const metrics = new SystemMetrics({
      system,
      processMetrics: false,
      mqtt: { stats: () => ({ connected: true, queuedEvents: 3, queuedBytes: 1_200, droppedEvents: dropped, reconnects: 2 }) },
    });
    try {
      let families = parseMetrics(await metrics.render());
      assert.equal(valueOf(families, 'framesupplier_mqtt_connected', {}), 1);
      assert.equal(valueOf(families, 'framesupplier_mqtt_queued_events', {}), 3);
      assert.equal(valueOf(families, 'framesupplier_mqtt_queued_bytes', {}), 1_200);
      assert.equal(valueOf(families, 'framesupplier_mqtt_dropped_events_total', {}), 7);
      assert.equal(valueOf(families, 'framesupplier_mqtt_reconnects_total', {}), 2);
      assert.equal(families.get('process_cpu_seconds_total'), undefined, 'no process metrics when asked not to');
      // A sink that starts over (a new one after a restart) does not take the counter down.
      dropped = 1;
      families = parseMetrics(await metrics.render());
      assert.equal(valueOf(families, 'framesupplier_mqtt_dropped_events_total', {}), 8);
    } finally {
      metrics.close();
    }
    await assert.rejects(metrics.render(), { code: 'ERR_METRICS_CLOSED' });
    assert.throws(() => metrics.start(), { code: 'ERR_METRICS_CLOSED' });
  });

  it('refuses an address in use with ERR_METRICS_LISTEN', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    let listener: MetricsListener | null = null;
    try {
      await assert.rejects(
        listenMetrics({ source: { contentType: 'text/plain', render: () => Promise.resolve('') }, port }).then((l) => (listener = l)),
        { code: 'ERR_METRICS_LISTEN' },
      );
    } finally {
      await (listener as MetricsListener | null)?.close();
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
