/**
 * Care: the rules of elderly-care monitoring and their defaults, in one folder (ADR 0184). A person's posture from
 * pose keypoints (posture.ts) and kept steady (posture-filter.ts); the fall rule (falls.ts: FallWatch, on the
 * stances, sightings and descents of fall-stance.ts and fall-sightings.ts) and how its alerts are answered
 * (fall-answer.ts: escalation steps, the alert's log, an acknowledge-all press; alert-clocks.ts: held alerts' clocks
 * on the monotonic clock, the answered figures); single-occupancy rooms (occupancy.ts, fall-rooms.ts); who a fall worker's second look looks for, and
 * when it sweeps the picture (look-for.ts); a silent
 * camera's alarm (silence.ts); a private room's policy (privacy.ts: what is private, how its people are shown);
 * and the defaults the config and the rules share (fall-defaults.ts,
 * occupancy-defaults.ts). Every one pure: no clock of its own, no timer, no I/O, every time an argument.
 *
 * Stands on the ground floor alone, below objects/ (whose tracked people carry a posture), config/ (whose schema
 * takes these defaults), models/ and workers/ (the person model and a crop run read postures) and the pipeline, whose
 * watches (src/pipeline/watches/) drive these rules with the system's results, clock and events; the adapters
 * (mqtt, http, app) read the alerts these rules make. What a config file says of care (its sections, their checks)
 * stays in src/config (which reads a camera's section into privacy.ts's choices), and how a private camera's people
 * are hidden in pictures in src/pictures.
 *
 * This index is the folder's surface for the other folders; `framesupplier/care` (public.ts) is the package's.
 */
export { KEYPOINT_COUNT, POSTURES, postureOf, type Keypoint, type Posture, type PostureOptions, type PostureReading, type Seat } from './posture.js';
export { PostureFilter } from './posture-filter.js';
export { FALL_DEFAULTS, FALL_TRACKER_DEFAULTS, withFallDefaults, type FallOptionValues } from './fall-defaults.js';
export {
  FALL_KINDS,
  FallWatch,
  alertStands,
  isFallAlert,
  resolveFallOptions,
  type FallAlert,
  type FallConfirmation,
  type FallEndReason,
  type FallEvent,
  type FallEnded,
  type FallFrame,
  type FallKind,
  type FallRaised,
  type FallUpdate,
  type FallWatchOptions,
  type LostPerson,
  type PersonSighting,
  type ResolvedFallOptions,
} from './falls.js';
export {
  answerStats,
  escalationMessage,
  FALL_LOG_ENTRIES,
  LOG_LIMIT,
  pressCovers,
  stepsDue,
  targetLabel,
  withAnswerDefaults,
  withLogEntry,
  type FallAnswerFields,
  type FallEscalationStep,
  type FallLogEntry,
  type FallNotifyTarget,
} from './fall-answer.js';
export { age, AnswerTally, hold, monoAgo, release, seconds, type AnsweredStats, type StatSums, type HeldAlert } from './alert-clocks.js';
export { Occupancy, OCCUPANCY_DEFAULTS, type OccupancyOptions, type RoomState } from './occupancy.js';
export { FallRooms, type RoomStats } from './fall-rooms.js';
export {
  LookFor,
  LOST_LOOK_AFTER_SECONDS,
  START_SWEEP_SECONDS,
  SWEEP_AFTER_SECONDS,
  SWEEP_SECONDS,
  type LookForOptions,
  type LookFrame,
  type LookReason,
  type LookSighting,
  type LookTarget,
  type SweepOrder,
} from './look-for.js';
export {
  cameraSilence,
  firstCause,
  SILENCE_REASONS,
  SILENCE_SECONDS,
  SilenceAlarm,
  type CameraSilence,
  type SilenceCause,
  type SilenceChange,
  type SilenceReason,
  type SilenceState,
  type WorkerSilence,
} from './silence.js';
export { PRIVACY_DEFAULTS, privacySetting, type PrivacyChoices, type PrivacySetting, type PrivacyShow } from './privacy.js';
