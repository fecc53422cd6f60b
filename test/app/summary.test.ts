/**
 * Summaries of a stretch of time through the whole app (ADR 0073): a real clip (ffmpeg's lavfi: a red square
 * crossing the picture) tracked into the events store with its snapshot; POST /api/cameras/road/summary sends
 * the window's events and snapshot to a stand-in OpenAI-compatible server (test/helpers/vlm-server.ts) as the
 * camera's vlm worker's endpoint; the summary comes back, is listed by GET /api/summaries, and is published
 * retained on MQTT (mosquitto); Home Assistant's discovery has a button per camera with summaries, and its
 * press (LAST_HOUR on <camera>/summarize) makes the last hour's, published the same way. Bad requests each get
 * their code and take nothing down (a window that is not one, an unknown camera, a failing and a hanging
 * server, a payload that is not a request, no events store); the key is in no answer, message, log line or
 * stored byte.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { createApp } from '../../src/app/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { Summary } from '../../src/pipeline/index.js';
import { Mosquitto, Recorder } from '../helpers/mosquitto.js';
import { eventuallyAsync } from '../helpers/process.js';
import { FakeVlmServer } from '../helpers/vlm-server.js';
import { resolvedConfig } from '../pipeline/helpers.js';

const KEY = 'sk-summary-app-7e6d5c4b3a29-SECRET';
const TOKEN = 'summary-app-test-token-0123456789';
// a red square moving left, out of the picture after about 3 s: its track ends 1 s later, its snapshot kept
const LEAVING = "lavfi:color=c=white:s=320x240:r=10[bg];color=c=red:s=60x60:r=10[r];[bg][r]overlay=x='200-80*t':y=90";

type Answer = { status: number; body: { summary?: Summary; summaries?: Summary[]; error?: { code: string; message: string } }; text: string };

describe('summaries in the app', { timeout: 180_000 }, () => {
  let broker: Mosquitto;
  let server: FakeVlmServer;
  let dir: string;
  before(async () => {
    broker = await Mosquitto.start();
    server = await new FakeVlmServer({ apiKey: KEY }).start();
    dir = mkdtempSync(join(tmpdir(), 'summary-app-'));
    process.env.SUMMARY_APP_TEST_KEY = KEY;
  });
  after(async () => {
    await broker.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.SUMMARY_APP_TEST_KEY;
  });

  const http = () => resolvedConfig({ cameras: {}, http: { host: '127.0.0.1', port: 0, token: TOKEN } }).http!;
  const vlm = (model: string) => ({
    id: 'vlm',
    // asks nothing by itself (no triggers): the camera's summaries use its server, model, key and budgets
    vlm: { api: 'openai', url: server.url('openai'), model, apiKeyEnv: 'SUMMARY_APP_TEST_KEY', prompt: 'What is this?' },
  });

  it('the API and the Home Assistant button: the window’s events and snapshot asked about, the summary kept, listed and on MQTT; bad requests get their codes', async () => {
    const config = resolvedConfig({
      cameras: {
        road: {
          source: LEAVING,
          capture: { output: { format: 'rgb24' } },
          workers: [
            {
              id: 'detector',
              module: fileURLToPath(new URL('../objects/colour-detector.js', import.meta.url)),
              maxFps: 5,
              track: { confirmHits: 1, endAfterSeconds: 1 },
            },
            vlm('summary-app'),
          ],
          summary: {
            prompt: 'On {{camera}} from {{from}} to {{to}}: {{count}} events.\n{{events}}',
            schema: { properties: { vehicles: { type: 'integer' } }, required: ['vehicles'] },
            image: { size: 128 },
            timeoutMs: 2_000,
          },
        },
      },
      mqtt: { url: broker.url, topicPrefix: 'sumtest', clientId: 'sumtest' },
      events: { database: join(dir, 'events.db') },
    });
    const logFile = join(dir, 'log.jsonl');
    const recorder = await Recorder.connect(broker.url, ['sumtest/#', 'homeassistant/#']);
    const app = createApp(config, { logger: createLogger({ level: 'debug', destination: logFile }), http: { config: http() } });
    const answers: string[] = [];
    try {
      await app.start();
      const base = app.dashboard!.url;
      const call = async (method: string, path: string, body?: unknown): Promise<Answer> => {
        const response = await fetch(new URL(path, base), {
          method,
          headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await response.text();
        answers.push(text);
        return { status: response.status, body: JSON.parse(text) as Answer['body'], text };
      };

      // Home Assistant is offered the button and the sensor.
      const button = await recorder.waitFor((m) => /^homeassistant\/button\/[^/]+\/road_summarize\/config$/.test(m.topic), 'the summarize button');
      const buttonConfig = JSON.parse(button.payload) as { command_topic: string; payload_press: string };
      assert.deepEqual([buttonConfig.command_topic, buttonConfig.payload_press], ['sumtest/road/summarize', 'LAST_HOUR']);
      const sensor = await recorder.waitFor((m) => /^homeassistant\/sensor\/[^/]+\/road_summary\/config$/.test(m.topic), 'the summary sensor');
      assert.equal((JSON.parse(sensor.payload) as { state_topic: string }).state_topic, 'sumtest/road/summary');

      // The clip's red square is tracked, ends, and its event is stored with its snapshot.
      type Stored = { id: string; label: string; end_time: number | null; has_snapshot: boolean };
      let ended: Stored | undefined;
      await eventuallyAsync(
        async () => {
          const events = (await call('GET', '/api/events?camera=road&label=red')).body as unknown as { events: Stored[] };
          ended = events.events.find((e) => e.end_time !== null && e.has_snapshot);
          return ended !== undefined;
        },
        'an ended red event with its snapshot',
        60_000,
      );

      server.answer = () =>
        JSON.stringify({ title: 'A red car passed', summary: 'A red square crossed the road from right to left.', level: 'notice', vehicles: 1 });
      const before = server.requests.length;
      const asked = await call('POST', '/api/cameras/road/summary', { lastSeconds: 600 });
      assert.equal(asked.status, 200, asked.text);
      const summary = asked.body.summary!;
      assert.deepEqual([summary.title, summary.level, summary.answer.vehicles, summary.via], ['A red car passed', 'notice', 1, 'api']);
      assert.ok(summary.events.listed.includes(ended!.id) && summary.events.snapshots.includes(ended!.id), JSON.stringify(summary.events));
      assert.equal(server.requests.length, before + 1);
      const request = server.requests.at(-1)!;
      assert.equal(request.headers.authorization, `Bearer ${KEY}`);
      assert.match(request.prompt, /^On road from .+: \d+ events\.\n1\. red \(score/);
      assert.equal(request.jpegs.length, summary.events.snapshots.length);
      const picture = await sharp(request.jpegs[summary.events.snapshots.indexOf(ended!.id)]).raw().toBuffer({ resolveWithObject: true });
      assert.equal(Math.max(picture.info.width, picture.info.height), 128, 'the snapshot scaled to image.size');
      let red = 0;
      for (let i = 0; i < picture.data.length; i += picture.info.channels)
        if (picture.data[i]! > 180 && picture.data[i + 1]! < 90 && picture.data[i + 2]! < 90) red++;
      assert.ok(red > 20, `the square is in the snapshot sent (${red} red pixels)`);

      // Published, retained, on the camera's summary topic.
      const published = await recorder.waitFor(
        (m) => m.topic === 'sumtest/road/summary' && (JSON.parse(m.payload) as Summary).id === summary.id,
        'the summary on MQTT',
      );
      assert.equal((JSON.parse(published.payload) as Summary).title, 'A red car passed');

      // Home Assistant's button: the last hour's, made and published the same way.
      server.answer = () => JSON.stringify({ title: 'Quiet hour', summary: 'One red square.', level: 'none', vehicles: 1 });
      recorder.client.publish('sumtest/road/summarize', 'LAST_HOUR');
      const pressed = await recorder.waitFor(
        (m) => m.topic === 'sumtest/road/summary' && (JSON.parse(m.payload) as Summary).via === 'mqtt',
        "the button's summary on MQTT",
      );
      const hour = JSON.parse(pressed.payload) as Summary;
      assert.equal(hour.title, 'Quiet hour');
      assert.ok(Math.abs(hour.to - hour.from - 3_600) < 1e-6, `the last hour: ${hour.from} – ${hour.to}`);

      // Listed, newest first, with their windows.
      const listed = await call('GET', '/api/summaries?camera=road');
      assert.equal(listed.status, 200);
      assert.deepEqual(
        listed.body.summaries!.map((s) => [s.id, s.via]),
        [
          [hour.id, 'mqtt'],
          [summary.id, 'api'],
        ],
      );

      // Bad requests: each its code, and nothing taken down.
      const refused = async (method: string, path: string, body: unknown, status: number, code: string): Promise<void> => {
        const answer = await call(method, path, body);
        assert.deepEqual([answer.status, answer.body.error?.code], [status, code], `${path} ${JSON.stringify(body)}: ${answer.text}`);
      };
      const sent = server.requests.length;
      await refused('POST', '/api/cameras/nowhere/summary', { lastSeconds: 60 }, 404, 'ERR_UNKNOWN_CAMERA');
      await refused('POST', '/api/cameras/road/summary', { lastSeconds: -1 }, 400, 'ERR_SUMMARY_WINDOW');
      await refused('POST', '/api/cameras/road/summary', { from: 'soon' }, 400, 'ERR_SUMMARY_WINDOW');
      await refused('POST', '/api/cameras/road/summary', { lastSeconds: 60, to: 1 }, 400, 'ERR_SUMMARY_WINDOW');
      await refused('POST', '/api/cameras/road/summary', { lastSeconds: 30 * 86_400 }, 400, 'ERR_SUMMARY_WINDOW');
      await refused('POST', '/api/cameras/road/summary', undefined, 400, 'ERR_SUMMARY_WINDOW');
      await refused('GET', '/api/summaries?limit=0', undefined, 400, 'ERR_HTTP_BAD_REQUEST');
      assert.equal(server.requests.length, sent, 'no bad request reached the server');
      server.mode = 'error500';
      await refused('POST', '/api/cameras/road/summary', { lastSeconds: 600 }, 502, 'ERR_VLM_SERVER');
      server.mode = 'hang';
      await refused('POST', '/api/cameras/road/summary', { lastSeconds: 600 }, 504, 'ERR_VLM_TIMEOUT');
      server.mode = 'ok';
      recorder.client.publish('sumtest/road/summarize', 'NONSENSE');
      await eventuallyAsync(() => Promise.resolve(readFileSync(logFile, 'utf8').includes('ERR_MQTT_BAD_COMMAND')), 'the bad payload logged with its code');
      // A flood of requests for a camera the system does not have: refused and counted, two log lines at most.
      const rejected = app.mqtt!.stats().commands.rejected;
      for (let i = 0; i < 50; i++) recorder.client.publish('sumtest/nosuch/summarize', JSON.stringify({ lastSeconds: 60 }));
      await eventuallyAsync(() => Promise.resolve(app.mqtt!.stats().commands.rejected === rejected + 50), 'the 50 requests refused');
      const nosuch = readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => line.includes('nosuch'));
      assert.ok(nosuch.length <= 2, `${nosuch.length} log lines for the flood`);
      assert.ok(
        nosuch.some((line) => line.includes('ERR_UNKNOWN_CAMERA')),
        'said with its code',
      );
      const again = await call('POST', '/api/cameras/road/summary', { from: new Date(Date.now() - 600_000).toISOString() });
      assert.equal(again.status, 200, `the next one works: ${again.text}`);
      // Out on MQTT first (the sink publishes it from the system's events, a moment after the answer), then its areas
      // edited live (the sink takes the camera's states again): the latest summary stays retained.
      await recorder.waitFor(
        (m) => m.topic === 'sumtest/road/summary' && (JSON.parse(m.payload) as Summary).id === again.body.summary!.id,
        'the next summary on MQTT',
      );
      assert.equal((await call('PUT', '/api/cameras/road/areas', { zones: {} })).status, 200);
      const late = await Recorder.connect(broker.url, ['sumtest/road/summary']);
      try {
        const retained = await late.waitFor((m) => m.topic === 'sumtest/road/summary', 'the retained summary');
        assert.equal((JSON.parse(retained.payload) as Summary).id, (again.body.summary as Summary).id);
      } finally {
        await late.close();
      }
      const camera = await call('GET', '/api/cameras/road');
      assert.equal((camera.body as unknown as { state: string }).state, 'streaming', 'the camera runs on');
      assert.equal(app.system.stats().cameras.road!.workers.detector!.state, 'running');
    } finally {
      await app.close();
      await recorder.close();
    }
    // The key: in no answer, no MQTT message, no log line, no stored byte.
    for (const text of answers) assert.ok(!text.includes(KEY), 'no answer carries the key');
    assert.ok(!recorder.messages.some((m) => m.payload.includes(KEY)), 'no MQTT message carries the key');
    assert.ok(!readFileSync(logFile, 'utf8').includes(KEY), 'no log line carries the key');
    const stored = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name !== 'log.jsonl');
    assert.ok(stored.some((e) => e.name === 'events.db'));
    for (const entry of stored) assert.ok(!readFileSync(join(entry.parentPath, entry.name)).includes(KEY), `${entry.name} does not carry the key`);
  });

  it('no events store: the API and the button each say so with ERR_SUMMARY_NO_STORE, and nothing is asked', async () => {
    const config = resolvedConfig({
      cameras: { still: { source: 'lavfi:color=c=gray:size=64x48:rate=2', workers: [vlm('summary-no-store')], summary: {} } },
      mqtt: { url: broker.url, topicPrefix: 'nostore', clientId: 'nostore' },
    });
    const logFile = join(dir, 'no-store.jsonl');
    const app = createApp(config, { logger: createLogger({ level: 'debug', destination: logFile }), http: { config: http() } });
    const recorder = await Recorder.connect(broker.url, ['nostore/#']);
    const before = server.requests.length;
    try {
      await app.start();
      const auth = { authorization: `Bearer ${TOKEN}` };
      const post = await fetch(new URL('/api/cameras/still/summary', app.dashboard!.url), {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ lastSeconds: 3_600 }),
      });
      assert.equal(post.status, 409);
      assert.equal(((await post.json()) as { error: { code: string } }).error.code, 'ERR_SUMMARY_NO_STORE');
      const list = await fetch(new URL('/api/summaries', app.dashboard!.url), { headers: auth });
      assert.deepEqual([list.status, ((await list.json()) as { error: { code: string } }).error.code], [409, 'ERR_SUMMARY_NO_STORE']);
      await recorder.waitFor((m) => m.topic === 'nostore/available' && m.payload === 'online', 'the sink online');
      recorder.client.publish('nostore/still/summarize', 'LAST_HOUR');
      await eventuallyAsync(() => Promise.resolve(readFileSync(logFile, 'utf8').includes('ERR_SUMMARY_NO_STORE')), 'the press refused with its code, logged');
      assert.equal(server.requests.length, before, 'nothing asked');
      assert.equal(app.system.state, 'running');
    } finally {
      await app.close();
      await recorder.close();
    }
  });
});
