/**
 * FALL-SYNTH: the fall rule judged over thousands of synthetic views rather
 * than one room's (test/helpers/synthetic/: a 3D body doing a fall or an
 * everyday move, seen through a pinhole camera 1–3 m high facing it from any
 * side, 1.5–8 m away, at 1–10 frames a second, with a pose network's noise,
 * missing keypoints, missed frames and what hides the person; ADR 0155).
 * Each view runs through the rule as the system runs it (fall-synthetic-view.ts).
 *
 * Views are dealt to the families in turn (view i is family i mod 16) and
 * drawn from FALL_SYNTH_SEED (default 1) and their index, so a run is the same
 * on every machine and any view can be drawn again alone (drawView(seed,
 * index, family)). FALL_SYNTH_VIEWS sets how many (default 6 400, about a minute on one core).
 *
 * A fall view is raised when an alert (`fall`, or `down` after a minute lying)
 * comes at or after the fall's onset; an alert before it is counted as an early
 * false alarm. An everyday view is raised by any alert. Lines (JSON Lines):
 * one per family (views, raised, share, raised as fall / down, a fall family's misses by why (missed_why:
 * fall-synthetic-view.ts' missedWhy), the delay from
 * the person on the floor to a `fall` alert, and per slice: camera height,
 * the camera's bearing from where the body faces, distance, fps, the person's
 * height in pixels, what hides them, picture size, the move's variant, and
 * how the body lies to the line of sight in the move's main pose), the failing views
 * (at most FAILS_SHOWN a family, their seed and index), the worst slices of
 * the falls and of the everyday moves (pooled, and per family), and the
 * summary: falls_raised_share, everyday_raised_share, views, against the
 * targets (>= 0.95 and <= 0.01); each over every view and (advised_...) over
 * the views docs/care.md's setup advice allows (advised()).
 */
import { loadavg } from 'node:os';
import { posed } from '../../test/helpers/synthetic/body.js';
import { EVERYDAY_FAMILIES, FALL_FAMILIES, type Family } from '../../test/helpers/synthetic/moves.js';
import { poseAt } from '../../test/helpers/synthetic/script.js';
import { drawView, type View } from '../../test/helpers/synthetic/views.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';
import { runView, type ViewOutcome } from './fall-synthetic-view.js';

export const FAMILIES: readonly Family[] = [...FALL_FAMILIES, ...EVERYDAY_FAMILIES];
const FAILS_SHOWN = 3;
/** A slice is ranked among the worst only with at least this many views (pooled; per family half). */
const WORST_MIN_VIEWS = 30;
export const TARGETS = { falls: 0.95, everyday: 0.01 } as const;

/**
 * A view docs/care.md's setup advice allows: the camera high (2 m or more, as in a corner), nothing in front of the
 * person (the floor where they are in view), 3 frames a second or more, the person 80 px tall or more. The figures
 * are given over every view and over these.
 */
export function advised(view: View): boolean {
  return view.camera.spec.position[2] >= 2 && view.occlusion !== 'furniture' && view.fps >= 3 && view.personPx >= 80;
}

/** A view's place in each slice. */
export function slicesOf(view: View): Record<string, string> {
  const h = view.camera.spec.position[2];
  const yaw = Math.abs(view.yaw) <= 45 ? 'facing' : Math.abs(view.yaw) >= 135 ? 'back' : view.yaw > 0 ? 'left side' : 'right side';
  const px = view.personPx;
  return {
    camera_height: h < 1.5 ? '1-1.5 m' : h < 2 ? '1.5-2 m' : h < 2.5 ? '2-2.5 m' : '2.5-3 m',
    yaw,
    distance: view.distance < 3 ? '1.5-3 m' : view.distance < 5 ? '3-5 m' : '5-8 m',
    fps: view.fps <= 2 ? '1-2' : view.fps <= 5 ? '3-5' : '6-10',
    person_px: px < 80 ? '<80 px' : px < 160 ? '80-160 px' : px < 320 ? '160-320 px' : '>=320 px',
    occlusion: view.occlusion,
    image: `${view.camera.spec.width}x${view.camera.spec.height}`,
    variant: view.move.variant,
    rest_axis: restAxis(view),
  };
}

