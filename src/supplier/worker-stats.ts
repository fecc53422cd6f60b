/**
 * What a worker's mailbox reports of itself (its criticality and figures), apart from the mailbox that keeps
 * them, so the accounting (reader-account.ts) and the mailbox (subscription.ts) both read it without reading
 * each other.
 */
import type { FrameAgeHistogram } from './frame-age.js';

export const CRITICALITIES = ['critical', 'high', 'normal', 'best-effort'] as const;
export type Criticality = (typeof CRITICALITIES)[number];

export interface WorkerStats {
  readonly workerId: string;
  readonly criticality: Criticality;
  readonly subscribedAt: number;
  /** Frames handed out by read(). */
  readonly delivered: number;
  /** Frames this worker never saw because a newer one replaced them (in its mailbox or the inbox) while it was busy. */
  readonly drops: number;
  /** Drops since the last frame this worker consumed. */
  readonly consecutiveDrops: number;
  /** Frames refused at read time for being older than maxAgeMs. */
  readonly staleSkips: number;
  /** Frames let pass by maxFps: replaced within 1/maxFps of the frame taken before, or while the worker waited for its slot. */
  readonly gated: number;
  /** Frames published for this worker and not yet delivered, dropped, gated or skipped (0, 1, or more while distribution is pending). */
  readonly pending: number;
  readonly lastConsumedSeq: number | null;
  /** Wall-clock time (Date.now()) of the last delivered frame. */
  readonly lastConsumedAt: number | null;
  /** Age (read time − capture time, ms) of the last delivered frame. */
  readonly lastFrameAgeMs: number | null;
  /** Ages of every delivered frame, as a histogram (frame-age.ts). */
  readonly frameAge: FrameAgeHistogram;
  /** Age at read of the last RECENT_SAMPLES delivered frames, p50 and p99 (ms; null before the first): how the reader does now. */
  readonly frameAgeRecent: { readonly p50Ms: number | null; readonly p99Ms: number | null };
  /** Deliveries per second over the supplier's fps window. */
  readonly fps: number;
  /** True while a read() is pending (the worker is ready and waits for a frame, or for its maxFps slot). */
  readonly waiting: boolean;
  /** Not waiting in read() and no read() (or touch()) call for longer than the idle threshold. */
  readonly idle: boolean;
  readonly idleThresholdMs: number;
  readonly maxAgeMs: number | null;
  readonly maxFps: number | null;
}
