/**
 * Which sightings on their feet a person's standing stance is taken from
 * while they have not (yet) been judged off their feet (ADR 0195); pure, no
 * clock, no state.
 *
 * The stance is judged on known readings only: a person whose pose says
 * nothing after they were last read on their feet (a body lying along the
 * line of sight, or curled, that the pose cannot read) stays judged on their
 * feet, and their standing stance must not fade with the clock while nothing
 * is read. It is taken from their sightings on their feet within fallSeconds
 * of the LAST such sighting, not of now: the same stance a fall is measured
 * against, however long the pose has said nothing since (as long as the
 * sightings are kept).
 */

/**
 * The sightings on their feet that give a person's standing stance before they left their feet: those within `span`
 * (ms) of the latest of them, oldest first; none when there is none.
 */
export function lastStanding<T extends { readonly time: number; readonly stance: string | null }>(sightings: readonly T[], span: number): T[] {
  const feet = sightings.filter((k) => k.stance === 'feet');
  const last = feet.at(-1);
  return last === undefined ? [] : feet.filter((k) => last.time - k.time <= span);
}
