/**
 * How deeply a JSON text nests, read from the text itself before anything
 * parses it: one pass, no recursion and no allocation, so a body nested tens
 * of thousands of levels deep costs what its length costs and never reaches
 * the recursive walks (schema validation, masking, saving) that would
 * overflow the stack on it.
 *
 * Depth counts the arrays and objects a value sits in: a scalar is 0, `[]`
 * and `{}` are 1, `[{}]` is 2. Brackets inside strings do not count (escapes,
 * `\"` among them, are followed). On a valid JSON text the answer is the
 * depth of what JSON.parse returns; on an invalid one it is a bound the
 * parser will refuse anyway.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * The nesting depth of a JSON text. With `stopAbove`, the scan ends as soon
 * as the depth passes it (the answer is then stopAbove + 1): a caller that
 * only asks "deeper than the limit?" reads no further than the proof.
 */
export function jsonDepth(text: string, stopAbove = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      // An escape's next character is never the string's end (`\"`, `\\`).
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if ((c === CLOSE_BRACKET || c === CLOSE_BRACE) && depth > 0) {
      depth--;
    }
  }
  return deepest;
}