/**
 * How the body lies in the move's main pose (a fall's end on the floor, an everyday move's held pose) against the
 * camera's line of sight: end-on (< 30°), oblique, side-on (> 60°); `not lying` when the torso is more upright than level.
 */
function restAxis(view: View): string {
  const k = posed(view.body, poseAt(view.move.keys, view.move.restAt)).keypoints;
  const mid = (a: number, b: number): [number, number, number] => [(k[a]![0] + k[b]![0]) / 2, (k[a]![1] + k[b]![1]) / 2, (k[a]![2] + k[b]![2]) / 2];
  const s = mid(5, 6);
  const hp = mid(11, 12);
  const along = Math.hypot(s[0] - hp[0], s[1] - hp[1]);
  if (along < Math.abs(s[2] - hp[2])) return 'not lying';
  // Into the world's frame, where the camera looks from +x towards the origin.
  const t = (view.turn * Math.PI) / 180;
  const ax = Math.cos(t) * (s[0] - hp[0]) - Math.sin(t) * (s[1] - hp[1]);
  const ay = Math.sin(t) * (s[0] - hp[0]) + Math.cos(t) * (s[1] - hp[1]);
  const px = Math.cos(t) * hp[0] - Math.sin(t) * hp[1];
  const py = Math.sin(t) * hp[0] + Math.cos(t) * hp[1];
  const cam = view.camera.spec.position;
  const sx = cam[0] - px;
  const sy = cam[1] - py;
  const angle = (Math.acos(Math.abs(ax * sx + ay * sy) / (Math.hypot(ax, ay) * Math.hypot(sx, sy) || 1)) * 180) / Math.PI;
  return angle < 30 ? 'end-on' : angle > 60 ? 'side-on' : 'oblique';
}

interface Tally {
  views: number;
  raised: number;
}
const share = (t: Tally): number => (t.views === 0 ? 0 : round(t.raised / t.views, 4));

interface FamilyTally extends Tally {
  readonly family: Family;
  readonly fall: boolean;
  asFall: number;
  asDown: number;
  early: number;
  detected: number;
  frames: number;
  readonly delays: number[];
  readonly slices: Map<string, Map<string, Tally>>;
  readonly fails: Record<string, unknown>[];
  /** The falls not raised, by why (missedWhy()). */
  readonly missed: Map<string, number>;
  /** The views the setup advice allows (advised()). */
  readonly advised: Tally;
}

export interface SyntheticRun {
  /** The lines, in order: one per family, the failing views, the worst slices, the summary. */
  readonly lines: Record<string, unknown>[];
  readonly summary: Record<string, unknown>;
}

