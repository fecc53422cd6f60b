/**
 * Credentials out of text. A camera URL carries its password
 * (rtsp://admin:pw@cam/...), and ffmpeg and libav repeat the URL in their
 * messages, so every string capture lets out (stats().source, lastError,
 * stderrTail, state events, thrown errors) passes through a redactor first.
 *
 * `user:pass@` becomes `user:***@`; a userinfo without a password (often a
 * token: https://TOKEN@host/) becomes `***@`. Like ffmpeg, the userinfo runs
 * to the last `@` before the host, so a password with an unescaped `@` is
 * masked whole.
 */

// scheme://userinfo@ (or //userinfo@): the userinfo runs to the last @ before
// a path, query, fragment or whitespace. Passwords must percent-encode / ? #
// (RFC 3986); ffmpeg too would read them as the end of the host.
const USERINFO = /(\/\/)([^\s/?#]*)@/g;

/** The text with the userinfo of every URL in it masked. */
export function maskCredentials(text: string): string {
  return text.replace(USERINFO, (_match, slashes: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon < 0 ? `${slashes}***@` : `${slashes}${userinfo.slice(0, colon)}:***@`;
  });
}

/**
 * A redactor for the messages about one source: masks URL credentials, and
 * also the source's own secret wherever it appears outside a URL (a library
 * quoting it alone, or percent-decoded). Secrets shorter than 4 characters
 * are left to the URL masking, which would otherwise garble every message.
 */
export function credentialRedactor(source: string): (text: string) => string {
  const secrets = new Set<string>();
  for (const match of source.matchAll(USERINFO)) {
    const userinfo = match[2] ?? '';
    const colon = userinfo.indexOf(':');
    const secret = colon < 0 ? userinfo : userinfo.slice(colon + 1);
    secrets.add(secret);
    try {
      secrets.add(decodeURIComponent(secret));
    } catch {
      // not valid percent-encoding: the raw form is all there is
    }
  }
  const long = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  if (long.length === 0) return maskCredentials;
  return (text) => {
    let out = maskCredentials(text);
    for (const secret of long) out = out.split(secret).join('***');
    return out;
  };
}
