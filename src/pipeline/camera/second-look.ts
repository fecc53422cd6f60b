/**
 * The second look (ADR 0169): a fall worker's RegionRun that looks again, at once, where a person was just lost.
 * A tracked person whose box dropped fast and who then went unseen (the fall alerts' lost(): their last sightings a
 * descent, nobody matched since) is the moment that matters, and the moment a pose network trained on people
 * standing stops seeing them: lying on the floor, or small and low in the picture.
 *
 * Contract: while nobody is lost it asks for nothing: the worker reads frames at its model's size, follows the
 * newest, and sends them whole (no crop, no conversion, no call more: a quiet room costs what it did). While
 * someone is lost (for at most LOOK_SECONDS of capture time each, so one never found again does not cost for
 * ever) a look is due at once and then once every LOOK_EVERY_SECONDS (the frames between go whole, as before): the
 * worker reads full-resolution frames while one is due, and the frame it reads goes to the model as crops at the
 * model's input size: the whole frame, and for each lost person (the last MAX_LOST listed) the square around their
 * last box (src/pictures' lookAgainRegion, cut from the full-resolution frame so a small person is large; centred
 * where they were and reaching past the frame's edges, filled grey, so a person partly out of the picture is seen
 * at a whole person's scale, ADR 0186) as it is and turned a quarter either way (a person lying is an upright one
 * to the network). The squares' requests are marked `look`: the person handler answers them with MoveNet
 * Thunder by default (ADR 0187; Lightning on request, ADR 0186), any other model as any frame. What the model finds is
 * turned back and mapped into the frame (region-run.ts), duplicates across crops kept once, one result for the
 * frame: the tracker continues the track and the fall rule sees the person down.
 *
 * Who is lost (ADR 0189): the people lost while going down come first (`why: 'descent'`), then those lost inside the
 * picture without a seen descent (`why: 'lost'`: 1-2 frames a second, behind furniture, a slow collapse), so the
 * MAX_LOST cap keeps the fast drops. And a sweep (ADR 0189: `sweep(time)`, the system's LookFor: after the people
 * last seen were lost inside the picture and nobody was found for a while, or at a camera's start): while nobody is
 * lost, one tile of the picture a look (sweepTiles: the square around where they were last, then the floor's tiles at
 * the look's scale, nearest first), at most one every SWEEP_EVERY_SECONDS and SWEEP_PER_MINUTE a minute; the start's
 * sweep one round of tiles. A person a tile found (answered()) is looked at again on the next SWEEP_FOUND_LOOKS
 * frames, so the tracker confirms them. Without an order (an empty room after someone walked out, or after the start's
 * sweep) it asks for nothing.
 */
import { postureOf } from '../../care/index.js';
import { cutRgb, lookAgainRegion, rgbOf, turnRgb, type NormalisedBox, type PixelRegion } from '../../pictures/index.js';
import type { Frame } from '../../supplier/index.js';
import type { Detection } from '../../ipc/index.js';
import type { RegionCrop, RegionCrops, RegionRun } from '../../workers/index.js';

/** A person lost: the tracked object's id, its last box (0–1), and why (absent: going down). */
export interface LostSighting {
  readonly id: string;
  readonly box: NormalisedBox;
  /** Lost while going down (first), or lost inside the picture without a seen descent. */
  readonly why?: 'descent' | 'lost';
}

/** A sweep on (the system's LookFor.sweep): its identity (since, capture ms), around what (null: the start), and whether it is the start's. */
export interface SweepSighting {
  readonly since: number;
  readonly around: NormalisedBox | null;
  readonly start: boolean;
}

/** How long (capture time, s) a lost person is looked for: past it they are left to the fall rule's own alert. */
export const LOOK_SECONDS = 10;
/**
 * A lost person is looked for at most once in this long (capture time, s); the frames between go whole at the
 * model's size, as before: a look is four model calls, and looking at every frame would slow the worker's cadence
 * exactly when the fall rule needs its sightings (on the UP-Fall clips, a look on every frame took ~650 ms of a
 * loaded 2-core machine and the whole frames it displaced were the ones that still saw the person, weakly, lying).
 */
export const LOOK_EVERY_SECONDS = 1;
/** At most this many lost people are looked for in one frame (each is three model calls). */
export const MAX_LOST = 2;
/**
 * A pose look's square (the handler's MoveNet Thunder, ADR 0187; Lightning, ADR 0186) is at least this many pixels
 * of the frame: it is scaled to the network's 256 (192) there, so a small person's square is cut closer than a
 * detector's of half its 448 input (measured at 96 with both).
 */
