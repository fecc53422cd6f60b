/**
 * A motion-gated worker's run on regions (issue 44 item 3, ADR 0069) with real parts: an H.264 clip made here by
 * ffmpeg (region-scene.ts: 1280 × 720, a still textured room; from frame 10 a small bright object far away walks
 * along the top, and two more walk side by side below it, 64 px apart), played by three cameras, the camera's motion
 * detection on it, and a real Node model server whose handler is a network of a 320-pixel input: it sees a frame
 * scaled to fit its input and finds only objects at least MIN_INPUT_PIXELS of it on each side (the object is 12
 * there: missed), and counts its calls per camera.
 * - far (regions: auto): the objects are found on crops cut from the full-resolution frame at the input's size,
 *   their boxes mapped back onto the frame where the clip drew them; the pair, each seen in both of two
 *   overlapping crops, is one detection each.
 * - whole (regions: off): the same gate on whole frames at the model's size finds nothing.
 * - covered (regionsWholeAbove: 0.05): the crops would cover more than that: the whole frame, counted as a fallback.
 * Figures against independent counts: the server's calls are the gate's model calls; frames sent are frames read.
 * The onset's frame goes urgent (ADR 0082): each of its crop calls, as the server saw them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { ModelServer } from '../../src/models/index.js';
import { VisionSystem, type EventOf } from '../../src/pipeline/index.js';
import { SystemMetrics } from '../../src/metrics/index.js';
import { renderView } from '../../src/cli/run-view.js';
import { nextEvent } from './helpers.js';
import { drawClip, encodeClip, H, smallObjectFinder, W, walkerBox, type ModelCall, type Walker } from './region-scene.js';

/** The first frame (0-based) the objects move on. */
const MOVES_FROM = 10;
const FRAMES = 50;
const SIDE = 48;
const STEP = 8;
/** The least size (input pixels, each side) of what the network finds. */
const MIN_INPUT_PIXELS = 16;
/** The objects: the far one, then the pair 112 px apart, stepping in on frame MOVES_FROM and walking right. */
const WALKERS: readonly Walker[] = [
  { x: 100, y: 120 },
  { x: 500, y: 460 },
  { x: 612, y: 460 },
].map(({ x, y }) => ({ x, y, side: SIDE, from: MOVES_FROM, step: STEP }));

/** The objects' boxes on frame f (0-based): none before MOVES_FROM, then STEP pixels a frame to the right. */
const objectBoxes = (f: number): [number, number, number, number][] => (f < MOVES_FROM ? [] : WALKERS.map((w) => walkerBox(w, f)!));