/** Draws `views` views from `seed` and runs each through the rule; `progress` hears of each family's share done. */
export function runSynthetic(options: { seed: number; views: number; progress?: (done: number) => void }): SyntheticRun {
  const started = performance.now();
  const tallies = new Map<Family, FamilyTally>();
  for (const family of FAMILIES)
    tallies.set(family, {
      family,
      fall: (FALL_FAMILIES as readonly string[]).includes(family),
      views: 0,
      raised: 0,
      asFall: 0,
      asDown: 0,
      early: 0,
      detected: 0,
      frames: 0,
      delays: [],
      slices: new Map(),
      fails: [],
      missed: new Map(),
      advised: { views: 0, raised: 0 },
    });
  for (let index = 0; index < options.views; index++) {
    const family = FAMILIES[index % FAMILIES.length]!;
    const view = drawView(options.seed, index, family);
    const outcome = runView(view);
    record(tallies.get(family)!, view, outcome, options.seed);
    if (options.progress !== undefined && (index + 1) % 500 === 0) options.progress(index + 1);
  }
  const lines: Record<string, unknown>[] = [];
  const all = [...tallies.values()];
  for (const t of all) lines.push(familyLine(t));
  for (const t of all) for (const fail of t.fails) lines.push({ workload: 'FALL-SYNTH', part: 'fail', ...fail });
  for (const fall of [true, false])
    lines.push(
      worstLine(
        all.filter((t) => t.fall === fall),
        fall,
      ),
    );
  const total = (fall: boolean): Tally => {
    const views = all.filter((t) => t.fall === fall);
    return { views: views.reduce((n, t) => n + t.views, 0), raised: views.reduce((n, t) => n + t.raised, 0) };
  };
  const falls = total(true);
  const everyday = total(false);
  const totalAdvised = (fall: boolean): Tally => {
    const views = all.filter((t) => t.fall === fall);
    return { views: views.reduce((n, t) => n + t.advised.views, 0), raised: views.reduce((n, t) => n + t.advised.raised, 0) };
  };
  const advisedFalls = totalAdvised(true);
  const advisedEveryday = totalAdvised(false);
  const asFall = all.filter((t) => t.fall).reduce((n, t) => n + t.asFall, 0);
  const early = all.filter((t) => t.fall).reduce((n, t) => n + t.early, 0);
  const summary = {
    workload: 'FALL-SYNTH',
    impl: 'framesupplier',
    seed: options.seed,
    views: options.views,
    falls_views: falls.views,
    falls_raised: falls.raised,
    falls_raised_share: share(falls),
    falls_raised_as_fall_share: falls.views === 0 ? 0 : round(asFall / falls.views, 4),
    falls_early_alarms: early,
    everyday_views: everyday.views,
    everyday_raised: everyday.raised,
    everyday_raised_share: share(everyday),
    advised_falls_views: advisedFalls.views,
    advised_falls_raised: advisedFalls.raised,
    advised_falls_raised_share: share(advisedFalls),
    advised_everyday_views: advisedEveryday.views,
    advised_everyday_raised: advisedEveryday.raised,
    advised_everyday_raised_share: share(advisedEveryday),
    targets: TARGETS,
    seconds: round((performance.now() - started) / 1000, 1),
  };
  lines.push(summary);
  return { lines, summary };
}

function record(t: FamilyTally, view: View, outcome: ViewOutcome, seed: number): void {
  const raised = outcome.raised !== null;
  t.views++;
  if (raised) t.raised++;
  if (advised(view)) {
    t.advised.views++;
    if (raised) t.advised.raised++;
  }
  if (outcome.raised === 'fall') t.asFall++;
  if (outcome.raised === 'down') t.asDown++;
  if (outcome.missed !== null) t.missed.set(outcome.missed, (t.missed.get(outcome.missed) ?? 0) + 1);
  t.early += outcome.early;
  t.detected += outcome.detected;
  t.frames += outcome.frames;
  if (outcome.raised === 'fall' && view.move.impact !== null) t.delays.push(outcome.raisedAt! - view.move.impact);
  const slices = slicesOf(view);
  for (const [dimension, label] of Object.entries(slices)) {
    let byLabel = t.slices.get(dimension);
    if (byLabel === undefined) t.slices.set(dimension, (byLabel = new Map<string, Tally>()));
    const s = byLabel.get(label) ?? { views: 0, raised: 0 };
    s.views++;
    if (raised) s.raised++;
    byLabel.set(label, s);
  }
  // A fall not raised, an everyday move raised: the views the rule fails.
  if (raised !== t.fall && t.fails.length < FAILS_SHOWN)
    t.fails.push({
      family: t.family,
      seed,
      index: view.index,
      raised: outcome.raised,
      ...slices,
      camera_height_m: round(view.camera.spec.position[2], 2),
      yaw_deg: Math.round(view.yaw),
      distance_m: round(view.distance, 2),
      fps: view.fps,
      person_px: Math.round(view.personPx),
      detected_frames: `${outcome.detected}/${outcome.frames}`,
    });
}

