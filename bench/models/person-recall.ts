/**
 * PERSON-RECALL: how often the person model finds the one person of each frame of the fall clips in
 * ../shared/data/falls (UP-Fall lateral, GMDCSA-24 subjects 1-2; read where they are, never copied), per what the
 * frame shows (bench/objects/fall-clips.ts: lying, sitting_low, sitting, falling, upright), by day and at night
 * (GMDCSA's S2 clips, low light), and small: a few clips shrunk to a quarter of their size on a grey picture of
 * the same size (the person under 80 px tall; `box_px_p50` says how tall what was found was), and what each
 * candidate costs (ms and CPU ms a frame, one intra-op thread, in this process).
 *
 * Frames: decoded by ffmpeg as rgb24 at the clip's own size, about 5 a second of falls and of GMDCSA's clips
 * (every 4th frame of UP-Fall's 18 fps, every 6th of 30, every 3rd of 15), 1 a second of UP-Fall's clips lying
 * throughout, one every 2 s of its long everyday clips; the small clips at half those rates.
 *
 * Candidates: MultiPose on the whole frame at 448 (today's), 512, 640 and 448 int8; and today's with a second look
 * (ADR 0169): on a frame where the whole frame finds nobody, the square around the last box found in the clip
 * (lookAgainRegion) cut at the look model's input and run as it is and turned a quarter either way, by MultiPose at
 * 448 or by MoveNet Lightning (192, the person found when the mean keypoint score is at least 0.3). A frame counts
 * found when at least one person is found; every frame has exactly one person, so `extra_per_frame` (more than one
 * found) is what a candidate finds that is not there, and each look is also run on a decoy square (the look's
 * square mirrored across the frame, where it does not overlap it) whose finds are `look_false_rate`.
 * `looks_by_turn` says which turns found the person on the looked frames.
 *
 * PERSON_RECALL_ONLY runs the candidates whose name contains one of its comma-separated parts; PERSON_RECALL_CLIPS
 * the clips whose file does.
 * Without the clips: one line saying so, nothing run.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PersonModel, type PersonDetection, type PersonModelOptions } from '../../src/models/person/person-model.js';
import { cutRgb, lookAgainRegion, turnBoxBack, turnRgb, TURNS, type NormalisedBox, type PixelRegion, type Turn } from '../../src/pictures/index.js';
import { DEFAULT_FALL_DATA, fallClips, frameState, type FallClip } from '../objects/fall-clips.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';
import { CropPose } from './crop-pose.js';

const run = promisify(execFile);
const LOOK_SIDE = 448;

interface Candidate {
  readonly name: string;
  readonly options: PersonModelOptions;
  /** The second look's model, or none. */
  readonly look?: 'multipose' | 'lightning';
}

const CANDIDATES: Candidate[] = [
  { name: 'multipose 448 (today)', options: {} },
  { name: 'multipose 512', options: { inputSize: 512 } },
  { name: 'multipose 640', options: { inputSize: 640 } },
  { name: 'multipose 448 int8', options: { precision: 'int8' } },
  { name: 'multipose 448 + look multipose', options: {}, look: 'multipose' },
  { name: 'multipose 448 + look lightning', options: {}, look: 'lightning' },
];

/** The frames of a clip to measure: every `every`th, optionally shrunk (small). */
interface Sampled {
  readonly clip: FallClip;
  readonly small: boolean;
  readonly every: number;
}

function everyOf(clip: FallClip): number {
  if (/whole clip/.test(clip.activity) && /lying/.test(clip.activity)) return Math.round(clip.fps);
  if (clip.source === 'UP-Fall' && !clip.isFall && clip.frames > 300) return Math.round(clip.fps * 2);
  return Math.max(1, Math.round(clip.fps / 5));
}

/** The clips shrunk for `small`: standing, walking, lying throughout, a fall's end on the floor, a walk at 720p. */
const SMALL = ['upfall_S1_A07_T1', 'upfall_S1_A06_T1', 'upfall_S1_A11_T1', 'upfall_S1_A02_T2', 'gmdcsa24_S1_adl_10'];