/** A sample's value in Prometheus text, by its exact labels as rendered. */
function sample(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

type Output = { detections: { bbox: [number, number, number, number] }[]; regions?: [number, number, number, number][] };
const outputOf = (r: EventOf<'result'>): Output => r.output as Output;
/** Within 4 pixels of the frame on each edge. */
const near = (a: readonly number[], b: readonly number[]): boolean => a.every((v, i) => Math.abs(v - b[i]!) * (i % 2 === 0 ? W : H) <= 4);
const holds = (region: readonly number[], b: readonly number[]): boolean =>
  region[0]! <= b[0]! && region[1]! <= b[1]! && region[2]! >= b[2]! && region[3]! >= b[3]!;

const dir = mkdtempSync(join(tmpdir(), 'framesupplier-regions-'));
const SHM_DIR = `/dev/shm/framesupplier-regions-${process.pid}`;

describe('a motion-gated worker on regions', { timeout: 180_000 }, () => {
  const calls = new Map<string, number>();
  const log: ModelCall[] = [];
  const clip = join(dir, 'far.mp4');
  let server: ModelServer;

  before(async () => {
    encodeClip(drawClip(WALKERS, FRAMES), clip);
    server = new ModelServer({
      socketPath: join(dir, 'finder.sock'),
      handler: smallObjectFinder({ calls, minInputPixels: MIN_INPUT_PIXELS, onCall: (call) => log.push(call) }),
      shmDir: SHM_DIR,
      closeLingerMs: 200,
      shutdownGraceMs: 2_000,
    });
    await server.start();
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  it('finds on crops what the whole frame misses, maps it back, merges duplicates, and falls back to the whole frame', async () => {
    const camera = (id: string, gate: string): string[] => [
      `  ${id}:`,
      `    source: ${clip}`,
      '    capture: { output: { format: gray } }',
      '    workers:',
      `      - { id: people, model: finder, maxFps: 5, gate: ${gate} }`,
    ];
    const config = parseConfig(
      [
        `shmDir: ${SHM_DIR}`,
        'models:',
        `  finder: { socket: ${join(dir, 'finder.sock')} }`,
        'cameras:',
        ...camera('far', 'motion'),
        ...camera('whole', '{ on: motion, regions: off }'),
        ...camera('covered', '{ on: motion, regions: auto, regionsWholeAbove: 0.05 }'),
      ].join('\n'),
      { env: {}, fileName: 'regions.yaml' },
    );
    const system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }), modelHealthIntervalMs: 200, drainTimeoutMs: 2_000 });
    const results: EventOf<'result'>[] = [];
    system.on('result', (e) => results.push(e));
    const stopped = Promise.all(['far', 'whole', 'covered'].map((id) => nextEvent(system, 'camera-state', (e) => e.camera === id && e.state === 'stopped')));
    await system.start();
    let figures: ReturnType<VisionSystem['stats']>;
    let scraped: string;
    try {
      await stopped;
      figures = system.stats();
      const metrics = new SystemMetrics({ system, processMetrics: false });
      scraped = await metrics.render();
      metrics.close();
    } finally {
      await system.close();
    }
    const settled = system.stats();
    const of = (id: string): EventOf<'result'>[] => results.filter((r) => r.camera === id);

    // far: the objects are found on crops, where the clip drew them. A frame's seq is its place among the frames
    // the camera published (the decoder of a file played in real time skips frames when it falls behind), so a
    // result is matched to the frame of the clip that has its objects where its detections are: one frame fits
    // all of them or the mapping is wrong, and that frame is never before its seq's.
    const px = (b: readonly number[]): number[] => b.map((v, i) => Math.round(v * (i % 2 === 0 ? W : H)));
    const clipFrameOf = (r: EventOf<'result'>): number | null => {
      for (let f = MOVES_FROM; f < FRAMES; f++) if (outputOf(r).detections.every((d) => objectBoxes(f).some((t) => near(d.bbox, t)))) return f;
      return null;
    };
    const onCrops = of('far').filter((r) => (outputOf(r).regions ?? []).length > 0 && outputOf(r).detections.length > 0);
    assert.ok(onCrops.length >= 3, `frames run on crops with a detection: ${onCrops.length}`);
    let farFound = 0;
    const pairSeen: EventOf<'result'>[] = [];
    for (const r of onCrops) {
      const f = clipFrameOf(r);
      assert.ok(
        f !== null,
        `frame ${r.seq}: ${JSON.stringify(outputOf(r).detections.map((d) => px(d.bbox)))} are where the objects of one frame of the clip are`,
      );
      assert.ok(f >= r.seq - 1, `frame ${r.seq} shows the clip's frame ${f + 1}`);
      const [far, a, b] = objectBoxes(f);
      // Each object at most once: duplicates across crops are merged.
      for (const t of [far!, a!, b!])
        assert.ok(outputOf(r).detections.filter((d) => near(d.bbox, t)).length <= 1, `frame ${r.seq}: one detection of ${String(px(t))}`);
      if (outputOf(r).detections.some((d) => near(d.bbox, far!))) farFound++;
      // The pair, when two crops each hold both: each is seen twice and kept once.
      if ((outputOf(r).regions ?? []).filter((region) => holds(region, a!) && holds(region, b!)).length >= 2) {
        pairSeen.push(r);
        for (const t of [a!, b!])
          assert.equal(outputOf(r).detections.filter((d) => near(d.bbox, t)).length, 1, `frame ${r.seq}: one detection of each of the pair`);
      }
    }
    assert.ok(farFound >= 3, `the far object found on crops: ${farFound} time(s)`);
    assert.ok(
      pairSeen.length >= 1,
      `a frame with two overlapping crops holding the pair: ${JSON.stringify(onCrops.map((r) => (outputOf(r).regions ?? []).map(px)))}`,
    );

    // whole: the same gate on whole frames at the model's input size misses them all.
    const wholeGate = figures.cameras.whole!.workers.people!.gate!;
    assert.ok(wholeGate.runs.motion + wholeGate.runs.onset >= 3, JSON.stringify(wholeGate));
    assert.equal(wholeGate.regions, null, 'regions: off');
    assert.deepEqual(
      of('whole').flatMap((r) => outputOf(r).detections),
      [],
      'nothing found on whole frames',
    );

    // covered: crops over 5 % of the frame: the whole frame, each a fallback.
    const covered = figures.cameras.covered!.workers.people!.gate!.regions!;
    assert.ok(covered.wholeFallbacks >= 3, JSON.stringify(covered));
    assert.equal(covered.frames, 0, JSON.stringify(covered));
    assert.deepEqual(
      of('covered').flatMap((r) => outputOf(r).detections),
      [],
      'the whole frame misses them',
    );

    // Figures against the server's own count: each crop is a model call, a frame of crops is one frame taken.
    const far = settled.cameras.far!.workers.people!;
    const farRegions = far.gate!.regions!;
    assert.ok(farRegions.crops > farRegions.frames, `several crops a frame: ${JSON.stringify(farRegions)}`);
    assert.equal(farRegions.cropsPerFrame, farRegions.crops / farRegions.frames);
    for (const id of ['far', 'covered']) {
      const w = settled.cameras[id]!.workers.people!;
      const r = w.gate!.regions!;
      assert.equal(calls.get(id), r.modelCalls, `${id}: the server's calls are the model calls counted`);
      assert.equal(r.modelCalls, r.crops + r.wholeCalls);
      const m = w.modelFrames!;
      assert.equal(r.frames + r.wholeCalls, m.taken + m.skipped + m.inFlight, `${id}: frames sent are the frames read, each once`);
      assert.equal(w.totals.delivered, m.taken + m.inFlight + m.skipped, `${id}: still frames are out of delivered`);
    }
    assert.equal(of('far').length, far.modelFrames!.taken, 'one result a frame taken, however many crops');
    assert.equal(calls.get('whole'), settled.cameras.whole!.workers.people!.modelFrames!.taken);

    // The onset's frame went urgent, every crop of it on regions: the server's calls against the gate's count.
    for (const id of ['far', 'whole', 'covered']) {
      const urgent = log.filter((c) => c.camera === id && c.urgent);
      assert.ok(urgent.length >= 1, `${id}: the onset went urgent`);
      assert.equal(urgent.length, settled.cameras[id]!.workers.people!.gate!.urgentRequests, `${id}: urgent calls served are the urgent requests sent`);
      for (const stamp of new Set(urgent.map((c) => c.timestamp)))
        assert.ok(
          log.filter((c) => c.camera === id && c.timestamp === stamp).every((c) => c.urgent),
          `${id}: every call about an onset's frame is urgent`,
        );
    }
    const farUrgent = log.filter((c) => c.camera === 'far' && c.urgent);
    assert.ok(
      farUrgent.some((c) => c.reference.endsWith('.regions.frames')),
      `far: the onset's crops went urgent: ${JSON.stringify(farUrgent)}`,
    );
    assert.ok(
      log.every((c) => !c.urgent || settled.cameras[c.camera]!.workers.people!.gate!.runs.onset >= 1),
      'only onsets go urgent',
    );

    // The CLI view and Prometheus say it.
    const g = figures.cameras.far!.workers.people!.gate!;
    const view = renderView(figures, new Map(), { colour: false });
    assert.match(
      view,
      new RegExp(
        `^far/people gated by motion: .*; regions: ${g.regions!.frames} frame\\(s\\) as crops \\(\\d+\\.\\d a frame\\), \\d+ whole \\(\\d+ fallback\\(s\\)\\), \\d+ model call\\(s\\)$`,
        'm',
      ),
    );
    assert.equal(sample(scraped, 'framesupplier_worker_region_frames_total{camera="far",worker="people"}'), g.regions!.frames);
    assert.equal(sample(scraped, 'framesupplier_worker_gate_model_calls_total{camera="far",worker="people",on="crop"}'), g.regions!.crops);
    assert.equal(sample(scraped, 'framesupplier_worker_whole_fallbacks_total{camera="covered",worker="people"}'), covered.wholeFallbacks);
  });
});
