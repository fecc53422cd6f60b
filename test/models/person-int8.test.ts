/**
 * The accuracy gate of `precision: int8` (scripts/convert-models/quantize.py):
 * each person network, fp32 and int8, through the real PersonModel (ONNX
 * Runtime, the pre-processing graphs) on real vtest.avi frames none of which
 * the quantization was calibrated on:
 * - the hand-labelled frame (test/helpers/labelled-frame.ts): people found
 *   and false positives, per variant;
 * - sampled frames: the int8 variant's boxes against the fp32 one's (IoU ≥
 *   0.5: recall, and extra boxes per fp32 box).
 * The figures are printed (test diagnostics) and recorded in
 * docs/benchmarks.md (PERSON-MODELS); the gate is the cost int8 may have.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { toRgb } from '../../src/models/rgb.js';
import { PersonModel } from '../../src/models/person/person-model.js';
import { compareBoxes } from '../../bench/models/person.js';
import { LABELLED_HEIGHT, LABELLED_SECOND, LABELLED_WIDTH, matchLabelled } from '../helpers/labelled-frame.js';
import { VTEST } from '../helpers/media.js';

const run = promisify(execFile);
const W = LABELLED_WIDTH;
const H = LABELLED_HEIGHT;
/** Seconds of vtest.avi away from quantize.py's calibration seconds (2, 9, 17, … 73). */
const SAMPLED_SECONDS = [5, 13, 21, 29, 37, 45, 53, 61, 69, 77];

async function rgbFrame(second: number): Promise<Uint8Array> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-ss', String(second), '-i', VTEST, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'nv12', '-'], {
    encoding: 'buffer',
    maxBuffer: 16 << 20,
  });
  return toRgb(stdout, W, H, 'NV12');
}

type Box = [number, number, number, number];

async function boxesOf(model: PersonModel, frames: readonly Uint8Array[]): Promise<Box[][]> {
  const out: Box[][] = [];
  for (const rgb of frames) out.push((await model.detect(rgb, W, H)).map((p) => p.bbox));
  return out;
}

describe('person networks: int8 against fp32 on labelled and sampled frames', { timeout: 600_000 }, () => {
  for (const network of ['movenet-multipose', 'centernet'] as const) {
    it(`${network}: int8 finds the labelled people fp32 finds (at most one fewer, no more false positives than one), and fp32's boxes on sampled frames (recall ≥ 0.9, extra ≤ 5 %)`, async (t) => {
      const frames = await Promise.all([LABELLED_SECOND, ...SAMPLED_SECONDS].map(rgbFrame));
      const variants: Record<'fp32' | 'int8', Box[][]> = { fp32: [], int8: [] };
      for (const precision of ['fp32', 'int8'] as const) {
        // poseMaxPeople 0: the gate is about who is found; poses are measured by the equivalence test.
        const model = new PersonModel({ network, precision, poseMaxPeople: 0 });
        await model.load();
        try {
          variants[precision] = await boxesOf(model, frames);
        } finally {
          await model.close();
        }
      }
      const labelled = { fp32: matchLabelled(variants.fp32[0]!), int8: matchLabelled(variants.int8[0]!) };
      const sampled = compareBoxes(variants.fp32.slice(1), variants.int8.slice(1));
      t.diagnostic(
        `${network}: labelled frame fp32 ${labelled.fp32.found}/7 found, ${labelled.fp32.falsePositives} false; ` +
          `int8 ${labelled.int8.found}/7, ${labelled.int8.falsePositives} false; ` +
          `sampled frames (${SAMPLED_SECONDS.length}): int8 recall ${sampled.recall.toFixed(3)}, extra ${sampled.extra.toFixed(3)} of fp32's ${sampled.reference} boxes`,
      );
      assert.ok(sampled.reference >= 20, `fp32 found only ${sampled.reference} people in ${SAMPLED_SECONDS.length} frames`);
      assert.ok(labelled.int8.found >= labelled.fp32.found - 1, `int8 found ${labelled.int8.found} labelled people, fp32 ${labelled.fp32.found}`);
      assert.ok(
        labelled.int8.falsePositives <= labelled.fp32.falsePositives + 1,
        `int8: ${labelled.int8.falsePositives} false positives, fp32 ${labelled.fp32.falsePositives}`,
      );
      assert.ok(
        sampled.recall >= 0.9 && sampled.extra <= 0.05,
        `int8 against fp32: recall ${sampled.recall}, extra ${sampled.extra} (of ${sampled.reference})`,
      );
    });
  }
});
