/**
 * An onset's frame (issue 70 item 2, ADR 0118): the camera's motion detection, the motion gate and its run on
 * regions, with real parts (the camera's suppliers on a clock the test moves, CameraMotion measuring what they
 * publish with the MotionDetector) and frames drawn here: a still room with sensor noise, then a dark square
 * stepping in at the frame's left edge. Frames are counted, never timed.
 * - streams: a camera of several streams whose gated worker reads the substream, with regions: the onset's frame
 *   runs at once on the frame the worker read, not on main's picture (asked of nothing); the motion frames after
 *   it are cut from main's picture, as before.
 * - main late: a worker on main, motion on the substream, main's frame of the onset's instant not yet published
 *   when the onset comes: the onset runs on that frame once it comes, never on main's frame before it (which holds
 *   nothing of the square); the same for a whole-picture change.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { CameraMotion } from '../../src/pipeline/camera/camera-motion.js';
import { GateRegions } from '../../src/pipeline/camera/gate-regions.js';
import { MotionGate } from '../../src/pipeline/camera/motion-gate.js';
import { FrameSupplier, type Frame, type FrameSource } from '../../src/supplier/index.js';
import { ManualClock } from '../supplier/helpers.js';
import { xorshift } from '../motion/scene.js';

/** The worker's and the motion's frames: the camera converts both at this size (a 320 px model, motion's readSize). */
const W = 320;
const H = 180;
const INPUT = 320;
const INTERVAL = 100;
/** The square's side and how far it steps in a frame (pixels). */
const SIDE = 32;
const STEP = 8;

/** The room with its frame's own noise; the square's left edge at `x` (its first frame shows STEP pixels of it), or none. */
function drawn(frame: number, square: number | null, light = 0): Uint8Array {
  const random = xorshift(1000 + frame);
  const luma = new Uint8Array(W * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) luma[y * W + x] = Math.round(120 + light + 30 * Math.sin(x / 17) * Math.cos(y / 13) + 6 * (random() - 0.5));
  if (square !== null) for (let y = 70; y < 70 + SIDE; y++) for (let x = Math.max(0, square); x < Math.min(W, square + SIDE); x++) luma[y * W + x] = 30;
  return luma;
}

/** The square's left edge on frame f when it steps in on frame `enters` from beyond the left edge. */
const squareAt = (f: number, enters: number): number | null => (f < enters ? null : -SIDE + (f - enters + 1) * STEP);

/** One turn of the event loop: a distribution, and the reads it resolved, have run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Waits until the camera's motion has measured the frame captured at `at` (its reading says so). */
async function measured(motion: CameraMotion, at: number): Promise<void> {
  for (let i = 0; i < 1000 && motion.reading()?.captureTime !== at; i++) await turn();
  assert.equal(motion.reading()?.captureTime, at, `motion measured the frame captured at ${at}`);
}

interface Camera {
  readonly clock: ManualClock;
  readonly sub: FrameSupplier;
  readonly main: FrameSupplier;
  readonly motion: CameraMotion;
  readonly gate: MotionGate;
  readonly source: FrameSource;
  close(): Promise<void>;
}

/** A camera whose motion measures `sub` and whose gated worker (maxFps 2, fresh slots) reads `workerStream`. */
function camera(workerStream: 'sub' | 'main'): Camera {
  const clock = new ManualClock();
  const sub = new FrameSupplier({ streamId: 'cam', clock }).start();
  const main = new FrameSupplier({ streamId: 'cam', clock }).start();
  const motion = new CameraMotion({ camera: 'cam', stream: 'sub', supplier: sub, readSize: W, masks: [], log: createLogger({ level: 'silent' }) });
  motion.start();
  const gate = new MotionGate({ motion, stationaryMs: 10_000, tracked: () => [] });
  const source = gate.source((workerStream === 'sub' ? sub : main).subscribe('cam.people', { maxFps: 2 }));
  source.freshSlots?.();
  return {
    clock,
    sub,
    main,
    motion,
    gate,
    source,
    async close() {
      await source.close();
      await motion.close();
      await sub.close();
      await main.close();
    },
  };
}

/** Publishes frame f (captured at f × INTERVAL) on `supplier`, the clock moved to it first. */
function publish(c: Camera, supplier: FrameSupplier, f: number, luma: Uint8Array): void {
  c.clock.advance(f * INTERVAL);
  supplier.publish({ payload: luma, width: W, height: H, format: 'gray', captureTime: f * INTERVAL });
}

