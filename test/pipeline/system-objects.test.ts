/**
 * system.objects (ADR 0062) on a running system with real components: a lavfi video of a red square moving
 * right along the bottom, a module worker that finds it in the pixels with `track` on, a zone the square
 * ends in and a line it crosses. The part answers what the events said: the object alive, the zone's
 * count, the line's crossing, a snapshot said saved on the object's next update; a camera it does not have
 * has none of them.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem, type EventOf } from '../../src/pipeline/index.js';
import { nextEvent, resolvedConfig } from './helpers.js';

const DETECTOR = fileURLToPath(new URL('../objects/colour-detector.js', import.meta.url));
const SHM_DIR = `/dev/shm/framesupplier-test-objects-part-${process.pid}`;
const VIDEO = "lavfi:color=c=black:s=320x240:r=10[bg];color=c=red:s=32x32:r=10[r];[bg][r]overlay=x='min(20+40*t,240)':y=180";
const GATE = `gate-${process.pid}`;

describe('system.objects', { timeout: 60_000 }, () => {
  let system: VisionSystem;
  // Listened for from the start: the square crosses the line about 2 s in, and enters the zone about 4 s in.
  let crossing: Promise<EventOf<'line'>>;
  let stay: Promise<EventOf<'zone-count'>>;

  before(async () => {
    const config = resolvedConfig({
      shmDir: SHM_DIR,
      cameras: {
        [GATE]: {
          source: VIDEO,
          capture: { output: { format: 'rgb24' } },
          workers: [{ id: 'colours', module: DETECTOR, maxFps: 5, track: { confirmHits: 2 } }],
          zones: {
            pad: {
              polygon: [
                [0.6, 0.5],
                [1, 0.5],
                [1, 1],
                [0.6, 1],
              ],
              labels: ['red'],
            },
          },
          lines: {
            middle: {
              points: [
                [0.4, 0.5],
                [0.4, 1],
              ],
            },
          },
        },
      },
    });
    system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }) });
    crossing = nextEvent(system, 'line', (e) => e.crossing.camera === GATE);
    stay = nextEvent(system, 'zone-count', (e) => e.camera === GATE && e.count === 1);
    await system.start();
  });

  after(async () => {
    await system?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  it('zones and lines as configured, with the labels each counts', () => {
    assert.deepEqual(system.objects.zones(GATE), [{ name: 'pad', labels: ['red'] }]);
    assert.deepEqual(system.objects.lines(GATE), [{ name: 'middle', labels: null }]);
    assert.deepEqual(system.objects.zones('nowhere'), []);
    assert.deepEqual(system.objects.lines('nowhere'), []);
  });

  it('tracked: the object the worker found, alive now; a snapshot said saved shows on its next update', async () => {
    const seen = await nextEvent(system, 'tracked-object', (e) => e.event.after.camera === GATE);
    const id = seen.event.after.id;
    const alive = system.objects.tracked(GATE);
    assert.deepEqual(
      alive.map((o) => [o.id, o.label]),
      [[id, 'red']],
    );
    assert.deepEqual(system.objects.tracked(), alive, 'all cameras: the one');
    assert.deepEqual(system.objects.tracked('nowhere'), []);
    const info = { stream: 'main', width: 320, height: 240, frame_time: Date.now() / 1000, offset_ms: 0, fallback: null };
    const updated = nextEvent(system, 'tracked-object', (e) => e.event.after.id === id && e.event.after.has_snapshot);
    system.objects.snapshotSaved(GATE, 'colours', id, info);
    assert.deepEqual((await updated).event.after.snapshot, info);
  });

  it('lineCounts and zoneCounts: the crossing and the stay, as their events said', async () => {
    const crossed = (await crossing).crossing;
    assert.deepEqual(
      system.objects.lineCounts(GATE).map((c) => [c.worker, c.line, c.direction, c.label, c.total]),
      [['colours', 'middle', crossed.direction, 'red', 1]],
    );
    await stay;
    assert.deepEqual(system.objects.zoneCounts(GATE), [{ zone: 'pad', label: 'red', count: 1 }]);
    assert.deepEqual(system.objects.lineCounts('nowhere'), []);
    assert.deepEqual(system.objects.zoneCounts('nowhere'), []);
  });
});
