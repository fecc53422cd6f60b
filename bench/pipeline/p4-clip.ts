/**
 * P4's cameras ("a quiet home", bench/README.md): per camera a looped clip made by ffmpeg, a
 * 1280×720 main stream and a 640×360 substream at 10 fps (libx264, a keyframe every 2 s, as cameras ship), and
 * beside it the clip's schedule: the ground truth the bench scores every implementation against.
 *
 * The scene: a still room with sensor noise (ffmpeg's temporal noise, then the encoder's flicker on it); one
 * sudden whole-picture change (lights on: +25 luma in one frame, eased back over 30 s later, too slowly to be
 * motion); one object crossing the picture in 6 s; one object walking in (4.5 s), standing still 34 s, and
 * walking out (4.5 s). Something moves 15 s of every 120: an eighth of the time. The objects are synthetic: dark
 * upright blocks (luma ~25 on a room of luma ≥ 100), not people; the bench's model finds them by their darkness.
 * Each camera's timeline is the same one turned by its own offset: every expression is periodic in the clip's
 * length, so the loop has no seam and events may straddle it.
 *
 * The edge scene (P4_SCENE=edge, issue 70 item 2: what outside testers saw): the same room and noise, no light change,
 * and every 12 s one dark square (96 px on main, luma ~57) sliding in from the frame's left edge at 32 px a frame,
 * across and out in 4.3 s: its first frame holds a 32 px sliver of it, as a person stepping in shows a shoulder.
 *
 * A camera-like on-screen display in the top-left corner carries the clip's frame number (11 bits as white and
 * black blocks, a camera's timestamp in kind): the model reads it, so each result says which clip frame it was
 * about, independently of capture timing. Motion detectors mask it, as users mask a camera's clock
 * (OSD_MASK_RECT).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { log } from '../stats.js';

const run = promisify(execFile);
const MEDIA = join(tmpdir(), 'framesupplier-bench-media');
/** Bumped whenever the scene changes, so cached clips of an older scene are not reused. */
const SCENE_VERSION = 1;

/** P4's scenes: `quiet`, the 120 s quiet home; `edge`, a square sliding in from the left edge every 12 s. */
export const P4_SCENES = ['quiet', 'edge'] as const;
export type P4Scene = (typeof P4_SCENES)[number];

export const P4_FPS = 10;
export const P4_PERIOD_S = 120;
export const MAIN = { width: 1280, height: 720 } as const;
export const SUB = { width: 640, height: 360 } as const;
/** Bits of the frame number on the display: 2^11 = 2 048 frames, more than a 120 s clip at 10 fps has. */
export const OSD_BITS = 11;
/** The display's block is this share of the width (16 px on the main stream, 8 on the substream), one block in from the corner. */
export const OSD_BLOCK_SHARE = 1 / 80;
/** The display's area with a margin, [x1, y1, x2, y2] in 0–1: motion detectors mask it. */
export const OSD_MASK_RECT = [0, 0, (OSD_BITS + 2) * OSD_BLOCK_SHARE * 1.15, (3 * OSD_BLOCK_SHARE * MAIN.width) / MAIN.height] as const;
/** Luma below this is the objects' (the room's darkest is ~110, the objects' ~16 and at most ~50 lit and noisy). */
export const DARK_LUMA = 70;

/** The base timeline, in seconds of a 120 s period (scaled for shorter clips). */
const BASE = {
  lightOn: 10,
  lightHoldUntil: 40,
  lightBackBy: 70,
  crossing: { from: 25, to: 31 },
  walker: { from: 45, arrived: 49.5, leaves: 83.5, gone: 88 },
} as const;
const LIGHT_BRIGHTNESS = 0.1;

/** An object's geometry on the main stream (pixels). */
const CROSSING = { w: 64, h: 160, y: 400 } as const;
const WALKER = { w: 96, h: 256, y: 360, standX: 760 } as const;
/**
 * The edge scene's square (main pixels, seconds of its 12 s period): it steps in at `enters` from beyond the left
 * edge, `speed` pixels a second, out at the right; luma ~57 (RGB 48), dark enough for the bench's model.
 */
