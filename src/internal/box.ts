/**
 * A box in normalised frame coordinates, the one shape both the objects' plane (objects/geometry.ts) and the care
 * rules (care/falls.ts, a fall's sightings) speak: a type only, on the ground floor below both (ADR 0184).
 */

/** [x1, y1, x2, y2], normalised; x1 ≤ x2, y1 ≤ y2. */
export type Box = readonly [number, number, number, number];
