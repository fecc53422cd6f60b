/**
 * The moves of the synthetic views: falls and the everyday moves a fall rule
 * must not mistake for one, each a script of key poses (script.ts) drawn from
 * a seeded random source, in the move's own frame (the person at the origin
 * facing +x when the action begins; metres, degrees).
 *
 * Durations, from what is measured of real falls and daily moves: a fall
 * takes 0.5–1.5 s from the loss of balance to the pelvis on the floor, about
 * half of it the descent (25 real falls of older adults on care-home video:
 * 1.27 ± 0.65 s from imbalance to pelvis impact, 0.58 ± 0.26 s of descent;
 * Choi, Wakeling and Robinovitch, J. Biomech. 48, 2015), eased in (it speeds
 * up as it goes); a slow collapse (fainting, knees giving way) takes 2–4 s to
 * the floor. Sitting down on a chair 1–2 s (a heavy drop onto it 0.4–0.7 s);
 * lying down on purpose 3–6 s, through sitting; squatting, kneeling, bending
 * about a second down and one up; walking 0.6–1.2 m/s. Each move is walked
 * into (1–2.5 m), so a tracker and a fall rule see the person on their feet
 * first, except those that begin in bed or on the floor. Angles and places
 * are varied within what the body does, so no two views are the same pose.
 */
import { STAND, type Body, type BodyPose } from './body.js';
import type { Furniture } from './camera.js';
import type { Random } from './random.js';
import { Script, type Key } from './script.js';

export const FALL_FAMILIES = ['fall-forward', 'fall-backward', 'fall-sideways', 'slow-collapse', 'fall-from-chair', 'fall-from-bed'] as const;
export const EVERYDAY_FAMILIES = ['sit-chair', 'lie-bed', 'lie-floor', 'squat', 'kneel', 'bend', 'tie-shoe', 'get-up', 'walk', 'sit-floor'] as const;
export type Family = (typeof FALL_FAMILIES)[number] | (typeof EVERYDAY_FAMILIES)[number];

/** How long a fall view goes on after the impact (s): past the rule's `down` (a minute lying). */
export const FALL_HOLD_S = 65;

export interface Move {
  readonly family: Family;
  readonly fall: boolean;
  /** Which way this one goes (a family's variants: `straight`, `knees-first`...). */
  readonly variant: string;
  readonly keys: readonly Key[];
  /** A fall's loss of balance, and the pelvis on the floor (s); null for an everyday move. */
  readonly onset: number | null;
  readonly impact: number | null;
  /** The body's heading when the action begins (degrees, the move's frame): a view's yaw is the camera's bearing from it. */
  readonly facing: number;
  /** Chairs and beds, in the move's frame. */
  readonly furniture: readonly Furniture[];
  /** The bed (a bed zone is drawn around it), or null. */
  readonly bed: Furniture | null;
  /** When the move's main pose is held (s): a fall's end on the floor, an everyday move's (sitting, lying, squatting...). */
  readonly restAt: number;
  /** When the view ends (s). */
  readonly end: number;
}

/** Both legs from their segments' angles (degrees forward of straight down: thigh, then shin), under a torso pitched `pitch`. */
const legs = (pitch: number, thigh: number, shin: number): Partial<BodyPose> => ({
  pitch,
  hipL: thigh + pitch,
  hipR: thigh + pitch,
  kneeL: thigh - shin,
  kneeR: thigh - shin,
});

interface Draw {
  readonly r: Random;
  readonly body: Body;
}

/** Walks 1–2.5 m into the origin facing +x and stands a moment. */
function walkIn({ r }: Draw, from: Partial<BodyPose> = {}): Script {
  const distance = r.range(1, 2.5);
  const s = new Script({ ...STAND, x: -distance, ...from });
  s.walk(distance / r.range(0.6, 1.2), { x: 0, y: 0 });
  return s.hold(r.range(0.5, 1.5));
}

/** A chair behind a person at the origin who turned to face -x: its seat (m) and the furniture. */
function chair(r: Random): { seat: number; furniture: Furniture } {
  const seat = r.range(0.42, 0.5);
  return { seat, furniture: { x: 0.3, y: 0, halfLength: 0.22, halfWidth: 0.23, height: seat, yaw: 0 } };
}

