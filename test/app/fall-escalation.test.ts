/**
 * A fall alert told until someone answers, against the real other sides (ADR 0157, 0159, 0160): an app with no
 * events store reads back, from its state file, an alert a killed process left open; it stands again and its
 * escalation's first step goes, at once, to an MQTT topic on a real mosquitto and to a webhook on a real HTTP server
 * on loopback (whose URL carries a token that no log line, alert log or MQTT message holds); a webhook that answers
 * 500 and one that never answers within its timeout are logged ERR_FALL_WEBHOOK; each delivery is in the alert's
 * log. Home Assistant's button (its command template's `ACK <press time>`) acknowledges it, and its attributes say
 * what the press acknowledged; the state file then holds nothing to stand again. A damaged state file is logged
 * with ERR_FALL_STATE, moved aside, and the app starts.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApp, type App } from '../../src/app/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { FallAlert, FallEvent } from '../../src/care/index.js';
import { Mosquitto, Recorder } from '../helpers/mosquitto.js';
import { resolvedConfig } from '../pipeline/helpers.js';

const PREFIX = 'esc-test';
const SECRET = 'tok3n-SECRET-value';
const WAIT = { timeoutMs: 60_000 };

/** An open alert as a killed process left it in its state file. */
function leftOpen(id: string): FallAlert {
  const t = Date.now() / 1000 - 30;
  return {
    id,
    kind: 'fall',
    label: 'fall',
    camera: 'room',
    worker: 'people',
    object_id: 'p1',
    score: 0.6,
    top_score: 0.7,
    box: [0.3, 0.6, 0.7, 0.9],
    posture: 'lying',
    posture_score: 0.8,
    fall_time: t - 2,
    down_time: t - 1,
    start_time: t - 2,
    raised_time: t,
    frame_time: t,
    frame_age_ms: 100,
    fall_age_ms: 2100,
    down_age_ms: 1100,
    current_zones: [],
    entered_zones: [],
    end_time: null,
    end_reason: null,
    has_snapshot: false,
    snapshot: null,
    acknowledged_at: null,
    acknowledged_by: null,
    raised: 1,
    raised_at: t,
    confirmation: null,
    first_raised_at: t,
    assisted: false,
    escalated: 0,
    log: [{ at: t, what: 'raised' }],
    time_to_acknowledge_ms: null,
    time_on_floor_ms: null,
  };
}

