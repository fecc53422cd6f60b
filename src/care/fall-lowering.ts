/**
 * Where a lowering began, for the fall watch's descent (ADR 0192): one pure
 * function over the tops of a person's sightings (each as far below their
 * standing stance as a share of their height), no clock, no state.
 *
 * A descent is timed whole, from the last sighting at the standing level
 * (ADR 0181). A head back at the standing level only a moment (under
 * STOOD_MS) after it had gone below the descent's middle is not a new
 * start: it is the same lowering passing through a kneel (the legs swinging
 * through under the body on the way to sitting on the floor bring the head
 * back near standing height for a few tenths of a second), so the descent is
 * timed from where the head left the standing level before that dip. Held at
 * the standing level STOOD_MS or more, the person stood up again, and a
 * descent from there is timed from there as before.
 */

/**
 * Back on their feet from kneeling or crouching, a person has stood up once they have been at the standing level
 * this long (ms): standing up from a kneel takes longer (a foot forward, then up: 1.5–3 s), and a kneel's head comes
 * back near its standing height for a moment on the way to sitting on the floor (the legs swinging through under the
 * body), where a descent from there is no fall.
 */
export const STOOD_MS = 1000;

/**
 * The index of the sighting a lowering is timed from: `level` (the last sighting at the standing level before the
 * descent reached `drop`) unless the run of sightings at the standing level that ends there lasted under STOOD_MS
 * and came after a dip to `middle` or lower (below[i] >= middle) from an earlier sighting at the standing level;
 * then that earlier one, and so on back. `below` and `times` are the sightings' depths below the standing stance (in
 * the person's heights) and capture times (ms), oldest first; `standing` is the depth within which a top is at the
 * standing level.
 */
export function loweringStart(below: readonly number[], times: readonly number[], level: number, middle: number, standing: number): number {
  let at = level;
  for (;;) {
    let first = at;
    while (first > 0 && below[first - 1]! <= standing) first--;
    if (times[at]! - times[first]! >= STOOD_MS) return at;
    let before = first - 1;
    let deepest = Number.NEGATIVE_INFINITY;
    while (before >= 0 && below[before]! > standing) deepest = Math.max(deepest, below[before--]!);
    if (before < 0 || deepest < middle) return at;
    at = before;
  }
}