describe("an onset's frame", { timeout: 60_000 }, () => {
  it('a camera of several streams: the onset runs at once on the frame the worker read, not on main’s picture', async () => {
    const c = camera('sub');
    const enters = 12;
    // Main's picture nearest a frame, as the camera gives it (decoded on demand): asked for each frame cut from it.
    const asked: number[] = [];
    const regions = new GateRegions({ motion: c.motion, reasonOf: (frame) => c.gate.reasonOf(frame), tracked: () => [], wholeAbove: 0.5 });
    regions.usePictures((near) => {
      asked.push(near);
      const f = Math.round(near / INTERVAL);
      const big = new Uint8Array(1280 * 720);
      const small = drawn(f, squareAt(f, enters));
      for (let y = 0; y < 720; y++) for (let x = 0; x < 1280; x++) big[y * 1280 + x] = small[(y >> 2) * W + (x >> 2)]!;
      const frame: Frame = {
        seq: 0,
        payload: big,
        width: 1280,
        height: 720,
        format: 'gray',
        streamId: 'cam',
        captureTime: near,
        wallTime: 0,
        decodedTime: near,
        publishTime: near,
      };
      return Promise.resolve({ frame, stream: 'main', fallback: null });
    });
    c.gate.useRegions(regions);
    try {
      const handed: { frame: Frame; reason: string | undefined; crops: number | null }[] = [];
      let reading = c.source.read();
      for (let f = 0; f < enters + 8; f++) {
        const luma = drawn(f, squareAt(f, enters));
        publish(c, c.sub, f, luma);
        await measured(c.motion, f * INTERVAL);
        await turn();
        // Whatever the gate handed the worker by now (a read resolves at once when its slot is open).
        const got = await Promise.race([reading, turn().then(() => undefined)]);
        if (got === undefined) continue;
        assert.ok(got !== null);
        const plan = await regions.plan(got, INPUT);
        handed.push({ frame: got, reason: c.gate.reasonOf(got), crops: plan === null ? null : plan.crops.length });
        reading = c.source.read();
      }
      const onset = handed.find((h) => h.reason === 'onset');
      assert.ok(onset !== undefined, `an onset went to the worker: ${JSON.stringify(handed.map((h) => [h.frame.captureTime, h.reason]))}`);
      assert.equal(onset.frame.captureTime, enters * INTERVAL, 'the first frame the square is in');
      assert.equal(onset.crops, null, 'the onset runs whole, on the frame the worker read');
      assert.ok(!asked.includes(onset.frame.captureTime), `main's picture was not asked for the onset (asked for ${JSON.stringify(asked)})`);
      // The frames with motion after it are still cut from main's picture.
      const later = handed.filter((h) => h.reason === 'motion');
      assert.ok(later.length >= 1, JSON.stringify(handed.map((h) => [h.frame.captureTime, h.reason])));
      for (const h of later) {
        assert.ok(asked.includes(h.frame.captureTime), `a motion frame's crops are cut from main's picture (${h.frame.captureTime})`);
        assert.ok(h.crops !== null && h.crops >= 1);
      }
      assert.equal(c.gate.stats().regions?.wholeFallbacks, 0);
    } finally {
      await c.close();
    }
  });

  it("main late: the onset and a whole-picture change run on main's frame of their instant, never on the one before", async () => {
    const c = camera('main');
    const enters = 12;
    /** The camera turned to another view on this frame: the whole picture changed, no change of light explains it. */
    const turned = 30;
    const view = (f: number): Uint8Array => {
      const luma = drawn(f, f < turned ? squareAt(f, enters) : null);
      return f < turned ? luma : luma.reverse();
    };
    try {
      const handed: { frame: Frame; reason: string | undefined }[] = [];
      let reading = c.source.read();
      const take = async (): Promise<void> => {
        await turn();
        const got = await Promise.race([reading, turn().then(() => undefined)]);
        if (got === undefined) return;
        assert.ok(got !== null);
        handed.push({ frame: got, reason: c.gate.reasonOf(got) });
        reading = c.source.read();
      };
      for (let f = 0; f < turned + 6; f++) {
        // Each instant's substream frame first, then main's of the same instant (its larger packet comes later).
        publish(c, c.sub, f, view(f));
        await measured(c.motion, f * INTERVAL);
        await take();
        publish(c, c.main, f, view(f));
        await take();
      }
      const reasons = JSON.stringify(handed.map((h) => [h.frame.captureTime / INTERVAL, h.reason]));
      const onset = handed.find((h) => h.reason === 'onset');
      assert.ok(onset !== undefined, `an onset went to the worker: ${reasons}`);
      assert.equal(onset.frame.captureTime, enters * INTERVAL, `the onset runs on main's frame of its instant, the square's first: ${reasons}`);
      const whole = handed.filter((h) => h.reason === 'whole');
      assert.equal(whole.length, 1, reasons);
      assert.equal(whole[0]!.frame.captureTime, turned * INTERVAL, `the change runs on main's frame of the new view: ${reasons}`);
      assert.equal(c.motion.stats().wholeFrames, 1);
    } finally {
      await c.close();
    }
  });
});
