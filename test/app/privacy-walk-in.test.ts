/**
 * A person walking into a private room is never shown sharp (ADR 0165), read from outside at every outlet: the
 * app as `framesupplier run` builds it, a camera whose checkered "person" (patch-person.ts's patch) walks in from
 * the left again and again across a grey room, a detector that answers a model's time after its frame
 * (slow-patch-person.ts), the whole picture private with `show: blur`; a real mosquitto, the events store, the
 * HTTP API and its dashboard socket.
 *
 * Every picture that leaves (MJPEG parts, latest.jpg, dashboard socket frames, MQTT snapshots, the events
 * store's snapshots) is decoded and its pixels counted: a red square of the checker anywhere in it is the person
 * shown as the open camera shows them (the control, `open`, the same room not private, shows them in every
 * outlet). Expected: none in any picture of `room`, and its live view says how long it was held for its people.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, type MqttClient } from 'mqtt';
import { WebSocket } from 'ws';
import { createApp, type App } from '../../src/app/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { eventually, eventuallyAsync } from '../helpers/process.js';
import { resolvedConfig } from '../pipeline/helpers.js';
import { lookAtJpeg } from './picture-looks.js';

/** 320 × 240 grey at 10 fps, the checkered patch (64 × 96) walking in from the left at 160 px/s, again every 3 s. */
const SOURCE = "lavfi:color=c=gray:s=320x240:r=10[bg];color=c=red:s=64x96:r=10,drawgrid=w=8:h=8:t=4:c=white[p];[bg][p]overlay=x='mod(t*160,480)-80':y=72";
const PREFIX = 'walk-in-test';
const TOKEN = 'walk-in-test-token-0123456789abcdef';
const DETECTOR = fileURLToPath(new URL('./slow-patch-person.js', import.meta.url));
const WHOLE = [0, 0, 1, 1] as const;
/** Pictures of the private camera's live view read before the verdict: about ten entries of the person. */
const LIVE_PICTURES = 60;

type Outlet = 'mjpeg' | 'latest.jpg' | 'socket' | 'mqtt' | 'store';

