/**
 * The second look (ADR 0169) with real parts: a model-client worker, a real in-process model server whose handler
 * finds only what stands upright (a bright blob taller than wide, at least MIN_TALL input pixels tall, with 17
 * keypoints head to feet down its length: a network trained on people standing), and frames of 640 × 480 showing a
 * "person" lying on the floor (a bright bar 200 × 50 low in the picture).
 * - Nobody lost: the worker sends whole frames at the model's size, follows the newest, and the model finds nobody.
 * - Someone lost where the bar is: the next frames go as the whole frame plus the square around the last box as it
 *   is and turned a quarter either way; the model finds the bar on the turned crops, and the result has it in the
 *   frame's coordinates (within 4 px of where it was drawn), lying (its posture read again the right way up), with
 *   the crops' regions.
 *   The squares' requests are marked `look` (the person handler answers them with its look, ADR 0186); the whole
 *   frame's is not. A person lying at the picture's bottom edge is looked at in a square reaching past it.
 * - A look at once, then at most one every LOOK_EVERY_SECONDS (the frames between whole); lost for longer than
 *   LOOK_SECONDS of capture time: no more looks.
 * And the pure parts: what detectionsInFrame makes of a detection on a turned crop.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Detection } from '../../src/ipc/index.js';
import { ModelServer, type InferenceHandler } from '../../src/models/index.js';
import { LOOK_EVERY_SECONDS, LOOK_FILL, LOOK_SECONDS, SecondLook, type LostSighting } from '../../src/pipeline/camera/second-look.js';
import { FrameSupplier, type Frame, type FrameInput } from '../../src/supplier/index.js';
import { modelClientWorker, WorkerSupervisor, type WorkerResult } from '../../src/workers/index.js';
import { detectionsInFrame } from '../../src/workers/region-run.js';
import { publishUntil } from '../workers/helpers.js';

const W = 640;
const H = 480;
/** The model's input side. */
const INPUT = 192;
const MIN_TALL = 24;
/** The "person" lying: [x1, y1, x2, y2] pixels. */
const BAR = [220, 380, 420, 430] as const;
/** Their last box while still going down (upright, where they fell from). */
const LAST_BOX = [0.42, 0.45, 0.52, 0.9] as const;

/** 17 keypoints down a standing blob's middle, head at the top: what a pose network says of someone upright. */
function uprightKeypoints(b: readonly [number, number, number, number]): [number, number, number][] {
  const at = [0.05, 0.04, 0.04, 0.05, 0.05, 0.2, 0.2, 0.35, 0.35, 0.5, 0.5, 0.5, 0.5, 0.75, 0.75, 0.95, 0.95];
  const cx = (b[0] + b[2]) / 2;
  const dx = (b[2] - b[0]) / 4;
  return at.map((f, k) => [k === 0 ? cx : k % 2 === 1 ? cx - dx : cx + dx, b[1] + f * (b[3] - b[1]), 0.9]);
}

/** Finds bright blobs taller than wide and at least MIN_TALL input pixels tall, each with upright keypoints. */
function uprightFinder(calls: { whole: number; crops: number; marked: number; wholeMarked: number }): InferenceHandler {
  return {
    name: 'upright',
    modelId: 'upright',
    frameLongSide: INPUT,
    infer(frame, request) {
      const { data, width, height } = frame;
      if (width === height) calls.crops++;
      else calls.whole++;
      if (request.look === true) calls.marked++;
      if (request.look === true && width !== height) calls.wholeMarked++;
      const scale = INPUT / Math.max(width, height);
      let [x1, y1, x2, y2] = [width, height, -1, -1];
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          if (data[(y * width + x) * 3 + 1]! < 200) continue;
          [x1, y1, x2, y2] = [Math.min(x1, x), Math.min(y1, y), Math.max(x2, x + 1), Math.max(y2, y + 1)];
        }
      if (x2 < 0 || y2 - y1 <= x2 - x1 || (y2 - y1) * scale < MIN_TALL) return Promise.resolve({ detections: [] });
      const bbox = [x1 / width, y1 / height, x2 / width, y2 / height] as const;
      return Promise.resolve({
        detections: [{ class_id: 0, class_name: 'person', confidence: 0.8, bbox, keypoints: uprightKeypoints(bbox), posture: 'upright', posture_score: 0.9 }],
      });
    },
  };
}

