/**
 * A move as a script of key poses over time (test/helpers/synthetic/body.ts's
 * BodyPose), and the pose at any moment: each key reached from the one
 * before by a straight mix of every angle and place, eased (a fall speeds up
 * as it goes, `in`; a person's own move starts and stops gently, `inout`),
 * with the legs swinging where the script walks.
 */
import type { BodyPose } from './body.js';

export type Ease = 'linear' | 'in' | 'out' | 'inout';

export interface Key {
  /** Seconds from the move's start. */
  readonly at: number;
  readonly pose: BodyPose;
  /** How the pose goes from the key before to this one. */
  readonly ease: Ease;
  /** Walked from the key before: the legs swing. */
  readonly gait: boolean;
  /** Metres walked by this key since the move began (the gait's phase). */
  readonly walked: number;
}

/** One walking cycle (two steps), metres. */
const STRIDE = 1.3;
/** The thighs' swing either side when walking, and the swinging knee's bend (degrees). */
const SWING = 20;
const KNEE_SWING = 35;

/** A script being written: each call adds a key after the last. */
export class Script {
  readonly keys: Key[];

  constructor(start: BodyPose) {
    this.keys = [{ at: 0, pose: start, ease: 'linear', gait: false, walked: 0 }];
  }

  /** The time of the last key (s). */
  get time(): number {
    return this.keys.at(-1)!.at;
  }

  /** The last key's pose. */
  get pose(): BodyPose {
    return this.keys.at(-1)!.pose;
  }

  /** Reaches `change` (on top of the last pose) after `seconds`. */
  to(seconds: number, change: Partial<BodyPose>, ease: Ease = 'inout'): this {
    return this.#push(seconds, change, ease, false);
  }

  /** Walks to `change`'s place (and heading) in `seconds`. */
  walk(seconds: number, change: Partial<BodyPose>): this {
    return this.#push(seconds, change, 'linear', true);
  }

  /** Stays as it is for `seconds`. */
  hold(seconds: number): this {
    return this.#push(seconds, {}, 'linear', false);
  }

  #push(seconds: number, change: Partial<BodyPose>, ease: Ease, gait: boolean): this {
    const last = this.keys.at(-1)!;
    const pose = { ...last.pose, ...change };
    const walked = last.walked + (gait ? Math.hypot(pose.x - last.pose.x, pose.y - last.pose.y) : 0);
    this.keys.push({ at: last.at + Math.max(0, seconds), pose, ease, gait, walked });
    return this;
  }
}

const eased = (ease: Ease, f: number): number => (ease === 'in' ? f * f : ease === 'out' ? 1 - (1 - f) * (1 - f) : ease === 'inout' ? f * f * (3 - 2 * f) : f);

const FIELDS = ['x', 'y', 'heading', 'pitch', 'roll', 'hipL', 'hipR', 'kneeL', 'kneeR', 'spread', 'arms', 'elbows', 'ground', 'seat'] as const;

/** The pose `time` seconds into a script (its first before the start, its last after the end). */
export function poseAt(keys: readonly Key[], time: number): BodyPose {
  if (time <= keys[0]!.at) return keys[0]!.pose;
  for (let i = 1; i < keys.length; i++) {
    const b = keys[i]!;
    if (time > b.at) continue;
    const a = keys[i - 1]!;
    const span = b.at - a.at;
    const f = span <= 0 ? 1 : (time - a.at) / span;
    const e = eased(b.ease, f);
    const out: Record<(typeof FIELDS)[number], number> = { ...a.pose };
    for (const k of FIELDS) out[k] = a.pose[k] + (b.pose[k] - a.pose[k]) * e;
    if (b.gait) {
      const phase = (2 * Math.PI * (a.walked + (b.walked - a.walked) * f)) / STRIDE;
      const taper = Math.min(1, 4 * f, 4 * (1 - f));
      const swing = SWING * Math.sin(phase) * taper;
      out.hipL += swing;
      out.hipR -= swing;
      out.kneeL += KNEE_SWING * Math.max(0, -Math.cos(phase)) * taper;
      out.kneeR += KNEE_SWING * Math.max(0, Math.cos(phase)) * taper;
    }
    return out;
  }
  return keys.at(-1)!.pose;
}
