/**
 * A fall the whole way through a real system with the person model (ADR 0132), on a clip of the project's own
 * making: a real person cut from OpenCV's vtest.avi (the pedestrian in the bottom right at 5 s, scaled up) stands
 * on a plain floor for 4 s, falls over to the side in 0.6 s (ffmpeg's rotate filter about the middle, the feet
 * kept on the floor) and lies there 8 s. MoveNet MultiPose finds them standing (upright, about 0.56) and lying
 * (lying, about 0.25; the fall worker's tracker starts tracks from 0.15). The camera plays the clip in real
 * time; the person model's server is ready before the camera is added, so the fall is never before its first run.
 *
 * Expected: one `fall` alert, about the person the tracker followed from standing (the same object id), lying,
 * its fall's start before its first sighting down. fallSeconds is 4 here: on a loaded machine the model may run
 * once a second or less, and this test is about the whole way through, not the delay (bench FALL measures that).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { FallAlert } from '../../src/care/index.js';
import type { TrackedObject } from '../../src/objects/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { VTEST } from '../helpers/media.js';
import { nextEvent } from '../pipeline/helpers.js';

const STAND_S = 4;
const FALL_S = 0.6;
const LIE_S = 8;

/** The clip: the person's crop (162 × 320) over a floor of the pavement's grey, turned over at STAND_S. */
function makeClip(dir: string): string {
  const person = join(dir, 'person.png');
  const clip = join(dir, 'fall.mp4');
  const run = (args: string[]): void => {
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args]);
    if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr.toString()}`);
  };
  run(['-ss', '5', '-i', VTEST, '-frames:v', '1', '-vf', 'crop=65:128:658:250,scale=162:320', person]);
  const a = `if(lt(t,${STAND_S}),0,if(lt(t,${STAND_S + FALL_S}),(t-${STAND_S})/${FALL_S}*PI/2,PI/2))`;
  const seconds = STAND_S + FALL_S + LIE_S;
  run([
    '-f',
    'lavfi',
    '-i',
    `color=c=0xb4b4b8:s=640x480:r=10:d=${seconds}`,
    '-loop',
    '1',
    '-framerate',
    '10',
    '-t',
    String(seconds),
    '-i',
    person,
    '-filter_complex',
    `[1]format=rgba,rotate=a='${a}':ow=360:oh=360:c=black@0[p];[0][p]overlay=x='200+80*sin(${a})':y='460-180-0.5*(320*cos(${a})+162*sin(${a}))':shortest=1,format=yuv420p`,
    '-c:v',
    'libx264',
    '-crf',
    '18',
    '-r',
    '10',
    clip,
  ]);
  return clip;
}

describe('a fall through a real system with the person model, on a clip of a real person made here', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-falls-person-'));
  let clip: string;

  before(() => {
    clip = makeClip(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('tracks the person standing, and raises one fall when they lie on the floor', async () => {
    const config = parseConfig(
      JSON.stringify({
        shmDir: join('/dev/shm', `fs-falls-person-${process.pid}`),
        models: { person: { handler: 'person', threads: 1 } },
        cameras: {},
      }),
      { env: {}, fileName: 'falls-person.yaml' },
    );
    const system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }) });
    const alerts: FallAlert[] = [];
    const objects: TrackedObject[] = [];
    system.on('fall', (e) => {
      if (e.event.type === 'new') alerts.push(e.event.after);
    });
    system.on('tracked-object', (e) => {
      if (e.event.type === 'new') objects.push(e.event.after);
    });
    const ready = nextEvent(system, 'model-state', (e) => e.model === 'person' && e.to === 'ready');
    await system.start();
    try {
      await ready;
      const stopped = nextEvent(system, 'camera-state', (e) => e.camera === 'room' && e.state === 'stopped');
      await system.cameras.add('room', {
        source: clip,
        capture: { output: { format: 'rgb24' } },
        workers: [{ id: 'people', model: 'person', maxFps: 5, falls: { fallSeconds: 4 } }],
      });
      await stopped;
    } finally {
      await system.close();
    }
    assert.equal(alerts.length, 1, JSON.stringify(alerts));
    const fall = alerts[0]!;
    assert.equal(fall.kind, 'fall');
    assert.equal(fall.posture, 'lying');
    assert.ok(fall.fall_time !== null && fall.fall_time < fall.down_time, JSON.stringify(fall));
    const person = objects.find((o) => o.id === fall.object_id);
    assert.ok(person !== undefined, 'the person the tracker followed from standing');
    assert.equal(person.label, 'person');
    assert.ok(person.start_time <= fall.fall_time, 'tracked before the fall');
  });
});
