/**
 * A worker behind its freshness objective, as Home Assistant sees it
 * (ADR 0042), against Debian's real mosquitto: a `critical` model worker
 * (0 % tolerance) asking 10 frames a second of a 150 ms model. Its retained
 * `<camera>/<worker>/objective` goes from `behind: false` to `behind: true`
 * with the reason and the fix, discovery announces a `binary_sensor`
 * "behind" reading that topic, and its results carry their `ageMs`.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { Mosquitto, Recorder } from '../helpers/mosquitto.js';
import { resolvedConfig } from '../pipeline/helpers.js';
import { startSystemWithSink, type SystemWithSink } from './system-sink.js';

const PREFIX = `fs-objective-${process.pid}`;
const CLIENT_ID = `fs-objective-client-${process.pid}`;
const SHM_DIR = `/dev/shm/framesupplier-test-mqtt-objective-${process.pid}`;
const CAM = 'porch';

describe('a worker behind its objective, on MQTT and in Home Assistant discovery', { timeout: 120_000 }, () => {
  let broker: Mosquitto;
  let recorder: Recorder;
  let running: SystemWithSink;

  before(async () => {
    broker = await Mosquitto.start();
    recorder = await Recorder.connect(broker.url, [`${PREFIX}/#`, 'homeassistant/#']);
    running = await startSystemWithSink(
      resolvedConfig({
        shmDir: SHM_DIR,
        models: { slow: { handler: 'mock', delayMs: 150 } },
        cameras: {
          [CAM]: {
            source: 'lavfi:testsrc2=size=320x240:rate=10',
            capture: { output: { format: 'rgb24' } },
            workers: [{ id: 'fall', model: 'slow', criticality: 'critical', maxAgeMs: 2000 }],
          },
        },
        mqtt: { url: broker.url, clientId: CLIENT_ID, topicPrefix: PREFIX, discovery: { enabled: true } },
      }),
      createLogger({ level: 'silent' }),
    );
  });

  after(async () => {
    await running?.close();
    await recorder?.client.endAsync();
    await broker?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  it('publishes behind: false, then behind: true with the reason and the fix; discovery has the binary_sensor', async () => {
    const topic = `${PREFIX}/${CAM}/fall/objective`;
    const calm = await recorder.waitFor((m) => m.topic === topic, 'the first objective state');
    assert.equal((JSON.parse(calm.payload) as { behind: boolean }).behind, false);
    const behind = await recorder.waitFor((m) => m.topic === topic && (JSON.parse(m.payload) as { behind: boolean }).behind, 'behind: true', {
      timeoutMs: 60_000,
    });
    const payload = JSON.parse(behind.payload) as Record<string, unknown>;
    assert.equal(payload.criticality, 'critical');
    assert.equal(payload.max_skip_ratio, 0);
    assert.match(String(payload.reason), /misses \d+ % of its frames \(tolerance 0 %\): slow serves \d+\.\d frames\/s on 1 thread/);
    assert.ok(Array.isArray(payload.fix) && /^set maxFps ≤ \d+\.\d$/.test(String(payload.fix[0])), JSON.stringify(payload.fix));
    // The figures and the reason agree (no wall-clock bound: a loaded machine makes the model slower, not the figures wrong).
    const capacity = payload.capacity_fps as number;
    const share = payload.share_fps as number;
    assert.ok(capacity > 0 && share > 0 && share <= capacity + 1e-9, `capacity ${capacity}, share ${share}`);
    assert.ok(String(payload.reason).includes(`slow serves ${(Math.round(capacity * 10) / 10).toFixed(1)} frames/s`), String(payload.reason));

    const config = await recorder.waitFor((m) => m.topic === `homeassistant/binary_sensor/${CLIENT_ID}/${CAM}_fall_behind/config`, 'the behind sensor');
    const sensor = JSON.parse(config.payload) as Record<string, unknown>;
    assert.equal(sensor.state_topic, topic);
    assert.equal(sensor.json_attributes_topic, topic);
    assert.equal(sensor.device_class, 'problem');
    assert.equal(sensor.value_template, "{{ 'ON' if value_json.behind else 'OFF' }}");

    // Results say how old their frame was when they were emitted.
    const result = await recorder.waitFor((m) => m.topic === `${PREFIX}/${CAM}/fall/result`, 'a result');
    const ageMs = (JSON.parse(result.payload) as { ageMs: number }).ageMs;
    assert.ok(ageMs >= 150, `a result of a 150 ms model is at least that old: ${ageMs}`);
    // And the published hop counts the results handed to the broker.
    const hops = running.system.stats().cameras[CAM]!.workers.fall!.hops;
    assert.ok(hops.published !== null && hops.published.count >= 1, JSON.stringify(hops.published));
    assert.ok(hops.published.p50Ms! >= hops.result!.p50Ms! * 0.9, 'published after the result');
  });
});