export const EDGE = { periodS: 12, enters: 4, side: 96, y: 300, speed: 320, color: '0x303030' } as const;

export interface ScheduledObject {
  readonly id: 'crossing' | 'walker' | 'square';
  /** Base frames (the timeline before the camera's offset) of the first and last frame it is in the picture. */
  readonly firstFrame: number;
  readonly lastFrame: number;
  /** Base frames it moves in (a walker stands between its two spells). */
  readonly moving: readonly (readonly [number, number])[];
}

/** A camera's clip and its ground truth. Clip frame f is base frame (f − offsetFrames) mod frames. */
export interface P4Schedule {
  readonly version: number;
  readonly scene: P4Scene;
  readonly fps: number;
  readonly seconds: number;
  readonly frames: number;
  readonly offsetFrames: number;
  /** Base frame of the sudden light change (the first frame lit); null in a scene without one. */
  readonly lightFrame: number | null;
  readonly objects: readonly ScheduledObject[];
  /** Share of the frames in which something moves. */
  readonly movingShare: number;
  readonly main: string;
  readonly sub: string;
}

/** Camera i's offset: an eighth of a period apart, shuffled (7 is prime to 16), so neighbours differ by 52.5 s. */
export function offsetSeconds(camera: number, seconds = P4_PERIOD_S): number {
  return (((camera * 7) % 16) * seconds) / 16;
}

/** Where the crossing object's left edge is at base time u (seconds), or null when it is not drawn. */
function crossingX(u: number, k: number): number | null {
  const { from, to } = BASE.crossing;
  if (u < from * k || u > to * k) return null;
  return -CROSSING.w + ((u - from * k) / ((to - from) * k)) * (MAIN.width + CROSSING.w);
}

function walkerX(u: number, k: number): number | null {
  const { from, arrived, leaves, gone } = BASE.walker;
  const span = MAIN.width - WALKER.standX;
  if (u < from * k || u > gone * k) return null;
  if (u < arrived * k) return MAIN.width - ((u - from * k) / ((arrived - from) * k)) * span;
  if (u <= leaves * k) return WALKER.standX;
  return WALKER.standX + ((u - leaves * k) / ((gone - leaves) * k)) * span;
}

/** Where the edge scene's square's left edge is at base time u (seconds), or null when it is not drawn. */
function squareX(u: number): number | null {
  if (u < EDGE.enters || u > EDGE.enters + (MAIN.width + EDGE.side) / EDGE.speed) return null;
  return -EDGE.side + (u - EDGE.enters) * EDGE.speed;
}

/**
 * The first and last frame (of `frames`) an object of width `w` whose left edge is at x(u) holds a pixel of the
 * main picture: its onset is the first frame any pixel of it is drawn, however thin the sliver at the edge.
 */
function visibleFrames(frames: number, x: (u: number) => number | null, w: number): [number, number] {
  let first = -1;
  let last = -1;
  for (let f = 0; f < frames; f++) {
    const left = x(f / P4_FPS);
    if (left === null || left >= MAIN.width || left + w <= 0) continue;
    if (first < 0) first = f;
    last = f;
  }
  return [first, last];
}

/** The edge scene's ground truth: a clip of one 12 s period turned by `offset` seconds. */
export function edgeSchedule(offset: number): Omit<P4Schedule, 'main' | 'sub'> {
  const frames = Math.round(EDGE.periodS * P4_FPS);
  const [first, last] = visibleFrames(frames, squareX, EDGE.side);
  return {
    version: SCENE_VERSION,
    scene: 'edge',
    fps: P4_FPS,
    seconds: EDGE.periodS,
    frames,
    offsetFrames: Math.round(offset * P4_FPS) % frames,
    lightFrame: null,
    objects: [{ id: 'square', firstFrame: first, lastFrame: last, moving: [[first, last]] }],
    movingShare: (last - first + 1) / frames,
  };
}

