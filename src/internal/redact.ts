/**
 * Secrets out of text: the one masking every part uses (capture's stats,
 * errors and ffmpeg's stderr; printed and logged config). A camera URL carries
 * its password (rtsp://admin:pw@cam/...) or a token (…/stream?token=…), and
 * ffmpeg and libav repeat the URL in their messages.
 *
 * `user:pass@` becomes `user:***@`; a userinfo without a password (often a
 * token: https://TOKEN@host/) becomes `***@`. Like ffmpeg, the userinfo runs
 * to the last `@` before the host, so a password with an unescaped `@`, `/` or
 * `?` is masked whole. `password=`/`token=`-style parameters (in a query or a
 * message) keep their name and lose their value.
 *
 * Where a URL ends in a text decides what is masked, and a URL without a
 * password, and the text after a URL, are left as they are:
 * - a URL inside a JSON string (an odd number of unescaped `"` before it on
 *   its line: pino's lines, JSON.stringify) ends at the string's closing `"`;
 * - otherwise its userinfo runs to the last `@` of its run of non-blank
 *   characters, unless what precedes that `@` also reads as a host, maybe a
 *   port, and the URL's end (`cam:554/s?q=a@b`, `cam:554',"to":"a@b"`) while it
 *   could not be a userinfo (it holds `/`, `"` or another character RFC 3986
 *   keeps out of one);
 * - a password with a blank (no URL's: the config refuses a URL with one,
 *   and the API's refusal quotes none; yet a StreamCapture's source is taken
 *   as typed, and its redactor reads that source whole) runs on past the
 *   blank to a later `@` of the authority on the same line, to the last one
 *   up to which the text could be a userinfo with a password and after which
 *   a host follows: a `:`, and nothing but RFC 3986's userinfo characters,
 *   RFC 3987's non-ASCII ones, an unescaped `@` and blanks (`\t` in a JSON
 *   string). Where the text before the blank cannot end a URL (`admin:bad
 *   secret@…`: `bad` is no port) the blank is the password's whatever else
 *   it holds, and it runs to the authority's last `@` before a host.
 * A text that reads both ways is masked, the safe reading:
 * `rtsp://cam:554 down; mail ops@example.com` (and so in `'…'` or `(…)`, as
 * `'` and `)` may be a password's) could be user `cam` with password
 * `554 down; mail ops`, and loses it to the `@`. With a path (`cam:554/s
 * down…`), no `:` before the `@` (`rtsp://cam down, mail ops@…`), a character
 * no userinfo holds (`"`, `<`, `>`, `[`, `\`) or in a JSON string it cannot, and
 * the line is left whole. A password with a blank, an `@` and a character no
 * userinfo holds, in a text without its source, may lose only its first
 * part: the source's redactor (credentialRedactor) masks it whole.
 */

/** A character a userinfo may hold as typed: RFC 3986's (unreserved, sub-delims, `:`, `%`), RFC 3987's non-ASCII, and `@` unescaped. */
const USERINFO_CHARACTER = /[\w.~%!$&'()*+,;=:@\u00a0-\uffff-]/;
/** A host (a name or an address, not the sub-delims RFC 3986 allows, which read as text), and what ends a URL after it or its port. */
const HOST = String.raw`(?:\[[^\]\s]*\]|[\w.~%-]+)`;
const END_AFTER_HOST = String.raw`[^\w.~%:@\u00a0-\uffff-]`;
const END_AFTER_PORT = String.raw`[^\w.~%@\u00a0-\uffff-]`;
/** A userinfo that also reads as host[:port] and then the URL's end, inside it. */
const HOST_THEN_END = new RegExp(String.raw`^${HOST}(?::\d+(?=${END_AFTER_PORT})|(?=${END_AFTER_HOST}))`);
/** A run of non-blank characters that reads as a whole URL's authority (userinfo@host:port), maybe then its end and more. */
const WHOLE_AUTHORITY = new RegExp(String.raw`^(?:.*@)?${HOST}(?::\d+(?:${END_AFTER_PORT}.*)?$|(?:${END_AFTER_HOST}.*)?$)`);
/** What follows a userinfo's `@`: a host. */
const HOST_AFTER = new RegExp(String.raw`^${HOST}(?![\w.~%@\u00a0-\uffff-])`);

/** True when text may be a userinfo as typed: userinfo characters (`\t` too, in a JSON string) and, if blanks are allowed, blanks. */
function mayBeUserinfo(text: string, blanks: boolean, inString: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (USERINFO_CHARACTER.test(c) || (blanks && /[^\S\r\n]/.test(c))) continue;
    if (blanks && inString && c === '\\' && text[i + 1] === 't') {
      i++;
      continue;
    }
    return false;
  }
  return true;
}

