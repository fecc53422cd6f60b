/**
 * A camera's motion on MQTT and in Home Assistant discovery (ADR 0066), against Debian's real mosquitto: a camera
 * with `motion` plays an H.264 clip of a drawn scene (test/motion/scene.ts): 2 s of a still room, a person crossing
 * it fast, then 4 s of the still room. Its retained `<camera>/motion` is OFF, then ON while the person crosses,
 * then OFF again; discovery announces a motion binary_sensor reading it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { Mosquitto, Recorder } from '../helpers/mosquitto.js';
import { drawScene, encodeToFile } from '../motion/scene.js';
import { resolvedConfig } from '../pipeline/helpers.js';
import { startSystemWithSink, type SystemWithSink } from './system-sink.js';

const PREFIX = `fs-motion-${process.pid}`;
const CLIENT_ID = `fs-motion-client-${process.pid}`;
const SHM_DIR = `/dev/shm/framesupplier-test-mqtt-motion-${process.pid}`;
const CAM = 'hall';

describe("a camera's motion on MQTT and in Home Assistant discovery", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-mqtt-motion-'));
  let broker: Mosquitto;
  let recorder: Recorder;
  let running: SystemWithSink;

  before(async () => {
    const clip = join(dir, 'hall.mp4');
    encodeToFile(drawScene({ frames: 80, personFrom: 20, personSpeed: 32, seed: 11 }), clip);
    broker = await Mosquitto.start();
    recorder = await Recorder.connect(broker.url, [`${PREFIX}/#`, 'homeassistant/#']);
    running = await startSystemWithSink(
      resolvedConfig({
        shmDir: SHM_DIR,
        cameras: { [CAM]: { source: clip, capture: { output: { format: 'gray' } }, motion: {} } },
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
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes OFF, ON while the person crosses, OFF once the room is still; discovery has the motion binary_sensor', async () => {
    const topic = `${PREFIX}/${CAM}/motion`;
    const off = await recorder.waitFor((m) => m.topic === topic, 'the first motion state');
    assert.equal(off.payload, 'OFF');
    await recorder.waitFor((m) => m.topic === topic && m.payload === 'ON', 'motion ON', { timeoutMs: 30_000 });
    await recorder.waitFor((m) => m.topic === topic && m.payload === 'OFF' && m !== off, 'motion OFF again', { timeoutMs: 30_000 });
    const states = recorder.messages.filter((m) => m.topic === topic).map((m) => m.payload);
    assert.deepEqual(states, ['OFF', 'ON', 'OFF'], 'one spell of motion');

    const config = await recorder.waitFor((m) => m.topic === `homeassistant/binary_sensor/${CLIENT_ID}/${CAM}_motion/config`, 'the motion sensor');
    const sensor = JSON.parse(config.payload) as Record<string, unknown>;
    assert.equal(sensor.state_topic, topic);
    assert.equal(sensor.device_class, 'motion');
    assert.equal(sensor.payload_on, 'ON');
    const motion = running.system.stats().cameras[CAM]!.motion!;
    assert.equal(motion.stream, 'main');
    assert.equal(motion.onsets >= 1, true, JSON.stringify(motion));
  });
});