async function decode(dir: string, s: Sampled): Promise<Uint8Array[]> {
  const { clip } = s;
  const select = `select='not(mod(n\\,${s.every}))'`;
  const filter = s.small ? `${select},scale=iw/4:ih/4,pad=${clip.width}:${clip.height}:(ow-iw)/2:(oh-ih)/2:color=gray` : select;
  const { stdout } = await run(
    'ffmpeg',
    ['-v', 'error', '-i', join(dir, clip.file), '-vf', filter, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    {
      encoding: 'buffer',
      maxBuffer: 1024 * 1024 * 1024,
    },
  );
  const bytes = clip.width * clip.height * 3;
  const frames: Uint8Array[] = [];
  for (let i = 0; i + bytes <= stdout.byteLength; i += bytes) frames.push(new Uint8Array(stdout.buffer, stdout.byteOffset + i, bytes));
  return frames;
}

interface Tally {
  frames: number;
  found: number;
  extra: number;
  boxPx: number[];
}

interface Figures {
  readonly byCategory: Map<string, Tally>;
  ms: number;
  cpuMs: number;
  frames: number;
  looks: number;
  lookMs: number;
  lookCpuMs: number;
  lookFound: number;
  decoys: number;
  decoyFound: number;
  readonly byTurn: Record<string, number>;
}

const newFigures = (): Figures => ({
  byCategory: new Map(),
  ms: 0,
  cpuMs: 0,
  frames: 0,
  looks: 0,
  lookMs: 0,
  lookCpuMs: 0,
  lookFound: 0,
  decoys: 0,
  decoyFound: 0,
  byTurn: { '0': 0, '90': 0, '-90': 0 },
});

function tally(f: Figures, categories: readonly string[], found: number, boxPx: number | null): void {
  for (const c of categories) {
    let t = f.byCategory.get(c);
    if (t === undefined) f.byCategory.set(c, (t = { frames: 0, found: 0, extra: 0, boxPx: [] }));
    t.frames++;
    if (found > 0) t.found++;
    t.extra += Math.max(0, found - 1);
    if (boxPx !== null) t.boxPx.push(boxPx);
  }
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function timed<T>(f: Figures, what: 'frame' | 'look', call: () => Promise<T>): Promise<T> {
  const c0 = cpuNow();
  const t0 = performance.now();
  const out = await call();
  if (what === 'frame') {
    f.ms += performance.now() - t0;
    f.cpuMs += cpuNow() - c0;
  } else {
    f.lookMs += performance.now() - t0;
    f.lookCpuMs += cpuNow() - c0;
  }
  return out;
}

/** The second look on one square: each turn, by the look's model; which turns found someone, and the best box (frame 0–1). */
async function lookAt(
  look: 'multipose' | 'lightning',
  models: { crop: PersonModel | null; pose: CropPose | null },
  rgb: Uint8Array,
  width: number,
  height: number,
  region: PixelRegion,
): Promise<{ turns: Turn[]; box: NormalisedBox | null }> {
  const turns: Turn[] = [];
  let best: { score: number; box: NormalisedBox } | null = null;
  const toFrame = (b: NormalisedBox, turn: Turn): NormalisedBox => {
    const [x1, y1, x2, y2] = turnBoxBack(b, turn);
    return [
      (region[0] + x1 * region[2]) / width,
      (region[1] + y1 * region[3]) / height,
      (region[0] + x2 * region[2]) / width,
      (region[1] + y2 * region[3]) / height,
    ];
  };
  for (const turn of TURNS) {
    if (look === 'lightning') {
      const answer = await models.pose!.pose(rgb, width, height, region, turn);
      if (answer?.found === true && answer.box !== null) {
        turns.push(turn);
        if (best === null || answer.meanScore > best.score) best = { score: answer.meanScore, box: toFrame(answer.box, turn) };
      }
    } else {
      const cut = cutRgb(rgb, width, height, region, LOOK_SIDE);
      if (cut === null) continue;
      const turned = turnRgb(cut.payload, cut.width, cut.height, turn);
      const people: PersonDetection[] = await models.crop!.detect(turned.payload, turned.width, turned.height);
      const top = people[0];
      if (top !== undefined) {
        turns.push(turn);
        if (best === null || top.confidence > best.score) best = { score: top.confidence, box: toFrame(top.bbox, turn) };
      }
    }
  }
  return { turns, box: best?.box ?? null };
}

/** A square of the look's size that does not overlap it (mirrored across the frame: across, down, or both), or null where none fits. */
function decoyOf(region: PixelRegion, width: number, height: number): PixelRegion | null {
  const [left, top, w, h] = region;
  const across = width - left - w;
  const down = height - top - h;
  for (const [x, y] of [
    [across, top],
    [left, down],
    [across, down],
  ] as const) {
    if (Math.abs(x - left) >= w || Math.abs(y - top) >= h) return [x, y, w, h];
  }
  return null;
}

export async function personRecall(): Promise<void> {
  const dir = process.env.FALL_DATA ?? DEFAULT_FALL_DATA;
  if (!existsSync(join(dir, 'labels.csv'))) {
    log(`PERSON-RECALL: no clips at ${dir} (they live beside the checkout, in ../shared/data/falls, and never in it): nothing run`);
    emit({ workload: 'PERSON-RECALL', impl: 'framesupplier', missing: dir });
    return;
  }
  const only = process.env.PERSON_RECALL_ONLY;
  const clipFilter = process.env.PERSON_RECALL_CLIPS;
  const candidates = CANDIDATES.filter((c) => only === undefined || only.split(',').some((part) => c.name.includes(part)));
  const clips = fallClips(dir).filter((c) => clipFilter === undefined || clipFilter.split(',').some((part) => c.file.includes(part)));
  const sampled: Sampled[] = [
    ...clips.map((clip) => ({ clip, small: false, every: everyOf(clip) })),
    ...clips.filter((c) => SMALL.some((s) => c.file.includes(s))).map((clip) => ({ clip, small: true, every: everyOf(clip) * 2 })),
  ];
  const load0 = round(loadavg()[0]!, 2);
  const figures = new Map(candidates.map((c) => [c, newFigures()]));
  const models = new Map<Candidate, PersonModel>();
  for (const c of candidates) {
    const m = new PersonModel({ ...c.options, intraOpThreads: 1 });
    await m.load();
    models.set(c, m);
  }
  const lookModels = {
    crop: candidates.some((c) => c.look === 'multipose') ? new PersonModel({ intraOpThreads: 1 }) : null,
    pose: candidates.some((c) => c.look === 'lightning') ? await CropPose.open() : null,
  };
  await lookModels.crop?.load();
  try {
    for (const s of sampled) {
      const frames = await decode(dir, s);
      log(`PERSON-RECALL ${s.clip.file}${s.small ? ' (small)' : ''}: ${frames.length} frames`);
      for (const c of candidates) {
        const f = figures.get(c)!;
        const model = models.get(c)!;
        let last: NormalisedBox | null = null;
        for (const [i, rgb] of frames.entries()) {
          const t = (i * s.every) / s.clip.fps;
          const state = frameState(s.clip, t);
          const categories = s.small
            ? [`small_${state === 'lying' ? 'lying' : 'upright'}`]
            : [state, s.clip.night ? 'night' : 'day', `${state}_${s.clip.night ? 'night' : 'day'}`, `${state}_${s.clip.source}`, 'all'];
          const people = await timed(f, 'frame', () => model.detect(rgb, s.clip.width, s.clip.height));
          f.frames++;
          let found = people.length;
          let box: NormalisedBox | null = people[0]?.bbox ?? null;
          if (found === 0 && c.look !== undefined && last !== null) {
            const region = lookAgainRegion(last, s.clip.width, s.clip.height, c.look === 'lightning' ? 96 : LOOK_SIDE / 2);
            if (region !== null) {
              f.looks++;
              const seen = await timed(f, 'look', () => lookAt(c.look!, lookModels, rgb, s.clip.width, s.clip.height, region));
              for (const turn of seen.turns) f.byTurn[String(turn)]!++;
              if (seen.box !== null) {
                f.lookFound++;
                found = 1;
                box = seen.box;
              }
              const decoy = decoyOf(region, s.clip.width, s.clip.height);
              if (decoy !== null) {
                f.decoys++;
                if ((await lookAt(c.look, lookModels, rgb, s.clip.width, s.clip.height, decoy)).box !== null) f.decoyFound++;
              }
            }
          }
          if (box !== null) last = box;
          tally(f, categories, found, box === null ? null : (box[3] - box[1]) * s.clip.height);
        }
      }
    }
  } finally {
    for (const m of models.values()) await m.close();
    await lookModels.crop?.close();
    await lookModels.pose?.close();
  }
  const load = [load0, round(loadavg()[0]!, 2)];
  for (const c of candidates) {
    const f = figures.get(c)!;
    for (const [category, t] of [...f.byCategory].sort(([a], [b]) => a.localeCompare(b))) {
      const px = sortedCopy(t.boxPx);
      emit({
        workload: 'PERSON-RECALL',
        part: 'category',
        candidate: c.name,
        category,
        frames: t.frames,
        recall: round(t.found / t.frames, 3),
        extra_per_frame: round(t.extra / t.frames, 3),
        box_px_p50: px.length === 0 ? null : round(percentile(px, 50), 0),
      });
    }
    emit({
      workload: 'PERSON-RECALL',
      part: 'cost',
      candidate: c.name,
      frames: f.frames,
      ms_per_frame: round(f.ms / f.frames, 1),
      cpu_ms_per_frame: round(f.cpuMs / f.frames, 1),
      looks: f.looks,
      look_found: f.lookFound,
      look_ms: f.looks === 0 ? null : round(f.lookMs / f.looks, 1),
      look_cpu_ms: f.looks === 0 ? null : round(f.lookCpuMs / f.looks, 1),
      cpu_ms_per_frame_with_looks: round((f.cpuMs + f.lookCpuMs) / f.frames, 1),
      looks_by_turn: f.byTurn,
      decoys: f.decoys,
      look_false_rate: f.decoys === 0 ? null : round(f.decoyFound / f.decoys, 3),
      load_1m: load,
    });
  }
}
