/**
 * A camera entry written back as it was read (ADR 0108). GET shows a camera's secrets masked (`***`): a URL's
 * password, a secret-named key's value, a value taken from the environment. A client that reads a camera, changes
 * one thing and writes it back sends those masks back; taken as they are, the camera would run with `***` for its
 * password and the config file would be saved so, the secret lost.
 *
 * Contract (pure, no I/O): restoreMaskedEcho() gives the entry to run and save. Where a string of the body is
 * exactly what GET shows for the camera now at the same place, and that shows a mask, it becomes the value as the
 * camera runs it, in the config file's syntax, each value taken from the environment written back as its
 * `${NAME}` (a name the API may write): the file keeps its reference, and no secret is written where a reference
 * stood. Any other mask where a secret goes (a URL edited around `***`, `***` under a password key, a new
 * camera's) is refused, as is an echo whose secret came from a name the API may not write: a problem with where
 * and what, never the value. A mask where no secret goes (a zone labelled `***`) is text like any other.
 */
import { mapStrings, valueAt } from '../internal/map-strings.js';
import { maskConfig, MASK, MIN_EMBEDDED_SECRET } from '../internal/mask.js';

export interface EchoContext {
  /** The camera's entry as GET shows it now (masked, in the file's syntax); undefined for a camera not there. */
  readonly shown: unknown;
  /** The camera's entry as it runs now, in the file's syntax, unmasked; undefined for a camera not there. */
  readonly running: unknown;
  /** Values the API may write as a reference, by name (the names its policy allows, with their values now). */
  readonly references: ReadonlyMap<string, string>;
  /** Values taken from the environment under names not in `references`: never written out in clear. */
  readonly unnamed: readonly string[];
}

export type EchoResult =
  /** `restored`: where a mask was echoed back, and the value put there (for the answer's redaction: a client never saw it). */
  | { readonly ok: true; readonly entry: unknown; readonly restored: readonly { readonly path: string; readonly value: string }[] }
  | { readonly ok: false; readonly path: string; readonly message: string };

/** Stands in for a mask, to find whether the mask sits where a secret goes: masking hides it there. */
const PROBE = 'fsMaskedEchoProbe';

const dotted = (path: readonly (string | number)[]): string => path.join('.');

export function restoreMaskedEcho(body: unknown, context: EchoContext): EchoResult {
  // Longest first: a value that holds another is replaced whole. A short one counts only as a whole string, as maskConfig masks it.
  const named = [...context.references].filter(([, v]) => v.length > 0).sort((a, b) => b[1].length - a[1].length);
  const holds = (text: string, value: string): boolean => value.length > 0 && (text === value || (value.length >= MIN_EMBEDDED_SECRET && text.includes(value)));
  const restored: { path: string; value: string }[] = [];
  let refused: { path: string; message: string } | null = null;
  const entry = mapStrings(body, (text, path) => {
    const shown = valueAt(context.shown, path);
    const running = valueAt(context.running, path);
    if (refused !== null || !text.includes(MASK) || text !== shown || typeof running !== 'string' || running === shown) return text;
    // What masking hid of the running value and the API may name goes back as its reference; the rest is as written.
    let written = running;
    for (const [name, value] of named) if (holds(written, value) && !shown.includes(value)) written = written.split(value).join(`\${${name}}`);
    if (context.unnamed.some((value) => holds(written, value))) {
      refused = { path: dotted(path), message: 'holds a value from the environment under a name the API may not write: send the value itself' };
      return text;
    }
    restored.push({ path: dotted(path), value: written });
    return written;
  });
  if (refused !== null) return { ok: false, ...(refused as { path: string; message: string }) };
  const left = maskWhereSecret(entry);
  if (left !== null) {
    return {
      ok: false,
      path: left,
      message: `holds ${MASK}, the mask GET shows, where a secret goes: write the secret, or send the value exactly as GET shows it to keep it`,
    };
  }
  return { ok: true, entry, restored };
}

/** The dotted path of the first string with a mask where masking puts one (a secret's place), or null. */
function maskWhereSecret(entry: unknown): string | null {
  const probed = mapStrings(entry, (text) => text.split(MASK).join(PROBE));
  const masked = maskConfig(probed);
  let found: string | null = null;
  mapStrings(probed, (text, path) => {
    const after = valueAt(masked, path);
    // Masking took a probe out: it stood where a secret goes.
    if (found === null && text.includes(PROBE) && (typeof after !== 'string' || after.split(PROBE).length < text.split(PROBE).length)) found = dotted(path);
    return text;
  });
  return found;
}