/** A dark room with the bar lying low in it, rgb24. */
function lyingFrame(): FrameInput {
  const rgb = new Uint8Array(W * H * 3).fill(30);
  for (let y = BAR[1]; y < BAR[3]; y++) rgb.fill(240, (y * W + BAR[0]) * 3, (y * W + BAR[2]) * 3);
  return { payload: rgb, width: W, height: H, format: 'rgb24' };
}

type Output = { detections: Detection[]; regions?: number[][] };

/** The lying frame as the supplier gives it, captured at `captureTime` (ms). */
const frame = (captureTime: number): Frame =>
  ({ ...lyingFrame(), seq: 1, streamId: 'room', captureTime, wallTime: Date.now(), payload: lyingFrame().payload }) as unknown as Frame;

const dir = mkdtempSync(join(tmpdir(), 'framesupplier-second-look-'));
const SHM_DIR = `/dev/shm/framesupplier-second-look-${process.pid}`;

describe('the second look', { timeout: 60_000 }, () => {
  const calls = { whole: 0, crops: 0, marked: 0, wholeMarked: 0 };
  let server: ModelServer;

  before(async () => {
    server = new ModelServer({
      socketPath: join(dir, 'upright.sock'),
      handler: uprightFinder(calls),
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

  it('finds nobody on whole frames while nobody is lost, then the person lying where they were lost, on crops turned a quarter, in the frame', async () => {
    let lost: LostSighting[] = [];
    const look = new SecondLook({ lost: () => lost });
    const supplier = new FrameSupplier({ streamId: 'room' }).start();
    const supervisor = new WorkerSupervisor({ supplier });
    const results: WorkerResult[] = [];
    supervisor.on('result', (r: WorkerResult) => results.push(r));
    const resultWhere = (match: (o: Output) => boolean): Promise<WorkerResult> =>
      new Promise((resolve) =>
        supervisor.on('result', (r: WorkerResult) => {
          if (match(r.output as Output)) resolve(r);
        }),
      );
    try {
      supervisor.add({ id: 'people', kind: modelClientWorker({ socketPath: join(dir, 'upright.sock'), modelId: 'upright', shmDir: SHM_DIR, regions: look }) });
      supervisor.start();
      const quiet = await publishUntil(
        supplier,
        resultWhere(() => true),
        lyingFrame,
      );
      assert.deepEqual((quiet.output as Output).detections, [], 'lying, the person is nobody to the network');
      assert.equal((quiet.output as Output).regions, undefined, 'a whole frame');
      assert.equal(look.stats().looks, 0);
      assert.ok(look.followsNewest() && !look.wantsFullFrames());

      lost = [{ id: '7', box: LAST_BOX }];
      const found = await publishUntil(
        supplier,
        resultWhere((o) => o.detections.length > 0),
        lyingFrame,
      );
      const output = found.output as Output;
      assert.equal(output.detections.length, 1, 'one person: the crops agree and are merged');
      const d = output.detections[0]!;
      const drawn = [BAR[0] / W, BAR[1] / H, BAR[2] / W, BAR[3] / H];
      d.bbox.forEach((v, i) => assert.ok(Math.abs(v - drawn[i]!) * (i % 2 === 0 ? W : H) <= 4, `box ${JSON.stringify(d.bbox)} is where the bar is`));
      assert.equal(d.posture, 'lying', 'read again the right way up');
      assert.equal(output.regions?.length, 4, 'the whole frame and the square three ways');
      assert.ok(look.stats().looks >= 1 && look.stats().crops >= 4);
      assert.ok(calls.crops >= 3, 'the crops reached the model as squares');
      assert.equal(calls.marked, calls.crops, "every square's request marked `look`, for the handler's look (ADR 0186)");
      assert.equal(calls.wholeMarked, 0, "the whole frame's not");
    } finally {
      await supervisor.close();
      void supplier.close();
    }
  });

  it('looks for a lost person once every LOOK_EVERY_SECONDS, for LOOK_SECONDS of capture time at most, and again once found and lost anew', async () => {
    let lost: LostSighting[] = [{ id: '3', box: LAST_BOX }];
    const look = new SecondLook({ lost: () => lost });
    assert.equal((await look.plan(frame(1_000), INPUT))?.crops.length, 4);
    assert.equal(look.plan(frame(1_000), null) instanceof Promise, true);
    assert.equal(await look.plan(frame(1_000), null), null, 'the model size not known: whole');
    assert.ok(!look.wantsFullFrames() && look.followsNewest(), 'looked just now: the next frames go whole');
    assert.equal(await look.plan(frame(1_000 + LOOK_EVERY_SECONDS * 1000 - 1), INPUT), null, 'not due yet');
    assert.equal((await look.plan(frame(1_000 + LOOK_EVERY_SECONDS * 1000), INPUT))?.crops.length, 4, 'due again');
    assert.equal((await look.plan(frame(1_000 + LOOK_SECONDS * 1000), INPUT))?.crops.length, 4);
    assert.equal(await look.plan(frame(1_001 + LOOK_SECONDS * 1000), INPUT), null, 'past LOOK_SECONDS');
    assert.ok(look.followsNewest());
    lost = [];
    assert.equal(await look.plan(frame(20_000), INPUT), null);
    lost = [{ id: '3', box: LAST_BOX }];
    assert.equal((await look.plan(frame(21_000), INPUT))?.crops.length, 4, 'lost anew: looked for again');
  });
});

describe("a person lost at the picture's edge", { timeout: 10_000 }, () => {
  it('is looked at in a square reaching past the edge, what lies outside grey, every square marked `look`', async () => {
    const look = new SecondLook({ lost: () => [{ id: '5', box: [0.3, 0.85, 0.7, 1] }] });
    const crops = (await look.plan(frame(1_000), INPUT))!;
    assert.equal(crops.crops.length, 4);
    assert.equal(crops.crops[0]!.look, undefined, 'the whole frame is not a look');
    for (const square of crops.crops.slice(1)) {
      assert.equal(square.look, true);
      const [, top, , side] = square.region;
      assert.ok(top + side > H, `past the bottom: ${JSON.stringify(square.region)}`);
    }
    const asIs = crops.crops[1]!;
    const lastRow = asIs.payload.subarray((asIs.height - 1) * asIs.width * 3);
    assert.ok(
      lastRow.every((v) => v === LOOK_FILL),
      'below the frame: the fill',
    );
  });
});

describe('detections of a turned crop', { timeout: 10_000 }, () => {
  it('come back into the frame turned back, their posture read again', () => {
    // A 100 × 100 crop at (200, 100) of a 400 × 300 frame, turned clockwise; on it, someone standing in its left half.
    const box = [0.1, 0.1, 0.4, 0.9] as const;
    const detection: Detection = {
      class_id: 0,
      class_name: 'person',
      confidence: 0.8,
      bbox: box,
      keypoints: uprightKeypoints(box),
      posture: 'upright',
      posture_score: 0.9,
    };
    const [d] = detectionsInFrame([detection], [200, 100, 100, 100], 400, 300, 90);
    // Turned back counter-clockwise: the crop's left half is its top half, the body across it.
    const want = [(200 + 0.1 * 100) / 400, (100 + 0.6 * 100) / 300, (200 + 0.9 * 100) / 400, (100 + 0.9 * 100) / 300];
    d!.bbox.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-9, JSON.stringify(d!.bbox)));
    assert.equal(d!.posture, 'lying');
    // A clockwise turn put the crop's left edge at its top: the head, at the turned crop's top, was at the body's left end.
    assert.ok(d!.keypoints![0]![0] < d!.keypoints![15]![0], 'the head at the left end, the feet at the right');
    const [plain] = detectionsInFrame([detection], [200, 100, 100, 100], 400, 300);
    assert.equal(plain!.posture, 'upright', 'an unturned crop keeps what the model said');
  });
});
