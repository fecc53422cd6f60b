/**
 * Restart policies and drop-alert thresholds by criticality (the four
 * classes of ADR 0010, each with its restart schedule): what the supervisor does when a
 * worker dies or hangs, and when its dropping deserves an alert.
 */
import { CRITICALITIES, InvalidArgumentError, type Criticality } from '../supplier/index.js';

export interface RestartPolicy {
  /** Restarts allowed before the worker is `failed`; the budget refills after healthyResetMs of uninterrupted running. */
  readonly maxRestarts: number;
  /** Delay before restart n (0-based); the last entry repeats if there are fewer entries than restarts. At least 100 ms is waited whatever this says. */
  readonly backoffMs: readonly number[];
  /** Running this long without a failure resets the restart budget. Default 60 000. */
  readonly healthyResetMs: number;
}

export const DEFAULT_RESTART_POLICIES: Readonly<Record<Criticality, RestartPolicy>> = {
  critical: { maxRestarts: 3, backoffMs: [1_000, 2_000, 4_000], healthyResetMs: 60_000 },
  high: { maxRestarts: 1, backoffMs: [1_000], healthyResetMs: 60_000 },
  normal: { maxRestarts: 1, backoffMs: [1_000], healthyResetMs: 60_000 },
  'best-effort': { maxRestarts: 0, backoffMs: [], healthyResetMs: 60_000 },
};

/** Drop ratio over the window above which a worker is alerted on; null: never. (critical: any drop; high: over 10 %; normal: over 50 %; best-effort: never.) */
export const DEFAULT_DROP_THRESHOLDS: Readonly<Record<Criticality, number | null>> = {
  critical: 0,
  high: 0.1,
  normal: 0.5,
  'best-effort': null,
};

export function validatePolicy(policy: RestartPolicy, where: string): RestartPolicy {
  const ok =
    Number.isInteger(policy.maxRestarts) &&
    policy.maxRestarts >= 0 &&
    Array.isArray(policy.backoffMs) &&
    policy.backoffMs.every((ms) => Number.isFinite(ms) && ms >= 0) &&
    (policy.maxRestarts === 0 || policy.backoffMs.length > 0) &&
    Number.isFinite(policy.healthyResetMs) &&
    policy.healthyResetMs > 0;
  if (!ok)
    throw new InvalidArgumentError(
      `${where}: a restart policy needs maxRestarts ≥ 0 (integer), backoffMs of non-negative numbers (one at least when restarting), healthyResetMs > 0`,
    );
  return policy;
}

export function validateThreshold(value: number | null, where: string): number | null {
  if (value !== null && !(value >= 0 && value <= 1))
    throw new InvalidArgumentError(`${where}: a drop threshold is a ratio from 0 to 1, or null, got ${String(value)}`);
  return value;
}

export function isCriticality(value: unknown): value is Criticality {
  return typeof value === 'string' && (CRITICALITIES as readonly string[]).includes(value);
}