/** The ground truth of a clip of `seconds` (the 120 s timeline scaled to it) turned by `offset` seconds. */
export function p4Schedule(seconds: number, offset: number): Omit<P4Schedule, 'main' | 'sub'> {
  const frames = Math.round(seconds * P4_FPS);
  const k = seconds / P4_PERIOD_S;
  const offsetFrames = Math.round(offset * P4_FPS) % frames;
  const visible = (x: (u: number, k: number) => number | null, w: number): [number, number] => visibleFrames(frames, (u) => x(u, k), w);
  const [cFirst, cLast] = visible(crossingX, CROSSING.w);
  const [wFirst, wLast] = visible(walkerX, WALKER.w);
  const arrived = Math.round(BASE.walker.arrived * k * P4_FPS);
  const leaves = Math.round(BASE.walker.leaves * k * P4_FPS);
  const objects: ScheduledObject[] = [
    { id: 'crossing', firstFrame: cFirst, lastFrame: cLast, moving: [[cFirst, cLast]] },
    {
      id: 'walker',
      firstFrame: wFirst,
      lastFrame: wLast,
      moving: [
        [wFirst, arrived],
        [leaves, wLast],
      ],
    },
  ];
  const movingFrames = objects.reduce((n, o) => n + o.moving.reduce((m, [a, b]) => m + b - a + 1, 0), 0);
  return {
    version: SCENE_VERSION,
    scene: 'quiet',
    fps: P4_FPS,
    seconds,
    frames,
    offsetFrames,
    lightFrame: Math.round(BASE.lightOn * k * P4_FPS),
    objects,
    movingShare: movingFrames / frames,
  };
}

/** Base frame of clip frame f. */
export const baseFrame = (s: Pick<P4Schedule, 'frames' | 'offsetFrames'>, clipFrame: number): number =>
  (((clipFrame - s.offsetFrames) % s.frames) + s.frames) % s.frames;

/** The object in the picture at clip frame f, or null (one at a time, by construction). */
export function objectAt(s: Pick<P4Schedule, 'frames' | 'offsetFrames' | 'objects'>, clipFrame: number): ScheduledObject | null {
  const b = baseFrame(s, clipFrame);
  return s.objects.find((o) => o.firstFrame <= b && b <= o.lastFrame) ?? null;
}

/** ffmpeg's filter graph for the scene: the background, the objects, the light, the noise, the display. */
export function sceneFilter(seconds: number, offset: number): string {
  const k = seconds / P4_PERIOD_S;
  // u: base time of the clip's time t (periodic in the clip's length: the loop has no seam).
  const u = `mod(t+${seconds - offset},${seconds})`;
  const between = (a: number, b: number): string => `between(${u},${a * k},${b * k})`;
  const c = BASE.crossing;
  const w = BASE.walker;
  const span = MAIN.width - WALKER.standX;
  const crossingXExpr = `-${CROSSING.w}+(${u}-${c.from * k})/${(c.to - c.from) * k}*${MAIN.width + CROSSING.w}`;
  const walkerXExpr =
    `if(lt(${u},${w.arrived * k}),${MAIN.width}-(${u}-${w.from * k})/${(w.arrived - w.from) * k}*${span},` +
    `if(lte(${u},${w.leaves * k}),${WALKER.standX},${WALKER.standX}+(${u}-${w.leaves * k})/${(w.gone - w.leaves) * k}*${span}))`;
  const light =
    `if(lt(${u},${BASE.lightOn * k}),0,if(lt(${u},${BASE.lightHoldUntil * k}),${LIGHT_BRIGHTNESS},` +
    `if(lt(${u},${BASE.lightBackBy * k}),${LIGHT_BRIGHTNESS}*(1-(${u}-${BASE.lightHoldUntil * k})/${(BASE.lightBackBy - BASE.lightHoldUntil) * k}),0)))`;
  return [
    room(seconds),
    `color=c=black:s=${CROSSING.w}x${CROSSING.h}:r=${P4_FPS}:d=${seconds}[crosser]`,
    `color=c=black:s=${WALKER.w}x${WALKER.h}:r=${P4_FPS}:d=${seconds}[walker]`,
    `[room][crosser]overlay=x='${crossingXExpr}':y=${CROSSING.y}:eval=frame:enable='${between(c.from, c.to)}'[a]`,
    `[a][walker]overlay=x='${walkerXExpr}':y=${WALKER.y}:eval=frame:enable='${between(w.from, w.gone)}'[b]`,
    `[b]eq=brightness='${light}':eval=frame,${noiseAndDisplay()}`,
  ].join(';');
}

