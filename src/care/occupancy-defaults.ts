/**
 * A single-occupancy room's hysteresis (ADR 0158), once: the rule (occupancy.ts) takes it, and
 * `config check` (src/config/care.ts) says it, so they agree.
 */
export const OCCUPANCY_DEFAULTS = {
  /** Two or more people tracked this long: the room is assisted (ms). */
  enterMs: 3_000,
  /** At most one this long: watched alone again (ms). */
  leaveMs: 10_000,
} as const;
