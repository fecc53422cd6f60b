/**
 * The control plane's bearer token and who must show it.
 *
 * Contract: the token comes from the config (`http.token`, where `${ENV}`
 * works), else the environment (FRAMESUPPLIER_HTTP_TOKEN), else it is made
 * here (32 random bytes, base64url) and the caller prints it once. One from
 * the environment is held to http.token's rule (at least MIN_TOKEN_LENGTH
 * characters) by the app when it starts (src/config checkTokenVariable). It is
 * compared in constant time (both sides hashed first, so even the length
 * leaks nothing). Writes always need it; reads need it too when the server
 * listens beyond loopback. The token never reaches a log, an error or stats.
 */
import { randomBytes } from 'node:crypto';

export const TOKEN_ENV = 'FRAMESUPPLIER_HTTP_TOKEN';

export interface Token {
  readonly value: string;
  readonly source: 'config' | 'env' | 'generated';
}

export function resolveToken(configured: string | null | undefined, env: NodeJS.ProcessEnv = process.env): Token {
  if (typeof configured === 'string' && configured.length > 0) return { value: configured, source: 'config' };
  const fromEnv = env[TOKEN_ENV];
  if (typeof fromEnv === 'string' && fromEnv.length > 0) return { value: fromEnv, source: 'env' };
  return { value: randomBytes(32).toString('base64url'), source: 'generated' };
}

export { bearer, isLoopback, MIN_TOKEN_LENGTH, tokenMatches } from '../internal/token.js';

/**
 * Whether a request comes from another site, by what browsers say of it: an
 * Origin that is not the server's own, or a Sec-Fetch-Site other than
 * same-origin or none (an <img>, a fetch or a WebSocket from another page says
 * cross-site or same-site). A request with neither header (curl, a script, a
 * non-browser client) is not cross-site. `ownOrigin` is the origin the request
 * addressed (http://<its Host header>).
 */
export function isCrossSite(
  headers: { readonly origin?: string | undefined; readonly 'sec-fetch-site'?: string | string[] | undefined },
  ownOrigin: string,
): boolean {
  const origin = headers.origin;
  if (origin !== undefined && origin !== 'null' && origin.toLowerCase() !== ownOrigin.toLowerCase()) return true;
  if (origin === 'null') return true; // an opaque origin (a sandboxed frame, a file:// page)
  const site = headers['sec-fetch-site'];
  const value = Array.isArray(site) ? site[0] : site;
  return value !== undefined && value !== 'same-origin' && value !== 'none';
}
