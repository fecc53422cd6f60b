/**
 * The person handler's second look (ADR 0186, 0187) with its real networks, in process: a request marked `look` is
 * answered by MoveNet Thunder on the crop (metadata `look`), or by Lightning when the handler's look says so, one
 * not marked by MultiPose as before; a crop of a person of the labelled vtest.avi frame shows that person, a grey
 * crop nobody; `look: 'model'` answers the marked request with MultiPose. And the found rule as a pure function
 * (personOfPose): a pose whose mean keypoint score is under the rule is nobody; the box is the seen keypoints'
 * grown by a tenth.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { InferenceRequest } from '../../src/ipc/index.js';
import { createPersonHandler, type InferenceHandler } from '../../src/models/index.js';
import { LOOK_NETWORKS, personOfPose, type LookNetwork } from '../../src/models/person/look-pose.js';
import { cutRgb } from '../../src/pictures/index.js';
import type { ReadFrame } from '../../src/shm/index.js';
import { LABELLED, LABELLED_HEIGHT, LABELLED_SECOND, LABELLED_WIDTH } from '../helpers/labelled-frame.js';
import { VTEST } from '../helpers/media.js';

const run = promisify(execFile);

const request = (look: boolean): InferenceRequest => ({
  frame_reference: '/dev/shm/framesupplier/test.frames',
  frame_metadata: { frame_id: 1, width: 448, height: 448, format: 'RGB24' },
  camera_id: 'room',
  model_id: 'person',
  timestamp: 1,
  ...(look ? { look: true } : {}),
});

const frameOf = (rgb: Uint8Array, width: number, height: number): ReadFrame => ({ data: Buffer.from(rgb), width, height, format: 'RGB24', wallTimeMs: 0 });

describe("the person handler's second look", { timeout: 120_000 }, () => {
  let thunder: InferenceHandler;
  let lightning: InferenceHandler;
  let model: InferenceHandler;
  /** A 448 × 448 crop of the labelled frame around its second person (35 × 77 px), as a second look cuts it. */
  let personCrop: Uint8Array;
  const grey = new Uint8Array(448 * 448 * 3).fill(128);

  before(async () => {
    thunder = createPersonHandler({ threads: 1, intraOpThreads: 1 });
    lightning = createPersonHandler({ threads: 1, intraOpThreads: 1, look: 'lightning' });
    model = createPersonHandler({ threads: 1, intraOpThreads: 1, look: 'model' });
    await Promise.all([thunder.load?.(), lightning.load?.(), model.load?.()]);
    const { stdout } = await run(
      'ffmpeg',
      ['-v', 'error', '-ss', String(LABELLED_SECOND), '-i', VTEST, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
      {
        encoding: 'buffer',
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const [x1, y1, x2, y2] = LABELLED[1]!;
    const side = 2 * (y2 - y1);
    const region: [number, number, number, number] = [Math.round((x1 + x2) / 2 - side / 2), Math.round((y1 + y2) / 2 - side / 2), side, side];
    personCrop = cutRgb(new Uint8Array(stdout), LABELLED_WIDTH, LABELLED_HEIGHT, region, 448)!.payload;
  });
  after(async () => {
    await Promise.all([thunder.close?.(), lightning.close?.(), model.close?.()]);
  });

  const answersTheLook = async (handler: InferenceHandler, network: LookNetwork): Promise<void> => {
    const signal = new AbortController().signal;
    const found = await handler.infer(frameOf(personCrop, 448, 448), request(true), signal);
    assert.equal(found.metadata?.look, LOOK_NETWORKS[network].name);
    assert.equal(found.detections.length, 1, JSON.stringify(found.detections));
    const d = found.detections[0]!;
    assert.ok(d.confidence >= LOOK_NETWORKS[network].minScore);
    assert.equal(d.keypoints?.length, 17);
    const [cx, cy] = [(d.bbox[0] + d.bbox[2]) / 2, (d.bbox[1] + d.bbox[3]) / 2];
    assert.ok(Math.abs(cx - 0.5) < 0.15 && Math.abs(cy - 0.5) < 0.15, `the person is in the crop's middle: ${JSON.stringify(d.bbox)}`);
    const none = await handler.infer(frameOf(grey, 448, 448), request(true), signal);
    assert.deepEqual(none.detections, []);
    assert.equal(none.metadata?.look, LOOK_NETWORKS[network].name);
  };

  it('answers a crop marked `look` with MoveNet Thunder unless told: the person on it, in the middle, posed; nobody on a grey one', async () => {
    await answersTheLook(thunder, 'thunder');
  });

  it("keeps MoveNet Lightning selectable (`look: 'lightning'`): the same person, nobody on the grey crop", async () => {
    await answersTheLook(lightning, 'lightning');
  });

  it('answers a request not marked `look` with its network, as before, and so does a handler whose look is `model`', async () => {
    const signal = new AbortController().signal;
    const plain = await thunder.infer(frameOf(personCrop, 448, 448), request(false), signal);
    assert.equal(plain.metadata?.look, undefined);
    assert.equal(plain.metadata?.network, 'movenet-multipose');
    const byModel = await model.infer(frameOf(personCrop, 448, 448), request(true), signal);
    assert.equal(byModel.metadata?.look, undefined);
    assert.deepEqual(
      byModel.detections.map((d) => d.bbox),
      plain.detections.map((d) => d.bbox),
    );
  });

  it('refuses a look it does not know, before any model loads', () => {
    assert.throws(() => createPersonHandler({ look: 'blazepose' as never }), { code: 'ERR_INVALID_ARGUMENT' });
  });
});

describe("the look's found rule (personOfPose)", { timeout: 10_000 }, () => {
  /** MoveNet's output: 17 × [y, x, score]. */
  const pose = (scores: readonly number[]): number[] => scores.flatMap((s, k) => [0.2 + k * 0.03, 0.4 + (k % 2) * 0.2, s]);

  it('is nobody under the rule, someone at it, their box the seen keypoints grown by a tenth', () => {
    const rule = LOOK_NETWORKS.thunder.minScore;
    assert.equal(personOfPose(pose(Array<number>(17).fill(rule - 0.01)), rule), null);
    const person = personOfPose(pose([...Array<number>(9).fill(0.6), ...Array<number>(8).fill(0.05)]), 0.3);
    assert.ok(person !== null);
    // Seen: keypoints 0-8, y 0.2-0.44, x 0.4-0.6.
    const want = [0.4 - 0.02, 0.2 - 0.024, 0.6 + 0.02, 0.44 + 0.024];
    person.bbox.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-3, JSON.stringify(person.bbox)));
    assert.equal(person.keypoints?.length, 17);
    assert.ok(Math.abs(person.confidence - (9 * 0.6 + 8 * 0.05) / 17) < 1e-3);
  });
});
