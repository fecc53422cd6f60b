/**
 * The second look widened (ADR 0189), its plans on frames of 640 × 480 (no model: what it asks the model for):
 * - who gets a look: those lost going down first, then those lost inside the picture (`why: 'lost'`), at most
 *   MAX_LOST, so the cap keeps the fast drops;
 * - a sweep's tiles (sweepTiles): the square around where the person was, then the floor's squares at the look's
 *   scale, inside the picture, overlapping, covering the floor, nearest first; at the start, half the short side;
 * - its pace and bounds: one tile a look, at most one every SWEEP_EVERY_SECONDS and SWEEP_PER_MINUTE a minute, the
 *   start's sweep one round of tiles, a new sweep from its first tile; a lost person's look before a sweep's tile;
 *   a person a tile found looked at on the next SWEEP_FOUND_LOOKS frames (the tracker confirms a track on three),
 *   when it is one at the tile's scale and not on their feet (sweepFind: a sliver or a coat by a door is no person);
 * - an empty room (LookFor and SecondLook as the system wires them, an hour at 5 frames a second): the start's one
 *   round of tiles, then not one look.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LookFor } from '../../src/care/index.js';
import {
  MAX_LOST,
  POSE_LOOK_MIN_SIDE,
  SecondLook,
  SWEEP_EVERY_SECONDS,
  SWEEP_FLOOR_FROM,
  SWEEP_FIND_MIN_SCORE,
  SWEEP_FIND_MIN_SHARE,
  SWEEP_FOUND_LOOKS,
  SWEEP_PER_MINUTE,
  sweepFind,
  sweepTiles,
  type LostSighting,
  type SweepSighting,
} from '../../src/pipeline/camera/second-look.js';
import type { Keypoint } from '../../src/care/index.js';
import type { Detection } from '../../src/ipc/index.js';
import { lookAgainRegion } from '../../src/pictures/index.js';
import type { Frame } from '../../src/supplier/index.js';
import { LYING, pose, STANDING } from '../helpers/poses.js';

const W = 640;
const H = 480;
const INPUT = 192;
const BOX = [0.42, 0.45, 0.52, 0.9] as const;

const frame = (captureTime: number): Frame =>
  ({
    payload: new Uint8Array(W * H * 3).fill(30),
    width: W,
    height: H,
    format: 'rgb24',
    seq: 1,
    streamId: 'room',
    captureTime,
    wallTime: 0,
  }) as unknown as Frame;

/** The regions of a plan's squares (one per three crops: as it is and turned both ways). */
const squares = (crops: { crops: readonly { region: readonly number[]; turn?: number }[] } | null): string[] =>
  (crops?.crops ?? [])
    .slice(1)
    .filter((c) => c.turn === undefined)
    .map((c) => c.region.join(','));

describe('the second look: who is looked for', { timeout: 10_000 }, () => {
  it('looks for those lost going down first, then those lost inside the picture, at most MAX_LOST', async () => {
    const at = (x: number): readonly [number, number, number, number] => [x, 0.4, x + 0.1, 0.9];
    const lost: LostSighting[] = [
      { id: 'a', box: at(0.05), why: 'descent' },
      { id: 'b', box: at(0.25), why: 'lost' },
      { id: 'c', box: at(0.45), why: 'lost' },
      { id: 'd', box: at(0.65), why: 'lost' },
    ];
    const look = new SecondLook({ lost: () => lost });
    const plan = await look.plan(frame(1_000), INPUT);
    const region = (box: readonly [number, number, number, number]): string => lookAgainRegion(box, W, H, POSE_LOOK_MIN_SIDE, true)!.join(',');
    assert.equal(MAX_LOST, 2);
    assert.deepEqual(squares(plan), [region(at(0.05)), region(at(0.65))], 'the descent, then the last listed plain loss');
    assert.equal(plan?.crops.length, 1 + 3 * MAX_LOST);
  });
});