/** The edge scene's filter graph: the room, the square sliding in from the left edge, the noise, the display. */
export function edgeFilter(offset: number): string {
  const seconds = EDGE.periodS;
  const u = `mod(t+${seconds - offset},${seconds})`;
  const out = EDGE.enters + (MAIN.width + EDGE.side) / EDGE.speed;
  return [
    room(seconds),
    `color=c=${EDGE.color}:s=${EDGE.side}x${EDGE.side}:r=${P4_FPS}:d=${seconds}[square]`,
    `[room][square]overlay=x='-${EDGE.side}+(${u}-${EDGE.enters})*${EDGE.speed}':y=${EDGE.y}:eval=frame:enable='between(${u},${EDGE.enters},${out})'[b]`,
    `[b]${noiseAndDisplay()}`,
  ].join(';');
}

/** The room, `[room]`: walls, a floor, a window, a sofa, a door (luma ≥ 100 everywhere). */
function room(seconds: number): string {
  return (
    `color=c=0x8c8c8c:s=${MAIN.width}x${MAIN.height}:r=${P4_FPS}:d=${seconds}[room0];` +
    `[room0]drawbox=x=0:y=520:w=${MAIN.width}:h=200:color=0xa8a4a0:t=fill,drawbox=x=880:y=90:w=260:h=190:color=0xd8dce0:t=fill,` +
    `drawbox=x=120:y=420:w=320:h=130:color=0x7a746e:t=fill,drawbox=x=540:y=230:w=120:h=290:color=0x9a8a78:t=fill[room]`
  );
}

/** The sensor's noise and the on-screen display on the picture, split into `[main]` and the substream's `[sub]`. */
function noiseAndDisplay(): string {
  const block = MAIN.width * OSD_BLOCK_SHARE;
  const osd = [
    `drawbox=x=${block}:y=${block}:w=${OSD_BITS * block}:h=${block}:color=black:t=fill`,
    ...Array.from(
      { length: OSD_BITS },
      (_, i) => `drawbox=x=${block * (i + 1)}:y=${block}:w=${block}:h=${block}:color=white:t=fill:enable='mod(floor(n/${2 ** i}),2)'`,
    ),
  ];
  return `noise=alls=8:allf=t,${osd.join(',')},format=yuv420p,split[main][s];[s]scale=${SUB.width}:${SUB.height}[sub]`;
}

/** Runs a scene's filter graph (both pictures) through ffmpeg: the main picture to `mainOut`, the substream's to `subOut`. */
async function encodeScene(filter: string, mainOut: readonly string[], subOut: readonly string[]): Promise<void> {
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-filter_complex', filter, '-map', '[main]', ...mainOut, '-map', '[sub]', ...subOut];
  await run('ffmpeg', args, { maxBuffer: 1 << 24 });
}

/**
 * Camera i's clip (main and sub) and its schedule, made once and cached beside the other bench media. `mainKbps`
 * caps the main stream's bitrate as a camera's encoder does (its VBV: `-maxrate`, a buffer of two seconds' worth),
 * in a main file of its own beside the uncapped one; the substream and the schedule are the same either way.
 */
