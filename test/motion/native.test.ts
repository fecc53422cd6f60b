/**
 * The motion detector's C passes (native/motion.c, ADR 0099) called wrongly:
 * every argument is checked before a pixel is read, and a wrong one throws
 * with a code (ERR_MOTION_NATIVE), never reads past a buffer nor takes the
 * process down. That they answer as the JavaScript passes is
 * reference.test.ts'.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MotionDetector } from '../../src/motion/index.js';
import { motionPasses, motionPassesUnavailable, type MotionHandle, type MotionPasses } from '../../src/motion/native.js';

const W = 8;
const H = 4;
const N = W * H;

/** A work for a 32×16 input read at 8×4 (four times: the fast column pattern), its arguments changed by `change`. */
function arrays(change: (a: unknown[]) => void = () => {}): unknown[] {
  const cols = Int32Array.from({ length: 2 * W }, (_, k) => 4 * (k >> 1) + (k & 1 ? 3 : 1));
  const rows = Int32Array.from({ length: 2 * H }, (_, k) => (4 * (k >> 1) + (k & 1 ? 3 : 1)) * 32);
  const a: unknown[] = [
    Int32Array.of(32, 16, 32, W, H, 0),
    cols,
    rows,
    new Uint8Array(N),
    new Int32Array(N),
    new Float64Array(N),
    new Int32Array(H),
    new Uint8Array(N),
    new Uint8Array(N),
    new Uint8Array(H),
    new Int32Array(N),
    new Int32Array(2 * N),
    new Uint16Array(N),
    new Uint8Array(H),
    new Uint32Array(512),
    new Uint32Array(16 * 512),
    new Int32Array(4 * 4),
  ];
  change(a);
  return a;
}

const coded = (e: unknown): boolean => e instanceof Error && (e as Error & { code?: string }).code === 'ERR_MOTION_NATIVE';

