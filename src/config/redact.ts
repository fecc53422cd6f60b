/**
 * Errors about a camera entry whose `${NAME}` references were filled in from
 * an environment (an API body, a cluster's desired entry), as they may be
 * shown: the schema's messages quote values (a URL's port, a scheme), and a
 * filled-in value may be a password.
 *
 * Contract: an ERR_CONFIG issue at or under a value that held a reference
 * keeps its path and says only that; any filled-in value of three characters
 * or more left in a message is masked; nothing else changes. Pure.
 */
import { secretForms } from '../internal/redact.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { formatPath } from './load.js';

/** Shortest expanded value masked wherever it stands in a message (shorter ones would garble every word). */
const MIN_MASKED = 3;

/**
 * An error about a camera entry admitted with its `${NAME}`s expanded (`written`: as it came, references kept;
 * `secrets`: what admission put in), as it may be shown to the caller or logged. An ERR_CONFIG issue at or under a
 * value that held a reference says only that (schema messages quote values, a password among them); any expanded
 * value left in a message is masked. Other errors keep their code and get the masked message.
 */
export function redactExpanded(error: unknown, camera: string, written: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0) return error;
  // Longest first: a value inside a longer one (a user name in a password) would otherwise leave the longer one's rest.
  // Each as a message may quote it too (percent-encoded in a URL, escaped in JSON).
  const masked = [...new Set(secrets.filter((v) => v.length >= MIN_MASKED).flatMap(secretForms))].sort((a, b) => b.length - a.length);
  const mask = (text: string): string => masked.reduce((t, v) => t.split(v).join('***'), text);
  const referenced: string[] = [];
  const walk = (v: unknown, path: (string | number)[]): void => {
    if (typeof v === 'string') {
      if (v.includes('${')) referenced.push(formatPath(['cameras', camera, ...path]));
    } else if (Array.isArray(v)) v.forEach((item, i) => walk(item, [...path, i]));
    else if (v !== null && typeof v === 'object') for (const [k, item] of Object.entries(v)) walk(item, [...path, k]);
  };
  walk(written, []);
  // At or under a value that held a reference, or above one (a stream's issues are filed at the stream, its source inside).
  const inside = (outer: string, path: string): boolean => path === outer || path.startsWith(`${outer}.`) || path.startsWith(`${outer}[`);
  const under = (path: string): boolean => referenced.some((p) => inside(p, path) || inside(path, p));
  if (error instanceof ConfigError) {
    const issues: ConfigIssue[] = error.issues.map((issue) => ({
      ...issue,
      message: under(issue.path) ? 'is not valid once its ${NAME} is filled in (how is not shown: it would quote the value)' : mask(issue.message),
    }));
    return new ConfigError(error.fileName, issues);
  }
  if (error instanceof Error) error.message = mask(error.message);
  return error;
}
