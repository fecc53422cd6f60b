/**
 * Fall and person-down alerts end to end (ADR 0132), through `framesupplier
 * run` with real components: a lavfi video, the project's own scripted pose
 * detector (test/objects/pose-script.ts: a person standing, falling forwards,
 * lying 8 s, getting up, standing, falling again) as a module worker with
 * `falls` (repeatSeconds 5), mosquitto (Home Assistant discovery seen on the
 * broker), the events store and the HTTP API.
 *
 * Expected: the person-down state OFF until the fall, then ON; one `new` on
 * <prefix>/falls with the tracked person's id, the fall's start before the
 * first sighting down, raised at least confirmSeconds after it, the frames'
 * ages, MQTT 5 message expiry (the worker's expirySeconds); its snapshot
 * (an update with has_snapshot, the JPEG retained and served); raised again
 * 5 s later, not acknowledged; acknowledged over MQTT (Home Assistant's
 * button payload) with no further raise; ended `up` when the person is back
 * on their feet (state OFF); the second fall acknowledged through the API;
 * the tracked person's posture on /api/objects; both alerts in /api/events
 * under label fall; the worker held to criticality critical.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { FallAlert, FallEvent } from '../../src/care/index.js';
import type { TrackedObject } from '../../src/objects/index.js';
import { Mosquitto, Recorder, type Message } from '../helpers/mosquitto.js';
import { endChild, startRun } from '../helpers/process.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./pose-script.js', import.meta.url));
const PREFIX = `falls-e2e-${process.pid}`;
const NODE = `falls-e2e-${process.pid}`;
const TOKEN = 'falls-e2e-token-0123456789abcdef';
const EXPIRY_S = 900;

describe('falls end to end: framesupplier run, scripted pose detector, mosquitto, store, HTTP API', { timeout: 240_000 }, () => {
  let broker: Mosquitto;
  let run: ChildProcess;
  let output: () => string;
  let base: string;
  let recorder: Recorder;
  const dir = mkdtempSync(join(tmpdir(), 'fs-falls-e2e-'));
  const api = async (path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> => {
    const json: Record<string, string> = init.body === undefined ? {} : { 'content-type': 'application/json' };
    const response = await fetch(new URL(path, base), { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...json } });
    const type = response.headers.get('content-type') ?? '';
    return { status: response.status, body: type.startsWith('application/json') ? await response.json() : await response.arrayBuffer() };
  };

  before(async () => {
    broker = await Mosquitto.start();
    recorder = await Recorder.connect(broker.url, [`${PREFIX}/#`, `homeassistant/+/${NODE}/#`], undefined, 5);
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        `shmDir: /dev/shm/fs-falls-e2e-${process.pid}`,
        `http: { host: 127.0.0.1, port: 0, token: ${TOKEN} }`,
        `mqtt: { url: '${broker.url}', topicPrefix: ${PREFIX}, clientId: ${NODE}, discovery: { labels: [person] } }`,
        `events: { database: '${join(dir, 'events.db')}' }`,
        'cameras:',
        '  room:',
        '    source: "lavfi:testsrc2=size=320x240:rate=10"',
        '    capture: { output: { format: rgb24 } }',
        `    workers: [{ id: people, module: '${SCRIPT}', maxFps: 5, falls: { repeatSeconds: 5, expirySeconds: ${EXPIRY_S} } }]`,
        '',
      ].join('\n'),
    );
    ({ run, base, output } = await startRun(MAIN, config));
  });

  after(async () => {
    if (run !== undefined) await endChild(run, 'SIGTERM', { group: true });
    await recorder?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('raises, repeats, is acknowledged over MQTT and the API, ends when the person is up, and is kept', async () => {
    const state = `${PREFIX}/room/person_down`;
    const fallOf = (m: Message): FallEvent | null => (m.topic === `${PREFIX}/falls` ? (JSON.parse(m.payload) as FallEvent) : null);
    const onFalls = (match: (e: FallEvent) => boolean) => (m: Message) => {
      const e = fallOf(m);
      return e !== null && match(e);
    };
    const stateOf = (m: Message): { state: string; unacknowledged: number } => JSON.parse(m.payload) as { state: string; unacknowledged: number };

    // Home Assistant is told of the person-down sensor, the button and the snapshot
    const sensor = await recorder.waitFor((m) => m.topic === `homeassistant/binary_sensor/${NODE}/room_person_down/config`, 'person-down sensor', {
      timeoutMs: 60_000,
    });
    const sensorConfig = JSON.parse(sensor.payload) as Record<string, unknown>;
    assert.equal(sensorConfig.state_topic, state);
    assert.equal(sensorConfig.device_class, 'safety');
    const button = JSON.parse(
      (await recorder.waitFor((m) => m.topic === `homeassistant/button/${NODE}/room_acknowledge_fall/config`, 'acknowledge button')).payload,
    ) as Record<string, unknown>;
    assert.equal(button.command_topic, `${PREFIX}/room/acknowledge`);
    await recorder.waitFor((m) => m.topic === `homeassistant/image/${NODE}/room_person_down_snapshot/config`, 'snapshot image');
    assert.equal(stateOf(await recorder.waitFor((m) => m.topic === state, 'person down OFF')).state, 'OFF');

    const raised = fallOf(
      await recorder.waitFor(
        onFalls((e) => e.type === 'new'),
        'the fall',
        { timeoutMs: 60_000 },
      ),
    )!;
    const a = raised.after;
    assert.equal(a.kind, 'fall');
    assert.equal(a.label, 'fall');
    assert.equal(a.camera, 'room');
    assert.equal(a.worker, 'people');
    assert.ok(a.fall_time !== null && a.fall_time < a.down_time, JSON.stringify(a));
    assert.ok(a.down_time - a.fall_time <= 2, 'fell within fallSeconds');
    assert.ok(a.raised_time - a.down_time >= 1 - 1e-6, 'confirmed after confirmSeconds down');
    assert.equal(a.start_time, a.fall_time);
    assert.ok(a.frame_age_ms >= 0 && a.down_age_ms >= a.frame_age_ms && a.fall_age_ms! >= a.down_age_ms, JSON.stringify(a));
    assert.equal(a.posture, 'lying');
    assert.equal(a.raised, 1);
    assert.equal(a.acknowledged_at, null);
    const newMessage = recorder.messages.find(onFalls((e) => e.type === 'new'))!;
    assert.ok(newMessage.expiryS !== undefined && newMessage.expiryS <= EXPIRY_S && newMessage.expiryS > EXPIRY_S - 60, String(newMessage.expiryS));
    assert.equal(stateOf(await recorder.waitFor((m) => m.topic === state && stateOf(m).state === 'ON', 'person down ON')).unacknowledged, 1);

    // the person is a tracked object with a posture, the one the alert names
    const objects = (await api('/api/objects?camera=room')).body as { objects: TrackedObject[] };
    const person = objects.objects.find((o) => o.id === a.object_id);
    assert.ok(person !== undefined, JSON.stringify(objects));
    assert.equal(person.posture, 'lying');
    assert.ok((person.posture_score ?? 0) > 0.5);

    // its snapshot: the update that says so, retained on MQTT, served by the API
    const snapshotted = fallOf(
      await recorder.waitFor(
        onFalls((e) => e.after.id === a.id && e.after.has_snapshot),
        'has_snapshot',
        { timeoutMs: 30_000 },
      ),
    )!;
    assert.equal(snapshotted.type, 'update');
    assert.equal(snapshotted.after.snapshot?.stream, 'main');
    const jpeg = await recorder.waitFor((m) => m.topic === `${PREFIX}/room/person_down/snapshot`, 'snapshot on MQTT');
    assert.ok(jpeg.retain || jpeg.payload.length > 0);
    const served = await api(`/api/events/${a.id}/snapshot.jpg`);
    assert.equal(served.status, 200);
    assert.deepEqual([...new Uint8Array(served.body as ArrayBuffer).subarray(0, 2)], [0xff, 0xd8]);

    // not acknowledged within repeatSeconds: raised again
    const again = fallOf(
      await recorder.waitFor(
        onFalls((e) => e.after.id === a.id && e.after.raised === 2),
        'raised again',
        { timeoutMs: 30_000 },
      ),
    )!;
    assert.equal(again.type, 'update');
    assert.ok(again.after.raised_at - a.raised_at >= 5 - 0.01);

    // Home Assistant's button: acknowledged over MQTT, and no more raises
    await recorder.client.publishAsync(`${PREFIX}/room/acknowledge`, 'ACK', { qos: 1 });
    const acked = fallOf(
      await recorder.waitFor(
        onFalls((e) => e.after.id === a.id && e.after.acknowledged_at !== null),
        'acknowledged',
      ),
    )!;
    assert.equal(acked.after.acknowledged_by, 'mqtt');
    const ackedRaises = acked.after.raised;

    // up again: ended, the state OFF
    const up = fallOf(
      await recorder.waitFor(
        onFalls((e) => e.after.id === a.id && e.type === 'end'),
        'up again',
        { timeoutMs: 60_000 },
      ),
    )!;
    assert.equal(up.after.end_reason, 'up');
    assert.ok(up.after.end_time !== null && up.after.end_time > a.down_time);
    await recorder.waitFor((m) => m.topic === state && stateOf(m).state === 'OFF' && stateOf(m).unacknowledged === 0, 'person down OFF after');
    const later = recorder.messages.filter(onFalls((e) => e.after.id === a.id)).map((m) => fallOf(m)!.after.raised);
    assert.equal(Math.max(...later), ackedRaises, 'no raise after the acknowledgement');

    // the second fall: acknowledged through the API, as the dashboard does
    const second = fallOf(
      await recorder.waitFor(
        onFalls((e) => e.type === 'new' && e.after.id !== a.id),
        'the second fall',
        { timeoutMs: 60_000 },
      ),
    )!.after;
    assert.equal(second.object_id, a.object_id, 'the same tracked person');
    const listed = (await api('/api/falls?camera=room')).body as { alerts: FallAlert[] };
    assert.deepEqual(
      listed.alerts.map((x) => x.id),
      [second.id],
    );
    const acknowledged = await api(`/api/falls/${second.id}/acknowledge`, { method: 'POST', body: JSON.stringify({ by: 'nurse station' }) });
    assert.equal(acknowledged.status, 200);
    assert.equal((acknowledged.body as { alert: FallAlert }).alert.acknowledged_by, 'nurse station');
    assert.equal((await api(`/api/falls/${second.id}/acknowledge`, { method: 'POST' })).status, 404, 'acknowledged already');
    const unauthorised = await fetch(new URL(`/api/falls/${second.id}/acknowledge`, base), { method: 'POST' });
    assert.equal(unauthorised.status, 401);
    // acknowledged but the person is still down: the sensor stays ON
    const still = stateOf(await recorder.waitFor((m) => m.topic === state && stateOf(m).unacknowledged === 0 && stateOf(m).state === 'ON', 'still down'));
    assert.equal(still.state, 'ON');

    // both alerts kept in the events store, under label fall
    const stored = (await api('/api/events?label=fall')).body as { events: FallAlert[] };
    assert.deepEqual(new Set(stored.events.map((e) => e.id)), new Set([a.id, second.id]));
    assert.equal(stored.events.find((e) => e.id === a.id)?.end_reason, 'up');

    // the worker is life-critical
    const stats = (await api('/api/stats')).body as { cameras: Record<string, { workers: Record<string, { criticality: string }> }> };
    assert.equal(stats.cameras.room?.workers.people?.criticality, 'critical');
    assert.ok(!output().includes('"level":50'), output());
  });
});
