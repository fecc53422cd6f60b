/**
 * A cluster node's Home Assistant entities after a restart (ADR 0102), on a
 * real nats-server with JetStream and Debian's mosquitto, the node composed
 * from a config file (parseConfig → createApp) as a user runs it, restarted
 * after a crash: its camera's lease on the bus still names it (expired), as
 * a killed node leaves it, so it takes the camera back only after its rejoin
 * grace and a lease's watch. Left retained from that run under the node's
 * id: the config of a camera that has since left the cluster (`gone`), and
 * one of the camera the node runs; under the topic prefix, `gone`'s status
 * (another node's, for all this node knows). Once the node's share has
 * settled, `gone`'s config is cleared; the running camera's config is never
 * cleared (a sweep while the node held nothing yet, or before it took the
 * camera back, would have), and the state topic is left.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { createApp, type App } from '../../src/app/index.js';
import { BUCKETS } from '../../src/cluster/index.js';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { ManagedProcess } from '../../src/process/index.js';
import { Mosquitto, Recorder } from '../helpers/mosquitto.js';
import { startNatsWithJetStream } from '../helpers/nats.js';
import { eventually, freePort } from '../helpers/process.js';
import { smallH264Clip } from '../pipeline/helpers.js';

const dir = mkdtempSync(join(tmpdir(), `framesupplier-ha-sweep-${process.pid}-`));
const CAM = `hacam${process.pid}`;
const NODE = `fs-ha-node-${process.pid}`;
const PREFIX = `fs-ha-${process.pid}`;
const GONE_CONFIG = `homeassistant/sensor/${NODE}/gone_status/config`;
const CAM_CONFIG = `homeassistant/sensor/${NODE}/${CAM}_status/config`;
const GONE_STATE = `${PREFIX}/gone/status`;

describe('a cluster node clears its own entities of cameras it no longer runs, once its share settled', { timeout: 180_000 }, () => {
  let nats: ManagedProcess;
  let broker: Mosquitto;
  let recorder: Recorder;
  let app: App | undefined;

  before(async () => {
    const port = await freePort();
    nats = await startNatsWithJetStream(port, dir);
    const probe = await connect({ servers: `nats://127.0.0.1:${port}` });
    try {
      // The crashed run's lease: it names this node and has expired.
      const leases = await new Kvm(probe).create(BUCKETS.leases, { history: 1 });
      await leases.put(CAM, new TextEncoder().encode(JSON.stringify({ node: 'n1', expiresAt: Date.now() - 1_000 })));
    } finally {
      await probe.close();
    }
    broker = await Mosquitto.start();
    recorder = await Recorder.connect(broker.url, ['homeassistant/#', `${PREFIX}/#`]);
    const device = (camera: string) => JSON.stringify({ name: 'status', device: { identifiers: [`${NODE}_${camera}`] } });
    await recorder.client.publishAsync(GONE_CONFIG, device('gone'), { qos: 1, retain: true });
    await recorder.client.publishAsync(CAM_CONFIG, device(CAM), { qos: 1, retain: true });
    await recorder.client.publishAsync(GONE_STATE, 'streaming', { qos: 1, retain: true });
    const clip = await smallH264Clip();
    const yaml = [
      'version: 1',
      `shmDir: /dev/shm/framesupplier-ha-sweep-${process.pid}`,
      'cluster:',
      `  servers: [nats://127.0.0.1:${port}]`,
      '  nodeId: n1',
      '  leaseMs: 1000',
      '  marginMs: 300',
      'mqtt:',
      `  url: ${broker.url}`,
      `  clientId: ${NODE}`,
      `  topicPrefix: ${PREFIX}`,
      '  statsIntervalS: 1',
      '  discovery: { enabled: true }',
      'cameras:',
      `  ${CAM}:`,
      `    source: ${clip}`,
      '    capture: { output: { format: gray, width: 64, fps: 2 }, loop: true, decoder: ffmpeg }',
      '    workers: [{ id: motion, module: "builtin:motion" }]',
    ].join('\n');
    app = createApp(parseConfig(yaml), { logger: createLogger({ level: 'warn', destination: join(dir, 'node.log') }) });
    await app.start();
  });

  after(async () => {
    await app?.close();
    await recorder?.close();
    await broker?.close();
    await nats?.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("clears the config of the camera gone from the cluster, never the running camera's, and no state topic", async () => {
    const cleared = await recorder.waitFor((m) => m.topic === GONE_CONFIG && m.payload === '', "gone's config cleared", { timeoutMs: 60_000 });
    assert.ok(app!.cluster!.stats().owned.includes(CAM), 'the node held its camera when it swept');
    // Every clear was sent before the stats that count the sweep completed.
    const at = recorder.messages.indexOf(cleared);
    await recorder.waitFor(
      (m) => m.topic === `${PREFIX}/stats` && (JSON.parse(m.payload) as { mqtt: { sweep: { completed: number } } }).mqtt.sweep.completed === 1,
      'the sweep completed',
      { from: at },
    );
    assert.deepEqual(app!.mqtt!.stats().sweep, { completed: 1, cut: 0, cleared: 1 });
    const empties = recorder.messages.filter((m) => m.payload === '').map((m) => m.topic);
    assert.deepEqual(empties, [GONE_CONFIG], "only the stale config cleared: not the running camera's, not a state topic");
    await eventually(
      () => recorder.messages.some((m) => m.topic === CAM_CONFIG && m.payload.includes(`"${NODE}_${CAM}"`)),
      "the running camera's config",
      10_000,
    );
  });
});
