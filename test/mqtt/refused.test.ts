/**
 * A broker that refuses the sink (mosquitto with anonymous access off and no
 * user it knows): the system runs on untouched, the sink retries with backoff
 * and says why in stats() and one log line (ERR_MQTT_CONNECTION, the broker's
 * words), never with the password; close() ends the retries at once.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { MqttSink, type MqttConnectionState } from '../../src/mqtt/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { nextResults, resolvedConfig } from '../pipeline/helpers.js';

const CAMERA = `refused-${process.pid}`;
const PASSWORD = `refused-pw-${process.pid}-z`;
const LOG = join(tmpdir(), `framesupplier-mqtt-refused-${process.pid}.log`);

describe('MqttSink refused by its broker', { timeout: 60_000 }, () => {
  let broker: Mosquitto;
  let system: VisionSystem;
  let sink: MqttSink;

  before(async () => {
    broker = await Mosquitto.start({ refuseAnonymous: true });
    const config = resolvedConfig({
      shmDir: `/dev/shm/framesupplier-test-mqtt-refused-${process.pid}`,
      cameras: {
        [CAMERA]: {
          source: 'lavfi:testsrc2=size=160x120:rate=10',
          capture: { output: { format: 'gray' } },
          workers: [{ id: 'motion', module: 'builtin:motion' }],
        },
      },
      mqtt: {
        url: broker.url,
        username: 'nobody',
        password: PASSWORD,
        clientId: `refused-${process.pid}`,
        topicPrefix: `refused-${process.pid}`,
        reconnect: { initialMs: 50, maxMs: 200 },
      },
    });
    const log = createLogger({ level: 'info', destination: LOG });
    system = new VisionSystem({ config, logger: log, drainTimeoutMs: 1_000 });
    sink = new MqttSink({ system, config: config.mqtt!, logger: log.child({ component: 'mqtt' }) });
  });

  after(async () => {
    await sink?.close();
    await system?.close();
    await broker?.close();
    rmSync(LOG, { force: true });
  });

  it('retries with backoff while the system runs, and says why without the password', async () => {
    let attempts = 0;
    const retried = new Promise<void>((resolve) => {
      sink.on('state', (s: MqttConnectionState) => {
        if (s === 'backoff' && ++attempts === 3) resolve();
      });
    });
    sink.start();
    await system.start();
    await retried;
    // Results flow all along.
    await nextResults(system, CAMERA, 'motion', 5);
    const stats = sink.stats();
    assert.equal(stats.connected, false);
    assert.equal(stats.connects, 0);
    assert.equal(stats.lastError?.code, 'ERR_MQTT_CONNECTION');
    assert.match(stats.lastError?.message ?? '', /not authori[sz]ed/i);
    const log = readFileSync(LOG, 'utf8');
    assert.ok(!log.includes(PASSWORD) && !JSON.stringify(stats).includes(PASSWORD));
    const failures = log.split('\n').filter((l) => l.includes('mqtt connection failed'));
    assert.equal(failures.length, 1, 'one line for one reason, not one per attempt');
    await sink.close();
    assert.equal(sink.state, 'closed');
    assert.equal(system.stats().cameras[CAMERA]!.state, 'streaming');
  });
});
