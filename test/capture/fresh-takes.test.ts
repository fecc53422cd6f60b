/**
 * Decoding less never makes what a reader takes older (ADR 0065), judged in frames, not milliseconds: a maxFps
 * reader of a stream whose decoder skips frames (keyframes only between takes, non-reference frames, x264's
 * B-frame pyramid) takes, at every take, the newest frame the stream had captured by its slot or the one before
 * it; and the decoder still skips between takes. The real in-process decoder plays real H.264 files in real time
 * (a file so played stands for a camera: frame n is captured at its due time); every frame carries its own number
 * in its pixels, so what a take found is read from the frame itself, and the decoder's answers (a spy that changes
 * nothing) say which frames it had read by the slot and which it skipped (take-ledger.ts says how each take is
 * judged, and the one exception: a decoder behind the file's clock, which no choice of what to skip causes).
 * The same is checked through a model worker: the frame its model took (the `taken` hop) against its slot.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, describe, it } from 'node:test';
import { StreamCapture, type DecodeState } from '../../src/capture/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { FrameSupplier, Subscription, type Frame, type FrameInput } from '../../src/supplier/index.js';
import { resolvedConfig } from '../pipeline/helpers.js';
import { captures, decodeState, gopClip } from './fixtures.js';
import { DecoderSpy, describeTakes, frameNumber, judgeTakes, numberedClip, packetOrder, wrapMethod, type Take, type TakeVerdict } from './take-ledger.js';

// 30 s, numbered, played once. 10 fps: a keyframe every second, no B frames (as cameras' substreams); a 2 s group
// with 2 B frames that are never references. 30 fps with x264's default B frames (three, a pyramid: the middle one
// a reference), as the D1 bench's clip.
const GOP_1S = ['-g', '10', '-keyint_min', '10', '-sc_threshold', '0', '-bf', '0'];
const gop1s = (): Promise<string> => numberedClip('vtest-30s-gop10-b0-numbered.mp4', 30, 10, GOP_1S);
const gop2sB = (): Promise<string> =>
  numberedClip('vtest-30s-gop20-b2-numbered.mp4', 30, 10, [
    '-g',
    '20',
    '-keyint_min',
    '20',
    '-sc_threshold',
    '0',
    '-bf',
    '2',
    '-x264-params',
    'b-pyramid=none',
  ]);
const pyramid30 = (): Promise<string> =>
  numberedClip('vtest-30s-30fps-gop60-pyramid-numbered.mp4', 30, 30, ['-g', '60', '-keyint_min', '60', '-sc_threshold', '0']);

const spy = new DecoderSpy();

after(async () => {
  await Promise.all(captures.map((c) => c.close()));
  spy.restore();
});

/** The one decoder's answers of the case (the clip is played once: a second decoder would be a reopen). */
function theDecoder(): Parameters<typeof judgeTakes>[1] {
  const decoders = [...spy.answers.values()];
  assert.equal(decoders.length, 1, 'one decoder, the clip played once');
  return decoders[0]!;
}

/** Every take kept the promise; says each one's frames when one did not. */
function assertFresh(verdicts: readonly TakeVerdict[]): void {
  const broken = verdicts.filter((v) => v.broken !== null);
  assert.equal(broken.length, 0, `${broken.length} of ${verdicts.length} takes found a frame older than the stream had:\n${describeTakes(verdicts)}`);
  // Not vacuous: the takes were judged against frames the decoder had read (at least the newest but one).
  assert.ok(
    verdicts.some((v) => v.newestRead >= v.newestDue - 1 && !v.behind),
    `no take found the decoder on the file's clock:\n${describeTakes(verdicts)}`,
  );
}

async function takes(path: string, maxFps: number, mode: string, count: number): Promise<{ verdicts: TakeVerdict[]; notDecoded: number; state: DecodeState }> {
  const order = await packetOrder(path);
  spy.clear();
  const supplier = new FrameSupplier({ streamId: `fresh-${mode}` }).start();
  const reader = supplier.subscribe('reader', { maxFps });
  const cap = new StreamCapture({ source: path, supplier, decoder: 'native', loop: false, realtime: true, output: { format: 'gray' } });
  captures.push(cap);
  const chosen = decodeState(cap, (state) => state.mode === mode);
  cap.start();
  const state = await chosen;
  const taken: Take[] = [];
  // The first takes warm the keyframe clock and the slot grid; then `count` takes are judged.
  for (let i = 0; i < count + 2; i++) {
    // The slot: now if it is open, else when it opens (what the decoder is told, nextTakeInMs()).
    const slot = performance.now() + reader.nextTakeInMs();
    const frame = await reader.read();
    assert.ok(frame !== null, 'the clip ended before the takes did');
    if (i >= 2) taken.push({ slot, frame: frameNumber(frame.payload, frame.width) });
  }
  const notDecoded = cap.stats().framesSkipped.notDecoded;
  await cap.close();
  await supplier.close();
  return { verdicts: judgeTakes(order, theDecoder(), taken), notDecoded, state };
}

