/**
 * A capture converts frames at the size its readers use (ADR 0031), with the
 * real in-process decoder on a real file: readers that declare a long side
 * get frames that size (the largest any of them declares), said in the
 * capture's stats as readerSize; a reader of full frames coming back brings
 * the output size back at once; scale: output never converts smaller; the
 * ffmpeg decoder keeps its output size.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NativeDecoder, StreamCapture, type CaptureOptions } from '../../src/capture/index.js';
import { FrameSupplier, type Frame, type FrameSource } from '../../src/supplier/index.js';
import { captures, media } from './fixtures.js';

const clip = (): Promise<string> => media('vtest-640x360.mp4', ['-an', '-t', '4', '-vf', 'scale=640:360', '-c:v', 'libx264', '-preset', 'veryfast']);

/** The next frame of `source` whose size is `width` × `height` (frames converted before a size change may come first). */
async function frameOfSize(source: FrameSource, width: number, height: number): Promise<Frame> {
  for (let n = 0; n < 200; n++) {
    const frame = await source.read();
    assert.ok(frame !== null, 'the stream ended');
    if (frame.width === width && frame.height === height) return frame;
  }
  assert.fail(`no ${width}x${height} frame in 200`);
}

async function capture(options: Partial<CaptureOptions>, supplier: FrameSupplier): Promise<StreamCapture> {
  const cap = new StreamCapture({ source: await clip(), supplier, decoder: 'native', loop: true, output: { format: 'nv12' }, ...options });
  captures.push(cap);
  return cap;
}

describe('frames at the readers’ size', { timeout: 120_000 }, () => {
  it('converted to the largest declared long side, back to the output size when a full reader comes, and smaller again when it goes', async () => {
    const supplier = new FrameSupplier({ streamId: 'reader-size' }).start();
    const model = supplier.subscribe('model', { readSize: { longSide: 320 } });
    const viewer = supplier.subscribe('viewer', { readSize: 'any' });
    const cap = await capture({}, supplier);
    cap.start();
    const small = await frameOfSize(model, 320, 180);
    assert.equal(small.payload.byteLength, (320 * 180 * 3) / 2);
    assert.deepEqual(cap.stats().readerSize, { width: 320, height: 180 });
    assert.equal(cap.stats().width, 640, 'the output size as opened stays in width/height');
    await frameOfSize(viewer, 320, 180);
    const yolo = supplier.subscribe('yolo', { readSize: { longSide: 480 } });
    await frameOfSize(yolo, 480, 270);
    const module = supplier.subscribe('module');
    await frameOfSize(module, 640, 360);
    await frameOfSize(model, 640, 360);
    assert.equal(cap.stats().readerSize, null);
    await module.close();
    yolo.setReadSize({ longSide: 256 });
    await frameOfSize(model, 320, 180);
    await cap.close();
  });

  it('scale: output converts at the output size whatever the readers say', async () => {
    const supplier = new FrameSupplier({ streamId: 'reader-size-output' }).start();
    const model = supplier.subscribe('model', { readSize: { longSide: 320 } });
    const cap = await capture({ scale: 'output', output: { format: 'nv12', width: 480 } }, supplier);
    cap.start();
    for (let n = 0; n < 5; n++) {
      const frame = await model.read();
      assert.deepEqual([frame?.width, frame?.height], [480, 270]);
    }
    assert.equal(cap.stats().readerSize, null);
    await cap.close();
  });

  it('a configured output size is scaled down further for smaller readers, never up', async () => {
    const supplier = new FrameSupplier({ streamId: 'reader-size-config' }).start();
    const model = supplier.subscribe('model', { readSize: { longSide: 800 } });
    const cap = await capture({ output: { format: 'nv12', width: 480 } }, supplier);
    cap.start();
    const frame = await model.read();
    assert.deepEqual([frame?.width, frame?.height], [480, 270]);
    model.setReadSize({ longSide: 240 });
    await frameOfSize(model, 240, 136);
    await cap.close();
  });

  it('the ffmpeg decoder gives its output size', async () => {
    const supplier = new FrameSupplier({ streamId: 'reader-size-ffmpeg' }).start();
    const model = supplier.subscribe('model', { readSize: { longSide: 320 } });
    const cap = await capture({ decoder: 'ffmpeg' }, supplier);
    cap.start();
    const frame = await model.read();
    assert.deepEqual([frame?.width, frame?.height], [640, 360]);
    await cap.close();
  });

  it('the decoder refuses a size to convert to that is odd, too small or too large: ERR_SOURCE_BAD_OUTPUT, and converts after', async () => {
    const decoder = await NativeDecoder.open(await clip(), { format: 'nv12', threads: 1 });
    try {
      await decoder.next();
      decoder.present();
      for (const size of [
        { width: 321, height: 180 },
        { width: 0, height: 180 },
        { width: 32768, height: 180 },
      ]) {
        await assert.rejects(decoder.convert(new Uint8Array(decoder.frameBytes), size), { code: 'ERR_SOURCE_BAD_OUTPUT' });
      }
      const size = { width: 320, height: 180 };
      const converted = await decoder.convert(new Uint8Array(decoder.frameBytesAt(size)), size);
      assert.deepEqual([converted.width, converted.height], [320, 180]);
    } finally {
      decoder.close();
    }
  });

  it('a bad scale is ERR_INVALID_CAPTURE_OPTION', async () => {
    const supplier = new FrameSupplier({ streamId: 'reader-size-bad' }).start();
    await assert.rejects(async () => capture({ scale: 'small' as 'auto' }, supplier), { code: 'ERR_INVALID_CAPTURE_OPTION' });
  });
});

describe('the frame pool sized from the readers', { timeout: 60_000 }, () => {
  it('a reader that keeps every frame gets them all, the pool stays at two buffers a reader and two more (4 at least), the rest on the heap', async () => {
    const supplier = new FrameSupplier({ streamId: 'pool-bound' }).start();
    const keeper = supplier.subscribe('keeper');
    const cap = await capture({}, supplier);
    cap.start();
    const kept: (() => void)[] = [];
    for (let n = 0; n < 12; n++) {
      const frame = await keeper.read();
      assert.ok(frame !== null);
      kept.push(keeper.retain(frame));
    }
    const pool = cap.stats().pool!;
    assert.ok(pool.slots <= 4, `${pool.slots} buffers for one reader`);
    assert.ok(pool.exhausted > 0, 'frames past the bound went to the heap');
    const second = supplier.subscribe('second');
    await second.read();
    for (const release of kept) release();
    await cap.close();
  });
});