export const POSE_LOOK_MIN_SIDE = 96;
/** A look's square reaches past the frame's edges by filling them with this grey (cutRgb's `fill`, ADR 0186). */
export const LOOK_FILL = 128;

/** A sweep looks at one tile at most once in this long (capture time, s). */
export const SWEEP_EVERY_SECONDS = 1;
/** A sweep looks at most at this many tiles in a minute of capture time (each is three pose calls). */
export const SWEEP_PER_MINUTE = 20;
/** The floor a sweep looks over: the picture below this share of its height (the top is wall and ceiling). */
export const SWEEP_FLOOR_FROM = 0.25;
/**
 * A person a sweep's tile found is looked at again on this many frames in a row, at once (not once a second): the
 * tracker starts a track on a first sighting, ends it at its first miss, and confirms it after three (its default
 * confirmHits), so a person only the looks find becomes a tracked one, and then a lost one looked for as any.
 */
export const SWEEP_FOUND_LOOKS = 2;
/**
 * A sweep's find whose box's longer side is under this share of its tile's side is a fragment, not a person at the
 * scale the tile was cut for (around where someone was: their size; at the start: half the picture's short side).
 * In the shared clips' empty rooms (SWEEP-EMPTY), the look's network found a sliver of a shelf's edge (25 × 5 px in a
 * 240 px tile) and a coat by a door (62 px tall) that way, over and over (ADR 0193).
 */
export const SWEEP_FIND_MIN_SHARE = 1 / 3;

/**
 * A sweep's find scored under this is none (for the look's pose networks, the mean of its keypoint scores): a tile of
 * the floor where nobody was seen is far less likely to hold someone than the square where a person was just lost,
 * so it takes more to say so. At 0.3 Thunder found someone on 0.4 % of the shared clips' empty squares, against
 * 1.5 % at its look's 0.25, for 0.958 of people lying against 0.964 (PERSON-RECALL); every false find of the
 * sweep in SWEEP-EMPTY's rooms that was not on its feet scored 0.25-0.29 (ADR 0193). Lightning's own rule is 0.3.
 */
export const SWEEP_FIND_MIN_SCORE = 0.3;

/**
 * Whether a detection is what a sweep looks for in `tile` (pixels of a frame `width` × `height`): centred in the tile,
 * scored SWEEP_FIND_MIN_SCORE or more, its longer side at least SWEEP_FIND_MIN_SHARE of the tile's, and not read on
 * their feet (postureOf). A sweep looks for someone the whole frame cannot see: people lying or low on the floor; the
 * whole frame finds people on their feet, and a look's "person" standing where the whole frame finds nobody is a
 * coat, a door's frame, a shadow.
 */
export function sweepFind(d: Detection, tile: PixelRegion, width: number, height: number): boolean {
  if (d.confidence < SWEEP_FIND_MIN_SCORE) return false;
  const x = ((d.bbox[0] + d.bbox[2]) / 2) * width;
  const y = ((d.bbox[1] + d.bbox[3]) / 2) * height;
  if (!(x >= tile[0] && x < tile[0] + tile[2] && y >= tile[1] && y < tile[1] + tile[3])) return false;
  const longer = Math.max((d.bbox[2] - d.bbox[0]) * width, (d.bbox[3] - d.bbox[1]) * height);
  if (longer < SWEEP_FIND_MIN_SHARE * tile[2]) return false;
  return postureOf(d.keypoints, d.bbox, { aspect: width / height }).posture !== 'upright';
}
/** Neighbouring tiles overlap by a quarter of their side (a person across two is whole in one). */
const TILE_STEP = 0.75;

/** Where a sweep's tiles begin along one side: from `from` to `to`, tiles of `side`, overlapping. */
function tileStarts(from: number, to: number, side: number): number[] {
  const span = to - from - side;
  if (span <= 0) return [Math.max(0, to - side)];
  const n = Math.ceil(span / (side * TILE_STEP)) + 1;
  return Array.from({ length: n }, (_, i) => from + Math.round((i * span) / (n - 1)));
}

/**
 * A sweep's tiles of a `width` × `height` picture, in the order looked at: the square around `around` (the last box
 * of the one lost, as a look cuts it, reaching past the edge), then the floor (below SWEEP_FLOOR_FROM of the height)
 * in squares of the same side (at the start, without `around`: half the picture's short side), overlapping by a
 * quarter, nearest to where the person was first (the start: nearest the bottom's middle). Every tile is inside the
 * picture but the first.
 */
