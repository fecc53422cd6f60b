/**
 * Frames converted at the model's size, with the decoder's bilinear filter,
 * find the people that full frames and bicubic ones do (ADR 0031): the person
 * model (MultiPose at 448) on vtest.avi frames, converted three ways by the
 * in-process decoder: full size (768 × 576: the model resizes them itself,
 * as before), bicubic to 448 × 336 (the decoder opened at that size, as a
 * configured output size is) and bilinear to 448 × 336 (the size its reader
 * declares, converted on demand). Boxes are matched at IoU ≥ 0.5.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NativeDecoder } from '../../src/capture/native-decoder.js';
import { PersonModel } from '../../src/models/person/person-model.js';
import { compareBoxes } from '../../bench/models/person.js';
import { LABELLED_FRAMES, LABELLED_HEIGHT, LABELLED_WIDTH, matchLabelled } from '../helpers/labelled-frame.js';
import { VTEST } from '../helpers/media.js';

type Box = readonly [number, number, number, number];
const SIZE = { width: 448, height: 336 };
/** Every 4 s of the clip, the labelled seconds among them. */
const SECONDS = [...new Set([...Array.from({ length: 20 }, (_, i) => 1 + 4 * i), ...LABELLED_FRAMES.map((f) => f.second)])].sort((a, b) => a - b);

interface Converted {
  readonly full: Uint8Array[];
  readonly bicubic: Uint8Array[];
  readonly bilinear: Uint8Array[];
}

/** The first picture at or after each second, converted the three ways (two decoders over the same file, frame for frame). */
async function convertThreeWays(): Promise<Converted> {
  const onDemand = await NativeDecoder.open(VTEST, { format: 'rgb24', threads: 1 });
  const opened = await NativeDecoder.open(VTEST, { format: 'rgb24', ...SIZE, threads: 1 });
  const out: Converted = { full: [], bicubic: [], bilinear: [] };
  try {
    const small = new Uint8Array(opened.frameBytes);
    for (const second of SECONDS) {
      for (;;) {
        const picture = await onDemand.next();
        const scaled = await opened.decode(small);
        assert.ok(picture !== null && scaled !== null, `the clip ended before ${second} s`);
        assert.equal(scaled.ptsMs, picture.ptsMs);
        if (picture.ptsMs < second * 1000) continue;
        onDemand.present();
        const full = new Uint8Array(onDemand.frameBytes);
        assert.equal((await onDemand.convert(full)).width, LABELLED_WIDTH);
        const bilinear = new Uint8Array(onDemand.frameBytesAt(SIZE));
        const converted = await onDemand.convert(bilinear, SIZE);
        assert.deepEqual([converted.width, converted.height], [SIZE.width, SIZE.height]);
        out.full.push(full);
        out.bicubic.push(small.slice());
        out.bilinear.push(bilinear);
        break;
      }
    }
  } finally {
    onDemand.close();
    opened.close();
  }
  return out;
}

describe('frames at the model’s size, bilinear: the same detections', { timeout: 300_000 }, () => {
  let model: PersonModel;
  let boxes: { full: Box[][]; bicubic: Box[][]; bilinear: Box[][] };

  before(async () => {
    model = new PersonModel({ network: 'movenet-multipose', poseMaxPeople: 0 });
    await model.load();
    const frames = await convertThreeWays();
    const detect = async (rgbs: Uint8Array[], w: number, h: number): Promise<Box[][]> => {
      const all: Box[][] = [];
      for (const rgb of rgbs) all.push((await model.detect(rgb, w, h)).map((p) => p.bbox as Box));
      return all;
    };
    boxes = {
      full: await detect(frames.full, LABELLED_WIDTH, LABELLED_HEIGHT),
      bicubic: await detect(frames.bicubic, SIZE.width, SIZE.height),
      bilinear: await detect(frames.bilinear, SIZE.width, SIZE.height),
    };
  });
  after(async () => {
    await model?.close();
  });

  it('bilinear finds what bicubic finds, and what full frames find', () => {
    for (const [name, reference] of [
      ['bicubic 448', boxes.bicubic],
      ['full size', boxes.full],
    ] as const) {
      const c = compareBoxes(reference, boxes.bilinear);
      console.log(`bilinear 448 against ${name}: ${c.reference} people, recall ${c.recall.toFixed(3)}, extra ${c.extra.toFixed(3)}`);
      assert.ok(c.reference >= 40, `${name}: only ${c.reference} people found in ${SECONDS.length} frames`);
      assert.ok(c.recall >= 0.95 && c.extra <= 0.05, `bilinear against ${name}: recall ${c.recall}, extra ${c.extra}`);
    }
  });

  it('on the labelled frames, as many labelled people found as bicubic and full frames find', () => {
    const found = { full: 0, bicubic: 0, bilinear: 0 };
    for (const { second, people } of LABELLED_FRAMES) {
      const i = SECONDS.indexOf(second);
      for (const way of ['full', 'bicubic', 'bilinear'] as const) found[way] += matchLabelled(boxes[way][i]!, people).found;
    }
    console.log(`labelled people found: ${JSON.stringify(found)}`);
    assert.ok(found.bilinear >= Math.min(found.bicubic, found.full), JSON.stringify(found));
  });
});
