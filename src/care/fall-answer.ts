/**
 * How a fall alert is answered (ADR 0133, 0157, 0158): the fields an alert carries about who was told, who
 * answered and when, and the pure decisions about them, with no clock (every call says what time it is):
 * - what a press of an "acknowledge all" button covers: the alerts of its camera not yet acknowledged whose `new`
 *   went out at or before the press (pressCovers), never one raised after it;
 * - which escalation steps are due (stepsDue): step i once the alert has stood unacknowledged, not held as assisted,
 *   for its `after` seconds, each step once, in order;
 * - the alert's log (withLogEntry): raised, escalated (each target's delivery), held as assisted and back to
 *   watching alone, acknowledged (by whom), ended; bounded at LOG_LIMIT entries, the first (its raise) always kept;
 * - the figures care buyers ask for (answerStats): time to acknowledge (its `new` to its acknowledgement) and time
 *   on the floor (the first sighting down to the person up or the acknowledgement, whichever came first);
 * - an alert stored by an earlier version (without these fields) read with their defaults (withAnswerDefaults).
 */

import type { NotifyTarget } from '../internal/notify-target.js';

/** Where an escalation step tells: an MQTT topic (on the config's broker) or a webhook (an HTTP POST of JSON). */
export type FallNotifyTarget = NotifyTarget;
export { targetLabel } from '../internal/notify-target.js';

/** One step of an alert's escalation: told to `notify` once it stood unacknowledged `after` seconds (assisted time not counted). */
export interface FallEscalationStep {
  readonly after: number;
  readonly notify: readonly FallNotifyTarget[];
}

export const FALL_LOG_ENTRIES = ['raised', 'escalated', 'notified', 'assisted', 'alone', 'acknowledged', 'ended'] as const;

/** One line of an alert's log: when (wall clock, epoch seconds) and what happened. */
export interface FallLogEntry {
  readonly at: number;
  readonly what: (typeof FALL_LOG_ENTRIES)[number];
  /** acknowledged: who (api, mqtt, dashboard, or what the caller said). */
  readonly by?: string;
  /** escalated, notified: the step's index (0 first). */
  readonly step?: number;
  /** notified: the target as it may be shown (an MQTT topic, a webhook's name or its origin, never its token). */
  readonly target?: string;
  /** notified: whether it went (the broker's acknowledgement, the webhook's 2xx); else `code` says why not. */
  readonly ok?: boolean;
  readonly code?: string;
  /** ended: why. */
  readonly reason?: string;
}

/** What an alert says about how it was answered (its part of FallAlert). */
export interface FallAnswerFields {
  /** Wall clock, epoch seconds, of its `new`: what "raised before a press" is judged by. */
  readonly first_raised_at: number;
  /**
   * Raised, or standing, in a single-occupancy room while two or more people are tracked there (a carer is with
   * the resident): published and shown as any alert, its repeats and escalation held until the room is watched alone again.
   */
  readonly assisted: boolean;
  /** How many escalation steps have been told. */
  readonly escalated: number;
  readonly log: readonly FallLogEntry[];
  /** Its `new` to its acknowledgement (ms); null until acknowledged. */
  readonly time_to_acknowledge_ms: number | null;
  /** The first sighting down to the person up or the acknowledgement, whichever came first (ms); null until one came. */
  readonly time_on_floor_ms: number | null;
}

/** The most lines an alert's log keeps (its raise and the newest others). */
export const LOG_LIMIT = 48;

/** The log with one more line: the first (its raise) is always kept, then the newest, LOG_LIMIT in all. */
export function withLogEntry(log: readonly FallLogEntry[] | undefined, entry: FallLogEntry): FallLogEntry[] {
  const all = [...(log ?? []), entry];
  return all.length <= LOG_LIMIT ? all : [all[0]!, ...all.slice(all.length - LOG_LIMIT + 1)];
}

/** The alerts (of the camera the press is for) a press at `pressedAt` (epoch seconds) acknowledges: not acknowledged, and out before it. */
export function pressCovers<A extends { readonly acknowledged_at: number | null; readonly first_raised_at: number }>(
  alerts: readonly A[],
  pressedAt: number,
): A[] {
  return alerts.filter((a) => a.acknowledged_at === null && a.first_raised_at <= pressedAt);
}

/** The indexes of the steps due now, after `sent` were told, for an alert that stood unacknowledged and not assisted `elapsedMs`. */
export function stepsDue(steps: readonly FallEscalationStep[], sent: number, elapsedMs: number): number[] {
  const out: number[] = [];
  for (let i = sent; i < steps.length && elapsedMs >= steps[i]!.after * 1000; i++) out.push(i);
  return out;
}

/**
 * Time to acknowledge and time on the floor of an alert acknowledged `sinceNewMs` after its `new`, its person first
 * seen down `downMs` before: time on the floor is kept if it was already set (the person was up first).
 */
export function answerStats(
  alert: Pick<FallAnswerFields, 'time_on_floor_ms'>,
  sinceNewMs: number,
  downMs: number,
): Pick<FallAnswerFields, 'time_to_acknowledge_ms' | 'time_on_floor_ms'> {
  return { time_to_acknowledge_ms: Math.max(0, Math.round(sinceNewMs)), time_on_floor_ms: alert.time_on_floor_ms ?? Math.max(0, Math.round(downMs)) };
}

/** What an escalation step tells (the MQTT message, the webhook's JSON body): the alert, and a line a person reads. */
export function escalationMessage<
  A extends { readonly id: string; readonly kind: string; readonly camera: string; readonly assisted: boolean; readonly raised: number },
>(alert: A, step: number, steps: number): { type: 'fall-escalation'; step: number; steps: number; text: string; alert: A } {
  const what = alert.kind === 'fall' ? 'a person fell' : 'a person is down';
  const assisted = alert.assisted ? ' (assisted: a carer is in the room)' : '';
  return {
    type: 'fall-escalation',
    step,
    steps,
    text: `${alert.camera}: ${what}${assisted}, not acknowledged (step ${step + 1} of ${steps}, alert ${alert.id})`,
    alert,
  };
}

/** An alert as an earlier version stored it (without the answer's fields), with their defaults. */
export function withAnswerDefaults<A extends { readonly raised_at: number } & Partial<FallAnswerFields>>(alert: A): A & FallAnswerFields {
  return {
    ...alert,
    first_raised_at: alert.first_raised_at ?? alert.raised_at,
    assisted: alert.assisted ?? false,
    escalated: alert.escalated ?? 0,
    log: alert.log ?? [],
    time_to_acknowledge_ms: alert.time_to_acknowledge_ms ?? null,
    time_on_floor_ms: alert.time_on_floor_ms ?? null,
  };
}