export function sweepTiles(width: number, height: number, around: NormalisedBox | null, minSide: number): PixelRegion[] {
  const short = Math.min(width, height);
  if (!(short > 0)) return [];
  const first = around === null ? null : lookAgainRegion(around, width, height, minSide, true);
  const side = Math.min(short, first?.[2] ?? Math.max(minSide, Math.round(short / 2)));
  const anchor = around === null ? [width / 2, height] : [((around[0] + around[2]) / 2) * width, around[3] * height];
  const floorTop = Math.min(Math.round(height * SWEEP_FLOOR_FROM), height - side);
  const tiles: PixelRegion[] = [];
  for (const y of tileStarts(floorTop, height, side)) for (const x of tileStarts(0, width, side)) tiles.push([x, y, side, side]);
  const distance = (r: PixelRegion): number => Math.hypot(r[0] + side / 2 - anchor[0]!, r[1] + side / 2 - anchor[1]!);
  tiles.sort((a, b) => distance(a) - distance(b));
  return first === null ? tiles : [first, ...tiles];
}

export interface SecondLookStats {
  /** Frames sent as a second look, and the model calls they took (the whole frame and three per person). */
  readonly looks: number;
  /** Frames sent as a sweep's tile (the whole frame and the tile three ways). */
  readonly sweepLooks: number;
  readonly crops: number;
  /** Whole-frame calls while nobody was lost. */
  readonly wholeCalls: number;
}

export interface SecondLookOptions {
  /** The people lost now (the fall alerts' lost(camera, worker)). */
  readonly lost: () => readonly LostSighting[];
  /** The sweep on at a capture time (ms), or null (the fall alerts' sweep(camera, worker, time)). Absent: none. */
  readonly sweep?: (time: number) => SweepSighting | null;
}

/** Pixels that can be cut (a compressed frame would need decoding first: it goes whole). */
const isRaw = (frame: Frame): boolean => frame.format !== 'jpeg' && frame.format !== 'png';

export class SecondLook implements RegionRun {
  readonly #lost: () => readonly LostSighting[];
  readonly #sweep: (time: number) => SweepSighting | null;
  /** The sweep looked at now (its `since`), the tiles looked at in it, and the capture times (ms) of the latest minute's tiles. */
  #sweepSince: number | null = null;
  #sweepDone = 0;
  #sweepTimes: number[] = [];
  /** The tiles of the latest frame's size (a start's sweep is one round of them). */
  #tileCount = Number.POSITIVE_INFINITY;
  #sweepLooks = 0;
  /** The latest sweep's tile (pixels), until its answer; then a person it found, looked at SWEEP_FOUND_LOOKS frames in a row. */
  #tile: PixelRegion | null = null;
  #found: { box: NormalisedBox; left: number } | null = null;
  /** Capture time (ms) each lost person was first looked for. */
  readonly #since = new Map<string, number>();
  /** Capture time (ms) of the latest look. */
  #lookedAt = Number.NEGATIVE_INFINITY;
  /** The capture time of the latest frame read (ms), for the look's cap before a frame is read. */
  #latest = Number.NEGATIVE_INFINITY;
  #looks = 0;
  #crops = 0;
  #wholeCalls = 0;

  constructor(options: SecondLookOptions) {
    this.#lost = options.lost;
    this.#sweep = options.sweep ?? (() => null);
  }

  /** Frames are read at the model's size, full size only while a look or a sweep's tile is due (wantsFullFrames). */
  readonly readsFull = false;

  followsNewest(): boolean {
    return !this.#due(this.#latest);
  }

  wantsFullFrames(): boolean {
    return this.#due(this.#latest);
  }

