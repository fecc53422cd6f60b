/**
 * Why the motion gate (motion-gate.ts, ADR 0066) let a frame through: the gate gives each frame handed to its
 * worker one of these, and its run on regions (gate-regions.ts, ADR 0069) chooses by it where to cut (motion
 * and onset: where it moves; first, whole and unknown: the whole frame; the rest, lost, down and stationary: where
 * the objects are). down: a fall worker's person down, looked at every lostMs while they lie still (ADR 0132).
 */
export const GATE_REASONS = ['first', 'motion', 'onset', 'whole', 'lost', 'down', 'stationary', 'unknown'] as const;
export type GateReason = (typeof GATE_REASONS)[number];
