/**
 * Lower than any chair (ADR 0195): whether a sitting reading can be someone
 * seated on a chair, from how far the head is below their standing stance.
 * Pure: no clock, no state.
 *
 * "Seated at chair height" is an up stance: it ends an alert and starts a
 * person's `down` minute again. A sitting reading (the legs read hanging from
 * a seat, or not read at all) whose head is lower than any chair puts it is
 * not that: it is someone on something lower, or, most often after a fall, a
 * body lying obliquely or along the line of sight, foreshortened, whose head
 * rests farther from the camera and so higher in the picture than `drop`
 * below the standing stance, and whose legs a pose reads hanging. Such a
 * reading is low: it neither ends an alert nor restarts the `down` minute,
 * and raises nothing by itself.
 */

/**
 * Seated on a chair, the top of the head is less than this share of the person's standing height below its standing
 * level: a seat 0.35–0.5 m high under a sitting body (about 0.52 of the standing height from the seat to the top of
 * the head) puts it 0.2–0.3 below, a slump a few hundredths more.
 */
export const CHAIR_DROP = 0.35;

/** Whether a head `below` its standing stance (in standing heights; null: no standing reference) is lower than any chair puts it. */
export const belowAnyChair = (below: number | null): boolean => below !== null && below >= CHAIR_DROP;