  plan(frame: Frame, inputSide: number | null): Promise<RegionCrops | null> {
    this.#latest = Math.max(this.#latest, frame.captureTime);
    if (inputSide === null || !isRaw(frame)) return Promise.resolve(null);
    const time = frame.captureTime;
    const found = this.#found !== null && this.#found.left > 0 ? this.#found : null;
    const lost = found === null ? this.#lostDue(time) : [];
    const sweep = found === null && lost.length === 0 ? this.#sweepDue(time) : null;
    if (found === null && lost.length === 0 && sweep === null) return Promise.resolve(null);
    const { width, height } = frame;
    const rgb = rgbOf(frame);
    const crops: RegionCrop[] = [];
    const whole = cutRgb(rgb, width, height, [0, 0, width, height], inputSide);
    if (whole !== null) crops.push({ ...whole, region: [0, 0, width, height] });
    // Centred on where they were, reaching past the frame's edges (filled grey): a person lying partly out of the
    // picture is seen at a whole person's scale. Marked `look`: the person handler answers it with its look.
    const lookAt = (region: PixelRegion | null): void => {
      const cut = region === null ? null : cutRgb(rgb, width, height, region, inputSide, LOOK_FILL);
      if (region === null || cut === null) return;
      crops.push({ ...cut, region, look: true });
      for (const turn of [90, -90] as const) crops.push({ ...turnRgb(cut.payload, cut.width, cut.height, turn), region, turn, look: true });
    };
    for (const person of lost) lookAt(lookAgainRegion(person.box, width, height, POSE_LOOK_MIN_SIDE, true));
    if (found !== null) {
      found.left--;
      lookAt(lookAgainRegion(found.box, width, height, POSE_LOOK_MIN_SIDE, true));
    }
    this.#tile = null;
    if (sweep !== null) {
      const tiles = sweepTiles(width, height, sweep.around, POSE_LOOK_MIN_SIDE);
      this.#tileCount = tiles.length;
      this.#tile = tiles[this.#sweepDone % Math.max(1, tiles.length)] ?? null;
      lookAt(this.#tile);
    }
    if (crops.length <= 1) return Promise.resolve(null);
    if (sweep === null) this.#looks++;
    else {
      this.#sweepLooks++;
      this.#sweepDone++;
      this.#sweepTimes.push(time);
    }
    this.#lookedAt = time;
    return Promise.resolve({ width, height, crops });
  }

  /**
   * A sweep's tile found someone (sweepFind: a detection centred in it, scored enough, a person at the tile's scale,
   * not on their feet): they are looked at on the next SWEEP_FOUND_LOOKS frames.
   */
  answered(crops: RegionCrops, detections: readonly Detection[]): void {
    const tile = this.#tile;
    this.#tile = null;
    if (tile === null) return;
    const inTile = detections.find((d) => sweepFind(d, tile, crops.width, crops.height));
    if (inTile !== undefined) this.#found = { box: inTile.bbox, left: SWEEP_FOUND_LOOKS };
  }

  called(crop: boolean): void {
    if (crop) this.#crops++;
    else this.#wholeCalls++;
  }

  stats(): SecondLookStats {
    return { looks: this.#looks, sweepLooks: this.#sweepLooks, crops: this.#crops, wholeCalls: this.#wholeCalls };
  }

  /** Whether a look is due at `time` (ms): at a person a sweep found, for someone lost, or a sweep's next tile. */
  #due(time: number): boolean {
    return (this.#found !== null && this.#found.left > 0) || this.#lostDue(time).length > 0 || this.#sweepDue(time) !== null;
  }

  /** The lost people to look at now (#looking, read each time: it forgets those found), when the latest look is LOOK_EVERY_SECONDS old; else none. */
  #lostDue(time: number): LostSighting[] {
    const looking = this.#looking(time);
    return time - this.#lookedAt < LOOK_EVERY_SECONDS * 1000 ? [] : looking;
  }

  /**
   * The sweep whose next tile is due at `time` (ms), or null: one is on, the latest look is SWEEP_EVERY_SECONDS old,
   * fewer than SWEEP_PER_MINUTE tiles in the latest minute, and a start's sweep has tiles left of its one round.
   */
  #sweepDue(time: number): SweepSighting | null {
    if (!Number.isFinite(time)) return null;
    const sweep = this.#sweep(time);
    if (sweep === null) return null;
    if (sweep.since !== this.#sweepSince) {
      this.#sweepSince = sweep.since;
      this.#sweepDone = 0;
    }
    while (this.#sweepTimes.length > 0 && time - this.#sweepTimes[0]! >= 60_000) this.#sweepTimes.shift();
    if (sweep.start && this.#sweepDone >= this.#tileCount) return null;
    if (time - this.#lookedAt < SWEEP_EVERY_SECONDS * 1000 || this.#sweepTimes.length >= SWEEP_PER_MINUTE) return null;
    return sweep;
  }

  /**
   * The lost people still looked for at `time` (ms), at most MAX_LOST: the last listed of those lost going down, then
   * the last listed of those lost inside the picture; forgets those no longer lost.
   */
  #looking(time: number): LostSighting[] {
    const lost = this.#lost();
    for (const id of this.#since.keys()) if (!lost.some((p) => p.id === id)) this.#since.delete(id);
    const out: LostSighting[] = [];
    for (const person of lost) {
      if (Number.isFinite(time) && !this.#since.has(person.id)) this.#since.set(person.id, time);
      const since = this.#since.get(person.id);
      if (since !== undefined && time - since > LOOK_SECONDS * 1000) continue;
      out.push(person);
    }
    const descents = out.filter((p) => p.why !== 'lost').slice(-MAX_LOST);
    const room = MAX_LOST - descents.length;
    return room > 0 ? [...descents, ...out.filter((p) => p.why === 'lost').slice(-room)] : descents;
  }
}
