/**
 * What a fall watch (falls.ts, ADR 0132) takes and gives, frame by frame: a
 * tracked person as one frame saw them (box, posture reading, zones, and the
 * share of the body on each zone), the frame, the alerts it raised and ended,
 * and the people it lost from sight while they were going down.
 */
import type { Box } from '../internal/box.js';
import type { PostureReading } from './posture.js';

export const FALL_KINDS = ['fall', 'down'] as const;
export type FallKind = (typeof FALL_KINDS)[number];

/** A tracked person as one frame saw them. */
export interface PersonSighting {
  /** The tracked object's id. */
  readonly id: string;
  readonly box: Box;
  readonly score: number;
  readonly reading: PostureReading;
  /** The zones it is in now. */
  readonly zones: readonly string[];
  /** The share (0–1) of the body on each zone it overlaps (keypoints seen, else the box); zones absent: none of it. Absent: `zones` says. */
  readonly cover?: Readonly<Record<string, number>>;
  /**
   * The share (0–1) of the body below each zone's lowest edge (straight under it: on the floor in front of the bed a
   * zone is drawn around, which the zone covers in the picture); zones absent: none of it. Absent: not known.
   */
  readonly below?: Readonly<Record<string, number>>;
}

export interface FallFrame {
  /** Capture time of the frame (ms). */
  readonly time: number;
  /** The people matched in this frame. */
  readonly people: readonly PersonSighting[];
  /** The ids of the tracks the tracker ended with this frame (or its tick). */
  readonly ended?: readonly string[];
}

/** An alert raised: the person, when the fall started (the last upright sighting; null for `down` with no fall seen), when they were down, and the frame that raised it. */
export interface FallRaised {
  readonly kind: FallKind;
  readonly person: PersonSighting;
  /** Capture time (ms) of the fall's start; null when no fall was seen. */
  readonly fallTime: number | null;
  /** Capture time (ms) of the first sighting down (lost while going down or gone out of sight low: the last sighting, or when they went down). */
  readonly downTime: number;
  /** Capture time (ms) of the frame that raised it. */
  readonly time: number;
  /** False for a person lost from sight while going down, or gone out of sight low, whose track ended: never seen on the floor. */
  readonly seenDown: boolean;
}

export interface FallEnded {
  readonly kind: FallKind;
  /** The tracked object's id. */
  readonly id: string;
  readonly reason: 'up' | 'gone';
  /** Capture time (ms): the sighting that made them up for upSeconds, or the frame whose tracker ended the track. */
  readonly time: number;
}

/** A person lost from sight while going down (lost()): the track's last box and when it was last seen. */
export interface LostPerson {
  /** The tracked object's id. */
  readonly id: string;
  /** Its box at the last sighting, normalised. */
  readonly box: Box;
  /** Capture time (ms) of the last sighting. */
  readonly lastSeen: number;
}

export interface FallUpdate {
  readonly raised: readonly FallRaised[];
  readonly ended: readonly FallEnded[];
}