function familyLine(t: FamilyTally): Record<string, unknown> {
  const sorted = sortedCopy(t.delays);
  const slices: Record<string, Record<string, [number, number, number]>> = {};
  for (const [dimension, byLabel] of t.slices) {
    slices[dimension] = {};
    for (const [label, s] of [...byLabel].sort((a, b) => a[0].localeCompare(b[0]))) slices[dimension][label] = [s.views, s.raised, share(s)];
  }
  return {
    workload: 'FALL-SYNTH',
    part: 'family',
    family: t.family,
    kind: t.fall ? 'fall' : 'everyday',
    views: t.views,
    raised: t.raised,
    share: share(t),
    advised_views: t.advised.views,
    advised_raised: t.advised.raised,
    advised_share: share(t.advised),
    raised_as_fall: t.asFall,
    raised_as_down: t.asDown,
    ...(t.fall ? { missed_why: Object.fromEntries([...t.missed].sort((a, b) => b[1] - a[1])) } : {}),
    early_alarms: t.early,
    detected_frames_share: t.frames === 0 ? 0 : round(t.detected / t.frames, 3),
    fall_alert_after_impact_s_p50: sorted.length === 0 ? null : round(percentile(sorted, 50), 2),
    fall_alert_after_impact_s_p90: sorted.length === 0 ? null : round(percentile(sorted, 90), 2),
    slices,
  };
}

/** The slices where the rule does worst: falls least raised, everyday moves most; pooled over the families, and per family. */
function worstLine(tallies: readonly FamilyTally[], fall: boolean): Record<string, unknown> {
  const pooled = new Map<string, Tally>();
  const perFamily: { family: Family; slice: string; views: number; raised: number; share: number }[] = [];
  for (const t of tallies)
    for (const [dimension, byLabel] of t.slices)
      for (const [label, s] of byLabel) {
        const key = `${dimension}=${label}`;
        const p = pooled.get(key) ?? { views: 0, raised: 0 };
        p.views += s.views;
        p.raised += s.raised;
        pooled.set(key, p);
        if (s.views >= WORST_MIN_VIEWS / 2 && dimension !== 'variant')
          perFamily.push({ family: t.family, slice: key, views: s.views, raised: s.raised, share: share(s) });
      }
  const order = (a: { share: number }, b: { share: number }): number => (fall ? a.share - b.share : b.share - a.share);
  const worstPooled = [...pooled]
    .filter(([key, s]) => s.views >= WORST_MIN_VIEWS && !key.startsWith('variant='))
    .map(([slice, s]) => ({ slice, views: s.views, raised: s.raised, share: share(s) }))
    .sort(order)
    .slice(0, 10);
  return { workload: 'FALL-SYNTH', part: 'worst', kind: fall ? 'fall' : 'everyday', pooled: worstPooled, per_family: perFamily.sort(order).slice(0, 15) };
}

/** The workload: FALL_SYNTH_SEED, FALL_SYNTH_VIEWS from the environment; its lines on stdout. */
export function fallSynthetic(): void {
  const seed = Number(process.env.FALL_SYNTH_SEED ?? 1);
  const views = Number(process.env.FALL_SYNTH_VIEWS ?? 6400);
  if (!Number.isInteger(seed) || !Number.isInteger(views) || views < 1) {
    log('FALL-SYNTH: FALL_SYNTH_SEED and FALL_SYNTH_VIEWS must be whole numbers (views at least 1)');
    process.exitCode = 2;
    return;
  }
  const load = loadavg()[0]!;
  const run = runSynthetic({ seed, views, progress: (done) => log(`FALL-SYNTH: ${done} of ${views} views`) });
  for (const line of run.lines) emit(line === run.summary ? { ...line, load_1m: [round(load, 2), round(loadavg()[0]!, 2)] } : line);
  const s = run.summary;
  log(
    `FALL-SYNTH: falls raised ${String(s.falls_raised)}/${String(s.falls_views)}, everyday moves raised ${String(s.everyday_raised)}/${String(s.everyday_views)}`,
  );
}
