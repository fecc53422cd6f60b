/**
 * The tracker's option defaults, once: the tracker (src/objects) resolves its
 * options with them, and the config's validator (src/config) reads them to
 * judge a worker's `track` as it will run (a `lowScore` alone must not exceed
 * the default `highScore`; a gated worker looks for an object it missed every
 * half of the default `endAfterSeconds`), so `config check` refuses what the tracker
 * would.
 */
export const TRACKER_DEFAULTS = {
  confirmHits: 3,
  endAfterSeconds: 2,
  highScore: 0.5,
  lowScore: 0.1,
  matchIou: 0.2,
  lowMatchIou: 0.5,
  maxSpeed: 1,
  measurementStd: 0.05,
  accelerationStd: 2,
  stationaryIou: 0.8,
  stationarySeconds: 10,
} as const;
