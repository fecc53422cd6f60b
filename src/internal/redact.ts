/**
 * Secrets out of text: the one masking every part uses (capture's stats,
 * errors and ffmpeg's stderr; printed and logged config). A camera URL carries
 * its password (rtsp://admin:pw@cam/...) or a token (…/stream?token=…), and
 * ffmpeg and libav repeat the URL in their messages.
 *
 * `user:pass@` becomes `user:***@`; a userinfo without a password (often a
 * token: https://TOKEN@host/) becomes `***@`. Like ffmpeg, the userinfo runs
 * to the last `@` before the host, so a password with an unescaped `@` is
 * masked whole. `password=`/`token=`-style parameters (in a query or a
 * message) keep their name and lose their value. Biased to mask too much
 * rather than too little: a masked host is an inconvenience, a leaked password
 * is not.
 */

/** A user and its colon from where it is asked (lastIndex): the start of a userinfo with a password, read once a URL. */
const USER_THEN_COLON = /[^\s/?#@:]*:/y;

/**
 * The userinfo of every URL in the text: after `://`, up to the last `@` of
 * the run of non-space characters (so a password with an unescaped `@`, `/`
 * or `?` is masked whole, as ffmpeg too reads it to the last `@`). `user:…` keeps
 * the user; a userinfo without a colon (a token) is masked whole, unless it
 * holds a path or query, where the `@` belongs to them. The run may hold
 * only part of a password with a blank in it (invalid in a URL, yet typed, and
 * passed on as typed): where the authority (to the first `/`, `?` or `#` on
 * the same line) has an `@` past the first blank and begins `user:` before
 * that blank, the userinfo runs to it; text that only looks so (a host and a
 * port, then an address on its line) is masked too, the safe reading. A host
 * without a port, then an address (`rtsp://cam.local failed; mail
 * ops@example.com`), is left whole: no password begins there.
 */
function* userinfos(text: string): Generator<{ readonly start: number; readonly end: number; readonly user: string | null; readonly secret: string }> {
  // Each URL's word (to the first blank), authority (to the first `/`, `?`, `#` or line end) and last `@` in each,
  // found by scans that only move forward: the URLs come in order, and each end and each last `@` is the one before's
  // or later. Scanning from each URL to its line's end made a line of many URLs cost the square of its length, and
  // the masker runs on text a caller sends.
  const words = new ForwardScan(text, /\s/);
  const authorities = new ForwardScan(text, /[/?#\r\n]/);
  for (let i = text.indexOf('://'); i >= 0; i = text.indexOf('://', i + 3)) {
    const start = i + 3;
    const wordEnd = words.endFrom(start);
    const authorityEnd = authorities.endFrom(start);
    const authorityAt = authorities.lastAtBefore(authorityEnd, start);
    const wordAt = words.lastAtBefore(wordEnd, start);
    if (authorityAt < 0 && wordAt < 0) continue;
    // Where the userinfo's `user:` ends, if the URL begins with one (−1: it does not).
    USER_THEN_COLON.lastIndex = start;
    const userEnd = USER_THEN_COLON.test(text) ? USER_THEN_COLON.lastIndex : -1;
    // An @ of the authority past the first blank, after a `user:` begun before it: the password holds a blank, and
    // runs to it. Without the `user:` (`rtsp://cam.local failed; mail ops@example.com`) the @ is the text's.
    const atIndex = authorityAt > wordEnd && userEnd >= 0 && userEnd <= wordEnd ? authorityAt : wordAt;
    if (atIndex < 0) continue;
    const userinfo = text.slice(start, atIndex);
    if (userEnd >= 0 && userEnd <= atIndex) {
      const secret = text.slice(userEnd, atIndex);
      // host:port/path?q=a@b: the `@` is the query's (a password that starts with digits and an
      // unescaped `/` reads the same way, and RFC 3986 has it escaped).
      if (!/^\d*[/?#]/.test(secret)) yield { start, end: atIndex, user: text.slice(start, userEnd - 1), secret };
    } else if (!/[/?#]/.test(userinfo)) yield { start, end: atIndex, user: null, secret: userinfo };
  }
}

/**
 * For positions asked in increasing order: where the next character matching `stop` is, and the last `@` before a
 * given end, each found by scanning forward only (the whole text once, however many are asked).
 */
class ForwardScan {
  readonly #text: string;
  readonly #stop: RegExp;
  /** The first `stop` at or after the last position asked (text.length: none), valid while asked positions stay at or before it. */
  #end = -1;
  /** How far the last `@` is known, and the last `@` before that (−1: none). */
  #atScanned = 0;
  #lastAt = -1;

  constructor(text: string, stop: RegExp) {
    this.#text = text;
    this.#stop = stop;
  }

  endFrom(position: number): number {
    if (position > this.#end) {
      let k = position;
      while (k < this.#text.length && !this.#stop.test(this.#text[k]!)) k++;
      this.#end = k;
    }
    return this.#end;
  }

  /** The last `@` at or after `from` and before `end`, or −1; `end` never less than the last asked. */
  lastAtBefore(end: number, from: number): number {
    for (; this.#atScanned < end; this.#atScanned++) if (this.#text.charCodeAt(this.#atScanned) === 64) this.#lastAt = this.#atScanned;
    return this.#lastAt >= from ? this.#lastAt : -1;
  }
}

// name=value or name: value, for names that say secret; the value runs to a separator.
const SECRET_PARAMETER =
  /(?<![\w/.])((?:password|passwd|pwd|pass|token|access_token|secret|api[_-]?key|apikey|auth)\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;#,"']+)/gi;

/** The text with the userinfo of every URL in it, and every secret parameter's value, masked. */
export function maskCredentials(text: string): string {
  let out = '';
  let from = 0;
  for (const { start, end, user } of userinfos(text)) {
    if (start < from) continue;
    out += text.slice(from, start) + (user === null ? '***' : `${user}:***`);
    from = end;
  }
  out += text.slice(from);
  return out.replace(SECRET_PARAMETER, (_match, name: string) => `${name}***`);
}

/**
 * A redactor for the messages about one source: masks URL credentials and
 * secret parameters, and also the source's own secrets wherever it appears outside a URL (a library
 * quoting it alone, or percent-decoded), and `more` (values the source's config took from the environment:
 * a `${NAME}` where no URL rule masks it, `?sig=${SIG}`) in each form a message may quote them. Secrets
 * shorter than 4 characters are left to the URL masking, which would otherwise garble every message.
 */
export function credentialRedactor(source: string, more: readonly string[] = []): (text: string) => string {
  const secrets = new Set<string>();
  const add = (secret: string): void => {
    secrets.add(secret);
    try {
      secrets.add(decodeURIComponent(secret));
    } catch {
      // not valid percent-encoding: the raw form is all there is
    }
  };
  for (const { secret } of userinfos(source)) add(secret);
  for (const match of source.matchAll(SECRET_PARAMETER)) add((match[2] ?? '').replace(/^["']|["']$/g, ''));
  for (const secret of more) for (const form of secretForms(secret)) secrets.add(form);
  const long = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  if (long.length === 0) return maskCredentials;
  return (text) => {
    let out = maskCredentials(text);
    for (const secret of long) out = out.split(secret).join('***');
    return out;
  };
}

/**
 * A secret as a message may quote it: itself, percent-encoded (a URL a library printed, `@` as `%40`) and
 * JSON-escaped (a value quoted in a JSON message, `"` as `\"`), each once.
 */
export function secretForms(secret: string): string[] {
  const forms = [secret, JSON.stringify(secret).slice(1, -1)];
  try {
    forms.push(encodeURIComponent(secret), encodeURI(secret));
  } catch {
    // a lone surrogate has no percent-encoding: no URL holds it so
  }
  return [...new Set(forms)];
}
