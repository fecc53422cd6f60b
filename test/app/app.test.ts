/**
 * The composition root in process: createApp() builds the system, the MQTT
 * sink (a real mosquitto), the metrics listener and the HTTP server from one
 * config; start() brings them up in order (a result reaches MQTT, /metrics
 * and the API answer), close() takes them down in reverse, so MQTT's
 * `stopped` is the last word and every port is released. A start() that
 * fails (a taken metrics port) leaves nothing running.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/app/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { freePort, Mosquitto, Recorder } from '../helpers/mosquitto.js';
import { nextResults, resolvedConfig } from '../pipeline/helpers.js';

const log = createLogger({ level: 'silent' });

function config(mqttUrl: string, metricsPort: number) {
  return resolvedConfig({
    cameras: { pattern: { source: 'lavfi:testsrc2=size=320x240:rate=10', workers: [{ id: 'motion', module: 'builtin:motion' }] } },
    mqtt: { url: mqttUrl, topicPrefix: 'apptest' },
    metrics: { port: metricsPort, host: '127.0.0.1' },
  });
}

describe('createApp: the system and its adapters in one process', { timeout: 120_000 }, () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await Mosquitto.start();
  });
  after(async () => {
    await broker.close();
  });

  it('starts the adapters in order and closes them in reverse', async () => {
    const recorder = await Recorder.connect(broker.url, ['apptest/#']);
    try {
      const metricsPort = await freePort();
      const app = createApp(config(broker.url, metricsPort), {
        logger: log,
        http: { config: resolvedConfig({ cameras: {}, http: { host: '127.0.0.1', port: 0, token: 'app-test-token-0123456789' } }).http! },
      });
      const results = nextResults(app.system, 'pattern', 'motion');
      await app.start();
      await app.start(); // idempotent
      await results;
      await recorder.waitFor((m) => m.topic === 'apptest/available' && m.payload === 'online', 'online');
      await recorder.waitFor((m) => m.topic === 'apptest/pattern/motion/result', 'a result over MQTT');
      assert.equal(app.metricsUrl, `http://127.0.0.1:${metricsPort}/metrics`);
      const metrics = await fetch(app.metricsUrl);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /framesupplier_/);
      // Health on the metrics listener too, without auth (a container's health check carries no token).
      assert.deepEqual(await (await fetch(new URL('/healthz', app.metricsUrl))).json(), { ok: true });
      assert.deepEqual(await (await fetch(new URL('/readyz', app.metricsUrl))).json(), { ready: true, state: 'running' });
      const dashboard = app.dashboard!;
      assert.equal(dashboard.token.value, 'app-test-token-0123456789');
      const stats = await fetch(new URL('/api/stats', dashboard.url), { headers: { authorization: `Bearer ${dashboard.token.value}` } });
      assert.equal(stats.status, 200);
      assert.ok('pattern' in ((await stats.json()) as { cameras: Record<string, unknown> }).cameras);

      const from = recorder.messages.length;
      await app.close();
      await app.close(); // idempotent
      const stopped = await recorder.waitFor((m) => m.topic === 'apptest/available' && m.payload === 'stopped', 'stopped', { from });
      assert.equal(app.system.state, 'closed');
      // Nothing after `stopped` from the sink: it was the last to close.
      assert.deepEqual(
        recorder.messages.slice(recorder.messages.indexOf(stopped) + 1).filter((m) => m.topic.startsWith('apptest/')),
        [],
      );
      await assert.rejects(fetch(app.metricsUrl ?? `http://127.0.0.1:${metricsPort}/metrics`), 'the metrics listener is closed');
      await assert.rejects(fetch(new URL('/api/stats', dashboard.url)), 'the HTTP server is closed');
    } finally {
      await recorder.close();
    }
  });

  it('a start that fails (the metrics port is taken) leaves nothing running', async () => {
    const holder = createServer();
    const port = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => resolve((holder.address() as { port: number }).port)));
    try {
      const app = createApp(config(broker.url, port), { logger: log });
      await assert.rejects(app.start(), { code: 'ERR_METRICS_LISTEN' });
      assert.equal(app.system.state, 'created', 'the system never started');
      await app.close();
      assert.equal(app.system.state, 'closed');
    } finally {
      holder.close();
    }
  });
});
