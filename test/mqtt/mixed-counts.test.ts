/**
 * A camera's label count fed by a detector that tracks and one that does not,
 * with different age budgets (1 s and 3 s), against Debian's real mosquitto
 * and a real system: the count follows the larger of the two, every count
 * message carries the camera's one counts budget (3 s, the largest, as Home
 * Assistant's expire_after says) instead of flipping with each worker's
 * results, an unchanged count is published again at most every half of it,
 * and the per-label appearances on <prefix>/events are the plain detector's
 * alone (the tracking worker's events are its tracked objects).
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { Mosquitto, Recorder } from '../helpers/mosquitto.js';
import { resolvedConfig, vtest } from '../pipeline/helpers.js';
import { setPersons } from './detector.js';
import { startSystemWithSink } from './system-sink.js';

const CAM = `mix-${process.pid}`;
const PREFIX = `fs-mix-${process.pid}`;
const SHM_DIR = `/dev/shm/framesupplier-test-mqtt-mixed-${process.pid}`;
const DETECTOR = fileURLToPath(new URL('./detector.js', import.meta.url));
const COUNT = `${PREFIX}/${CAM}/objects/person/count`;

describe('label counts from a tracking and a plain detector', { timeout: 120_000 }, () => {
  let broker: Mosquitto;
  let closeSystem: (() => Promise<void>) | undefined;
  let recorder: Recorder;

  before(async () => {
    setPersons(0);
    broker = await Mosquitto.start();
    recorder = await Recorder.connect(broker.url, [`${PREFIX}/#`], undefined, 5);
    const config = resolvedConfig({
      shmDir: SHM_DIR,
      cameras: {
        [CAM]: {
          source: vtest(),
          capture: { output: { format: 'gray' as const, width: 160, fps: 5 }, loop: true },
          workers: [
            { id: 'det', module: DETECTOR, maxAgeMs: 1_000 },
            { id: 'trk', module: DETECTOR, maxAgeMs: 3_000, track: true },
          ],
        },
      },
      mqtt: { url: broker.url, clientId: `fs-mix-${process.pid}`, topicPrefix: PREFIX, events: { endAfterS: 0.5 } },
    });
    const log = createLogger({ level: 'warn' });
    ({ close: closeSystem } = await startSystemWithSink(config, log));
  });

  after(async () => {
    await closeSystem?.();
    await recorder?.close();
    await broker?.close();
  });

  it('one budget per camera on every count message, no republishing storm, appearances from the plain detector alone', async () => {
    const from = recorder.messages.length;
    setPersons(2);
    await recorder.waitFor((m) => m.topic === COUNT && m.payload === '2', 'count 2', { from });
    // Both workers keep confirming it: it is published again, but only once half the budget (1.5 s) has passed.
    const start = recorder.messages.length;
    await recorder.waitFor((m) => m.topic === COUNT && m.payload === '2', 'count 2 again', { from: start });
    await recorder.waitFor((m) => m.topic === COUNT && m.payload === '2', 'count 2 once more', { from: recorder.messages.length });
    const counts = recorder.on(COUNT).filter((m) => m.at >= recorder.messages[from]!.at);
    assert.ok(
      counts.every((m) => m.expiryS === 4),
      `expiries ${counts.map((m) => String(m.expiryS)).join(' ')}`,
    );
    const twos = counts.filter((m) => m.payload === '2');
    for (let i = 1; i < twos.length; i++) assert.ok(twos[i]!.at - twos[i - 1]!.at >= 1_400, `published again ${twos[i]!.at - twos[i - 1]!.at} ms apart`);
    const appearances = recorder
      .on(`${PREFIX}/events`)
      .map((m) => JSON.parse(m.payload) as { before?: unknown; worker?: string })
      .filter((e) => e.before === undefined);
    assert.ok(appearances.length > 0);
    assert.deepEqual([...new Set(appearances.map((e) => e.worker))], ['det']);
    setPersons(0);
    await recorder.waitFor((m) => m.topic === COUNT && m.payload === '0', 'count 0', { from: recorder.messages.length });
  });
});
