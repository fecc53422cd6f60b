/// <reference lib="dom" />
/**
 * A silent camera is an alarm (ADR 0138), the whole way: the app as `framesupplier run` builds it, a care-critical
 * camera reading the RTSP server fixture (vtest.avi as H.264), a real mosquitto, and the dashboard in Debian's
 * Chromium. The camera's source is killed, then started again on the same port.
 *
 * Expected: at start the broker has the camera's retained silence (not silent) and Home Assistant's discovery
 * config of its `silent` binary_sensor (device class problem, its state and attributes from the silence topic);
 * the dashboard's tile is marked not silent. The source killed: within the silence (and a tick), the retained
 * silence says silent with reason camera-down, `<prefix>/alarms` has a `new` alarm event with the same reason,
 * stats say it, and the dashboard shows the banner over the camera's live view. The source back: the first fresh
 * result clears it: the retained silence says not silent, the alarm event `end` (its id the new one's), and the
 * banner goes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createApp, type App } from '../../src/app/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { h264Clip, RtspServer } from '../capture/fixtures.js';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { Mosquitto, Recorder, type Message } from '../helpers/mosquitto.js';
import { resolvedConfig } from '../pipeline/helpers.js';

const PREFIX = 'care-test';
const TOKEN = 'silence-alarm-token-0123456789abcdef';
const WAIT = { timeoutMs: 60_000 };
const silenceTopic = `${PREFIX}/ward/silence`;
const json = (m: Message): Record<string, unknown> => JSON.parse(m.payload) as Record<string, unknown>;

describe('a silent camera is an alarm: MQTT, Home Assistant discovery and the dashboard', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `fs-silence-${process.pid}-`));
  let server: RtspServer;
  let broker: Mosquitto;
  let recorder: Recorder;
  let app: App;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  /** The alarm event's id when it was raised: its end says the same. */
  let alarmId = '';
  const tile = (attribute: string): Promise<string | null> =>
    page.evaluate((a) => document.querySelector('article.tile[data-camera="ward"]')?.getAttribute(a) ?? null, attribute);

  before(async () => {
    server = await new RtspServer(await h264Clip()).start();
    broker = await Mosquitto.start();
    recorder = await Recorder.connect(broker.url, [`${PREFIX}/#`, 'homeassistant/#']);
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-silence-${process.pid}`,
      cameras: {
        ward: {
          source: server.url,
          capture: { output: { format: 'rgb24', width: 320 }, stallTimeoutMs: 3_000, connectTimeoutMs: 5_000, backoff: { initialMs: 200, maxMs: 500 } },
          care: { silenceSeconds: 3 },
          workers: [{ id: 'looks', module: 'builtin:motion' }],
        },
      },
      mqtt: { url: broker.url, topicPrefix: PREFIX, clientId: 'silence-test' },
      http: { host: '127.0.0.1', port: 0, token: TOKEN },
    });
    app = createApp(config, { logger: createLogger({ level: 'silent' }), http: { config: config.http! }, tokenFile: join(dir, 'http-token') });
    await app.start();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    const { url, token } = app.dashboard!;
    await page.goto(`${url}#token=${token.value}`);
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await recorder?.client.endAsync();
    await broker?.close();
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('at start: the retained silence says not silent, Home Assistant has the silent problem sensor, the tile is marked', async () => {
    const state = await recorder.waitFor((m) => m.topic === silenceTopic && m.payload !== '', 'the retained silence', WAIT);
    assert.equal(json(state).silent, false);
    assert.deepEqual(Object.keys(json(state).workers as object), ['looks']);
    const discovery = await recorder.waitFor(
      (m) => m.topic === 'homeassistant/binary_sensor/silence-test/ward_silent/config',
      'the silent sensor config',
      WAIT,
    );
    const config = json(discovery);
    assert.equal(config.device_class, 'problem');
    assert.equal(config.state_topic, silenceTopic);
    assert.equal(config.json_attributes_topic, silenceTopic);
    assert.equal(config.value_template, "{{ 'ON' if value_json.silent else 'OFF' }}");
    assert.deepEqual((config.device as { identifiers: string[] }).identifiers, ['silence-test_ward']);
    await page.waitForFunction(() => document.querySelector('article.tile[data-camera="ward"]')?.getAttribute('data-silent') === 'false', undefined, {
      timeout: 60_000,
    });
  });

  it('the source killed: the alarm, with reason camera-down, on MQTT (state and event), in stats, and over the live view', async () => {
    const from = recorder.messages.length;
    await server.kill();
    const raised = await recorder.waitFor(
      (m) => m.topic === silenceTopic && m.payload.includes('"silent":true') && json(m).reason === 'camera-down',
      'silent: camera-down',
      {
        ...WAIT,
        from,
      },
    );
    const state = json(raised);
    assert.match(String(state.detail), /^looks: camera (backoff|connecting)/);
    assert.equal(typeof state.since, 'number');
    const event = await recorder.waitFor((m) => m.topic === `${PREFIX}/alarms` && json(m).type === 'new', 'the alarm event', { ...WAIT, from });
    const alarm = json(event).after as Record<string, unknown>;
    assert.equal(alarm.kind, 'silence');
    assert.equal(alarm.camera, 'ward');
    assert.ok(['camera-down', 'decoder-stalled'].includes(String(alarm.reason)), `the reason when raised: ${String(alarm.reason)}`);
    assert.equal(alarm.silence_seconds, 3);
    assert.equal(json(event).before, null);
    const silence = app.system.stats().silence.ward!;
    assert.equal(silence.silent, true);
    assert.equal(silence.workers.looks?.silent, true);
    await page.waitForFunction(
      () => {
        const t = document.querySelector('article.tile[data-camera="ward"]');
        const banner = t?.querySelector('.silence-alarm') as HTMLElement | null;
        return t?.getAttribute('data-silent') === 'true' && banner !== null && !banner.hidden && /camera down/.test(banner.textContent ?? '');
      },
      undefined,
      { timeout: 60_000 },
    );
    assert.equal(await tile('data-silence-reason'), 'camera-down');
    const banner = await page.evaluate(() => document.querySelector('article.tile[data-camera="ward"] .silence-alarm')?.textContent ?? '');
    assert.match(banner, /^SILENT for \d+ s: camera down$/);
    alarmId = String(alarm.id);
  });

  it('the source back: the first fresh result clears it, on MQTT (state and end event) and on the dashboard; no page errors', async () => {
    const from = recorder.messages.length;
    await server.start();
    const cleared = await recorder.waitFor((m) => m.topic === silenceTopic && json(m).silent === false, 'not silent again', { ...WAIT, from });
    assert.equal(json(cleared).since, null);
    const end = await recorder.waitFor((m) => m.topic === `${PREFIX}/alarms` && json(m).type === 'end', 'the alarm event ends', { ...WAIT, from });
    const after = json(end).after as Record<string, unknown>;
    assert.equal(after.id, alarmId, 'the same alarm from new to end');
    assert.equal(typeof after.end_time, 'number');
    await page.waitForFunction(
      () => {
        const t = document.querySelector('article.tile[data-camera="ward"]');
        const banner = t?.querySelector('.silence-alarm') as HTMLElement | null;
        return t?.getAttribute('data-silent') === 'false' && (banner === null || banner.hidden);
      },
      undefined,
      { timeout: 60_000 },
    );
    assert.equal(app.system.stats().silence.ward?.silent, false);
    assert.deepEqual(errors, []);
  });
});
