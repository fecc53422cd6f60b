/**
 * MQTT when other people can publish: a real mosquitto with accounts and the
 * ACL the docs give (examples/mosquitto/acl). A retained OFF left on a
 * worker's set topic before framesupplier connects is not obeyed (commands
 * are for now, not for every connect); 500 Home Assistant `online` messages
 * make one discovery republish, not 500; a user the ACL keeps to reading
 * cannot command a worker, while Home Assistant's account can.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, type MqttClient } from 'mqtt';
import { createLogger } from '../../src/internal/logger.js';
import { DISCOVERY_MIN_INTERVAL_MS, MqttSink } from '../../src/mqtt/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { Mosquitto, Recorder } from '../helpers/mosquitto.js';
// Polled: the sink's own figures show it, no event says "a message was ignored".
import { eventually } from '../helpers/process.js';
import { nextEvent, resolvedConfig, vtest } from '../pipeline/helpers.js';

const ACL = fileURLToPath(new URL('../../../examples/mosquitto/acl', import.meta.url));
const CAM = `door${process.pid}`;
const SHM_DIR = `/dev/shm/framesupplier-test-mqtt-exposed-${process.pid}`;
const USERS = { framesupplier: 'fs-pass-0123', homeassistant: 'ha-pass-0123', viewer: 'viewer-pass-0123' };

async function client(broker: Mosquitto, user: keyof typeof USERS): Promise<MqttClient> {
  const c = connect(broker.url, {
    username: user,
    password: USERS[user],
    clientId: `${user}-${process.pid}-${Math.random().toString(16).slice(2, 6)}`,
    reconnectPeriod: 0,
  });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

describe('MQTT with other users on the broker', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `framesupplier-mqtt-acl-${process.pid}-`));
  let broker: Mosquitto;
  let system: VisionSystem;
  let sink: MqttSink;
  let ha: MqttClient;
  let recorder: Recorder;

  before(async () => {
    const passwords = join(dir, 'passwords');
    writeFileSync(passwords, '');
    for (const [user, password] of Object.entries(USERS)) execFileSync('mosquitto_passwd', ['-b', passwords, user, password]);
    broker = await Mosquitto.start({ refuseAnonymous: true, extraConfig: [`password_file ${passwords}`, `acl_file ${ACL}`] });
    ha = await client(broker, 'homeassistant');
    // Left on the broker before framesupplier ever connects: a retained OFF.
    await ha.publishAsync(`framesupplier/${CAM}/motion/set`, 'OFF', { qos: 1, retain: true });
    const recorderClient = await client(broker, 'homeassistant');
    await recorderClient.endAsync();
    recorder = await Recorder.connect(broker.url.replace('mqtt://', `mqtt://homeassistant:${USERS.homeassistant}@`), ['framesupplier/#', 'homeassistant/#']);
    const config = resolvedConfig({
      shmDir: SHM_DIR,
      cameras: {
        [CAM]: {
          source: vtest(),
          capture: { output: { format: 'gray', width: 160, fps: 5 }, loop: true },
          workers: [{ id: 'motion', module: 'builtin:motion' }],
        },
      },
      mqtt: { url: broker.url, username: 'framesupplier', password: USERS.framesupplier, clientId: `fs-${process.pid}`, topicPrefix: 'framesupplier' },
    });
    system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }), drainTimeoutMs: 1_000 });
    const connected = new Promise<void>((resolve) => {
      sink = new MqttSink({ system, config: config.mqtt!, logger: createLogger({ level: 'silent' }) });
      const onState = (s: string): void => {
        if (s !== 'connected') return;
        sink.off('state', onState);
        resolve();
      };
      sink.on('state', onState);
      sink.start();
    });
    await system.start();
    await connected;
  });

  after(async () => {
    await sink?.close();
    await system?.close();
    await ha?.endAsync();
    await recorder?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  it('a retained command is not obeyed: the worker stays enabled, the message is counted', async () => {
    await recorder.waitFor(
      (m) => m.topic === `framesupplier/${CAM}/motion/state` && (JSON.parse(m.payload) as { state: string }).state === 'running',
      'the worker running',
    );
    // The broker delivers the retained OFF when the sink subscribes.
    await eventually(() => sink.stats().commands.retainedIgnored === 1, 'the retained command counted');
    assert.equal(system.stats().cameras[CAM]!.workers.motion!.enabled, true);
    assert.equal(sink.stats().commands.accepted, 0);
  });

  it("a user the ACL keeps to reading cannot command a worker; Home Assistant's account can", async () => {
    const viewer = await client(broker, 'viewer');
    try {
      // mosquitto drops a publish the ACL denies (MQTT 3.1.1 has no refusal to the publisher).
      await viewer.publishAsync(`framesupplier/${CAM}/motion/set`, 'OFF', { qos: 1 });
      const disabled = nextEvent(system, 'config-change', (e) => e.change === 'worker-disabled' && e.camera === CAM);
      await ha.publishAsync(`framesupplier/${CAM}/motion/set`, 'OFF', { qos: 1 });
      await disabled;
      assert.equal(sink.stats().commands.accepted, 1, "only Home Assistant's command arrived");
      const enabled = nextEvent(system, 'config-change', (e) => e.change === 'worker-enabled' && e.camera === CAM);
      await ha.publishAsync(`framesupplier/${CAM}/motion/set`, 'ON', { qos: 1 });
      await enabled;
    } finally {
      await viewer.endAsync();
    }
  });

  it("500 of Home Assistant's online messages make one discovery republish", async () => {
    const topic = `homeassistant/sensor/fs-${process.pid}/${CAM}_fps/config`;
    const before = sink.stats().discovery;
    const from = recorder.messages.length;
    for (let i = 0; i < 500; i++) void ha.publish('homeassistant/status', 'online', { qos: 0 });
    await recorder.waitFor((m) => m.topic === topic, 'the republished discovery', { from, timeoutMs: DISCOVERY_MIN_INTERVAL_MS * 3 });
    // Whatever arrived of the 500 has been handled once the counters add up to it; then nothing more is coming.
    const after = sink.stats().discovery;
    const handled = after.republished - before.republished + (after.coalesced - before.coalesced);
    assert.ok(handled >= 1, `handled ${handled}`);
    assert.ok(after.republished - before.republished <= 2, `republished ${after.republished - before.republished} times`);
    assert.ok(recorder.messages.slice(from).filter((m) => m.topic === topic).length <= 2);
  });
});
