/**
 * What a motion-gated worker's crops (issue 44 item 3, ADR 0069) are cut from, and around what, with real parts:
 * one drawn scene (region-scene.ts: 1280 × 720, a still textured room; from frame 10 a small bright square far
 * away walks along the top, stops on frame 55 and stands there to the end) encoded by ffmpeg as a main stream and,
 * scaled, as a 640 × 360 substream; the camera's motion detection; a real Node model server whose handler is a
 * network of a 320-pixel input that finds only blobs of at least MIN_INPUT_PIXELS there (the square is 48 px on
 * main, 12 at the input from main's whole frame, 24 on a crop of the substream: found only on a crop of main at its
 * full resolution) and says what each call was given: its size, the blobs in it, and the gate's runs by reason
 * then (the worker reads its next frame once this one is answered, so the reason that grew is this frame's).
 * - streams: a camera of two streams whose gated worker reads the substream, where motion is measured too: the
 *   square is found on crops cut from the main stream's picture nearest each frame (decoded on demand), at main's
 *   resolution, its box mapped back where the clip drew it on the frame the substream showed.
 * - subwhole: the same camera with regions off: the substream's whole frame at the model's size misses it.
 * - stays: a camera of one stream: once the standing square is no motion any more, its stationary rechecks run on
 *   one crop around its tracked box, never on the whole frame, and find it there; its track is never ended.
 * Figures against independent counts: the server's calls are the gate's model calls, per reason and per crop.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MOTION_READ_SIZE, parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { ModelServer } from '../../src/models/index.js';
import { planCrops } from '../../src/pictures/index.js';
import { GATE_REASONS, VisionSystem, type EventOf, type GateReason } from '../../src/pipeline/index.js';
import { scaledToLongSide } from '../../src/supplier/index.js';
import { nextEvent } from './helpers.js';
import { drawClip, encodeClip, H, INPUT, W, walkerBox, smallObjectFinder, type ModelCall, type Walker } from './region-scene.js';

const FRAMES = 180;
const SUB = { width: 640, height: 360 } as const;
// It walks 4.5 s: enough runs while it walks on a loaded machine too, where the camera's first frames come slowly.
const SQUARE: Walker = { x: 200, y: 120, side: 48, from: 10, step: 8, stopsOn: 55 };
/** Where the square stands from frame 55 on. */
const STANDS = walkerBox(SQUARE, SQUARE.stopsOn!)!;
const MIN_INPUT_PIXELS = 32;
const CAMERAS = ['streams', 'subwhole', 'stays'] as const;

type Box = readonly [number, number, number, number];
type Output = { detections: { bbox: Box }[]; regions?: Box[] };
const outputOf = (r: EventOf<'result'>): Output => r.output as Output;
/** Within `px` pixels of main's frame on each edge. */
const near = (a: Box, b: Box, px = 4): boolean => a.every((v, i) => Math.abs(v - b[i]!) * (i % 2 === 0 ? W : H) <= px);
const holds = (region: Box, b: Box): boolean => region[0] <= b[0] && region[1] <= b[1] && region[2] >= b[2] && region[3] >= b[3];
/** The clip's frame (0-based) that has the square where `box` is, or null. */
const clipFrameOf = (box: Box): number | null => {
  for (let f = SQUARE.from; f < FRAMES; f++) if (near(box, walkerBox(SQUARE, f)!)) return f;
  return null;
};

/** A model call and the gate's runs by reason when it came. */
type Given = ModelCall & { readonly runs: Readonly<Record<GateReason, number>> | null };
/** A frame the model ran on: its calls (one per crop, or the whole frame) and why the gate let it through. */
type RunFrame = { readonly timestamp: number; readonly calls: Given[]; reason: GateReason | null };

const dir = mkdtempSync(join(tmpdir(), 'framesupplier-regions-pictures-'));
const SHM_DIR = `/dev/shm/framesupplier-regions-pictures-${process.pid}`;

