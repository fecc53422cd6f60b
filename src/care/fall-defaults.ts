/**
 * The fall watch's option defaults and the tracker's for a fall worker, once (ADR 0132): the fall watch
 * (falls.ts) resolves its options with them, the config (src/config) gives them as the schema's defaults
 * and reads a fall worker's tracker through them, so `config check`, the docs and the system agree.
 */
export const FALL_DEFAULTS = {
  /** Upright to down within this (seconds). */
  fallSeconds: 2,
  /** The top of the box drops by at least this share of the upright height. */
  drop: 0.45,
  /** Still down this long after the first down sighting (seconds). */
  confirmSeconds: 1,
  /** Lying or sitting on the floor outside the beds this long: down (seconds). */
  downSeconds: 60,
  /** Up again this long ends an alert (seconds). */
  upSeconds: 2,
  /** Not acknowledged this long after it was raised: raised again (seconds). */
  repeatSeconds: 120,
  /** MQTT v5 message expiry of its events (seconds). */
  expirySeconds: 3_600,
} as const;

/** Every fall option, as the config spells them. */
export interface FallOptionValues {
  readonly fallSeconds: number;
  readonly drop: number;
  readonly confirmSeconds: number;
  readonly downSeconds: number;
  readonly upSeconds: number;
  readonly beds: readonly string[];
  readonly repeatSeconds: number;
  readonly expirySeconds: number;
}

/** The options given, each one not given its default (no beds by default). */
export function withFallDefaults(own: { readonly [K in keyof FallOptionValues]?: FallOptionValues[K] | undefined }): FallOptionValues {
  const d = FALL_DEFAULTS;
  return {
    fallSeconds: own.fallSeconds ?? d.fallSeconds,
    drop: own.drop ?? d.drop,
    confirmSeconds: own.confirmSeconds ?? d.confirmSeconds,
    downSeconds: own.downSeconds ?? d.downSeconds,
    upSeconds: own.upSeconds ?? d.upSeconds,
    beds: own.beds ?? [],
    repeatSeconds: own.repeatSeconds ?? d.repeatSeconds,
    expirySeconds: own.expirySeconds ?? d.expirySeconds,
  };
}

/**
 * A fall worker's tracker, under its own `track` options: a person lying on the floor scores low with a pose
 * model (0.15–0.35 with MoveNet MultiPose where standing scored 0.6–0.7), so a track starts from 0.15 (the
 * person model's own least score); and a
 * person who falls stops at once where the motion model carries their box on, so a track is matched by where it
 * was last seen too.
 */
export const FALL_TRACKER_DEFAULTS = { highScore: 0.15, matchLastSeen: true } as const;
