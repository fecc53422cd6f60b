/**
 * A private room's policy (ADR 0139), the pure part: what of a camera is private (its zones marked private, or the
 * whole picture), how a person there is shown in any picture that leaves the machine, and the defaults when the
 * installer names none. privacySetting() is the one reading of it; src/config reads a camera's file section into
 * its input (config's privacyOf), the system's privacy watch applies it to each frame, and src/pictures hides the
 * people it names.
 *
 * Contract: null iff nothing of the camera is private (no `whole`, no private zone); otherwise every field is
 * set, the installer's value where given, else PRIVACY_DEFAULTS'. No clock, no I/O.
 */

/** A private camera's settings when its privacy section names none. */
export const PRIVACY_DEFAULTS = { show: 'blur', labels: ['person'], margin: 0.25, withinMs: 1_000 } as const;

/** How a person in a private area is shown: blurred, as their skeleton only, or their area filled. */
export type PrivacyShow = 'blur' | 'skeleton' | 'area';
type Point = readonly [number, number];

/** What of a camera is private and how its people are shown: null for a camera with nothing private. */
export interface PrivacySetting {
  /** 'whole': every pixel; else the private zones' polygons (0–1), by name. */
  readonly areas: 'whole' | readonly { readonly name: string; readonly polygon: readonly Point[] }[];
  readonly show: PrivacyShow;
  readonly labels: readonly string[];
  readonly margin: number;
  readonly withinMs: number;
}

/** What the policy is read from: the camera's privacy choices and its zones that are marked private. */
export interface PrivacyChoices {
  readonly whole?: boolean | undefined;
  readonly show?: PrivacyShow | undefined;
  readonly labels?: readonly string[] | undefined;
  readonly margin?: number | undefined;
  readonly withinMs?: number | undefined;
  /** The camera's private zones, by name, their polygons in 0–1. */
  readonly privateZones: readonly { readonly name: string; readonly polygon: readonly Point[] }[];
}

/** A camera's privacy, or null when nothing of it is private. */
export function privacySetting(choices: PrivacyChoices): PrivacySetting | null {
  const whole = choices.whole === true;
  if (!whole && choices.privateZones.length === 0) return null;
  return {
    areas: whole ? 'whole' : choices.privateZones,
    show: choices.show ?? PRIVACY_DEFAULTS.show,
    labels: choices.labels ?? PRIVACY_DEFAULTS.labels,
    margin: choices.margin ?? PRIVACY_DEFAULTS.margin,
    withinMs: choices.withinMs ?? PRIVACY_DEFAULTS.withinMs,
  };
}
