/**
 * Snapshots of tracked objects with MQTT and no events store (issue 37, item
 * 4; ADR 0037), with real components: the app (createApp, as `framesupplier
 * run` builds it) on a lavfi video of a red square, the colour-finding module
 * worker with `track` on, a real mosquitto, and no `events` section.
 *
 * Expected: the snapshot topic `<camera>/objects/<label>/snapshot` gets a
 * JPEG, retained (a subscriber that comes later gets it too), and the object's
 * event on `<prefix>/events` says has_snapshot true. With the broker away and
 * no store a snapshot is still made but can be had nowhere: no event of the
 * object says has_snapshot, up to its end.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/app/index.js';
import { snapshotEncodes } from '../../src/pictures/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { TrackedObject } from '../../src/objects/index.js';
import type { EventOf } from '../../src/pipeline/index.js';
import { freePort, Mosquitto, Recorder } from '../helpers/mosquitto.js';
import { resolvedConfig } from '../pipeline/helpers.js';

const DETECTOR = fileURLToPath(new URL('./colour-detector.js', import.meta.url));
const PREFIX = `snapshots-${process.pid}`;
const SQUARE = 'lavfi:color=c=black:s=320x240:r=10[bg];color=c=red:s=32x32:r=10[r];[bg][r]overlay=x=140:y=100';
/** The square shows for 3 s, then is gone: its object ends. */
const BRIEF_SQUARE = "lavfi:color=c=black:s=320x240:r=10[bg];color=c=red:s=32x32:r=10[r];[bg][r]overlay=x=140:y=100:enable='lt(t,3)'";
const silent = createLogger({ level: 'silent' });

interface FrigateMessage {
  readonly type: 'new' | 'update' | 'end';
  readonly after: TrackedObject;
}

function camera(source: string) {
  return {
    source,
    capture: { output: { format: 'rgb24' as const } },
    workers: [{ id: 'colours', module: DETECTOR, maxFps: 4, track: { confirmHits: 2 } }],
  };
}

describe('snapshots of tracked objects on MQTT without an events store', { timeout: 120_000 }, () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await Mosquitto.start();
  });
  after(async () => {
    await broker.close();
  });

  it('publishes the snapshot retained as a JPEG, and the event says has_snapshot', async () => {
    const recorder = await Recorder.connect(broker.url, [`${PREFIX}/#`]);
    // the recorder keeps payloads as text: the JPEG's bytes are read off the client
    const jpegs: Buffer[] = [];
    recorder.client.on('message', (topic, payload) => {
      if (topic === `${PREFIX}/gate/objects/red/snapshot`) jpegs.push(payload);
    });
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-snapshots-${process.pid}`,
      cameras: { gate: camera(SQUARE) },
      mqtt: { url: broker.url, topicPrefix: PREFIX, clientId: `snapshots-${process.pid}` },
    });
    assert.equal(config.events, undefined);
    const app = createApp(config, { logger: silent });
    let late: Recorder | null = null;
    try {
      await app.start();
      const snapshot = await recorder.waitFor((m) => m.topic === `${PREFIX}/gate/objects/red/snapshot`, 'the red snapshot');
      const flagged = await recorder.waitFor((m) => {
        if (m.topic !== `${PREFIX}/events`) return false;
        const e = JSON.parse(m.payload) as Partial<FrigateMessage>;
        return e.after?.label === 'red' && e.after.has_snapshot;
      }, 'the event with has_snapshot');
      assert.equal((JSON.parse(flagged.payload) as FrigateMessage).type, 'update');
      assert.ok(snapshot.payload.length > 0);
      const jpeg = jpegs[0]!;
      assert.deepEqual([jpeg[0], jpeg[1]], [0xff, 0xd8], 'a JPEG');
      late = await Recorder.connect(broker.url, [`${PREFIX}/gate/objects/red/snapshot`]);
      const retained = await late.waitFor(() => true, 'the retained snapshot');
      assert.equal(retained.retain, true);
    } finally {
      await app.close();
      await late?.close();
      await recorder.close();
    }
  });

  it('with the broker away and no store, makes no claim of a snapshot', async () => {
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-snapshots-away-${process.pid}`,
      cameras: { gate: camera(BRIEF_SQUARE) },
      // nothing listens there: the sink never connects
      mqtt: { url: `mqtt://127.0.0.1:${await freePort()}`, topicPrefix: PREFIX, clientId: `snapshots-away-${process.pid}` },
    });
    const app = createApp(config, { logger: silent });
    const seen: TrackedObject[] = [];
    const encodesBefore = snapshotEncodes();
    try {
      const ended = new Promise<void>((resolve) =>
        app.system.on('tracked-object', (e: EventOf<'tracked-object'>) => {
          seen.push(e.event.after);
          if (e.event.type === 'end') resolve();
        }),
      );
      await app.start();
      await ended;
      assert.ok(snapshotEncodes() > encodesBefore, 'a snapshot was made');
      assert.ok(seen.length >= 2);
      assert.deepEqual(
        seen.filter((o) => o.has_snapshot),
        [],
      );
    } finally {
      await app.close();
    }
  });
});