/** A bed behind a person at the origin facing -x, its long side along y: its top's height and the furniture. */
function bed(r: Random): { top: number; centre: number; furniture: Furniture } {
  const halfWidth = r.pick([0.45, 0.5, 0.7]);
  const top = r.range(0.45, 0.6);
  const centre = 0.08 + halfWidth;
  return { top, centre, furniture: { x: centre, y: r.range(-0.3, 0.3), halfLength: 1, halfWidth, height: top, yaw: 0 } };
}
/** The bed's furniture turned so its length runs along y (yaw 90: halfLength along y). */
const alongY = (f: Furniture): Furniture => ({ ...f, yaw: 90 });

/*
 * Lying poses keep the torso and thighs level (a body on the floor rests along its length: the pose is rigid here, so a
 * tilted torso would prop it up on its feet or its head); they vary about the body's long axis, in the knees, the arms.
 */
/** Lying on the back, knees drawn up (feet on the floor: the knee bends twice the hip) or not, arms about. */
const onBack = (r: Random): Partial<BodyPose> => {
  const [left, right] = [r.range(0, 35), r.range(0, 35)];
  return {
    pitch: -90 + r.range(-3, 3),
    roll: r.range(-15, 15),
    hipL: left,
    hipR: right,
    kneeL: 2 * left,
    kneeR: 2 * right,
    arms: r.range(10, 100),
    elbows: r.range(0, 60),
  };
};
/** Face down, knees bent some (the shins up), arms out ahead. */
const faceDown = (r: Random): Partial<BodyPose> => ({
  pitch: 90 + r.range(-3, 3),
  roll: r.range(-20, 20),
  hipL: r.range(-5, 5),
  hipR: r.range(-5, 5),
  kneeL: r.range(0, 40),
  kneeR: r.range(0, 40),
  arms: r.range(100, 170),
  elbows: r.range(0, 60),
});
/** On one side (`side` 1 right, -1 left), knees drawn up some. */
const onSide = (r: Random, side: number): Partial<BodyPose> => ({
  pitch: r.range(-10, 25),
  roll: side * r.range(87, 93),
  hipL: r.range(10, 70),
  hipR: r.range(10, 70),
  kneeL: r.range(10, 80),
  kneeR: r.range(10, 80),
  arms: r.range(20, 110),
  elbows: r.range(10, 80),
});
/** Sitting on the floor, knees up, leaning back on the hands. */
const floorSitting = (r: Random): Partial<BodyPose> => ({ ...legs(r.range(-25, 0), r.range(95, 130), r.range(30, 70)), roll: 0, arms: r.range(-40, 20) });

/** A fall's time from the loss of balance to the floor (s) and the share of it that is the descent. */
function fallTiming(r: Random): { stagger: number; descent: number } {
  const total = r.range(0.5, 1.5);
  const descent = total * r.range(0.4, 0.65);
  return { stagger: total - descent, descent };
}

/** A fall view's end: after the impact, lying still (a little settling first). */
function settle(d: Draw, s: Script, change: Partial<BodyPose> = {}): void {
  s.to(d.r.range(0.3, 1), { arms: s.pose.arms + d.r.range(-20, 20), ...change });
}

function finish(
  family: Family,
  variant: string,
  s: Script,
  extra: { onset?: number; impact?: number; facing?: number; furniture?: Furniture[]; bed?: Furniture | null; hold?: number; restAt?: number },
): Move {
  const fall = extra.impact !== undefined;
  const end = fall ? extra.impact! + FALL_HOLD_S : s.time + (extra.hold ?? 0);
  return {
    family,
    fall,
    variant,
    keys: s.keys,
    onset: extra.onset ?? null,
    impact: extra.impact ?? null,
    facing: extra.facing ?? 0,
    furniture: extra.furniture ?? [],
    bed: extra.bed ?? null,
    restAt: extra.restAt ?? s.time,
    end,
  };
}

