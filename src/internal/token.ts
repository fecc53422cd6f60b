/** Bearer tokens, checked one way by every server that takes one (the HTTP API, the KServe v2 server). */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** The HTTP API's shortest token (http.token, FRAMESUPPLIER_HTTP_TOKEN, a kept generated one): shorter is guessable over a network. */
export const MIN_TOKEN_LENGTH = 16;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time: whatever `given` is, the work done is the same (both sides hashed first, so even the length leaks nothing). */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  return timingSafeEqual(digest(expected), digest(given ?? '')) && given !== undefined;
}

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** True for 127.0.0.0/8, ::1 and localhost: the only hosts whose reads need no token. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}