export async function p4Clip(
  camera: number,
  seconds = P4_PERIOD_S,
  dir = MEDIA,
  mainKbps: number | null = null,
  scene: P4Scene = 'quiet',
): Promise<P4Schedule> {
  mkdirSync(dir, { recursive: true });
  // The edge scene's clip is its 12 s period, whatever `seconds` says.
  const length = scene === 'edge' ? EDGE.periodS : seconds;
  // The edge scene's offsets (twelve-sixteenths of a second apart) in whole frames, so its schedule is the clip's.
  const offset = scene === 'edge' ? Math.round(offsetSeconds(camera, length) * P4_FPS) / P4_FPS : offsetSeconds(camera, length);
  const stem = join(dir, `p4${scene === 'edge' ? '-edge' : ''}-v${SCENE_VERSION}-${length}s-off${offset.toFixed(scene === 'edge' ? 2 : 1)}`);
  const schedule = scene === 'edge' ? edgeSchedule(offset) : p4Schedule(length, offset);
  const filter = scene === 'edge' ? edgeFilter(offset) : sceneFilter(length, offset);
  const uncapped: P4Schedule = { ...schedule, main: `${stem}-main.mp4`, sub: `${stem}-sub.mp4` };
  const scheduleFile = `${stem}.schedule.json`;
  // A keyframe every 2 s and only then (no scene-cut keyframe at the light change), as cameras send.
  const encode = ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(2 * P4_FPS), '-sc_threshold', '0', '-pix_fmt', 'yuv420p'];
  if (!existsSync(uncapped.main) || !existsSync(uncapped.sub) || !existsSync(scheduleFile)) {
    log(`making P4's ${scene} clip for offset ${offset} s (${length} s, 1280x720 + 640x360 at ${P4_FPS} fps) with libx264 ultrafast`);
    // Partial files of this process's own: two benches making the same clip at once (the media folder is shared) each
    // finish theirs, and the second rename replaces the first's same file.
    const [mainPart, subPart] = [`${stem}-main.partial-${process.pid}.mp4`, `${stem}-sub.partial-${process.pid}.mp4`];
    await encodeScene(filter, [...encode, mainPart], [...encode, subPart]);
    renameSync(mainPart, uncapped.main);
    renameSync(subPart, uncapped.sub);
    writeFileSync(scheduleFile, `${JSON.stringify(uncapped, null, 2)}\n`);
  }
  if (mainKbps === null) return uncapped;
  if (!(Number.isInteger(mainKbps) && mainKbps >= 100 && mainKbps <= 100_000))
    throw new Error(`P4: a main stream's bitrate cap must be 100-100000 kbit/s (got ${mainKbps})`);
  const capped: P4Schedule = { ...uncapped, main: `${stem}-main-${mainKbps}k.mp4` };
  if (!existsSync(capped.main)) {
    log(`making P4's main stream for offset ${offset} s capped at ${mainKbps} kbit/s`);
    const part = `${stem}-main-${mainKbps}k.partial-${process.pid}.mp4`;
    const cap = ['-maxrate', `${mainKbps}k`, '-bufsize', `${2 * mainKbps}k`];
    // The substream's picture is thrown away: it is the uncapped clip's, unchanged.
    await encodeScene(filter, [...encode, ...cap, part], ['-f', 'null', '-']);
    renameSync(part, capped.main);
  }
  return capped;
}

/** The clip frame a frame's display says (its luma plane, width × height), or null when it cannot be read. */
export function readOsd(luma: Uint8Array, width: number, height: number): number | null {
  const block = width * OSD_BLOCK_SHARE;
  const y = Math.round(block * 1.5);
  if (y >= height) return null;
  let n = 0;
  for (let i = 0; i < OSD_BITS; i++) {
    const x = Math.round(block * (i + 1.5));
    const v = luma[y * width + x]!;
    if (v > 160) n |= 1 << i;
    else if (v > 60) return null; // neither black nor white: not a display
  }
  return n;
}

/**
 * The box [x1, y1, x2, y2] (0–1) of the dark pixels outside the display, and their count. `osd` false: a crop of the
 * picture, where the display's corner is not the crop's.
 */
export function darkBox(
  luma: Uint8Array,
  width: number,
  height: number,
  minPixels = 20,
  osd = true,
): { box: [number, number, number, number]; pixels: number } | null {
  const osdRight = osd ? Math.ceil(OSD_MASK_RECT[2] * width) : 0;
  const osdBottom = osd ? Math.ceil(OSD_MASK_RECT[3] * height) : 0;
  let [x1, y1, x2, y2, n] = [width, height, -1, -1, 0];
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = y < osdBottom ? osdRight : 0; x < width; x++) {
      if (luma[row + x]! >= DARK_LUMA) continue;
      n++;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
    }
  }
  return n < minPixels ? null : { box: [x1 / width, y1 / height, (x2 + 1) / width, (y2 + 1) / height], pixels: n };
}