const FALLS: Record<(typeof FALL_FAMILIES)[number], (d: Draw) => Move> = {
  'fall-forward': (d) => {
    const { r, body } = d;
    const s = walkIn(d);
    const onset = s.time;
    const { stagger, descent } = fallTiming(r);
    s.to(stagger, { x: r.range(0.1, 0.35), ...legs(r.range(10, 30), r.range(-5, 15), r.range(-10, 5)), arms: r.range(30, 70) }, 'in');
    const variant = r.pick(['straight', 'knees-first']);
    if (variant === 'knees-first') {
      s.to(descent * 0.5, { x: s.pose.x + 0.15, ...legs(r.range(20, 40), r.range(0, 20), -90), arms: r.range(60, 90) }, 'in');
      s.to(descent * 0.5, { x: s.pose.x + body.height * 0.3, ...faceDown(r) }, 'in');
    } else s.to(descent, { x: s.pose.x + body.height * r.range(0.4, 0.55), y: r.range(-0.2, 0.2), ...faceDown(r) }, 'in');
    const impact = s.time;
    settle(d, s);
    return finish('fall-forward', variant, s, { onset, impact });
  },
  'fall-backward': (d) => {
    const { r, body } = d;
    const s = walkIn(d);
    const onset = s.time;
    const { stagger, descent } = fallTiming(r);
    s.to(stagger, { x: -r.range(0.05, 0.25), ...legs(-r.range(8, 20), r.range(0, 20), r.range(-5, 10)), arms: r.range(30, 90) }, 'in');
    const variant = r.pick(['seat-first', 'straight']);
    if (variant === 'seat-first') {
      s.to(descent * 0.6, { x: s.pose.x - r.range(0.3, 0.5), ...floorSitting(r) }, 'in');
      s.to(descent * 0.4, { x: s.pose.x - r.range(0.05, 0.2), ...onBack(r) }, 'in');
    } else s.to(descent, { x: s.pose.x - body.height * r.range(0.35, 0.5), ...onBack(r) }, 'in');
    const impact = s.time;
    settle(d, s);
    return finish('fall-backward', variant, s, { onset, impact });
  },
  'fall-sideways': (d) => {
    const { r, body } = d;
    const s = walkIn(d);
    const onset = s.time;
    const side = r.sign(); // 1: to the right (-y)
    const { stagger, descent } = fallTiming(r);
    s.to(stagger, { y: -side * r.range(0.05, 0.2), roll: side * r.range(8, 20), ...legs(r.range(0, 10), r.range(0, 20), r.range(-15, 0)), arms: 40 }, 'in');
    const variant = r.pick(['hip-first', 'straight']);
    const bend = variant === 'hip-first' ? r.range(20, 60) : r.range(0, 15);
    s.to(descent, { y: -side * body.height * r.range(0.3, 0.45), ...onSide(r, side), hipL: bend, hipR: bend, kneeL: bend, kneeR: bend }, 'in');
    const impact = s.time;
    settle(d, s);
    return finish('fall-sideways', variant, s, { onset, impact });
  },
  'slow-collapse': (d) => {
    const { r } = d;
    const s = walkIn(d);
    const onset = s.time;
    // The knees give way: a crouch, then the seat on the floor, then slumped over (or left sitting).
    s.to(r.range(0.8, 2), { x: r.range(-0.1, 0.1), ...legs(r.range(10, 30), r.range(60, 90), r.range(-60, -30)), arms: 20 }, 'inout');
    s.to(r.range(0.6, 1.5), { x: s.pose.x - r.range(0.1, 0.3), ...floorSitting(r) }, 'in');
    const impact = s.time;
    const variant = r.chance(0.3) ? 'slumped-sitting' : 'slumped-lying';
    if (variant === 'slumped-lying') s.to(r.range(1, 2.5), r.chance(0.5) ? onSide(r, r.sign()) : onBack(r), 'in');
    else s.to(r.range(0.5, 1.5), { ...legs(r.range(25, 45), r.range(90, 120), r.range(40, 80)), arms: 10 });
    return finish('slow-collapse', variant, s, { onset, impact });
  },
  'fall-from-chair': (d) => {
    const { r, body } = d;
    const { seat, furniture } = chair(r);
    const s = walkIn(d);
    s.to(r.range(0.8, 1.2), { heading: 180 });
    s.to(r.range(1, 2), { x: 0.2, ...legs(r.range(0, 15), 90, r.range(-5, 10)), seat, arms: 40 });
    s.hold(r.range(3, 8));
    const variant = r.pick(['slide-off', 'topple-sideways', 'on-rising']);
    let onset: number;
    if (variant === 'slide-off') {
      onset = s.time;
      // facing -x: forward is -x
      s.to(r.range(0.4, 0.9), { x: -r.range(0.1, 0.3), ...floorSitting(r), seat: 0 }, 'in');
    } else if (variant === 'topple-sideways') {
      onset = s.time;
      const side = r.sign();
      s.to(r.range(0.6, 1.2), { y: side * r.range(0.4, 0.6), ...onSide(r, side), seat: 0, heading: 180 }, 'in');
    } else {
      s.to(r.range(0.8, 1.2), { x: 0.05, ...legs(r.range(25, 40), r.range(30, 50), r.range(-10, 5)), seat: 0 });
      onset = s.time;
      s.to(r.range(0.5, 1.2), { x: -body.height * r.range(0.35, 0.5), ...faceDown(r) }, 'in');
    }
    const impact = s.time;
    settle(d, s);
    return finish('fall-from-chair', variant, s, { onset, impact, facing: 180, furniture: [furniture] });
  },
  'fall-from-bed': (d) => {
    const { r, body } = d;
    const b = bed(r);
    const furniture = alongY(b.furniture);
    const lying = { ...STAND, x: b.centre, y: furniture.y, heading: 90, ...onBack(r), roll: 0, ground: b.top };
    const s = new Script(lying);
    s.hold(r.range(3, 6));
    const variant = r.pick(['roll-off', 'on-rising']);
    let onset: number;
    if (variant === 'roll-off') {
      // Facing +y on the back: the near edge (-x) is to the left; roll over it onto the floor.
      s.to(r.range(1, 2), { x: 0.3, roll: -r.range(50, 70) });
      onset = s.time;
      s.to(r.range(0.5, 1), { x: -r.range(0.25, 0.45), roll: -r.range(130, 170), ground: 0 }, 'in');
    } else {
      s.to(r.range(2, 3), { x: 0.2, heading: 180, ...legs(r.range(0, 15), 90, 0), roll: 0, arms: 40, ground: 0, seat: b.top });
      s.hold(r.range(1, 3));
      s.to(r.range(0.8, 1.2), { x: 0.05, ...legs(r.range(25, 40), r.range(30, 50), r.range(-10, 5)), seat: 0 });
      onset = s.time;
      s.to(r.range(0.5, 1.2), { x: -body.height * r.range(0.35, 0.5), ...faceDown(r) }, 'in');
    }
    const impact = s.time;
    settle(d, s);
    return finish('fall-from-bed', variant, s, { onset, impact, facing: 90, furniture: [furniture], bed: furniture });
  },
};

