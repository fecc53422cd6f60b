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
import { FallWatch, type FallFrame, type FallKind } from '../../src/care/index.js';
import { CameraObjects, trackableDetections } from '../../src/objects/index.js';
import { framesOf, type SyntheticFrame, type View } from '../../test/helpers/synthetic/views.js';

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

/** What the rule did over one view. */
export interface ViewOutcome {
  /** The first alert at or after a fall's onset (an everyday move: at any time), and when (s from the view's start). */
  readonly raised: FallKind | null;
  readonly raisedAt: number | null;
  /** Alerts in a fall view before its onset. */
  readonly early: number;
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
  let early = 0;
  let frames = 0;
  let detected = 0;
  for (const frame of framesOf(view)) {
    frames++;
    if (frame.detection !== null) detected++;
    for (const r of watch.update(toFallFrame(objects, frame, view.camera.aspect)).raised) {
      if (onset !== null && r.time < onset) {
        early++;
        continue;
      }
      return { raised: r.kind, raisedAt: (r.time - CAPTURE_ORIGIN) / 1000, early, detected, frames };
    }
  }
  return { raised: null, raisedAt: null, early, detected, frames };
}
