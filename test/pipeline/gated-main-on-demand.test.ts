/**
 * The documented gated config is the cheap path (issue 70 item 1, ADR 0113), with real parts: one drawn scene
 * (region-scene.ts: a still textured room, a 48 px square walking along the top) encoded by ffmpeg as a 1280 × 720
 * main stream and a 640 × 360 substream, played once; the in-process decoder; the camera's motion; real Node model
 * servers that find the bright square and say what each call was given.
 * - docs: the camera as docs/configuration.md shows it (main + a declared substream, one detector with `gate: motion`,
 *   `maxFps: 2`, `track: true`, no `stream:`), on a model that does not say its input size (as P4's, a remote one, a
 *   CenterNet person model): the detector reads the substream, and main is not decoded at all (nothing asked a
 *   picture of it). Before ADR 0113 a model of no stated size made `auto` read main, every frame decoded.
 * - sized: the same on a model that says its input (320): crops come from main, and every frame main decoded was
 *   decoded on demand, in bursts, for them.
 * - pinned: `stream: main` still reads main, every frame decoded (ADR 0113): what that promises is every frame decoded
 *   and every call main's, not how: packets main read before its worker first subscribed (the worker waits for its
 *   model server first, later on a loaded machine) are held and caught up in one burst when it comes (ADR 0052),
 *   at most the two keyframe intervals a held stream keeps.
 * Counted against independent counts: the frames the test drew (main read them all), and the size of every frame the
 * model servers were given (which stream a call's frame came from).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { ModelServer } from '../../src/models/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { nextEvent } from './helpers.js';
import { drawClip, encodeClip, FPS, H, INPUT, smallObjectFinder, W, type ModelCall, type Walker } from './region-scene.js';

const FRAMES = 100;
const SUB = { width: 640, height: 360 } as const;
const SQUARE: Walker = { x: 160, y: 120, side: 48, from: 10, step: 8 };
const CAMERAS = ['docs', 'sized', 'pinned'] as const;

const dir = mkdtempSync(join(tmpdir(), 'framesupplier-gated-main-'));
const SHM_DIR = `/dev/shm/framesupplier-gated-main-${process.pid}`;

describe('the documented gated config: detection on the substream, main decoded only on demand', { timeout: 180_000 }, () => {
  const given: ModelCall[] = [];
  const servers: ModelServer[] = [];
  let figures: ReturnType<VisionSystem['stats']>;
  let found = new Map<string, number>();

  before(async () => {
    const main = join(dir, 'main.mp4');
    const sub = join(dir, 'sub.mp4');
    // The substream plays a little longer: the camera (its main stream) ends first, so no worker moves to main
    // because the substream ended (a stream down moves its auto readers, ADR 0053).
    const raw = drawClip([SQUARE], FRAMES + 30);
    encodeClip(raw.subarray(0, W * H * FRAMES), main);
    encodeClip(raw, sub, SUB);
    // A model of no stated size (no frame_long_side in its pong), and one of a 320 px input.
    const { frameLongSide: _noSize, ...sizeless } = smallObjectFinder({ calls: new Map(), minInputPixels: 8, onCall: (c) => given.push(c) });
    const sized = smallObjectFinder({ calls: new Map(), minInputPixels: 8, onCall: (c) => given.push(c) });
    for (const [name, handler] of [
      ['sizeless', { ...sizeless, modelId: 'sizeless' }],
      ['sized', { ...sized, modelId: 'sized' }],
    ] as const) {
      const server = new ModelServer({ socketPath: join(dir, `${name}.sock`), handler, shmDir: SHM_DIR, closeLingerMs: 200, shutdownGraceMs: 2_000 });
      await server.start();
      servers.push(server);
    }
    const camera = (id: string, model: string, more: string): string[] => [
      `  ${id}:`,
      `    source: ${main}`,
      `    streams: { sub: { source: ${sub}, width: ${SUB.width}, height: ${SUB.height} } }`,
      '    workers:',
      `      - { id: people, model: ${model}, maxFps: 2, gate: motion, track: true${more} }`,
    ];
    const config = parseConfig(
      [
        `shmDir: ${SHM_DIR}`,
        'models:',
        `  sizeless: { socket: ${join(dir, 'sizeless.sock')} }`,
        `  sized: { socket: ${join(dir, 'sized.sock')} }`,
        'cameras:',
        ...camera('docs', 'sizeless', ''),
        ...camera('sized', 'sized', ''),
        ...camera('pinned', 'sizeless', ', stream: main'),
      ].join('\n'),
      { env: {}, fileName: 'gated-main.yaml' },
    );
    const system = new VisionSystem({
      config,
      logger: createLogger({ level: 'silent' }),
      modelHealthIntervalMs: 200,
      drainTimeoutMs: 2_000,
      // Nothing is shed here whatever else runs on the machine: shedding has its own test (decode-shedding.test.ts).
      idleCpu: () => 1,
    });
    const counts = new Map<string, number>();
    system.on('result', (e) => {
      const detections = (e.output as { detections?: unknown[] }).detections ?? [];
      if (detections.length > 0) counts.set(e.camera, (counts.get(e.camera) ?? 0) + 1);
    });
    const stopped = Promise.all(CAMERAS.map((id) => nextEvent(system, 'camera-state', (e) => e.camera === id && e.state === 'stopped')));
    await system.start();
    try {
      await stopped;
      figures = system.stats();
    } finally {
      await system.close();
    }
    found = counts;
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  const streamsOf = (id: string) => figures.cameras[id]!.streams!;
  const callsOf = (id: string): ModelCall[] => given.filter((c) => c.camera === id);

  it('docs: the gated detector reads the substream and finds the square there; main, read by nobody, is not decoded', () => {
    const camera = figures.cameras.docs!;
    assert.equal(camera.workerStreams?.people?.stream, 'sub', JSON.stringify(camera.workerStreams));
    assert.match(camera.workerStreams.people.reason, /gated by motion/);
    const { main, sub } = { main: streamsOf('docs').main!, sub: streamsOf('docs').sub! };
    // Both streams read every packet the test drew: the counts below are of a whole clip.
    assert.ok(main.costs.framesReceived >= FRAMES - 2, `main read ${main.costs.framesReceived} of the ${FRAMES} frames drawn`);
    assert.ok(sub.costs.framesDecoded >= FRAMES - 2, `sub decoded ${sub.costs.framesDecoded} of ${FRAMES} (motion reads every frame)`);
    assert.equal(main.costs.framesDecoded, 0, `main decoded ${main.costs.framesDecoded} frames: ${JSON.stringify(main.costs)}`);
    assert.equal(main.decode?.mode, 'hold');
    // The model's side: every frame it was given is the substream's.
    const calls = callsOf('docs');
    assert.ok(calls.length >= 3, `model calls: ${calls.length}`);
    for (const c of calls) assert.equal(c.width, SUB.width, `a call of ${c.width} × ${c.height}`);
    assert.ok((found.get('docs') ?? 0) >= 3, `results with the square: ${found.get('docs') ?? 0}`);
  });

  it("sized: crops at the model's input are cut from main, and main was decoded only for the pictures they asked", () => {
    const camera = figures.cameras.sized!;
    assert.equal(camera.workerStreams?.people?.stream, 'sub');
    const main = streamsOf('sized').main!;
    const regions = camera.workers.people!.gate!.regions!;
    const crops = callsOf('sized').filter((c) => c.width === INPUT && c.height === INPUT);
    assert.ok(crops.length >= 1 || regions.pictureFallbacks > 0, `crops of main: ${crops.length}; ${JSON.stringify(regions)}`);
    // Decoded only for the pictures asked (each one burst, ADR 0052): no reader took a frame of main.
    assert.ok(main.costs.snapshots >= 1 && main.costs.framesDecoded > 0, `main's pictures asked: ${JSON.stringify(main.costs)}`);
    assert.equal(main.costs.framesUsed, 0, `frames of main a reader took: ${JSON.stringify(main.costs)}`);
    assert.equal(main.costs.framesConverted, 0);
    assert.ok(
      main.costs.framesDecoded <= main.costs.burstFrames + main.costs.snapshots,
      `every frame main decoded was in a burst for a picture: ${JSON.stringify(main.costs)}`,
    );
    assert.equal(main.decode?.mode, 'hold');
    assert.ok((found.get('sized') ?? 0) >= 3, `results with the square: ${found.get('sized') ?? 0}`);
  });

  it('pinned: stream: main still reads main, decoded all the time', () => {
    const camera = figures.cameras.pinned!;
    assert.equal(camera.workerStreams?.people?.stream, 'main');
    assert.equal(camera.workerStreams?.people?.reason, 'as configured');
    const main = streamsOf('pinned').main!;
    assert.ok(main.costs.framesDecoded >= FRAMES - 2, `main decoded ${main.costs.framesDecoded} of ${FRAMES} (bursts included)`);
    // Read all the time: main does not hold its packets, and a burst is at most the catch-up when its reader first
    // came, bounded by what a held stream keeps (two keyframe intervals of 2 s: KEYFRAME_FRAMES each).
    assert.notEqual(main.decode?.mode, 'hold', JSON.stringify(main.decode));
    const KEYFRAME_FRAMES = 2 * FPS; // region-scene.ts encodes with -g 2·FPS
    assert.ok(main.costs.burstFrames <= 2 * KEYFRAME_FRAMES, `a burst over what was held before its reader came: ${JSON.stringify(main.costs)}`);
    const calls = callsOf('pinned');
    assert.ok(calls.length >= 3);
    for (const c of calls) assert.equal(c.width, W, `a call of ${c.width} × ${c.height}`);
  });
});