describe('a person walking into a private room: no outlet shows them sharp', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `fs-walk-in-${process.pid}-`));
  let broker: Mosquitto;
  let mqtt: MqttClient;
  let app: App;
  const pictures = new Map<string, { outlet: Outlet; camera: string; jpeg: Buffer; heldMs: number | null }[]>();
  const keep = (outlet: Outlet, camera: string, jpeg: Buffer, heldMs: number | null = null): void => {
    const key = `${outlet}/${camera}`;
    if (!pictures.has(key)) pictures.set(key, []);
    pictures.get(key)!.push({ outlet, camera, jpeg, heldMs });
  };
  const count = (outlet: Outlet, camera: string): number => pictures.get(`${outlet}/${camera}`)?.length ?? 0;
  const closers: (() => void)[] = [];
  let base = '';
  const headers = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    broker = await Mosquitto.start();
    mqtt = connect(broker.url, { clientId: `walk-in-${process.pid}` });
    mqtt.on('message', (topic, payload) => {
      const camera = topic.split('/')[1]!;
      if (payload.length > 0) keep('mqtt', camera, Buffer.from(payload));
    });
    await new Promise<void>((resolve) => mqtt.once('connect', () => resolve()));
    await mqtt.subscribeAsync(`${PREFIX}/+/objects/person/snapshot`, { qos: 1 });
    const detector = { id: 'detect', module: DETECTOR, track: { confirmHits: 1 } };
    const camera = (entry: object) => ({ source: SOURCE, capture: { output: { format: 'rgb24' } }, workers: [detector], ...entry });
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-walk-in-${process.pid}`,
      cameras: { open: camera({}), room: camera({ privacy: { whole: true, show: 'blur' } }) },
      mqtt: { url: broker.url, topicPrefix: PREFIX, clientId: 'walk-in-test' },
      events: { database: join(dir, 'events.db') },
      http: { host: '127.0.0.1', port: 0, token: TOKEN },
    });
    app = createApp(config, { logger: createLogger({ level: 'silent' }), http: { config: config.http! }, tokenFile: join(dir, 'http-token') });
    await app.start();
    base = app.dashboard!.url.replace(/\/$/, '');
    for (const id of ['open', 'room']) {
      readMjpeg(id);
      readSocket(id);
    }
    readLatest('room');
  });

  /** The MJPEG stream read as a client does: each part's JPEG and its X-Privacy-Held-Ms. */
  function readMjpeg(camera: string): void {
    const aborted = new AbortController();
    closers.push(() => aborted.abort());
    void (async () => {
      const response = await fetch(`${base}/api/cameras/${camera}/mjpeg`, { headers, signal: aborted.signal });
      let buffer = Buffer.alloc(0);
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer = Buffer.concat([buffer, chunk]);
        for (;;) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) break;
          const head = buffer.subarray(0, end).toString('latin1');
          const length = Number(/Content-Length: (\d+)/i.exec(head)?.[1] ?? NaN);
          if (!Number.isFinite(length) || buffer.length < end + 4 + length) break;
          const held = /X-Privacy-Held-Ms: (\d+)/i.exec(head)?.[1];
          keep('mjpeg', camera, Buffer.from(buffer.subarray(end + 4, end + 4 + length)), held === undefined ? null : Number(held));
          buffer = buffer.subarray(end + 4 + length + 2);
        }
      }
    })().catch(() => undefined);
  }

  /** The dashboard's socket as the page uses it: watch a camera, ack each frame. */
  function readSocket(camera: string): void {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/ws`, { headers });
    closers.push(() => ws.terminate());
    ws.on('error', () => undefined);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'watch', cameras: [{ id: camera, h: 0 }] })));
    ws.on('message', (data: Buffer, binary: boolean) => {
      if (!binary) return;
      const length = data.readUInt32BE(0);
      const header = JSON.parse(data.subarray(4, 4 + length).toString()) as { camera: string; heldMs?: number };
      keep('socket', header.camera, Buffer.from(data.subarray(4 + length)), header.heldMs ?? null);
      ws.send(JSON.stringify({ type: 'ack', camera: header.camera }));
    });
  }

  /** latest.jpg asked for again as soon as each comes. */
  function readLatest(camera: string): void {
    let stop = false;
    closers.push(() => (stop = true));
    void (async () => {
      while (!stop) {
        const response = await fetch(`${base}/api/cameras/${camera}/latest.jpg`, { headers });
        if (response.status !== 200) continue;
        keep('latest.jpg', camera, Buffer.from(await response.arrayBuffer()), Number(response.headers.get('x-privacy-held-ms')));
      }
    })().catch(() => undefined);
  }

  after(async () => {
    for (const close of closers) close();
    await app?.close();
    await mqtt?.endAsync();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no picture of the private camera shows the person, at any outlet; the open camera shows them', async (t) => {
    await eventually(
      () => count('mjpeg', 'room') >= LIVE_PICTURES && count('socket', 'room') >= LIVE_PICTURES && count('mqtt', 'room') >= 2 && count('mqtt', 'open') >= 1,
      'pictures from every outlet',
      240_000,
    );
    for (const camera of ['open', 'room']) {
      await eventuallyAsync(
        async () => {
          const { events } = (await (await fetch(`${base}/api/events?camera=${camera}`, { headers })).json()) as {
            events: { id: string; has_snapshot: boolean }[];
          };
          for (const e of events.filter((x) => x.has_snapshot))
            keep('store', camera, Buffer.from(await (await fetch(`${base}/api/events/${e.id}/snapshot.jpg`, { headers })).arrayBuffer()));
          return count('store', camera) > 0;
        },
        `${camera}'s stored snapshots`,
        60_000,
      );
    }
    for (const close of closers) close();
    const leaks: Record<string, number> = {};
    const shownOpen: Record<string, number> = {};
    for (const list of pictures.values()) {
      for (const p of list) {
        const red = (await lookAtJpeg(p.jpeg, WHOLE)).red;
        const key = `${p.outlet}`;
        if (p.camera === 'room') leaks[key] = (leaks[key] ?? 0) + (red > 0 ? 1 : 0);
        else if (red > 100) shownOpen[key] = (shownOpen[key] ?? 0) + 1;
      }
    }
    const held = (pictures.get('mjpeg/room') ?? []).map((p) => p.heldMs ?? 0);
    const sorted = [...held].sort((a, b) => a - b);
    t.diagnostic(
      `pictures ${[...pictures].map(([k, v]) => `${k} ${v.length}`).join(', ')}; leaks ${JSON.stringify(leaks)}; open shown ${JSON.stringify(shownOpen)}; room mjpeg held ms p50 ${sorted[sorted.length >> 1]} max ${sorted.at(-1)}`,
    );
    for (const outlet of ['mjpeg', 'socket', 'mqtt', 'store'] as const)
      assert.ok((shownOpen[outlet] ?? 0) > 0, `the open camera shows the person on ${outlet}`);
    assert.deepEqual(
      leaks,
      { mjpeg: 0, socket: 0, 'latest.jpg': 0, mqtt: 0, store: 0 },
      `pictures of the private room with the person's red squares, by outlet (of ${[...pictures].map(([k, v]) => `${k} ${v.length}`).join(', ')})`,
    );
    assert.ok(
      held.some((ms) => ms > 0),
      `the private live view says it is held for its people: ${JSON.stringify(held.slice(0, 20))}`,
    );
  });
});
