/**
 * Lines and dwell end to end, through `framesupplier run` with real
 * components: a lavfi video (320×240, 10 fps) of a red square moving right
 * and a green one moving left, both across the vertical line `door` (x = 0.5,
 * `in` on its left walked top to bottom: the picture's right), and a blue
 * square standing in the zone `porch` (dwellSeconds 3); the colour detector
 * module read at 4 frames a second with `track`; mosquitto; the HTTP API's
 * /metrics.
 *
 * Expected: one `line` event each on <prefix>/events (red in, green out), at
 * an interpolated time no later than the frame that showed it and within
 * one read interval before it; the counts retained on
 * <camera>/lines/door/<direction>/<label>/count (and count_last_hour) and in Prometheus'
 * framesupplier_line_crossings_total; Home Assistant sensors per line and
 * direction; the dwell event 3 s after blue entered (within one read
 * interval), with zone_time in blue's payload.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { DwellEvent, LineCrossingEvent, TrackedObject } from '../../src/objects/index.js';
import { Mosquitto, Recorder, type Message } from '../helpers/mosquitto.js';
import { endChild } from '../helpers/process.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const DETECTOR = fileURLToPath(new URL('./colour-detector.js', import.meta.url));
const PREFIX = `lines-e2e-${process.pid}`;
const NODE = `lines-e2e-${process.pid}`;
const TOKEN = 'lines-e2e-token-0123456789abcdef';
const READ_FPS = 4;
const VIDEO =
  "lavfi:color=c=black:s=320x240:r=10[bg];color=c=red:s=32x32:r=10[r];color=c=lime:s=32x32:r=10[g];color=c=blue:s=32x32:r=10[b];[bg][r]overlay=x='min(20+40*t,270)':y=180[t1];[t1][g]overlay=x='max(270-40*t,20)':y=110[t2];[t2][b]overlay=x=30:y=20";

type Published = ({ type: 'line' } & LineCrossingEvent) | ({ type: 'dwell' } & DwellEvent) | { type: 'new' | 'update' | 'end'; after: TrackedObject };

describe('lines and dwell end to end: framesupplier run, detector module, mosquitto, Prometheus', { timeout: 240_000 }, () => {
  let broker: Mosquitto;
  let run: ChildProcess;
  let output = '';
  let base: string;
  let recorder: Recorder;
  const dir = mkdtempSync(join(tmpdir(), 'fs-lines-e2e-'));

  before(async () => {
    broker = await Mosquitto.start();
    recorder = await Recorder.connect(broker.url, [`${PREFIX}/#`, `homeassistant/+/${NODE}/#`]);
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        `shmDir: /dev/shm/fs-lines-e2e-${process.pid}`,
        `http: { host: 127.0.0.1, port: 0, token: ${TOKEN} }`,
        `mqtt: { url: '${broker.url}', topicPrefix: ${PREFIX}, clientId: ${NODE}, discovery: { labels: [red, green, blue] } }`,
        'cameras:',
        '  gate:',
        `    source: "${VIDEO}"`,
        '    capture: { output: { format: rgb24 } }',
        `    workers: [{ id: colours, module: '${DETECTOR}', maxFps: ${READ_FPS}, track: { confirmHits: 2 } }]`,
        '    zones:',
        '      porch:',
        '        polygon: [[0, 0], [0.4, 0], [0.4, 0.4], [0, 0.4]]',
        '        dwellSeconds: 3',
        '    lines:',
        '      door:',
        '        points: [[0.5, 0], [0.5, 1]]',
        '        in: left',
        '',
      ].join('\n'),
    );
    run = spawn(process.execPath, [MAIN, 'run', config, '--view', 'none'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    run.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    base = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
        if (m !== null) {
          run.stdout!.off('data', onData);
          resolve(m[1]!);
        }
      };
      run.stdout!.on('data', onData);
      run.once('exit', () => reject(new Error(`run ended before printing the dashboard's address:\n${output}`)));
    });
  });

  after(async () => {
    if (run !== undefined) await endChild(run, 'SIGTERM', { group: true });
    await recorder?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('line events both ways once each, counts on MQTT and Prometheus, HA sensors, the dwell event on time', async () => {
    const published = (m: Message): Published | null => (m.topic === `${PREFIX}/events` ? (JSON.parse(m.payload) as Published) : null);
    const is = (match: (e: Published) => boolean) => (m: Message) => {
      const e = published(m);
      return e !== null && match(e);
    };
    const redIn = published(
      await recorder.waitFor(
        is((e) => e.type === 'line' && e.label === 'red'),
        'red crossing',
        { timeoutMs: 120_000 },
      ),
    );
    const greenOut = published(
      await recorder.waitFor(
        is((e) => e.type === 'line' && e.label === 'green'),
        'green crossing',
        { timeoutMs: 120_000 },
      ),
    );
    const dwell = published(
      await recorder.waitFor(
        is((e) => e.type === 'dwell'),
        'blue dwell',
        { timeoutMs: 120_000 },
      ),
    );
    assert.ok(redIn?.type === 'line' && greenOut?.type === 'line' && dwell?.type === 'dwell');
    assert.equal(redIn.direction, 'in');
    assert.equal(greenOut.direction, 'out');
    for (const c of [redIn, greenOut]) {
      assert.equal(c.line, 'door');
      assert.equal(c.count, 1);
      // interpolated between the frame before and the one that showed it: at most one read interval (and a frame's jitter) earlier
      const early = c.frame_time - c.time;
      assert.ok(early >= 0 && early <= 1 / READ_FPS + 0.15, `crossing ${early} s before its frame`);
      // the box's bottom centre is past the line by at most one read interval of travel (40 px/s)
      const centre = ((c.object.box[0] + c.object.box[2]) / 2) * 320;
      assert.ok(Math.abs(centre - 160) <= 40 / READ_FPS + 15, `crossed with its centre at ${centre} px`);
    }
    assert.equal(dwell.zone, 'porch');
    assert.equal(dwell.seconds, 3);
    assert.equal(dwell.label, 'blue');
    const late = dwell.frame_time - dwell.time;
    assert.ok(late >= 0 && late <= 1 / READ_FPS + 0.15, `dwell seen ${late} s after it was reached`);
    assert.ok(dwell.time - dwell.object.start_time >= 3 && dwell.time - dwell.object.start_time <= 3 + 2 / READ_FPS + 0.2);
    assert.ok((dwell.object.zone_time.porch ?? 0) >= 3, JSON.stringify(dwell.object.zone_time));

    // counts retained on MQTT, and no second crossing of either
    await recorder.waitFor((m) => m.topic === `${PREFIX}/gate/lines/door/in/red/count` && m.payload === '1', 'red in count');
    await recorder.waitFor((m) => m.topic === `${PREFIX}/gate/lines/door/out/green/count` && m.payload === '1', 'green out count');
    // and over the last hour, beside since start
    await recorder.waitFor((m) => m.topic === `${PREFIX}/gate/lines/door/in/red/count_last_hour` && m.payload === '1', 'red in, last hour');
    await recorder.waitFor((m) => m.topic === `${PREFIX}/gate/lines/door/out/green/count_last_hour` && m.payload === '1', 'green out, last hour');
    const lines = recorder.messages.map(published).filter((e) => e?.type === 'line');
    assert.equal(lines.length, 2, JSON.stringify(lines));

    // Prometheus, on the API's /metrics
    const metrics = await (await fetch(new URL('/metrics', base), { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    assert.match(metrics, /framesupplier_line_crossings_total\{camera="gate",line="door",direction="in",label="red"\} 1/);
    assert.match(metrics, /framesupplier_line_crossings_total\{camera="gate",line="door",direction="out",label="green"\} 1/);
    assert.match(metrics, /framesupplier_zone_dwells_total\{camera="gate",zone="porch",seconds="3",label="blue"\} 1/);

    // Home Assistant: a sensor per line, direction and label
    const sensor = await recorder.waitFor((m) => m.topic === `homeassistant/sensor/${NODE}/gate_line_door_in_red/config`, 'HA line sensor');
    const config = JSON.parse(sensor.payload) as { state_topic: string; state_class: string };
    assert.equal(config.state_topic, `${PREFIX}/gate/lines/door/in/red/count`);
    assert.equal(config.state_class, 'total_increasing');
    const hourly = await recorder.waitFor((m) => m.topic === `homeassistant/sensor/${NODE}/gate_line_door_in_red_last_hour/config`, 'HA last-hour sensor');
    const hourlyConfig = JSON.parse(hourly.payload) as { state_topic: string; state_class: string };
    assert.equal(hourlyConfig.state_topic, `${PREFIX}/gate/lines/door/in/red/count_last_hour`);
    assert.equal(hourlyConfig.state_class, 'measurement');

    // The camera removed through the API: its line and dwell series leave /metrics with it.
    const removed = await fetch(new URL('/api/cameras/gate', base), { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(removed.status, 200);
    const after = await (await fetch(new URL('/metrics', base), { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    assert.doesNotMatch(after, /framesupplier_line_crossings_total\{camera="gate"/);
    assert.doesNotMatch(after, /framesupplier_zone_dwells_total\{camera="gate"/);
  });
});
