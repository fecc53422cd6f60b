/**
 * What `framesupplier/care` offers a user of the package, named by hand: the care rules a program may run or read
 * itself (posture from keypoints, the fall watch and its alerts, the silence alarm's types that events and stats
 * carry). The folder's index.ts is its surface for the other folders of src/ and may offer them more; a name
 * becomes the package's API only by being listed here, this entry's one list (test/conventions/public-surface.test.ts
 * holds its rules: no `export *`, no tuning constant).
 */
export { alertStands, FALL_DEFAULTS, FALL_KINDS, FallWatch, isFallAlert, PostureFilter, postureOf, POSTURES, resolveFallOptions } from './index.js';
export type {
  CameraSilence,
  FallAlert,
  FallAnswerFields,
  FallConfirmation,
  FallEndReason,
  FallEnded,
  FallEscalationStep,
  FallEvent,
  FallFrame,
  FallKind,
  FallLogEntry,
  FallNotifyTarget,
  FallRaised,
  FallUpdate,
  FallWatchOptions,
  Keypoint,
  LostPerson,
  PersonSighting,
  Posture,
  PostureOptions,
  PostureReading,
  ResolvedFallOptions,
  Seat,
  SilenceReason,
  SilenceState,
  WorkerSilence,
} from './index.js';
