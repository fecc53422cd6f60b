/**
 * The accuracy gate of `precision: int8` (scripts/convert-models/quantize.py):
 * each person network, fp32 and int8, through the real PersonModel (ONNX
 * Runtime, the pre-processing graphs) on real vtest.avi frames none of which
 * the quantization was calibrated on:
 * - the six hand-labelled frames (test/helpers/labelled-frame.ts, 38
 *   people): people found and false positives, per variant;
 * - sampled frames: the int8 variant's boxes against the fp32 one's (IoU ≥
 *   0.5: recall, and extra boxes per fp32 box).
 * The figures are printed (test diagnostics) and recorded in
 * docs/benchmarks/notebook-2026-11-22-to-28.md (PERSON-MODELS); the gate is the cost int8 may have.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { toRgb } from '../../src/models/rgb.js';
import { PersonModel } from '../../src/models/person/person-model.js';
import { compareBoxes } from '../../bench/models/person.js';
import { LABELLED_FRAMES, LABELLED_HEIGHT, LABELLED_WIDTH, matchLabelled } from '../helpers/labelled-frame.js';
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
type Precision = 'fp32' | 'int8';

async function boxesOf(model: PersonModel, frames: readonly Uint8Array[]): Promise<Box[][]> {
  const out: Box[][] = [];
  for (const rgb of frames) out.push((await model.detect(rgb, W, H)).map((p) => p.bbox));
  return out;
}

describe('person networks: int8 against fp32 on labelled and sampled frames', { timeout: 600_000 }, () => {
  for (const network of ['movenet-multipose', 'centernet'] as const) {
    it(`${network}: int8 finds the labelled people fp32 finds (recall at most 0.05 lower, at most one more false positive), and fp32's boxes on sampled frames (recall ≥ 0.9, extra ≤ 5 %)`, async (t) => {
      const labelledFrames = await Promise.all(LABELLED_FRAMES.map((f) => rgbFrame(f.second)));
      const sampledFrames = await Promise.all(SAMPLED_SECONDS.map(rgbFrame));
      const found: Record<Precision, { found: number; falsePositives: number; sampled: Box[][] }> = {
        fp32: { found: 0, falsePositives: 0, sampled: [] },
        int8: { found: 0, falsePositives: 0, sampled: [] },
      };
      for (const precision of ['fp32', 'int8'] as const) {
        // poseMaxPeople 0: the gate is about who is found; poses are held to TF.js's by the equivalence test.
        const model = new PersonModel({ network, precision, poseMaxPeople: 0 });
        await model.load();
        try {
          const labelled = await boxesOf(model, labelledFrames);
          for (const [i, boxes] of labelled.entries()) {
            const m = matchLabelled(boxes, LABELLED_FRAMES[i]!.people);
            found[precision].found += m.found;
            found[precision].falsePositives += m.falsePositives;
          }
          found[precision].sampled = await boxesOf(model, sampledFrames);
        } finally {
          await model.close();
        }
      }
      const people = LABELLED_FRAMES.reduce((n, f) => n + f.people.length, 0);
      const recall = (p: Precision): number => found[p].found / people;
      const sampled = compareBoxes(found.fp32.sampled, found.int8.sampled);
      t.diagnostic(
        `${network}: ${LABELLED_FRAMES.length} labelled frames, ${people} people: ` +
          `fp32 ${found.fp32.found} found, ${found.fp32.falsePositives} false; int8 ${found.int8.found} found, ${found.int8.falsePositives} false; ` +
          `${SAMPLED_SECONDS.length} sampled frames: int8 recall ${sampled.recall.toFixed(3)}, extra ${sampled.extra.toFixed(3)} of fp32's ${sampled.reference} boxes`,
      );
      assert.ok(sampled.reference >= 20, `fp32 found only ${sampled.reference} people in ${SAMPLED_SECONDS.length} frames`);
      assert.ok(recall('int8') >= recall('fp32') - 0.05, `int8 found ${found.int8.found} of ${people} labelled people, fp32 ${found.fp32.found}`);
      assert.ok(
        found.int8.falsePositives <= found.fp32.falsePositives + 1,
        `int8: ${found.int8.falsePositives} false positives, fp32 ${found.fp32.falsePositives}`,
      );
      assert.ok(
        sampled.recall >= 0.9 && sampled.extra <= 0.05,
        `int8 against fp32: recall ${sampled.recall}, extra ${sampled.extra} (of ${sampled.reference})`,
      );
    });
  }
});