/** The end of the JSON string the text from `from` stands in (its closing unescaped `"`), or the line's end. */
function endOfString(text: string, from: number, lineEnd: number): number {
  for (let i = from; i < lineEnd; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return lineEnd;
}

/**
 * The userinfo of every URL in the text, read as the module's comment says. `whole`: the text is one URL (a
 * capture's source), whose authority runs to its last `@` whatever it holds.
 */
function* userinfos(
  text: string,
  whole = false,
): Generator<{ readonly start: number; readonly end: number; readonly user: string | null; readonly secret: string }> {
  for (let i = text.indexOf('://'); i >= 0; i = text.indexOf('://', i + 3)) {
    const start = i + 3;
    const lineStart = Math.max(text.lastIndexOf('\n', i), text.lastIndexOf('\r', i)) + 1;
    const lineEnd = /[\r\n]/.exec(text.slice(start))?.index ?? text.length - start;
    const before = text.slice(lineStart, i);
    const quotes = before.replace(/\\./g, '').split('"').length - 1;
    const inString = !whole && quotes % 2 === 1;
    const rest = text.slice(start, inString ? endOfString(text, start, start + lineEnd) : start + lineEnd);
    const word = /^\S*/.exec(rest)![0];
    let authority = /^[^/?#]*/.exec(rest)![0];
    let at = -1;
    if (whole) {
      if (authority.lastIndexOf('@') > word.length) at = authority.lastIndexOf('@');
    } else if (authority.lastIndexOf('@') > word.length) {
      // A password with a blank, maybe: to the last @ up to which the text could be a userinfo with a password.
      const hostAfter = (k: number): boolean => HOST_AFTER.test(authority.slice(k + 1));
      for (let k = authority.lastIndexOf('@'); k > word.length; k = authority.lastIndexOf('@', k - 1)) {
        const userinfo = authority.slice(0, k);
        if (userinfo.includes(':') && mayBeUserinfo(userinfo, true, inString) && hostAfter(k)) {
          at = k;
          break;
        }
      }
      // Before the blank no URL could end (`admin:bad secret@`): the blank is the password's, to the last @ before a host.
      if (at < 0 && !WHOLE_AUTHORITY.test(word)) {
        for (const fits of [hostAfter, () => true]) {
          for (let k = authority.lastIndexOf('@'); k > word.length && at < 0; k = authority.lastIndexOf('@', k - 1)) if (fits(k)) at = k;
        }
      }
    }
    if (at < 0) {
      authority = word;
      at = word.lastIndexOf('@');
      if (at < 0) continue;
      // cam:554/s?q=a@b, cam:554',"to":"a@b: a host, the URL's end, and then no userinfo could be.
      const userinfo = word.slice(0, at);
      // (`\t` in a JSON string is a blank: a userinfo with one needs a password, as past a blank below.)
      const blankWithoutPassword = inString && userinfo.includes('\\t') && !userinfo.includes(':');
      if (!whole && HOST_THEN_END.test(userinfo) && (!mayBeUserinfo(userinfo, inString, inString) || blankWithoutPassword)) continue;
    }
    const userinfo = authority.slice(0, at);
    const user = /^[^\s/?#@:]*:/.exec(userinfo);
    // host:port/path?q=a@b: the `@` is the query's (a password that starts with digits and an
    // unescaped `/` reads the same way, and RFC 3986 has it escaped).
    if (user !== null && /^\d*[/?#]/.test(userinfo.slice(user[0].length))) continue;
    if (user !== null) yield { start, end: start + at, user: user[0].slice(0, -1), secret: userinfo.slice(user[0].length) };
    else if (!/[/?#]/.test(userinfo)) yield { start, end: start + at, user: null, secret: userinfo };
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
 * quoting it alone, or percent-decoded). Secrets shorter than 4 characters
 * are left to the URL masking, which would otherwise garble every message.
 */
export function credentialRedactor(source: string): (text: string) => string {
  const secrets = new Set<string>();
  const add = (secret: string): void => {
    secrets.add(secret);
    try {
      secrets.add(decodeURIComponent(secret));
    } catch {
      // not valid percent-encoding: the raw form is all there is
    }
  };
  for (const { secret } of userinfos(source, true)) add(secret);
  for (const match of source.matchAll(SECRET_PARAMETER)) add((match[2] ?? '').replace(/^["']|["']$/g, ''));
  const long = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  if (long.length === 0) return maskCredentials;
  return (text) => {
    let out = maskCredentials(text);
    for (const secret of long) out = out.split(secret).join('***');
    return out;
  };
}
