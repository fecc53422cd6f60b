/**
 * Secrets from the environment: `${NAME}` inside any string value of the file
 * becomes the variable's value, before the value's format is validated.
 * `$${` is a literal `${`; a `$` not followed by `{` is itself. An unset
 * variable, or a `${` that does not open a valid `${NAME}`, is an issue naming
 * the variable (never its value, nor any other value) and the path. Keys are
 * never substituted.
 */
import type { Segment } from './schema.js';
import { mapStrings } from '../internal/map-strings.js';

export interface EnvIssue {
  readonly path: readonly Segment[];
  readonly message: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The `${NAME}` references in a string, in order (`$${` escapes and malformed ones left out). */
export function referencesIn(text: string): string[] {
  const names: string[] = [];
  for (let i = text.indexOf('$'); i >= 0; i = text.indexOf('$', i + 1)) {
    if (text.startsWith('$${', i)) {
      i += 2;
      continue;
    }
    if (!text.startsWith('${', i)) continue;
    const close = text.indexOf('}', i + 2);
    const name = close < 0 ? '' : text.slice(i + 2, close);
    if (NAME.test(name)) names.push(name);
    if (close > 0) i = close;
  }
  return names;
}

/** One string substituted; issues for what cannot be; `used`: the variables substituted and their values. */
export function substituteString(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  used?: Map<string, string>,
): { value: string; problems: string[] } {
  if (!text.includes('$')) return { value: text, problems: [] };
  let out = '';
  const problems: string[] = [];
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    if (text.startsWith('$${', dollar)) {
      out += '${';
      i = dollar + 3;
    } else if (text.startsWith('${', dollar)) {
      const close = text.indexOf('}', dollar + 2);
      const name = close < 0 ? undefined : text.slice(dollar + 2, close);
      if (name === undefined || !NAME.test(name)) {
        problems.push('${ must open ${NAME} with a variable name of A–Z a–z 0–9 _ (not starting with a digit) and a closing }; write $${ for a literal ${');
        out += text.slice(dollar, close < 0 ? text.length : close + 1);
        i = close < 0 ? text.length : close + 1;
      } else {
        const value = Object.hasOwn(env, name) ? env[name] : undefined;
        if (value === undefined) problems.push(`environment variable ${name} is not set`);
        else {
          out += value;
          used?.set(name, value);
        }
        i = close + 1;
      }
    } else {
      out += '$';
      i = dollar + 1;
    }
  }
  return { value: out, problems: [...new Set(problems)] };
}

/**
 * A copy of value with every string substituted. A string with a problem is
 * kept as written, and its path is in `paths` so the validator does not add a
 * second, confusing issue about the same value.
 */
export function substituteEnv(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
): { value: unknown; issues: EnvIssue[]; /** Every variable substituted, and its value. */ used: Map<string, string> } {
  const issues: EnvIssue[] = [];
  const used = new Map<string, string>();
  const substituted = mapStrings(value, (text, path) => {
    const { value: out, problems } = substituteString(text, env, used);
    for (const message of problems) issues.push({ path, message });
    return problems.length === 0 ? out : text;
  });
  return { value: substituted, issues, used };
}

/**
 * A copy of value with every string as a config file writes it: a literal `${` as `$${`, so a value shown
 * (an API's GET) and written back is the same value, not a reference. substituteString's inverse for a
 * string that was substituted without problems.
 */
export function escapeLiterals<T>(value: T): T {
  // A function, not the string '$${': in a replacement string `$$` is one `$`.
  return mapStrings(value, (text) => text.replaceAll('${', () => '$${')) as T;
}

/** The config's string walk lives in src/internal (the HTTP API's masked write-back walks entries too). */
export { mapStrings } from '../internal/map-strings.js';
