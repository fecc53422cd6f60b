/**
 * One synthetic view (test/helpers/synthetic/views.ts) through the fall rule
 * as the system runs it for a fall worker `{ model: person, falls: true }`
 * (with `beds: [bed]` and a `bed` zone drawn around the bed where the view
 * has one): each frame's detection goes, as the person model's result would,
 * through the worker's tracked objects (CameraObjects: the tracker with a fall
 * worker's options, zones, each matched person's posture from postureOf in
 * the picture's proportions) and what they hand over (the people matched,
 * the tracks ended) into a FallWatch with the worker's fall options. A frame
 * where the person is not found is an empty result: the track waits, and ends
 * after the tracker's endAfterSeconds, as a person out of the picture does.
 *
 * toFallFrame is the one place the synthetic frame becomes the rule's input:
 * a change to what the rule is given (more of the tracked person on each
 * sighting) is made there and in the system alike.
 */
import { fallsOptionsOf, trackOptionsOf } from '../../src/config/index.js';
import { FallWatch, type FallFrame, type FallKind, type PostureReading } from '../../src/care/index.js';
import { CameraObjects, trackableDetections } from '../../src/objects/index.js';
import { framesOf, type SyntheticFrame, type View } from '../../test/helpers/synthetic/views.js';

/** The sightings after a fall's impact that say why it was missed: from half a second to 20 s after it (ms). */
const AFTER_IMPACT_MS = [500, 20_000] as const;
/** Capture times start here (ms) and the wall clock is this far ahead of them. */
const CAPTURE_ORIGIN = 1_000_000;
const WALL_OFFSET = 1_700_000_000_000;

/**
 * A synthetic frame as the fall rule is given it: the person model's result through the worker's tracked objects, the
 * people matched and the tracks ended. Every frame, people or none: a frame where nobody is found is how a rule knows
 * someone was lost (on a rule that does not look, it changes nothing).
 */
export function toFallFrame(objects: CameraObjects, frame: SyntheticFrame, aspect: number): FallFrame {
  const d = frame.detection;
  const output = { detections: d === null ? [] : [{ class_id: 0, class_name: 'person', confidence: d.score, bbox: d.box, keypoints: d.keypoints }] };
  const time = CAPTURE_ORIGIN + frame.time;
  const out = objects.update({ time, wallTime: time + WALL_OFFSET, detections: trackableDetections(output) ?? [], aspect });
  const ended = out.events.filter((e) => e.type === 'end').map((e) => e.after.id);
  return { time, people: out.people, ended };
}

/**
 * Why a fall view was not raised, from what the rule was given after the impact (its first 20 s): the person not
 * found in most frames (hidden, out of the picture); else what their pose was read as in most sightings: lying,
 * on the floor (lying or sitting with the feet at the hips' level: down, yet no fall judged and no minute run out),
 * unknown, sitting where the legs do not say or folded, upright; else mixed.
 */
export type MissedWhy = 'not found' | 'read lying' | 'read on the floor' | 'pose unknown' | 'read sitting, seat unsaid or folded' | 'read upright' | 'mixed';

/** The MissedWhy of a fall view's sightings after its impact, `frames` the frames drawn over that time. */
export function missedWhy(readings: readonly PostureReading[], frames: number): MissedWhy {
  if (readings.length < 0.3 * frames) return 'not found';
  const share = (test: (r: PostureReading) => boolean): number => readings.filter(test).length / readings.length;
  if (share((r) => r.posture === 'lying') >= 0.5) return 'read lying';
  if (share((r) => r.posture === 'lying' || r.seat === 'floor') >= 0.5) return 'read on the floor';
  if (share((r) => r.posture === 'unknown') >= 0.5) return 'pose unknown';
  if (share((r) => r.posture === 'sitting' && r.seat !== 'floor' && r.seat !== 'raised') >= 0.4) return 'read sitting, seat unsaid or folded';
  if (share((r) => r.posture === 'upright') >= 0.4) return 'read upright';
  return 'mixed';
}

/** What the rule did over one view. */
export interface ViewOutcome {
  /** The first alert at or after a fall's onset (an everyday move: at any time), and when (s from the view's start). */
  readonly raised: FallKind | null;
  readonly raisedAt: number | null;
  /** Alerts in a fall view before its onset. */
  readonly early: number;
  /** A fall view not raised: why (missedWhy()); else null. */
  readonly missed: MissedWhy | null;
  /** Frames the person was found in, of all. */
  readonly detected: number;
  readonly frames: number;
}

/** Runs one view through the rule; a fall view stops at its first alert after the onset. */
export function runView(view: View): ViewOutcome {
  const worker = { id: 'people', model: 'person', falls: view.bedZone === null ? true : { beds: ['bed'] } };
  const { snapshotSeconds: _s, updateSeconds: _u, ...tracker } = trackOptionsOf(worker)!;
  const objects = new CameraObjects({
    camera: `view${view.index}`,
    worker: worker.id,
    tracker,
    zones: view.bedZone === null ? [] : [{ name: 'bed', polygon: view.bedZone }],
  });
  const watch = new FallWatch(fallsOptionsOf(worker)!);
  const onset = view.move.onset === null ? null : CAPTURE_ORIGIN + view.move.onset * 1000;
  const impact = view.move.impact === null ? null : CAPTURE_ORIGIN + view.move.impact * 1000;
  let early = 0;
  let frames = 0;
  let detected = 0;
  /** The readings of the person after the impact (its first 20 s) and the frames drawn then: why a fall was missed. */
  const after: PostureReading[] = [];
  let framesAfter = 0;
  for (const frame of framesOf(view)) {
    frames++;
    if (frame.detection !== null) detected++;
    const fallFrame = toFallFrame(objects, frame, view.camera.aspect);
    if (impact !== null && fallFrame.time >= impact + AFTER_IMPACT_MS[0] && fallFrame.time <= impact + AFTER_IMPACT_MS[1]) {
      framesAfter++;
      after.push(...fallFrame.people.map((p) => p.reading));
    }
    for (const r of watch.update(fallFrame).raised) {
      if (onset !== null && r.time < onset) {
        early++;
        continue;
      }
      return { raised: r.kind, raisedAt: (r.time - CAPTURE_ORIGIN) / 1000, missed: null, early, detected, frames };
    }
  }
  return { raised: null, raisedAt: null, missed: view.move.fall ? missedWhy(after, framesAfter) : null, early, detected, frames };
}
