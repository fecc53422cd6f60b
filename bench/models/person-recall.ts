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
 * Dark: a few clips made dark as a dim room's camera sees them (luma scaled to 0.3, grey, sensor noise; `dark_*`),
 * at the clips' own rate, where the low-light curve (src/pictures' low-light.ts, ADR 0186) has something to do;
 * `low_light_share` says on how many frames of each category the curve would act. Grey: the same clips without
 * colour at their own brightness (`grey_*`), as an infrared camera's night picture is (a lit room in monochrome):
 * what colour alone is worth to the person model, apart from the dark.
 *
 * Candidates: MultiPose on the whole frame at 448 (today's), 512, 640 and 448 int8, and 448 with the low-light
 * curve; and 448 with a second look (ADR 0169, 0186): on a frame where the whole frame finds nobody, the square
 * around the last box found in the clip (lookAgainRegion, `reach`: past the frame's edges, filled grey) cut at 448
 * as the shipped SecondLook cuts it, run as it is and turned a quarter either way, by MultiPose at 448, by the
 * shipped LookPose (MoveNet Thunder or Lightning; a person when the mean keypoint score is at least the network's
 * rule, LOOK_NETWORKS), by LookPose's Lightning then MultiPose where it finds nobody, or by a network not shipped,
 * run in TF.js (tfjs-look-pose.ts: Thunder before its conversion, BlazePose full alone and gated by its
 * detector's score). A frame counts found when at least one person is found;
 * every frame has exactly one person, so `extra_per_frame` (more than one found) is what a candidate finds that
 * is not there. Decoys: on every DECOY_EVERY-th frame whose whole frame found its one person, squares where that
 * person is not (a quarter to 0.6 of the frame's short side, on a grid, clear of their box grown by a quarter), up
 * to DECOYS_PER_FRAME a frame, each looked at as a look would be: `look_false_rate` is the share where the look
 * found someone. Each pose look's found rule is swept (`part: 'rule'`): recall and decoy finds for each threshold.
 * `looks_by_turn` says which turns found the person on the looked frames. `+ worker look: ...` (ADR 0189): the look as
 * a fall worker plays it (person-recall-worker.ts: the shipped SecondLook fed by the tracker, the fall rule and
 * LookFor; `descent` as before ADR 0189, `inside` also after any loss inside the picture, `inside+sweep` and the
 * sweep): a look only when the worker would make one (at most once a second, 10 s a person), so a frame between
 * looks that the whole frame missed counts missed; `looks_per_hour` over the clips' seconds, `sweeps` its tiles.
 *
 * PERSON_RECALL_ONLY runs the candidates whose name ends with one of its comma-separated parts; PERSON_RECALL_CLIPS
 * the clips whose file does; PERSON_RECALL_KINDS the kinds of frames (`as is`, `small`, `dark`, `grey`) it names.
 * Without the clips: one line saying so, nothing run.
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PersonModel, type PersonDetection, type PersonModelOptions } from '../../src/models/person/person-model.js';
import { LOOK_NETWORKS, LookPose, type LookNetwork } from '../../src/models/person/look-pose.js';
import {
  cutRgb,
  isLowLight,
  lookAgainRegion,
  lumaSpread,
  turnBoxBack,
  turnRgb,
  TURNS,
  type NormalisedBox,
  type PixelRegion,
  type Turn,
} from '../../src/pictures/index.js';
import { LOOK_FILL, POSE_LOOK_MIN_SIDE } from '../../src/pipeline/camera/second-look.js';
import { BLAZEPOSE_MIN_FLAG, DetectorGatedLook, TfjsLookPose } from './tfjs-look-pose.js';
import { WorkerPlay, type Trigger } from './person-recall-worker.js';
import { fallDataOf, fallClips, frameState, type FallClip } from '../objects/fall-clips.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';

const run = promisify(execFile);
const LOOK_SIDE = 448;

/** The look's network: MultiPose; a pose network alone (LookPose's Lightning; Thunder and BlazePose full in TF.js); Lightning then MultiPose. */
type Look = 'multipose' | PoseLook | 'lightning+multipose';
type PoseLook = LookNetwork | 'thunder tfjs' | 'blazepose tfjs' | 'blazepose+detector';
const POSE_LOOKS: readonly PoseLook[] = ['lightning', 'thunder', 'thunder tfjs', 'blazepose tfjs', 'blazepose+detector'];
const isPoseLook = (look: Look | undefined): look is PoseLook => POSE_LOOKS.includes(look as PoseLook);
/** Each pose look's found rule as it runs (the sweep gives the others): LookPose's, and a first guess for the TF.js ones. */
const POSE_RULE: Record<PoseLook, number> = {
  lightning: LOOK_NETWORKS.lightning.minScore,
  thunder: LOOK_NETWORKS.thunder.minScore,
  'thunder tfjs': LOOK_NETWORKS.thunder.minScore,
  'blazepose tfjs': BLAZEPOSE_MIN_FLAG,
  'blazepose+detector': BLAZEPOSE_MIN_FLAG,
};

interface Candidate {
  readonly name: string;
  readonly options: PersonModelOptions;
  /** The second look's model, or none. */
  readonly look?: Look;
  /** The look's square may reach past the frame's edges, filled grey (ADR 0186); else shifted inside. */
  readonly reach?: boolean;
  /** The look played as the worker plays it (person-recall-worker.ts, ADR 0189): when it looks, and where. */
  readonly worker?: Trigger;
}

const CANDIDATES: Candidate[] = [
  { name: 'multipose 448 (today)', options: {} },
  { name: 'multipose 512', options: { inputSize: 512 } },
  { name: 'multipose 640', options: { inputSize: 640 } },
  { name: 'multipose 448 int8', options: { precision: 'int8' } },
  { name: 'multipose 448 lowlight', options: { lowLight: true } },
  { name: 'multipose 448 + look multipose', options: {}, look: 'multipose' },
  { name: 'multipose 448 + look lightning', options: {}, look: 'lightning' },
  { name: 'multipose 448 + look lightning reach', options: {}, look: 'lightning', reach: true },
  { name: 'multipose 448 + look lightning+multipose reach', options: {}, look: 'lightning+multipose', reach: true },
  { name: 'multipose 448 lowlight + look lightning reach', options: { lowLight: true }, look: 'lightning', reach: true },
  { name: 'multipose 448 + look thunder reach', options: {}, look: 'thunder', reach: true },
  { name: 'multipose 448 + look blazepose+detector reach', options: {}, look: 'blazepose+detector', reach: true },
  { name: 'multipose 448 + look thunder tfjs reach', options: {}, look: 'thunder tfjs', reach: true },
  { name: 'multipose 448 + look blazepose tfjs reach', options: {}, look: 'blazepose tfjs', reach: true },
  { name: 'multipose 448 + worker look: descent', options: {}, look: 'lightning', reach: true, worker: 'descent' },
  { name: 'multipose 448 + worker look: inside', options: {}, look: 'lightning', reach: true, worker: 'inside' },
  { name: 'multipose 448 + worker look: inside+sweep', options: {}, look: 'lightning', reach: true, worker: 'inside+sweep' },
];

/**
 * Decoy squares are cut on every this-many-th frame whose whole frame found its person (MultiPose looks: 4 times
 * fewer); PERSON_RECALL_DECOY_EVERY sets it (the TF.js looks are slow).
 */
const DECOY_EVERY = Number(process.env.PERSON_RECALL_DECOY_EVERY ?? 4);
/** The found rules swept for the pose looks (mean keypoint score; BlazePose's pose flag). */
const RULES = [0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9];

/** The frames of a clip to measure: every `every`th, optionally shrunk (small). */
interface Sampled {
  readonly clip: FallClip;
  readonly kind: 'as is' | 'small' | 'dark' | 'grey';
  readonly every: number;
}

function everyOf(clip: FallClip): number {
  if (/whole clip/.test(clip.activity) && /lying/.test(clip.activity)) return Math.round(clip.fps);
  if (clip.source === 'UP-Fall' && !clip.isFall && clip.frames > 300) return Math.round(clip.fps * 2);
  return Math.max(1, Math.round(clip.fps / 5));
}

/** The clips shrunk for `small`: standing, walking, lying throughout, a fall's end on the floor, a walk at 720p. */
const SMALL = ['upfall_S1_A07_T1', 'upfall_S1_A06_T1', 'upfall_S1_A11_T1', 'upfall_S1_A02_T2', 'gmdcsa24_S1_adl_10'];
/** The clips made dark for `dark`: lying throughout, two falls, a fall from a chair, a walk at 720p. */
const DARK = ['upfall_S1_A11_T2', 'upfall_S1_A01_T2', 'upfall_S1_A04_T1', 'gmdcsa24_S1_fall_15', 'gmdcsa24_S1_adl_16'];
/** A dim room: luma to 0.3 of itself, no colour (a camera's night mode), and sensor noise (the same seed each run). */
const DARKEN = `format=yuv420p,lutyuv=y=val*0.3:u=128:v=128,noise=alls=6:allf=t:all_seed=7`;
/** Monochrome at the picture's own brightness: an infrared night picture of a lit room (no noise, no dimming). */
const GREY = `format=yuv420p,lutyuv=u=128:v=128`;

async function decode(dir: string, s: Sampled): Promise<Uint8Array[]> {
  const { clip } = s;
  const select = `select='not(mod(n\\,${s.every}))'`;
  const filter =
    s.kind === 'small'
      ? `${select},scale=iw/4:ih/4,pad=${clip.width}:${clip.height}:(ow-iw)/2:(oh-ih)/2:color=gray`
      : s.kind === 'dark'
        ? `${select},${DARKEN}`
        : s.kind === 'grey'
          ? `${select},${GREY}`
          : select;
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
  lowLight: number;
  boxPx: number[];
  /** Per frame the whole frame missed and a pose look looked at: the look's best mean keypoint score. */
  lookScores: number[];
}

interface Figures {
  readonly byCategory: Map<string, Tally>;
  ms: number;
  cpuMs: number;
  frames: number;
  looks: number;
  /** Of the looks, a sweep's tiles (worker play), and the LookPose calls of the worker play's squares. */
  sweeps: number;
  poseCalls: number;
  /** Seconds of the clips the frames span (looks an hour). */
  seconds: number;
  lookMs: number;
  lookCpuMs: number;
  lookFound: number;
  decoys: number;
  decoyFound: number;
  /** The best mean keypoint score of LookPose on each decoy. */
  readonly decoyScores: number[];
  readonly byTurn: Record<string, number>;
}

const newFigures = (): Figures => ({
  byCategory: new Map(),
  ms: 0,
  cpuMs: 0,
  frames: 0,
  looks: 0,
  sweeps: 0,
  poseCalls: 0,
  seconds: 0,
  lookMs: 0,
  lookCpuMs: 0,
  lookFound: 0,
  decoys: 0,
  decoyFound: 0,
  decoyScores: [],
  byTurn: { '0': 0, '90': 0, '-90': 0 },
});

function tally(f: Figures, categories: readonly string[], found: number, boxPx: number | null, lowLight: boolean, lookScore: number | null): void {
  for (const c of categories) {
    let t = f.byCategory.get(c);
    if (t === undefined) f.byCategory.set(c, (t = { frames: 0, found: 0, extra: 0, lowLight: 0, boxPx: [], lookScores: [] }));
    t.frames++;
    if (found > 0) t.found++;
    t.extra += Math.max(0, found - 1);
    if (lowLight) t.lowLight++;
    if (boxPx !== null) t.boxPx.push(boxPx);
    if (lookScore !== null) t.lookScores.push(lookScore);
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

/** What a pose look is: LookPose, or a TF.js network in its place. */
type PoseModel = Pick<LookPose, 'detect' | 'lastMeanScore' | 'close'>;

interface LookModels {
  readonly crop: PersonModel | null;
  readonly poses: Map<PoseLook, PoseModel>;
}

/** What a look found on one square: which turns found someone, the best box (frame 0–1), and LookPose's best mean score (null: not run). */
interface Seen {
  readonly turns: Turn[];
  readonly box: NormalisedBox | null;
  readonly poseScore: number | null;
}

/**
 * The second look on one square, as the shipped SecondLook cuts it (at 448, reaching past the edges when `reach`)
 * and the handler answers it: each turn by LookPose and/or MultiPose (`lightning+multipose`: MultiPose only where
 * LookPose found nobody on any turn).
 */
async function lookAt(look: Look, models: LookModels, rgb: Uint8Array, width: number, height: number, region: PixelRegion, reach: boolean): Promise<Seen> {
  const cut = cutRgb(rgb, width, height, region, LOOK_SIDE, reach ? LOOK_FILL : undefined);
  if (cut === null) return { turns: [], box: null, poseScore: null };
  const turned = TURNS.map((turn) => ({ turn, ...turnRgb(cut.payload, cut.width, cut.height, turn) }));
  const toFrame = (b: NormalisedBox, turn: Turn): NormalisedBox => {
    const [x1, y1, x2, y2] = turnBoxBack(b, turn);
    return [
      (region[0] + x1 * region[2]) / width,
      (region[1] + y1 * region[3]) / height,
      (region[0] + x2 * region[2]) / width,
      (region[1] + y2 * region[3]) / height,
    ];
  };
  const by = async (model: PersonModel | PoseModel): Promise<{ turns: Turn[]; box: NormalisedBox | null; score: number }> => {
    const turns: Turn[] = [];
    let best: { score: number; box: NormalisedBox } | null = null;
    let poseScore = 0;
    for (const t of turned) {
      const top: PersonDetection | undefined = (await model.detect(t.payload, t.width, t.height))[0];
      if (!(model instanceof PersonModel)) poseScore = Math.max(poseScore, model.lastMeanScore);
      if (top === undefined) continue;
      turns.push(t.turn);
      if (best === null || top.confidence > best.score) best = { score: top.confidence, box: toFrame(top.bbox, t.turn) };
    }
    return { turns, box: best?.box ?? null, score: poseScore };
  };
  if (look === 'multipose') {
    const m = await by(models.crop!);
    return { turns: m.turns, box: m.box, poseScore: null };
  }
  const p = await by(models.poses.get(look === 'lightning+multipose' ? 'lightning' : look)!);
  if (p.box !== null || look !== 'lightning+multipose') return { turns: p.turns, box: p.box, poseScore: p.score };
  const m = await by(models.crop!);
  return { turns: m.turns, box: m.box, poseScore: p.score };
}

/** Decoy squares' sides, as a fraction of the frame's short side (a small person's look to a large one's). */
const DECOY_SIDES = [0.25, 0.4, 0.6];
/** Decoys a frame gives at most. */
const DECOYS_PER_FRAME = 4;

/**
 * Squares where the frame's one person (`box`, 0–1) is not: of DECOY_SIDES, on a grid of half a side, clear of
 * their box grown by a quarter each side, up to DECOYS_PER_FRAME spread over the ones there are (`turn` picks
 * which, frame after frame).
 */
function decoysOf(box: NormalisedBox, width: number, height: number, turn: number): PixelRegion[] {
  const grownW = (box[2] - box[0]) * width * 0.25;
  const grownH = (box[3] - box[1]) * height * 0.25;
  const clear = [box[0] * width - grownW, box[1] * height - grownH, box[2] * width + grownW, box[3] * height + grownH];
  const all: PixelRegion[] = [];
  for (const share of DECOY_SIDES) {
    const side = Math.round(share * Math.min(width, height));
    const step = Math.round(side / 2);
    for (let y = 0; y + side <= height; y += step)
      for (let x = 0; x + side <= width; x += step)
        if (x + side <= clear[0]! || x >= clear[2]! || y + side <= clear[1]! || y >= clear[3]!) all.push([x, y, side, side]);
  }
  const out: PixelRegion[] = [];
  const every = Math.max(1, Math.floor(all.length / DECOYS_PER_FRAME));
  for (let i = turn % every; i < all.length && out.length < DECOYS_PER_FRAME; i += every) out.push(all[i]!);
  return out;
}

export async function personRecall(): Promise<void> {
  const dir = fallDataOf('PERSON-RECALL');
  if (dir === null) return;
  const only = process.env.PERSON_RECALL_ONLY;
  const clipFilter = process.env.PERSON_RECALL_CLIPS;
  const kinds = process.env.PERSON_RECALL_KINDS;
  // A name that is another's start (`+ look lightning` of `+ look lightning reach`) is matched whole.
  const candidates = CANDIDATES.filter((c) => only === undefined || only.split(',').some((part) => c.name === part || c.name.endsWith(part)));
  const clips = fallClips(dir).filter((c) => clipFilter === undefined || clipFilter.split(',').some((part) => c.file.includes(part)));
  const sampled: Sampled[] = [
    ...clips.map((clip) => ({ clip, kind: 'as is' as const, every: everyOf(clip) })),
    ...clips.filter((c) => SMALL.some((s) => c.file.includes(s))).map((clip) => ({ clip, kind: 'small' as const, every: everyOf(clip) * 2 })),
    ...clips.filter((c) => DARK.some((s) => c.file.includes(s))).map((clip) => ({ clip, kind: 'dark' as const, every: everyOf(clip) })),
    ...clips.filter((c) => DARK.some((s) => c.file.includes(s))).map((clip) => ({ clip, kind: 'grey' as const, every: everyOf(clip) })),
  ].filter((s) => kinds === undefined || kinds.split(',').includes(s.kind));
  const load0 = round(loadavg()[0]!, 2);
  const figures = new Map(candidates.map((c) => [c, newFigures()]));
  const models = new Map<Candidate, PersonModel>();
  for (const c of candidates) {
    const m = new PersonModel({ ...c.options, intraOpThreads: 1 });
    await m.load();
    models.set(c, m);
  }
  const lowLightLook = candidates.some((c) => c.look !== undefined && c.options.lowLight === true);
  const poses = new Map<PoseLook, PoseModel>();
  for (const look of new Set(candidates.map((c) => (c.look === 'lightning+multipose' ? 'lightning' : c.look)))) {
    if (look === 'lightning' || look === 'thunder') poses.set(look, await LookPose.open({ network: look, intraOpThreads: 1, lowLight: lowLightLook }));
    else if (look === 'blazepose+detector') poses.set(look, await DetectorGatedLook.open(POSE_RULE[look]));
    else if (isPoseLook(look)) poses.set(look, await TfjsLookPose.open(look === 'thunder tfjs' ? 'movenet-thunder' : 'blazepose-full', POSE_RULE[look]));
  }
  const lookModels: LookModels = {
    crop: candidates.some((c) => c.look?.includes('multipose') === true) ? new PersonModel({ intraOpThreads: 1, lowLight: lowLightLook }) : null,
    poses,
  };
  await lookModels.crop?.load();
  try {
    for (const s of sampled) {
      const frames = await decode(dir, s);
      log(`PERSON-RECALL ${s.clip.file}${s.kind === 'as is' ? '' : ` (${s.kind})`}: ${frames.length} frames`);
      const lowLight = frames.map((rgb) => isLowLight(lumaSpread(rgb, s.clip.width, s.clip.height)));
      const wholeOf = new Map<string, { people: PersonDetection[]; ms: number; cpuMs: number }[]>();
      for (const c of candidates) {
        const f = figures.get(c)!;
        const model = models.get(c)!;
        const reach = c.reach === true;
        let last: NormalisedBox | null = null;
        let wholeFound = 0;
        const player = c.worker === undefined ? null : new WorkerPlay(c.worker, lookModels.poses.get(c.look as PoseLook)!, LOOK_SIDE);
        const [looks0, sweeps0] = [f.looks, f.sweeps];
        f.seconds += (frames.length * s.every) / s.clip.fps;
        for (const [i, rgb] of frames.entries()) {
          const t = (i * s.every) / s.clip.fps;
          const state = frameState(s.clip, t);
          const lying = state === 'lying' ? 'lying' : 'upright';
          const categories =
            s.kind === 'small'
              ? [`small_${lying}`]
              : s.kind === 'dark' || s.kind === 'grey'
                ? [`${s.kind}_${lying}`, `${s.kind}_all`]
                : [state, s.clip.night ? 'night' : 'day', `${state}_${s.clip.night ? 'night' : 'day'}`, `${state}_${s.clip.source}`, 'all'];
          // Candidates with the same whole-frame model share its answer and its measured cost (one run of it a frame).
          const key = JSON.stringify(c.options);
          const shared = wholeOf.get(key)?.[i];
          let people: PersonDetection[];
          if (shared === undefined) {
            const [ms0, cpu0] = [f.ms, f.cpuMs];
            people = await timed(f, 'frame', () => model.detect(rgb, s.clip.width, s.clip.height));
            if (!wholeOf.has(key)) wholeOf.set(key, []);
            wholeOf.get(key)![i] = { people, ms: f.ms - ms0, cpuMs: f.cpuMs - cpu0 };
          } else {
            people = shared.people;
            f.ms += shared.ms;
            f.cpuMs += shared.cpuMs;
          }
          f.frames++;
          let found = people.length;
          let box: NormalisedBox | null = people[0]?.bbox ?? null;
          let lookScore: number | null = null;
          const minSide = c.look === 'multipose' ? LOOK_SIDE / 2 : POSE_LOOK_MIN_SIDE;
          if (player !== null) {
            const [c0, t0] = [cpuNow(), performance.now()];
            const played = await player.frame(rgb, s.clip.width, s.clip.height, t * 1000, people);
            // A look's cost: the frames it ran on (the tracker's bookkeeping on the others is left out).
            if (played.looked !== null) {
              f.looks++;
              f.lookMs += performance.now() - t0;
              f.lookCpuMs += cpuNow() - c0;
            }
            if (played.looked === 'sweep') f.sweeps++;
            f.poseCalls += played.calls;
            if (found === 0 && played.people.length > 0) f.lookFound++;
            found = played.people.length;
            box = played.people[0]?.bbox ?? null;
          } else if (found === 0 && c.look !== undefined && last !== null) {
            const region = lookAgainRegion(last, s.clip.width, s.clip.height, minSide, reach);
            if (region !== null) {
              f.looks++;
              const seen = await timed(f, 'look', () => lookAt(c.look!, lookModels, rgb, s.clip.width, s.clip.height, region, reach));
              lookScore = seen.poseScore;
              for (const turn of seen.turns) f.byTurn[String(turn)]!++;
              if (seen.box !== null) {
                f.lookFound++;
                found = 1;
                box = seen.box;
              }
            }
          }
          // Decoys: squares of a look's size where this frame's one person is not, as a look would see them.
          const decoyEvery = isPoseLook(c.look) ? DECOY_EVERY : DECOY_EVERY * 4;
          if (c.look !== undefined && people.length === 1 && s.kind !== 'small' && wholeFound++ % decoyEvery === 0) {
            for (const decoy of decoysOf(people[0]!.bbox, s.clip.width, s.clip.height, wholeFound)) {
              f.decoys++;
              const seen = await lookAt(c.look, lookModels, rgb, s.clip.width, s.clip.height, decoy, false);
              if (seen.box !== null) f.decoyFound++;
              if (seen.poseScore !== null) f.decoyScores.push(seen.poseScore);
            }
          }
          if (box !== null) last = box;
          tally(f, categories, found, box === null ? null : (box[3] - box[1]) * s.clip.height, lowLight[i]!, lookScore);
        }
        if (player !== null) log(`PERSON-RECALL ${s.clip.file} ${c.name}: ${f.looks - looks0} looks, ${f.sweeps - sweeps0} of them a sweep's tiles`);
      }
    }
  } finally {
    for (const m of models.values()) await m.close();
    await lookModels.crop?.close();
    for (const pose of poses.values()) await pose.close();
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
        low_light_share: round(t.lowLight / t.frames, 3),
        box_px_p50: px.length === 0 ? null : round(percentile(px, 50), 0),
      });
    }
    if (isPoseLook(c.look) && c.worker === undefined) {
      const asRun = POSE_RULE[c.look];
      // LookPose's found rule swept: recall of each category had the rule been the threshold (the look's later boxes
      // kept as they were), and the decoys it would find.
      for (const rule of RULES) {
        const recall: Record<string, number> = {};
        for (const [category, t] of f.byCategory) {
          const gained = t.lookScores.filter((score) => score >= rule).length;
          const lost = t.lookScores.filter((score) => score >= asRun).length;
          recall[category] = round((t.found - lost + gained) / t.frames, 3);
        }
        emit({
          workload: 'PERSON-RECALL',
          part: 'rule',
          candidate: c.name,
          min_mean_score: rule,
          decoys: f.decoyScores.length,
          decoy_found: f.decoyScores.filter((score) => score >= rule).length,
          recall,
        });
      }
    }
    emit({
      workload: 'PERSON-RECALL',
      part: 'cost',
      candidate: c.name,
      frames: f.frames,
      ms_per_frame: round(f.ms / f.frames, 1),
      cpu_ms_per_frame: round(f.cpuMs / f.frames, 1),
      looks: f.looks,
      ...(c.worker === undefined
        ? {}
        : { sweeps: f.sweeps, pose_calls: f.poseCalls, looks_per_hour: f.seconds === 0 ? null : round((f.looks / f.seconds) * 3600, 0) }),
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