describe('motion: the C passes called wrongly', { timeout: 30_000 }, () => {
  const passes = motionPasses();
  const call = (name: keyof MotionPasses, ...args: unknown[]): unknown => (passes![name] as (...a: unknown[]) => unknown)(...args);

  it('load here (the addon is built), and the detector uses them by default', () => {
    assert.equal(motionPassesUnavailable(), null);
    assert.ok(passes !== null);
    assert.equal(new MotionDetector().native, true);
    assert.equal(new MotionDetector({ native: false }).native, false);
  });

  it('refuses a work whose buffers are missing, of the wrong kind or too short, or whose samples lie outside the input', () => {
    assert.ok(call('motionWork', ...arrays()) !== undefined);
    const wrongs: [string, (a: unknown[]) => void][] = [
      ['too few arguments', (a) => a.splice(10)],
      ['dims not an Int32Array', (a) => (a[0] = [32, 16, 32, W, H, 0])],
      ['a working size over the input', (a) => (a[0] = Int32Array.of(4, 16, 4, W, H, 0))],
      ['a stride under the width', (a) => (a[0] = Int32Array.of(32, 16, 31, W, H, 0))],
      ['sums of the wrong kind', (a) => (a[4] = new Float32Array(N))],
      ['a short stack', (a) => (a[11] = new Int32Array(N))],
      ['a short tone map', (a) => (a[15] = new Uint32Array(512))],
      ['a column past the input', (a) => ((a[1] as Int32Array)[3] = 32)],
      ['a negative column', (a) => ((a[1] as Int32Array)[0] = -1)],
      ['a row past the input', (a) => ((a[2] as Int32Array)[7] = 16 * 32)],
      ['a row off a row start', (a) => ((a[2] as Int32Array)[0] = 5)],
      ['a handle where a buffer goes', (a) => (a[6] = {})],
    ];
    for (const [what, change] of wrongs) assert.throws(() => call('motionWork', ...arrays(change)), coded, what);
  });

  it('refuses a pass given a plane too short, the wrong handle, or rows outside the picture; right calls still work after', () => {
    const a = arrays();
    const work = call('motionWork', ...a) as MotionHandle;
    const bg = new Float32Array(N);
    const next = new Float32Array(N);
    const luma = new Uint8Array(32 * 16).fill(90);
    call('motionStart', work, luma, bg);
    assert.equal(bg[0], 90);
    const wrongs: [string, () => unknown][] = [
      ['a short luma plane', () => call('motionStart', work, new Uint8Array(32 * 15), bg)],
      ['luma of the wrong kind', () => call('motionCompare', work, new Int8Array(32 * 16), bg, next, 0.05, 12)],
      ['a short background', () => call('motionCompare', work, luma, new Float32Array(N - 1), next, 0.05, 12)],
      ['the background as its own next', () => call('motionCompare', work, luma, bg, bg, 0.05, 12)],
      ['a rate that is not a number', () => call('motionCompare', work, luma, bg, next, Number.NaN, 12)],
      ['no handle', () => call('motionBlur', {}, bg)],
      ['a handle of another kind', () => call('motionRecompare', new Uint8Array(4), bg, next, 0.05, 12)],
      ['a short out', () => call('motionThreshold', work, 12, 12, new Int32Array(2))],
      ['rows past the picture', () => call('motionRegions', work, 0, H, 2)],
      ['negative rows', () => call('motionLearn', work, bg, next, -1, 2, 0.005, 20)],
    ];
    for (const [what, wrong] of wrongs) assert.throws(wrong, coded, what);
    // The work is as good as before: a frame that moved in one corner compares, thresholds and finds its region.
    luma.fill(200, 0, 8);
    for (let r = 1; r < 8; r++) luma.fill(200, r * 32, r * 32 + 8);
    assert.equal(call('motionCompare', work, luma, bg, next, 0.05, 12), 11);
    const out = new Int32Array(3);
    assert.ok((call('motionThreshold', work, 12, 12, out) as number) > 0);
    assert.ok(out[0]! > 0 && out[1] === 0 && out[2]! < H - 1, `moved ${out[0]} on rows ${out[1]}–${out[2]}`);
    assert.equal(call('motionRegions', work, 0, out[2]! + 1, 2), 1);
    const box = [...(a[16] as Int32Array).subarray(0, 4)];
    assert.ok(box[0] === 0 && box[1] === 0 && box[2]! < W - 1, `the region ${box.join(' ')} is in the top left corner`);
  });

  it('answers as the JavaScript passes on a working picture of a million pixels (its tone map counted one way, in 32 bits)', () => {
    const size = 1024;
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
    const room = Uint8Array.from({ length: size * size }, (_, i) => 60 + ((i * 13) % 97) + Math.floor(random() * 6));
    const frames = [0, 1, 2, 3].map((f) => {
      const frame = room.map((v) => Math.min(255, v + Math.floor(random() * 4)));
      for (let y = 100 + 40 * f; y < 300 + 40 * f; y++) frame.fill(230, y * size + 200 + 30 * f, y * size + 400 + 30 * f);
      return frame;
    });
    const c = new MotionDetector({ workWidth: size });
    const js = new MotionDetector({ workWidth: size, native: false });
    const answers = frames.map((luma) => [c.detect({ luma, width: size, height: size }), js.detect({ luma, width: size, height: size })]);
    for (const [ours, theirs] of answers) assert.deepEqual(ours, theirs);
    assert.ok(answers.some(([ours]) => ours!.state === 'motion'));
  });

  it('refuses more regions than its boxes buffer holds, with a code', () => {
    const a = arrays((x) => (x[16] = new Int32Array(4)));
    const work = call('motionWork', ...a) as MotionHandle;
    const moved = a[7] as Uint8Array;
    // Two regions apart (columns 0 and 4 of row 0, each with its neighbours below), room for one.
    for (const i of [0, 8, 5, 13]) moved[i] = 1;
    assert.throws(
      () => call('motionRegions', work, 0, 2, 2),
      (e: unknown) => e instanceof RangeError && coded(e),
    );
  });
});
