/**
 * PERSON-RECALL's second look played as a fall worker plays it (ADR 0189): the shipped SecondLook deciding when to
 * look and what squares to cut, fed by the shipped rule's parts as the system wires them: the tracker (CameraObjects
 * with the fall workers' tracker defaults), the fall rule (FallWatch.lost(): people lost going down) and LookFor (the
 * people lost inside the picture, the sweep). A frame's people are what the whole frame found (the caller's model)
 * and what the look's squares due on it found (LookPose, MoveNet Lightning, as the person handler answers a square
 * marked `look`), turned back into the frame (region-run.ts' detectionsInFrame); they go to the tracker as the
 * worker's result would, so the looks of the next frames follow the tracks as they would live.
 *
 * Triggers: `descent` (the look as shipped before ADR 0189: only people lost going down), `inside` (also those lost
 * inside the picture), `inside+sweep` (and the sweep after a loss with nobody found, and at the clip's start).
 */
import { FALL_TRACKER_DEFAULTS, FallWatch, LookFor, type FallRaised } from '../../src/care/index.js';
import type { Detection } from '../../src/ipc/index.js';
import type { LookPose } from '../../src/models/person/look-pose.js';
import type { PersonDetection } from '../../src/models/person/person-model.js';
import { CameraObjects } from '../../src/objects/index.js';
import { SecondLook } from '../../src/pipeline/camera/second-look.js';
import type { Frame } from '../../src/supplier/index.js';
import { detectionsInFrame } from '../../src/workers/region-run.js';

export type Trigger = 'descent' | 'inside' | 'inside+sweep';

/** What one frame came to: the people found (whole frame and look), and what the look was (null: none ran). */
export interface PlayedFrame {
  readonly people: readonly Detection[];
  readonly looked: 'look' | 'sweep' | null;
  /** The squares' calls of LookPose (three a square). */
  readonly calls: number;
  /** The tracked people the fall rule was given (their track ids and postures), and what it raised on this frame. */
  readonly tracked: readonly string[];
  readonly postures: readonly string[];
  readonly raised: readonly FallRaised[];
}

const asDetection = (d: PersonDetection): Detection => ({
  class_id: 0,
  class_name: 'person',
  confidence: d.confidence,
  bbox: d.bbox,
  ...(d.keypoints === undefined ? {} : { keypoints: d.keypoints }),
});

export class WorkerPlay {
  readonly #objects = new CameraObjects({ camera: 'bench', worker: 'people', tracker: FALL_TRACKER_DEFAULTS });
  readonly #watch = new FallWatch();
  readonly #room = new LookFor();
  readonly #look: SecondLook;
  readonly #pose: Pick<LookPose, 'detect'>;
  readonly #side: number;

  constructor(trigger: Trigger, pose: Pick<LookPose, 'detect'>, inputSide: number) {
    this.#pose = pose;
    this.#side = inputSide;
    this.#look = new SecondLook({
      lost: () => {
        const descents = this.#watch.lost();
        return trigger === 'descent' ? descents : this.#room.targets(descents, (id) => this.#watch.alertOf(id) !== null);
      },
      ...(trigger === 'inside+sweep' ? { sweep: (time: number) => this.#room.sweep(time) } : {}),
    });
  }

  /** One frame at capture time `time` (ms), whose whole frame found `whole`. */
  async frame(rgb: Uint8Array, width: number, height: number, time: number, whole: readonly PersonDetection[]): Promise<PlayedFrame> {
    const before = this.#look.stats();
    const frame = { payload: rgb, width, height, format: 'rgb24', captureTime: time, wallTime: time, seq: 0, streamId: 'bench' } as unknown as Frame;
    const plan = await this.#look.plan(frame, this.#side);
    const after = this.#look.stats();
    const people: Detection[] = whole.map(asDetection);
    let calls = 0;
    for (const crop of plan?.crops ?? []) {
      if (crop.look !== true) continue;
      calls++;
      const best = (await this.#pose.detect(crop.payload, crop.width, crop.height)).slice(0, 1).map(asDetection);
      // The same person found on several squares or turns is kept once (the worker merges duplicates across crops).
      for (const d of detectionsInFrame(best, crop.region, width, height, crop.turn)) if (!people.some((p) => overlaps(p.bbox, d.bbox))) people.push(d);
    }
    if (plan !== null) this.#look.answered(plan, people);
    const out = this.#objects.update({
      time,
      wallTime: time,
      now: time,
      detections: people.map((d) => ({ label: 'person', score: d.confidence, box: d.bbox, ...(d.keypoints === undefined ? {} : { keypoints: d.keypoints }) })),
      aspect: width / height,
    });
    const ended = out.events.filter((e) => e.type === 'end').map((e) => e.after.id);
    const { raised } = this.#watch.update({ time, people: out.people, ended });
    this.#room.observe({ time, people: out.people, ended });
    const looked = after.sweepLooks > before.sweepLooks ? 'sweep' : after.looks > before.looks ? 'look' : null;
    return { people, looked, calls, tracked: out.people.map((p) => p.id), postures: out.people.map((p) => p.reading.posture), raised };
  }
}

/** Two boxes overlapping by more than a third of the smaller (the same person). */
function overlaps(a: readonly number[], b: readonly number[]): boolean {
  const w = Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!);
  const h = Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!);
  if (w <= 0 || h <= 0) return false;
  const area = (r: readonly number[]): number => (r[2]! - r[0]!) * (r[3]! - r[1]!);
  return w * h > Math.min(area(a), area(b)) / 3;
}