describe("the sweep's tiles", { timeout: 10_000 }, () => {
  it('are the square around where they were, then the floor in squares of its side, inside the picture, nearest first', () => {
    const tiles = sweepTiles(W, H, BOX, POSE_LOOK_MIN_SIDE);
    const first = lookAgainRegion(BOX, W, H, POSE_LOOK_MIN_SIDE, true)!;
    assert.deepEqual(tiles[0], first);
    const side = first[2];
    const rest = tiles.slice(1);
    assert.ok(rest.length >= 2);
    for (const [x, y, w, h] of rest) {
      assert.equal(w, side);
      assert.equal(h, side);
      assert.ok(x >= 0 && y >= 0 && x + w <= W && y + h <= H, `inside: ${[x, y, w, h].join(',')}`);
      assert.ok(y >= Math.min(Math.round(H * SWEEP_FLOOR_FROM), H - side), 'on the floor');
    }
    // Every pixel of the floor is in a tile.
    for (let y = Math.round(H * SWEEP_FLOOR_FROM); y < H; y += 7)
      for (let x = 0; x < W; x += 7)
        assert.ok(
          rest.some(([tx, ty]) => x >= tx && x < tx + side && y >= ty && y < ty + side),
          `covered: ${x},${y}`,
        );
    const centre = (r: readonly number[]): number => Math.hypot(r[0]! + side / 2 - 0.47 * W, r[1]! + side / 2 - 0.9 * H);
    for (let i = 2; i < tiles.length; i++) assert.ok(centre(tiles[i - 1]!) <= centre(tiles[i]!), 'nearest first');
  });

  it('at the start are half the short side, from the bottom’s middle', () => {
    const tiles = sweepTiles(W, H, null, POSE_LOOK_MIN_SIDE);
    assert.ok(tiles.every((t) => t[2] === H / 2 && t[3] === H / 2));
    const [x, y, side] = tiles[0]!;
    assert.equal(y + side, H, 'on the bottom');
    assert.ok(Math.abs(x + side / 2 - W / 2) <= side / 2, `about the middle: ${tiles[0]!.join(',')}`);
    assert.deepEqual(sweepTiles(0, 0, null, POSE_LOOK_MIN_SIDE), []);
  });
});