describe('fall alerts told until someone answers: mosquitto, webhooks, the button, the state file', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `fs-escalation-${process.pid}-`));
  const stateFile = join(dir, 'state', 'fall-alerts.json');
  const logFile = join(dir, 'app.log');
  const requests: { path: string; body: string; headers: IncomingMessage['headers'] }[] = [];
  const arrived: (() => void)[] = [];
  let http: Server;
  let broker: Mosquitto;
  let recorder: Recorder;
  let app: App;
  const ID = '1700000000.000000-abc123';
  const events: FallEvent[] = [];
  const notices: unknown[] = [];

  const config = (base: string) =>
    resolvedConfig({
      shmDir: `/dev/shm/fs-escalation-${process.pid}`,
      cameras: {
        room: {
          source: 'lavfi:testsrc=size=160x120:rate=5',
          workers: [
            {
              id: 'people',
              module: 'builtin:motion',
              falls: {
                escalate: [
                  {
                    after: 0,
                    notify: [
                      { mqtt: 'care/nurses' },
                      { webhook: `${base}/hook/${SECRET}?token=${SECRET}` },
                      { webhook: `${base}/fails`, name: 'broken pager' },
                      { webhook: `${base}/hangs`, name: 'slow pager', timeoutMs: 300 },
                    ],
                  },
                  { after: 3_600, notify: { mqtt: 'care/head' } },
                ],
              },
            },
          ],
        },
      },
      mqtt: { url: broker.url, topicPrefix: PREFIX, clientId: 'escalation-test' },
    });

  before(async () => {
    http = createServer((request, response) => {
      let body = '';
      request.on('data', (c: Buffer) => (body += c.toString()));
      request.on('end', () => {
        requests.push({ path: request.url ?? '', body, headers: request.headers });
        for (const wake of arrived.splice(0)) wake();
        if (request.url?.startsWith('/fails') === true) response.writeHead(500).end();
        else if (request.url?.startsWith('/hangs') === true) setTimeout(() => response.writeHead(200).end(), 5_000).unref();
        else response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    broker = await Mosquitto.start();
    recorder = await Recorder.connect(broker.url, [`${PREFIX}/#`, 'care/#', 'homeassistant/#']);
  });

  after(async () => {
    await app?.close();
    await recorder?.client.endAsync();
    await broker?.close();
    http?.closeAllConnections();
    await new Promise<void>((resolve) => http?.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('an alert left open is read back from the state file without an events store, stands, and its first step is told on MQTT and to the webhooks', async () => {
    mkdirSync(join(dir, 'state'), { recursive: true });
    writeFileSync(stateFile, JSON.stringify({ version: 1, written_at: 0, alerts: [leftOpen(ID)] }));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    app = createApp(config(base), { logger: createLogger({ level: 'info', destination: logFile }), fallStateFile: stateFile });
    app.system.on('fall', (e) => events.push(e.event));
    app.system.on('fall-notify', (e) => notices.push(e));
    const allTold = new Promise<void>((resolve) => {
      const check = (): void => {
        if (events.some((e) => e.after.log.filter((l) => l.what === 'notified').length === 4)) resolve();
      };
      app.system.on('fall', check);
    });
    await app.start();
    const standing = app.system.objects.falls('room');
    assert.deepEqual(
      standing.map((a) => [a.id, a.end_reason]),
      [[ID, 'restart']],
      'read back and ended restart: it stands',
    );
    const told = await recorder.waitFor((m) => m.topic === 'care/nurses', 'the step on MQTT', WAIT);
    const message = JSON.parse(told.payload) as { type: string; step: number; steps: number; text: string; alert: FallAlert };
    assert.deepEqual([message.type, message.step, message.steps, message.alert.id], ['fall-escalation', 0, 2, ID]);
    assert.match(message.text, /^room: a person fell, not acknowledged \(step 1 of 2/);
    await allTold;
    const hook = requests.find((r) => r.path.startsWith('/hook/'))!;
    assert.equal(hook.headers['content-type'], 'application/json');
    assert.equal((JSON.parse(hook.body) as { alert: FallAlert }).alert.id, ID);
    const log = app.system.objects.falls('room')[0]!.log.filter((l) => l.what === 'notified');
    assert.deepEqual(
      log.map((l) => [l.target, l.ok, l.code ?? null]).sort(),
      [
        ['broken pager', false, 'ERR_FALL_WEBHOOK'],
        ['mqtt:care/nurses', true, null],
        ['slow pager', false, 'ERR_FALL_WEBHOOK'],
        [`webhook:${base}/…`, true, null],
      ].sort(),
    );
    assert.equal(recorder.messages.filter((m) => m.topic === 'care/head').length, 0, 'the second step waits for its hour');
  });

  it("Home Assistant's button acknowledges what was raised before its press, and says so in its attributes", async () => {
    const discovery = await recorder.waitFor((m) => m.topic === 'homeassistant/button/escalation-test/room_acknowledge_fall/config', 'the button', WAIT);
    const button = JSON.parse(discovery.payload) as Record<string, unknown>;
    assert.equal(button.command_template, 'ACK {{ now().timestamp() }}');
    assert.equal(button.json_attributes_template, '{{ value_json.acknowledge | tojson }}');
    const from = recorder.messages.length;
    // What the command template renders at the press.
    await recorder.client.publishAsync(`${PREFIX}/room/acknowledge`, `ACK ${(Date.now() / 1000).toFixed(6)}`, { qos: 1 });
    const state = await recorder.waitFor(
      (m) => m.topic === `${PREFIX}/room/person_down` && (JSON.parse(m.payload) as { acknowledge: { last: unknown } }).acknowledge.last !== null,
      'the press in the attributes',
      { ...WAIT, from },
    );
    const payload = JSON.parse(state.payload) as { state: string; acknowledge: { last: { acknowledged: string[] }; covers: string[]; rule: string } };
    assert.deepEqual(payload.acknowledge.last.acknowledged, [ID]);
    assert.deepEqual(payload.acknowledge.covers, []);
    assert.equal(payload.state, 'OFF');
    const acked = app.system.objects.answeredFalls('room')[0]!;
    assert.equal(acked.acknowledged_by, 'mqtt');
    assert.ok(acked.time_to_acknowledge_ms! >= 25_000, 'from its new before the restart');
  });

  it('no log line, alert log or MQTT message holds the webhook token; the state file holds nothing to stand again', async () => {
    await app.close();
    const everything = [readFileSync(logFile, 'utf8'), JSON.stringify(events), JSON.stringify(notices), ...recorder.messages.map((m) => m.payload)].join('\n');
    assert.ok(notices.length > 0);
    assert.ok(!everything.includes(SECRET), 'the token is nowhere: logs, events, MQTT');
    assert.match(readFileSync(logFile, 'utf8'), /"code":"ERR_FALL_WEBHOOK"[^\n]*"target":"broken pager"[^\n]*"status":500/);
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { alerts: FallAlert[] };
    assert.deepEqual(saved.alerts, []);
  });

  it('a damaged state file is logged ERR_FALL_STATE and moved aside; the app starts', async () => {
    writeFileSync(stateFile, '{"version":1,"alerts":[{"id":');
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    app = createApp(config(base), { logger: createLogger({ level: 'info', destination: logFile }), fallStateFile: stateFile });
    await app.start();
    assert.equal(app.system.state, 'running');
    assert.deepEqual(app.system.objects.falls(), []);
    assert.ok(existsSync(`${stateFile}.corrupt`));
    assert.match(readFileSync(logFile, 'utf8'), /"code":"ERR_FALL_STATE"/);
  });
});