describe("a motion-gated worker's crops: from main's picture, and around a still tracked object", { timeout: 180_000 }, () => {
  const calls = new Map<string, number>();
  const given: Given[] = [];
  const results: EventOf<'result'>[] = [];
  /** Results of each camera that came once it had stopped (its clips ended): a frame then may find no picture. */
  const afterStop = new Map<string, number>();
  /** Tracks ended, and whether their camera was still playing its clip then. */
  const ends: { camera: string; playing: boolean }[] = [];
  let system: VisionSystem | null = null;
  let server: ModelServer;
  let figures: ReturnType<VisionSystem['stats']>;
  let settled: ReturnType<VisionSystem['stats']>;

  before(async () => {
    const main = join(dir, 'main.mp4');
    const sub = join(dir, 'sub.mp4');
    const raw = drawClip([SQUARE], FRAMES);
    encodeClip(raw, main);
    encodeClip(raw, sub, SUB);
    server = new ModelServer({
      socketPath: join(dir, 'finder.sock'),
      handler: smallObjectFinder({
        calls,
        minInputPixels: MIN_INPUT_PIXELS,
        onCall: (call) => given.push({ ...call, runs: system?.stats().cameras[call.camera]?.workers.people?.gate?.runs ?? null }),
      }),
      shmDir: SHM_DIR,
      closeLingerMs: 200,
      shutdownGraceMs: 2_000,
    });
    await server.start();
    const worker = (more: string): string =>
      `      - { id: people, model: finder, maxFps: 5, gate: { on: motion, stationarySeconds: 2${more} }, track: { confirmHits: 1 }`;
    const twoStreams = (id: string, regions: string): string[] => [
      `  ${id}:`,
      `    source: ${main}`,
      `    streams: { sub: { source: ${sub}, width: ${SUB.width}, height: ${SUB.height} } }`,
      '    capture: { decoder: native, decoderThreads: 1, output: { format: gray } }',
      '    workers:',
      `${worker(regions)}, stream: sub }`,
    ];
    const config = parseConfig(
      [
        `shmDir: ${SHM_DIR}`,
        'models:',
        `  finder: { socket: ${join(dir, 'finder.sock')} }`,
        'cameras:',
        ...twoStreams('streams', ''),
        ...twoStreams('subwhole', ', regions: off'),
        '  stays:',
        `    source: ${main}`,
        '    capture: { output: { format: gray } }',
        '    workers:',
        `${worker('')} }`,
      ].join('\n'),
      { env: {}, fileName: 'regions-pictures.yaml' },
    );
    const running = new VisionSystem({ config, logger: createLogger({ level: 'silent' }), modelHealthIntervalMs: 200, drainTimeoutMs: 2_000 });
    system = running;
    const done = new Set<string>();
    running.on('camera-state', (e) => {
      if (e.state === 'stopped') done.add(e.camera);
    });
    running.on('result', (e) => {
      results.push(e);
      if (done.has(e.camera)) afterStop.set(e.camera, (afterStop.get(e.camera) ?? 0) + 1);
    });
    running.on('tracked-object', (e) => {
      if (e.event.type === 'end') ends.push({ camera: e.event.after.camera, playing: !done.has(e.event.after.camera) });
    });
    const stopped = Promise.all(CAMERAS.map((id) => nextEvent(running, 'camera-state', (e) => e.camera === id && e.state === 'stopped')));
    await running.start();
    try {
      await stopped;
      figures = running.stats();
    } finally {
      await running.close();
    }
    // The server counts a call as it comes, the worker as it answers: compared once the system is closed.
    settled = running.stats();
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  const of = (id: string): EventOf<'result'>[] => results.filter((r) => r.camera === id);
  /** A camera's frames the model ran on, in order, with the reason each went for. */
  const runFrames = (id: string): RunFrame[] => {
    const frames: RunFrame[] = [];
    let before: Readonly<Record<GateReason, number>> | null = null;
    for (const c of given.filter((g) => g.camera === id)) {
      const last = frames.at(-1);
      if (last?.timestamp === c.timestamp) {
        last.calls.push(c);
        continue;
      }
      const grew = GATE_REASONS.filter((r) => (c.runs?.[r] ?? 0) > (before?.[r] ?? 0));
      frames.push({ timestamp: c.timestamp, calls: [c], reason: grew.length === 1 ? grew[0]! : null });
      before = c.runs;
    }
    return frames;
  };

  it("streams: crops of the main stream's picture nearest each frame of the substream, at main's resolution, mapped back where the clip drew the square", () => {
    const camera = figures.cameras.streams!;
    assert.equal(camera.workerStreams?.people?.stream, 'sub');
    assert.equal(camera.motion?.stream, 'sub');
    const found = of('streams').filter((r) => outputOf(r).detections.length > 0);
    assert.ok(found.length >= 3, `frames with the square found: ${found.length}`);
    // seq s is the substream's s-th frame published: the clip's frame s - 1, or later by the frames it did not publish.
    const unpublished = Math.max(0, FRAMES - camera.streams!.sub!.framesPublished);
    /** While it walks: how many frames of the clip main's picture is from the substream's frame it was cut for. */
    const lags: number[] = [];
    for (const r of found) {
      const { detections, regions = [] } = outputOf(r);
      assert.equal(detections.length, 1, `frame ${r.seq}: one square`);
      const box = detections[0]!.bbox;
      // Mapped back onto the frame where the clip drew it (within 4 px of main), on one of its frames.
      const f = clipFrameOf(box);
      assert.ok(f !== null, `frame ${r.seq}: ${JSON.stringify(box)} is where the clip drew the square on one of its frames`);
      if (f < SQUARE.stopsOn!) lags.push(f - (r.seq - 1));
      assert.ok(
        regions.some((g) => holds(g, box)),
        `frame ${r.seq}: a crop holds it`,
      );
      // A crop is at least the model's input side of the picture it is cut from: INPUT px of main is a quarter of the width, of the substream half.
      for (const g of regions) assert.ok((g[2] - g[0]) * W >= INPUT - 1, `frame ${r.seq}: ${JSON.stringify(g)}`);
    }
    // main's picture nearest each frame: the two files are played each from its own first packet, so their clocks are
    // apart by as long as their opening took apart, and by the same all along (ADR 0069): the same lag, give or take
    // a frame (the picture nearest in time) and the frames the substream skipped.
    // A starved machine may have no picture of main near a frame: its crops are then the substream's, where the
    // square is too small to find, and each such frame is counted (pictureFallbacks) instead of found.
    const fallbacks = settled.cameras.streams!.workers.people!.gate!.regions!.pictureFallbacks;
    assert.ok(lags.length >= 2 || fallbacks > 0, `frames with the square found while it walks: ${lags.length}, none counted as cut from another stream`);
    if (lags.length >= 2)
      assert.ok(
        Math.max(...lags) - Math.min(...lags) <= 2 + unpublished && lags.every((l) => Math.abs(l) <= 5),
        `main's picture off the frame by ${lags.join(', ')} frames`,
      );
    const quarter = (g: Box): boolean => Math.abs((g[2] - g[0]) * W - INPUT) <= 1 && Math.abs((g[3] - g[1]) * H - INPUT) <= 1;
    const onMain = found.filter((r) => (outputOf(r).regions ?? []).some(quarter)).length;
    assert.ok(onMain >= 1 && onMain + fallbacks >= 3, `crops of INPUT × INPUT px of main: ${onMain}, with ${fallbacks} cut from the substream`);

    // The server's side: the substream's whole frame (the first; at the model's size once the worker knows it), else
    // crops showing the square at main's resolution (48 px, where a crop of the input's size cut from the substream
    // shows it 24).
    const callsMade = runFrames('streams').flatMap((f) => f.calls);
    const whole = callsMade.filter((c) => c.width * SUB.height === c.height * SUB.width);
    const crops = callsMade.filter((c) => !whole.includes(c));
    const squareCrops = crops.filter((k) => k.width === INPUT && k.height === INPUT && k.blobs.length > 0);
    // A crop showing the square whole at the substream's 24 px was cut from its picture: counted as a fallback each.
    // One cut by the crop's edge measures nothing (main's picture a frame or two off the substream's on a loaded
    // machine: the square moved on, part of it outside the crop planned around it): a side of 48 says main's.
    const inside = (c: ModelCall, [x1, y1, x2, y2]: readonly [number, number, number, number]): boolean => x1 > 0 && y1 > 0 && x2 < c.width && y2 < c.height;
    const fromSub = squareCrops.filter((c) => c.blobs.some((b) => inside(c, b) && b[2] - b[0] < 46 && b[3] - b[1] < 46));
    const fromMain = squareCrops.filter((c) => c.blobs.some(([x1, y1, x2, y2]) => Math.max(x2 - x1, y2 - y1) >= 46));
    assert.ok(fromSub.length <= fallbacks, `${fromSub.length} crops show the square at the substream's size; ${fallbacks} fallbacks counted`);
    assert.ok(fromMain.length >= 3, `crops showing the square at main's 48 px: ${fromMain.length}`);

    // Figures against it: the server's calls are the gate's model calls, crops and whole frames apart; every picture came.
    const regions = settled.cameras.streams!.workers.people!.gate!.regions!;
    assert.equal(calls.get('streams'), regions.modelCalls, "the server's calls are the gate's model calls");
    assert.equal(crops.length, regions.crops, JSON.stringify(regions));
    assert.equal(whole.length, regions.wholeCalls, JSON.stringify(regions));
    assert.ok(regions.frames >= found.length, JSON.stringify(regions));
    // Every picture came while the camera played. The clips end (a camera does not): a frame the worker still ran once
    // both streams had stopped found no picture and went whole, its result after the camera's stop.
    assert.ok(
      regions.pictureFailures <= (afterStop.get('streams') ?? 0),
      `${JSON.stringify(regions)}; results after the stop: ${afterStop.get('streams') ?? 0}`,
    );
    // main is read by nobody: it holds, and decodes on demand the pictures the crops were cut from.
    const main = settled.cameras.streams!.streams!.main!;
    assert.equal(main.decode?.mode, 'hold');
    assert.equal(main.framesPublished, 0);
    assert.ok(main.costs.snapshots >= regions.frames, `${main.costs.snapshots} pictures for ${regions.frames} frames of crops`);

    // subwhole: the substream's whole frame at the model's input size misses the square.
    const subGate = figures.cameras.subwhole!.workers.people!.gate!;
    assert.ok(subGate.runs.motion + subGate.runs.onset >= 3, JSON.stringify(subGate));
    assert.equal(subGate.regions, null);
    assert.deepEqual(
      of('subwhole').flatMap((r) => outputOf(r).detections),
      [],
      "nothing found on the substream's whole frames",
    );
  });

  it('stays: at its rechecks a still tracked object gets one crop around its tracked box, not the whole frame nor motion', () => {
    const frames = runFrames('stays');
    assert.ok(
      frames.every((f) => f.reason !== null),
      'each frame one run',
    );
    assert.equal(frames[0]?.reason, 'first');
    // Whole, at full size; or at the camera's motion's size when that frame was being converted for the motion as the
    // worker subscribed (a conversion in flight keeps the size it began at): not much larger than the model's input,
    // it goes whole either way. Every later frame is a full one (the crops below are cut from 1280 × 720).
    const first = [frames[0].calls[0]!.width, frames[0].calls[0]!.height];
    const motionSize = scaledToLongSide(W, H, MOTION_READ_SIZE)!;
    assert.ok(
      [W, H].join() === first.join() || [motionSize.width, motionSize.height].join() === first.join(),
      `the first frame whole, at ${first.join(' × ')}`,
    );
    // Once the standing square is learnt into the background nothing moves: what runs is its recheck.
    const rechecks = frames.filter((f) => f.reason === 'stationary' || f.reason === 'lost');
    assert.ok(rechecks.length >= 2, `rechecks: ${JSON.stringify(frames.map((f) => f.reason))}`);
    // The crop around the box it tracks (where it stands): the box padded, grown to a square of the input's side, shifted inside.
    const plan = planCrops([STANDS], { width: W, height: H, inputSide: INPUT });
    assert.ok(plan.kind === 'crops' && plan.regions.length === 1);
    const [left, top, side] = plan.regions[0]!;
    const around: Box = [left / W, top / H, (left + side) / W, (top + side) / H];
    for (const f of rechecks) {
      // The server's side: one call, a crop of the input's size (not the 1280 × 720 frame), the square in it at full
      // resolution where a crop around where it stands has it.
      assert.equal(f.calls.length, 1, `one crop: ${JSON.stringify(f.calls)}`);
      const [c] = f.calls;
      assert.deepEqual([c!.width, c!.height], [INPUT, INPUT]);
      const standsInCrop: Box = [STANDS[0] * W - left, STANDS[1] * H - top, STANDS[2] * W - left, STANDS[3] * H - top];
      assert.equal(c!.blobs.length, 1);
      assert.ok(
        c!.blobs[0]!.every((v, i) => Math.abs(v - standsInCrop[i]!) <= 2),
        `the square at ${JSON.stringify(c!.blobs[0])} of the crop, drawn at ${JSON.stringify(standsInCrop)}`,
      );
      // The result: that crop, and the square found in it where it stands.
      const r = of('stays').find((e) => Math.abs(e.wallTime - f.timestamp * 1000) < 0.5);
      assert.ok(r !== undefined, `the result of the recheck at ${f.timestamp}`);
      const { detections, regions = [] } = outputOf(r);
      assert.equal(regions.length, 1);
      assert.ok(near(regions[0]!, around), `the crop ${JSON.stringify(regions[0])} is around where it stands: ${JSON.stringify(around)}`);
      assert.equal(detections.length, 1);
      assert.ok(near(detections[0]!.bbox, STANDS, 2), `found at ${JSON.stringify(detections[0]!.bbox)}`);
    }

    // The gate's figures say the same: rechecks as counted, every run but the first on crops, and the track never ended.
    const gate = settled.cameras.stays!.workers.people!.gate!;
    assert.ok(gate.runs.stationary + gate.runs.lost >= rechecks.length, JSON.stringify(gate.runs));
    const regions = gate.regions!;
    assert.equal(calls.get('stays'), regions.modelCalls);
    assert.equal(regions.wholeCalls, 1, JSON.stringify(regions));
    assert.equal(regions.frames, frames.length - 1, JSON.stringify(regions));
    assert.equal(
      regions.crops,
      frames.slice(1).reduce((n, f) => n + f.calls.length, 0),
    );
    assert.deepEqual(
      ends.filter((e) => e.camera === 'stays' && e.playing),
      [],
      'its track is not ended while the clip plays',
    );
  });
});
