/**
 * Why the motion gate (motion-gate.ts, ADR 0066) let a frame through: the gate gives each frame handed to its
 * worker one of these, and its run on regions (gate-regions.ts, ADR 0069) chooses by it where to cut (motion
 * and onset: where it moves; first, whole and unknown: the whole frame; the rest, lost and stationary: where the
 * objects are).
 */
export const GATE_REASONS = ['first', 'motion', 'onset', 'whole', 'lost', 'stationary', 'unknown'] as const;
export type GateReason = (typeof GATE_REASONS)[number];