describe('fresh takes: a reader of a stream decoded less takes the newest frame captured', { timeout: 240_000 }, () => {
  it('the numbered clips carry each frame its number', async () => {
    // What the judging rests on: the number read from a decoded frame is its rank in presentation order.
    const supplier = new FrameSupplier({ streamId: 'fresh-numbers' }).start();
    const reader = supplier.subscribe('reader');
    const cap = new StreamCapture({ source: await pyramid30(), supplier, decoder: 'native', loop: false, realtime: false, output: { format: 'gray' } });
    captures.push(cap);
    cap.start();
    const numbers: number[] = [];
    for (let i = 0; i < 90; i++) {
      const frame = await reader.read();
      assert.ok(frame !== null);
      numbers.push(frameNumber(frame.payload, frame.width));
    }
    await cap.close();
    await supplier.close();
    assert.deepEqual(
      numbers,
      numbers.map((_, i) => i),
    );
  });

  it('keyframes only between takes: a 0.7 fps reader of a 1 s group takes the newest frame at each take', async () => {
    const r = await takes(await gop1s(), 0.7, 'keyframes', 6);
    assert.match(r.state.reason, /the group of pictures before a reader's take decoded/);
    assert.equal(r.state.addedAgeMs, 0);
    assertFresh(r.verdicts);
    assert.ok(r.notDecoded > 0, 'frames between takes are still skipped');
  });

  it('non-reference frames skipped between takes: a 2 fps reader takes the newest frame at each take', async () => {
    const r = await takes(await gop2sB(), 2, 'nonref', 8);
    assert.match(r.state.reason, /every frame before a reader's take decoded/);
    assert.equal(r.state.addedAgeMs, 0);
    assertFresh(r.verdicts);
    assert.ok(r.notDecoded > 0, 'non-reference frames between takes are still skipped');
  });

  // In decoding order a picture asked for while skipping comes out several frames ahead, the frames shown before it
  // in packets after it: decided per picture, a 2 fps reader of this 30 fps stream took frames up to two behind;
  // decided per packet by presentation time (decodeFrom()), the newest.
  it('non-reference frames skipped between takes, B frames in a pyramid: the newest frame at each take', async () => {
    const r = await takes(await pyramid30(), 2, 'nonref', 16);
    assertFresh(r.verdicts);
    assert.ok(r.notDecoded > 0, 'non-reference frames between takes are still skipped');
  });

  it("through a model worker: the frame its model takes is the newest captured at the worker's slot", async () => {
    const path = await gop1s();
    const order = await packetOrder(path);
    spy.clear();
    const camera = `fresh-model-${process.pid}`;
    // Each frame the camera publishes, by seq: its number (the payload is read as it is published).
    const numbers = new Map<number, number>();
    const restorePublish = wrapMethod<FrameSupplier, [FrameInput], Frame>(FrameSupplier.prototype, 'publish', (supplier, [input], publish) => {
      const frame = publish(input);
      if (supplier.streamId === camera) numbers.set(frame.seq, frameNumber(input.payload, input.width));
      return frame;
    });
    // The worker's slot at each of its reads, by the seq the read returned (an aborted read takes nothing).
    const slots = new Map<number, number>();
    const restoreRead = wrapMethod<Subscription, Parameters<Subscription['read']>, Promise<Frame | null>>(
      Subscription.prototype,
      'read',
      (subscription, args, read) => {
        const slot = performance.now() + subscription.nextTakeInMs();
        const answer = read(...args);
        if (subscription.workerId === `${camera}.detect`)
          answer.then(
            (frame) => {
              if (frame !== null) slots.set(frame.seq, slot);
            },
            () => undefined,
          );
        return answer;
      },
    );
    const system = new VisionSystem({
      config: resolvedConfig({
        shmDir: `/dev/shm/framesupplier-fresh-takes-${process.pid}`,
        models: { m: { handler: 'mock' } },
        cameras: {
          [camera]: {
            source: path,
            capture: { decoder: 'native', realtime: true, loop: false, output: { format: 'gray' } },
            workers: [{ id: 'detect', model: 'm', maxFps: 0.7 }],
          },
        },
      }),
      logger: createLogger({ level: 'silent' }),
    });
    const taken: Take[] = [];
    let results = 0;
    try {
      const enough = new Promise<void>((resolve, reject) => {
        system.on('result', (event) => {
          if (event.camera !== camera || event.worker !== 'detect') return;
          // The first two warm the keyframe clock and the slot grid.
          if (++results <= 2) return;
          const slot = slots.get(event.seq);
          const frame = numbers.get(event.seq);
          if (slot === undefined || frame === undefined)
            reject(new Error(`result ${results} is about frame ${event.seq}, which the worker did not read or the camera did not publish`));
          else taken.push({ slot, frame });
          if (taken.length === 6) resolve();
        });
      });
      await system.start();
      await enough;
      const capture = system.stats().cameras[camera]!.capture!;
      assert.equal(capture.decode?.mode, 'keyframes', JSON.stringify(capture.decode));
      assert.ok(capture.framesSkipped.notDecoded > 0, 'frames between takes are still skipped');
    } finally {
      await system.close();
      restorePublish();
      restoreRead();
    }
    assertFresh(judgeTakes(order, theDecoder(), taken));
  });

  it('keyframes only as configured: the capture says the age it adds (half a keyframe interval)', async () => {
    const supplier = new FrameSupplier({ streamId: 'fresh-configured' }).start();
    const reader = supplier.subscribe('reader', { maxFps: 0.7 });
    const cap = new StreamCapture({
      source: await gopClip(12, 10, 0),
      supplier,
      decoder: 'native',
      loop: true,
      realtime: true,
      decode: 'keyframes',
      output: { format: 'gray' },
    });
    captures.push(cap);
    const measured = decodeState(cap, (state) => state.keyframeIntervalMs !== null);
    cap.start();
    void reader.read();
    const state = await measured;
    assert.equal(state.mode, 'keyframes');
    assert.equal(state.reason, 'as configured');
    // Half a keyframe interval (1 s) less half a frame interval (100 ms): the mean age of the last keyframe beside the newest frame's.
    assert.equal(state.addedAgeMs, 450);
    await cap.close();
    await supplier.close();
  });
});