describe("the sweep's pace and bounds", { timeout: 10_000 }, () => {
  it('looks at one tile a look, once every SWEEP_EVERY_SECONDS at most, SWEEP_PER_MINUTE a minute at most', async () => {
    let order: SweepSighting | null = { since: 0, around: BOX, start: false };
    const look = new SecondLook({ lost: () => [], sweep: () => order });
    const tiles = sweepTiles(W, H, BOX, POSE_LOOK_MIN_SIDE).map((t) => t.join(','));
    const seen: string[] = [];
    for (let time = 0; time < 60_000; time += 200) {
      const plan = await look.plan(frame(time), INPUT);
      if (plan === null) continue;
      assert.equal(plan.crops.length, 4, 'the whole frame and the tile three ways');
      assert.ok(
        plan.crops.slice(1).every((c) => c.look === true),
        'marked `look`',
      );
      seen.push(...squares(plan));
    }
    assert.equal(seen.length, SWEEP_PER_MINUTE, 'the cap per minute');
    assert.ok(SWEEP_PER_MINUTE <= 60 / SWEEP_EVERY_SECONDS);
    assert.deepEqual(seen.slice(0, tiles.length), tiles.slice(0, Math.min(tiles.length, SWEEP_PER_MINUTE)), 'the tiles in order, around them first');
    assert.equal(look.stats().sweepLooks, SWEEP_PER_MINUTE);
    assert.equal(look.stats().looks, 0);
    order = null;
    assert.equal(await look.plan(frame(70_000), INPUT), null, 'no order: nothing');
    assert.ok(!look.wantsFullFrames() && look.followsNewest());
    order = { since: 70_000, around: BOX, start: false };
    assert.deepEqual(squares(await look.plan(frame(70_000), INPUT)), [tiles[0]], 'a new sweep: from its first tile');
  });

  it('looks at a person a tile found on the next SWEEP_FOUND_LOOKS frames in a row (so the tracker confirms them), then at the sweep’s pace', async () => {
    const look = new SecondLook({ lost: () => [], sweep: () => ({ since: 0, around: null, start: false }) });
    const plan = (await look.plan(frame(0), INPUT))!;
    const [x, y, side] = plan.crops[1]!.region;
    const box = [(x + side / 4) / W, (y + side / 4) / H, (x + (3 * side) / 4) / W, (y + side / 2) / H] as const;
    look.answered(plan, [{ class_id: 0, class_name: 'person', confidence: 0.5, bbox: box }]);
    assert.ok(look.wantsFullFrames(), 'due at once');
    const at = lookAgainRegion(box, W, H, POSE_LOOK_MIN_SIDE, true)!.join(',');
    for (let i = 1; i <= SWEEP_FOUND_LOOKS; i++) assert.deepEqual(squares(await look.plan(frame(i * 200), INPUT)), [at], `look ${i} at them`);
    assert.equal(await look.plan(frame((SWEEP_FOUND_LOOKS + 1) * 200), INPUT), null, 'then the pace again');
    const next = (await look.plan(frame(SWEEP_FOUND_LOOKS * 200 + SWEEP_EVERY_SECONDS * 1000), INPUT))!;
    look.answered(next, [{ class_id: 0, class_name: 'person', confidence: 0.5, bbox: [0, 0, 0.01, 0.01] }]);
    assert.equal(await look.plan(frame(SWEEP_FOUND_LOOKS * 200 + SWEEP_EVERY_SECONDS * 1000 + 200), INPUT), null, 'someone outside the tile: no hold');
  });

  it('takes for a find only a person scored enough, at the tile’s scale, not on their feet: a sliver, a small box, a low score or someone upright is no hold (sweepFind)', async () => {
    const tile: [number, number, number, number] = [200, 240, 240, 240];
    const lying = pose({ ...LYING, x: 0.5 }, { floor: 0.9 });
    const upright = pose({ ...STANDING, x: 0.5 }, { floor: 0.9 });
    const person = (p: { keypoints: Keypoint[]; box: readonly [number, number, number, number] }, box = p.box): Detection => ({
      class_id: 0,
      class_name: 'person',
      confidence: 0.4,
      bbox: box,
      keypoints: p.keypoints,
    });
    // tile: x 200-440, y 240-480 of 640 × 480; a body lying across it, its box 0.27 of the picture's width
    const across = [0.36, 0.8, 0.63, 0.9] as const;
    assert.ok(sweepFind(person(lying, across), tile, W, H), 'lying, at the tile’s scale');
    assert.ok(sweepFind({ class_id: 0, class_name: 'person', confidence: 0.4, bbox: across }, tile, W, H), 'no keypoints: the posture unknown');
    assert.ok(!sweepFind(person(upright, [0.45, 0.55, 0.55, 0.95]), tile, W, H), 'upright: the whole frame’s to find');
    assert.ok(!sweepFind(person(lying, [0.5, 0.8, 0.54, 0.81]), tile, W, H), 'a sliver (25 × 5 px)');
    assert.ok(!sweepFind(person(lying, [0.5, 0.7, 0.52, 0.83]), tile, W, H), 'a box 62 px tall in a 240 px tile');
    assert.ok(!sweepFind(person(lying, [0.0, 0.8, 0.27, 0.9]), tile, W, H), 'centred outside the tile');
    assert.ok(!sweepFind({ ...person(lying, across), confidence: 0.27 }, tile, W, H), 'scored as the empty rooms’ rug was');
    assert.ok(sweepFind({ ...person(lying, across), confidence: SWEEP_FIND_MIN_SCORE }, tile, W, H));
    assert.ok(SWEEP_FIND_MIN_SHARE > 62 / 240);
  });

  it("looks for a lost person before a sweep's tile", async () => {
    let lost: LostSighting[] = [{ id: '1', box: BOX, why: 'lost' }];
    const look = new SecondLook({ lost: () => lost, sweep: () => ({ since: 0, around: null, start: true }) });
    assert.deepEqual(squares(await look.plan(frame(0), INPUT)), [lookAgainRegion(BOX, W, H, POSE_LOOK_MIN_SIDE, true)!.join(',')]);
    lost = [];
    assert.ok(look.wantsFullFrames() === false, 'not a second after the look');
    assert.deepEqual(squares(await look.plan(frame(SWEEP_EVERY_SECONDS * 1000), INPUT)), [sweepTiles(W, H, null, POSE_LOOK_MIN_SIDE)[0]!.join(',')]);
  });

  it('in an empty room, looks over one round of tiles at the start and then nothing for an hour', async () => {
    const room = new LookFor();
    const look = new SecondLook({ lost: () => room.targets([], () => false), sweep: (time) => room.sweep(time) });
    const tiles = sweepTiles(W, H, null, POSE_LOOK_MIN_SIDE).length;
    let looks = 0;
    let full = 0;
    for (let time = 0; time <= 3_600_000; time += 200) {
      if (look.wantsFullFrames()) full++;
      if ((await look.plan(frame(time), INPUT)) !== null) looks++;
      room.observe({ time, people: [] });
    }
    assert.equal(looks, tiles, 'one round of tiles');
    assert.equal(look.stats().sweepLooks, tiles);
    assert.ok(full <= tiles, `full-resolution reads only for the start's tiles: ${full}`);
  });
});