/** Back on the feet from where the script is, through kneeling, and a few steps away. */
function getUp(d: Draw, s: Script): void {
  const { r } = d;
  s.to(r.range(1, 2), { ...legs(r.range(0, 20), r.range(0, 15), -90), roll: 0, seat: 0, ground: 0, arms: 20 });
  s.to(r.range(0.8, 1.5), { hipL: 90, kneeL: 90, hipR: 0, kneeR: 90, pitch: 0 });
  s.to(r.range(0.8, 1.5), { ...STAND, x: s.pose.x, y: s.pose.y, heading: s.pose.heading });
  const away = r.range(1, 2);
  const h = (s.pose.heading * Math.PI) / 180;
  s.walk(away / r.range(0.6, 1), { x: s.pose.x + away * Math.cos(h), y: s.pose.y + away * Math.sin(h) });
}

const EVERYDAY: Record<(typeof EVERYDAY_FAMILIES)[number], (d: Draw) => Move> = {
  'sit-chair': (d) => {
    const { r } = d;
    const { seat, furniture } = chair(r);
    const s = walkIn(d);
    s.to(r.range(0.8, 1.2), { heading: 180 });
    const variant = r.chance(0.25) ? 'heavily' : 'gently';
    s.to(
      variant === 'heavily' ? r.range(0.4, 0.7) : r.range(1, 2),
      { x: 0.2, ...legs(r.range(0, 20), 90, r.range(-5, 15)), seat, arms: 40 },
      variant === 'heavily' ? 'in' : 'inout',
    );
    s.hold(r.range(4, 10));
    const restAt = s.time;
    if (r.chance(0.5)) {
      s.to(r.range(1.2, 2), { ...STAND, x: 0, heading: 180 });
      s.walk(r.range(1.5, 2.5), { x: -1.5 });
    }
    return finish('sit-chair', variant, s, { restAt, facing: 180, furniture: [furniture], hold: 2 });
  },
  'lie-bed': (d) => {
    const { r } = d;
    const b = bed(r);
    const furniture = alongY(b.furniture);
    const s = walkIn(d);
    s.to(r.range(0.8, 1.2), { heading: 180 });
    s.to(r.range(1, 2), { x: 0.2, ...legs(r.range(0, 15), 90, 0), seat: b.top, arms: 40 });
    s.hold(r.range(0.5, 2));
    const variant = r.pick(['on-back', 'on-side']);
    // Along the bed: on the back the body lies the way it faces, on a side across it.
    const heading = variant === 'on-back' ? r.pick([90, 270]) : 180 + r.range(-10, 10);
    const lying = variant === 'on-back' ? onBack(r) : onSide(r, r.sign());
    s.to(r.range(1.5, 3), { x: b.centre, y: furniture.y, heading, ...lying, ground: b.top });
    return finish('lie-bed', variant, s, { facing: 180, furniture: [furniture], bed: furniture, hold: r.range(8, 15) });
  },
  'lie-floor': (d) => {
    const { r } = d;
    const s = walkIn(d);
    const variant = r.pick(['through-kneeling', 'through-sitting']);
    if (variant === 'through-kneeling') s.to(r.range(1, 2), { ...legs(r.range(0, 15), r.range(0, 15), -90), arms: 30 });
    else s.to(r.range(1, 1.5), { ...legs(r.range(30, 45), r.range(75, 90), r.range(-35, -25)), arms: 40 });
    s.to(r.range(1, 2), { x: -0.3, ...floorSitting(r) });
    s.to(r.range(1, 2), { x: -0.5, ...(r.chance(0.6) ? onBack(r) : onSide(r, r.sign())) });
    s.hold(r.range(8, 15));
    const restAt = s.time;
    if (r.chance(0.5)) getUp(d, s);
    return finish('lie-floor', variant, s, { restAt, hold: 2 });
  },
  squat: (d) => {
    const { r } = d;
    const s = walkIn(d);
    s.to(r.range(0.8, 1.5), { ...legs(r.range(30, 50), r.range(75, 95), r.range(-40, -25)), arms: r.range(40, 80) });
    s.hold(r.range(2, 6));
    const restAt = s.time;
    s.to(r.range(0.8, 1.5), { ...STAND });
    return finish('squat', 'deep', s, { restAt, hold: 3 });
  },
  kneel: (d) => {
    const { r } = d;
    const s = walkIn(d);
    const variant = r.pick(['upright', 'on-heels', 'one-knee']);
    if (variant === 'upright') s.to(r.range(1.5, 3), { ...legs(r.range(0, 20), r.range(0, 20), -90), arms: 30 });
    else if (variant === 'on-heels') s.to(r.range(1.5, 3), { ...legs(r.range(5, 30), r.range(70, 85), -90), arms: 30 });
    else {
      const pitch = r.range(0, 20);
      s.to(r.range(1, 2), { pitch, hipL: 90 + pitch, kneeL: 90, hipR: pitch, kneeR: 90, arms: 40 });
    }
    s.hold(r.range(3, 10));
    const restAt = s.time;
    s.to(r.range(1, 2), { ...STAND });
    return finish('kneel', variant, s, { restAt, hold: 3 });
  },
  bend: (d) => {
    const { r } = d;
    const s = walkIn(d);
    const variant = r.pick(['straight-legs', 'knees-bent']);
    if (variant === 'straight-legs') s.to(r.range(0.7, 1.2), { ...legs(r.range(75, 95), r.range(-5, 10), 0), arms: r.range(70, 100) });
    else s.to(r.range(0.7, 1.2), { ...legs(r.range(50, 75), r.range(30, 55), r.range(-25, -10)), arms: r.range(60, 100) });
    s.hold(r.range(1, 4));
    const restAt = s.time;
    s.to(r.range(0.7, 1.2), { ...STAND });
    return finish('bend', variant, s, { restAt, hold: 3 });
  },
  'tie-shoe': (d) => {
    const { r } = d;
    const s = walkIn(d);
    const variant = r.pick(['one-knee', 'bent-over', 'squatting']);
    if (variant === 'one-knee') {
      // The left foot forward (thigh level, shin upright), the right knee down (thigh upright, shin back), leaning over the foot.
      const pitch = r.range(30, 55);
      s.to(r.range(1, 2), { pitch, hipL: 90 + pitch, kneeL: 90, hipR: pitch, kneeR: 90, arms: 80 });
    } else if (variant === 'bent-over') s.to(r.range(0.8, 1.3), { ...legs(r.range(70, 90), r.range(-5, 10), 0), arms: 90 });
    else s.to(r.range(1, 1.5), { ...legs(r.range(40, 60), r.range(80, 95), r.range(-40, -25)), arms: 80 });
    s.hold(r.range(5, 10));
    const restAt = s.time;
    s.to(r.range(0.8, 1.5), { ...STAND });
    return finish('tie-shoe', variant, s, { restAt, hold: 3 });
  },
  'get-up': (d) => {
    const { r } = d;
    const variant = r.pick(['from-lying', 'from-sitting']);
    const start = { ...STAND, ...(variant === 'from-lying' ? onBack(r) : floorSitting(r)) };
    const s = new Script(start);
    s.hold(r.range(3, 8));
    getUp(d, s);
    return finish('get-up', variant, s, { restAt: 0, hold: 2 });
  },
  walk: (d) => {
    const { r } = d;
    const from = r.range(1, 4);
    const s = new Script({ ...STAND, x: -from });
    const speed = r.range(0.6, 1.3);
    s.walk(from / speed, { x: 0 });
    const variant = r.pick(['straight', 'turning']);
    if (variant === 'turning') {
      const turn = r.sign() * r.range(60, 120);
      s.walk(0.8, { heading: turn, x: 0.3, y: 0.3 * Math.sign(turn) });
      const h = (turn * Math.PI) / 180;
      const on = r.range(1, 4);
      s.walk(on / speed, { x: 0.3 + on * Math.cos(h), y: 0.3 * Math.sign(turn) + on * Math.sin(h) });
    } else {
      const on = r.range(1, 4);
      s.walk(on / speed, { x: on });
    }
    return finish('walk', variant, s, { hold: r.range(0, 2) });
  },
  'sit-floor': (d) => {
    const { r } = d;
    const s = walkIn(d);
    const variant = r.pick(['through-kneeling', 'through-squatting']);
    if (variant === 'through-kneeling') s.to(r.range(1, 2), { ...legs(r.range(0, 15), r.range(0, 15), -90), arms: 30 });
    else s.to(r.range(1, 1.5), { ...legs(r.range(30, 45), r.range(75, 90), r.range(-35, -25)), arms: 40 });
    s.to(r.range(1, 2), { x: -0.3, ...floorSitting(r) });
    s.hold(r.range(8, 15));
    const restAt = s.time;
    if (r.chance(0.5)) getUp(d, s);
    return finish('sit-floor', variant, s, { restAt, hold: 2 });
  },
};

/** A move of `family`, drawn from `r` for `body`. */
export function drawMove(family: Family, r: Random, body: Body): Move {
  const d = { r, body };
  return family in FALLS ? FALLS[family as keyof typeof FALLS](d) : EVERYDAY[family as keyof typeof EVERYDAY](d);
}
