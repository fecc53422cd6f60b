/**
 * A fall or person-down alert as it is published, stored and shown (ADR 0132, ADR 0133): its fields, its events
 * (Frigate's `{ type, before, after }`), a vision-language model's answer added to it, why it ended, and the two
 * questions asked of a stored one (does it still stand for "a person is down"; is a row one). The fall watch
 * (falls.ts) decides when one is raised and ended; this is its shape.
 */
import type { SnapshotInfo } from '../internal/snapshot-info.js';
import type { FallAnswerFields } from './fall-answer.js';
import type { FallKind } from './fall-sightings.js';
import type { Box } from '../internal/box.js';
import type { Posture } from './posture.js';

/** Why an alert ended: the person up again, gone from sight (the track ended), the worker or camera stopped, or the process (ended by the next start). */
export type FallEndReason = 'up' | 'gone' | 'stopped' | 'restart';

/** A vision-language model's answer about an alert (the vlm worker's `fall` trigger), added to it when it comes. */
export interface FallConfirmation {
  readonly worker: string;
  readonly answer: unknown;
  /** Epoch seconds it came. */
  readonly at: number;
  /** How old its picture was when it came (ms), when the worker says. */
  readonly frame_age_ms: number | null;
  /** The worker marked it stale (later than its staleAfterMs). */
  readonly stale: boolean;
  /**
   * False when the model was not shown the person (a private camera's picture has them hidden, ADR 0165): the
   * answer then says nothing of the fall, and `not_judged` says why.
   */
  readonly judged: boolean;
  readonly not_judged?: string;
}

/**
 * A fall or person-down alert, as published (`<prefix>/falls`, Frigate's `{ type, before, after }`), stored (the
 * events store, filed by `label`: fall or down) and shown. Times are epoch seconds on capture time (turned into
 * the wall clock with the frames' own pairs of times) unless said; ages in ms.
 */
export interface FallAlert extends FallAnswerFields {
  /** The alert's id, Frigate's shape (eventId()). */
  readonly id: string;
  readonly kind: FallKind;
  /** The same as kind: what the events store and GET /api/events?label= file it by. */
  readonly label: FallKind;
  readonly camera: string;
  readonly worker: string;
  /** The tracked person's id (their tracked-object events'). */
  readonly object_id: string;
  /** The person's detection score at their latest sighting, and at the alert's. */
  readonly score: number;
  readonly top_score: number;
  /** The person's latest box, normalised. */
  readonly box: Box;
  readonly posture: Posture;
  readonly posture_score: number;
  /** The fall's start (the last sighting upright); null for `down` with no fall seen. */
  readonly fall_time: number | null;
  /** The first sighting down (`down`: lying or on the floor outside the beds from then). */
  readonly down_time: number;
  /** Frigate's: the fall's start, else the first sighting down. */
  readonly start_time: number;
  /** The frame that raised it. */
  readonly raised_time: number;
  /** The person's latest sighting. */
  readonly frame_time: number;
  /** That frame's age when this event was made. */
  readonly frame_age_ms: number;
  /** How old the fall's first frame and the first frame down were when it was raised (capture → alert). */
  readonly fall_age_ms: number | null;
  readonly down_age_ms: number;
  readonly current_zones: readonly string[];
  readonly entered_zones: readonly string[];
  readonly end_time: number | null;
  readonly end_reason: FallEndReason | null;
  readonly has_snapshot: boolean;
  readonly snapshot: SnapshotInfo | null;
  /** Wall clock, epoch seconds; null until acknowledged. */
  readonly acknowledged_at: number | null;
  /** Who acknowledged it (api, mqtt, dashboard, or what the caller said). */
  readonly acknowledged_by: string | null;
  /** How many times it has been raised: 1, then one more each repeatSeconds it stays active and not acknowledged. */
  readonly raised: number;
  /** Wall clock, epoch seconds, of its latest raise. */
  readonly raised_at: number;
  readonly confirmation: FallConfirmation | null;
  /**
   * False: the person was lost from sight while going down and not found again (their track ended), never seen on
   * the floor; the alert is raised all the same. True otherwise (absent on alerts stored before it was added).
   */
  readonly seen_down?: boolean;
}

export interface FallEvent {
  readonly type: 'new' | 'update' | 'end';
  readonly before: FallAlert;
  readonly after: FallAlert;
}

/**
 * Whether an alert still stands for "a person is down": open (the person not up, not gone), or ended other than by
 * the person getting up (gone from sight, the worker stopped, the process restarted) and not acknowledged. The
 * person-down sensor is on while one stands; repeats go on while it stands unacknowledged.
 */
export function alertStands(alert: FallAlert): boolean {
  return alert.end_time === null || (alert.acknowledged_at === null && alert.end_reason !== 'up');
}

/** Whether an events store row (or any object) is a fall alert. */
export function isFallAlert(row: unknown): row is FallAlert {
  if (row === null || typeof row !== 'object') return false;
  const r = row as { kind?: unknown; object_id?: unknown };
  return (r.kind === 'fall' || r.kind === 'down') && typeof r.object_id === 'string';
}
