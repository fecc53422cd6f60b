/**
 * A motion-gated fall worker never leaves a person who fell and lies still unchecked (ADR 0081, 0132), with real
 * parts: an H.264 clip of a drawn room (test/motion/scene.ts) where a person (a bright block, standing 3 s) falls
 * over in 0.6 s and then lies still for 19 s, played by the camera at its own rate; the camera's motion
 * detection; a real Node model server whose handler finds the block and gives it a pose fitted to its shape
 * (tall: standing, wide: lying: test/helpers/poses.ts), as a pose model would; a worker with `gate: motion`
 * (stationarySeconds 10, the default) and `falls`.
 *
 * Expected: the fall is raised, confirmed by a look the gate gave because the person was down (reason `down`,
 * one per lostMs), not by the stationary recheck 10 s later: the raising frame's capture time is within 4 s of
 * the first one down; the person is looked at again and again while they lie still (their track is never
 * ended), and the gate's figures count those looks under `down`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { ModelServer, type InferenceHandler } from '../../src/models/index.js';
import type { FallAlert } from '../../src/care/index.js';
import { VisionSystem, type EventOf } from '../../src/pipeline/index.js';
import { LYING, pose, STANDING, type Pose } from '../helpers/poses.js';
import { drawScene, encodeToFile, findBrightBlock, HEIGHT, WIDTH, xorshift } from '../motion/scene.js';
import { nextEvent } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'framesupplier-falls-gate-'));
const SHM_DIR = `/dev/shm/framesupplier-falls-gate-${process.pid}`;
const FALLS_ON = 30;
const FALL_FRAMES = 6;
const FRAMES = 230;
const FEET = 310;
const LEFT = 300;

/** The person's block on a frame: 40 × 110 standing, turning over to 110 × 40 lying on the floor to the right. */
function block(frame: number): { x: number; y: number; w: number; h: number } {
  const f = Math.min(1, Math.max(0, (frame - FALLS_ON) / FALL_FRAMES));
  const w = Math.round(40 + 70 * f);
  const h = Math.round(110 - 70 * f);
  return { x: LEFT, y: FEET - h, w, h };
}

function drawFall(): Uint8Array[] {
  const frames = drawScene({ frames: FRAMES, seed: 11 });
  const random = xorshift(5);
  for (const [i, frame] of frames.entries()) {
    const { x, y, w, h } = block(i);
    for (let r = y; r < y + h; r++) for (let c = x; c < x + w; c++) frame[r * WIDTH + c] = 240 + Math.round(10 * (random() - 0.5));
  }
  return frames;
}

/** A pose model's answer for the block: a person whose pose fits its shape, keypoints placed in its box. */
function personIn(bbox: readonly [number, number, number, number]): { keypoints: [number, number, number][] } {
  const tall = (bbox[3] - bbox[1]) * HEIGHT;
  const wide = (bbox[2] - bbox[0]) * WIDTH;
  const f = Math.min(1, Math.max(0, (wide / tall - 0.4) / (2.6 - 0.4)));
  const p: Pose = { x: 0.5, hip: STANDING.hip + (LYING.hip - STANDING.hip) * f, torso: 90 * f, thigh: 90 * f, shin: 90 * f };
  const drawn = pose(p);
  const [x1, y1, x2, y2] = drawn.box;
  return {
    keypoints: drawn.keypoints.map(([x, y, s]) => [
      bbox[0] + ((x - x1) / (x2 - x1)) * (bbox[2] - bbox[0]),
      bbox[1] + ((y - y1) / (y2 - y1)) * (bbox[3] - bbox[1]),
      s,
    ]),
  };
}

/** The bright block's box, with its fitted pose. */
const finder: InferenceHandler = {
  name: 'pose-finder',
  modelId: 'finder',
  infer(frame) {
    const [found] = findBrightBlock(frame);
    if (found === undefined) return Promise.resolve({ detections: [] });
    const bbox = found.bbox;
    return Promise.resolve({ detections: [{ ...found, confidence: 0.8, ...personIn(bbox) }] });
  },
};

describe('a motion-gated fall worker and a person who fell and lies still', { timeout: 180_000 }, () => {
  const clip = join(dir, 'fall.mp4');
  let server: ModelServer;

  before(async () => {
    encodeToFile(drawFall(), clip);
    server = new ModelServer({ socketPath: join(dir, 'finder.sock'), handler: finder, shmDir: SHM_DIR, closeLingerMs: 200, shutdownGraceMs: 2_000 });
    await server.start();
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  it('raises the fall from a look it gave because the person was down, and keeps looking while they lie still', async () => {
    const config = parseConfig(
      [
        `shmDir: ${SHM_DIR}`,
        'models:',
        `  finder: { socket: ${join(dir, 'finder.sock')} }`,
        'cameras:',
        '  room:',
        `    source: ${clip}`,
        '    capture: { output: { format: gray } }',
        '    workers:',
        '      - { id: people, model: finder, maxFps: 5, gate: motion, track: { confirmHits: 1 }, falls: true }',
      ].join('\n'),
      { env: {}, fileName: 'falls-gate.yaml' },
    );
    const system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }), modelHealthIntervalMs: 200, drainTimeoutMs: 2_000 });
    const raised: FallAlert[] = [];
    const ended: EventOf<'tracked-object'>[] = [];
    const looks: number[] = [];
    system.on('fall', (e) => {
      if (e.event.type === 'new') raised.push(e.event.after);
    });
    system.on('tracked-object', (e) => {
      if (e.event.type === 'end') ended.push(e);
    });
    system.on('result', (e) => {
      if (((e.output as { detections?: unknown[] }).detections ?? []).length > 0) looks.push(e.captureTime);
    });
    const stopped = nextEvent(system, 'camera-state', (e) => e.camera === 'room' && e.state === 'stopped');
    await system.start();
    let gate: NonNullable<ReturnType<VisionSystem['stats']>['cameras'][string]>['workers'][string]['gate'];
    try {
      await stopped;
      gate = system.stats().cameras.room!.workers.people!.gate;
    } finally {
      await system.close();
    }
    assert.equal(raised.length, 1, JSON.stringify(raised));
    const fall = raised[0]!;
    assert.equal(fall.kind, 'fall');
    // confirmed by a `down` look (one per lostMs, 1 s), not the stationary recheck 10 s on: on capture time
    assert.ok(fall.raised_time - fall.down_time < 4, `raised ${(fall.raised_time - fall.down_time).toFixed(2)} s after the first sighting down`);
    assert.ok(gate !== null && gate.runs.down >= 3, `looks because the person was down: ${JSON.stringify(gate?.runs)}`);
    // tracks end on misses, not on stillness: the person lying still was never ended while the clip played
    assert.deepEqual(
      ended.filter((e) => e.event.after.id === fall.object_id && (e.event.after.end_reason ?? null) === null && e.event.after.end_time! < fall.frame_time),
      [],
    );
    // looked at again and again while lying still: no gap as long as the stationary recheck
    const lying = looks.filter((t) => t >= looks[0]! + (FALLS_ON / 10) * 1000 + 1000);
    const gaps = lying.slice(1).map((t, i) => t - lying[i]!);
    assert.ok(lying.length >= 5 && gaps.every((g) => g < 5_000), `looks while lying: ${lying.length}, gaps ${gaps.map((g) => g.toFixed(0)).join(' ')} ms`);
  });
});
