/**
 * The server's access policy: who may call what, decided from a request's
 * method, path and headers before any route runs (the server's first hook).
 *
 * Contract:
 * - Listening on loopback, a request whose Host is not a loopback name is
 *   refused first (ERR_HTTP_FORBIDDEN_HOST: DNS rebinding).
 * - A configured CORS origin gets `access-control-allow-origin` (and Vary) on
 *   whatever it is answered, and its preflight (OPTIONS) is answered 204 with
 *   the methods and headers allowed, before any token is asked for. Any other
 *   origin gets no CORS header.
 * - The open paths (the dashboard's files, /healthz, /readyz: they hold
 *   nothing, and a container's health check carries no token) are served to
 *   anyone.
 * - The dashboard socket asks for the token itself (its first message);
 *   here its upgrade is refused for an Origin that is neither the server's
 *   own nor a configured CORS origin (ERR_HTTP_FORBIDDEN_ORIGIN), and
 *   whether it must authenticate is decided: beyond loopback always, on
 *   loopback when it is cross-site. One that must is refused while
 *   maxPendingSockets wait to authenticate (ERR_HTTP_TOO_MANY_SOCKETS),
 *   counted in refusedSockets.
 * - Every call that changes something (any method but GET and HEAD) needs
 *   `Authorization: Bearer <token>`, and beyond loopback every read does too
 *   (ERR_HTTP_UNAUTHORIZED, saying whether the header was missing or the
 *   token wrong). On loopback a read without the token is served only to a
 *   request that is not cross-site (auth.ts isCrossSite), so a page of
 *   another site cannot watch the cameras (ERR_HTTP_CROSS_SITE).
 * - The token is compared in constant time (tokenMatches) and never appears
 *   in a decision, an error or a count.
 */
import type { FastifyInstance } from 'fastify';
import { bearer, isCrossSite, isLoopback, tokenMatches } from './auth.js';
import { HttpError } from './errors.js';

/** The path of the dashboard's socket: it authenticates itself, so its upgrade is judged apart. */
export const DASHBOARD_SOCKET_PATH = '/api/ws';

export interface AccessPolicyOptions {
  /** The bearer token. */
  readonly token: string;
  /** Whether the server listens on a loopback address (reads without the token; Host checked). */
  readonly loopback: boolean;
  /** Origins allowed to call from a browser. */
  readonly cors: ReadonlySet<string>;
  /** Paths served to anyone: they hold nothing. */
  readonly openPaths: ReadonlySet<string>;
  /** Dashboard sockets waiting to authenticate now. */
  readonly pendingSockets: () => number;
  /** Sockets that may wait to authenticate at once; more are refused. */
  readonly maxPendingSockets: number;
}

/** What the policy reads of a request. */
export interface AccessRequest {
  readonly method: string;
  /** The request's URL (its query, if any, is not part of the path judged). */
  readonly url: string;
  readonly headers: {
    readonly host?: string | undefined;
    readonly origin?: string | undefined;
    readonly authorization?: string | undefined;
    readonly 'sec-fetch-site'?: string | string[] | undefined;
  };
}

/**
 * The verdict on one request. `allowOrigin`: the CORS origin to name in the answer, whatever it is (null: none).
 * `refused`: answer with `error`; `preflight`: answer 204 with the CORS preflight headers; `open`: a path that
 * holds nothing; `socket`: the dashboard socket's upgrade, and whether the socket must authenticate; `granted`:
 * the route may run.
 */
export type AccessDecision =
  | { readonly kind: 'refused'; readonly error: HttpError; readonly allowOrigin: string | null }
  | { readonly kind: 'preflight'; readonly allowOrigin: string }
  | { readonly kind: 'open'; readonly allowOrigin: string | null }
  | { readonly kind: 'socket'; readonly needsToken: boolean; readonly allowOrigin: string | null }
  | { readonly kind: 'granted'; readonly allowOrigin: string | null };

export class AccessPolicy {
  readonly #o: AccessPolicyOptions;
  #refusedSockets = 0;

  constructor(options: AccessPolicyOptions) {
    this.#o = options;
  }

  /** Whether the server listens on loopback: reads need no token there (GET /api/auth tells the dashboard). */
  get readsNeedToken(): boolean {
    return !this.#o.loopback;
  }

  /** Dashboard sockets refused because too many waited to authenticate. */
  get refusedSockets(): number {
    return this.#refusedSockets;
  }

  /** Whether the request carries the token. */
  authorised(request: Pick<AccessRequest, 'headers'>): boolean {
    return tokenMatches(this.#o.token, bearer(request.headers.authorization));
  }

  decide(request: AccessRequest): AccessDecision {
    const { headers } = request;
    if (this.#o.loopback) {
      const host = (headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopback(host))
        return refused(
          new HttpError(
            'ERR_HTTP_FORBIDDEN_HOST',
            'this server listens on loopback and answers only requests addressed to a loopback name (127.0.0.1, localhost, [::1])',
          ),
          null,
        );
    }
    const origin = headers.origin;
    const allowOrigin = origin !== undefined && this.#o.cors.has(origin) ? origin : null;
    if (allowOrigin !== null && request.method === 'OPTIONS') return { kind: 'preflight', allowOrigin };
    const path = request.url.split('?')[0]!;
    if (this.#o.openPaths.has(path)) return { kind: 'open', allowOrigin };
    const own = `http://${headers.host ?? ''}`;
    if (path === DASHBOARD_SOCKET_PATH) {
      if (origin !== undefined && origin.toLowerCase() !== own.toLowerCase() && !this.#o.cors.has(origin)) {
        return refused(
          new HttpError('ERR_HTTP_FORBIDDEN_ORIGIN', 'the dashboard socket answers only pages of this server (or a configured http.cors origin)'),
          allowOrigin,
        );
      }
      const needsToken = !this.#o.loopback || isCrossSite(headers, own);
      if (needsToken && this.#o.pendingSockets() >= this.#o.maxPendingSockets) {
        this.#refusedSockets++;
        return refused(new HttpError('ERR_HTTP_TOO_MANY_SOCKETS', 'too many dashboard sockets are waiting to authenticate; try again shortly'), allowOrigin);
      }
      return { kind: 'socket', needsToken, allowOrigin };
    }
    const write = request.method !== 'GET' && request.method !== 'HEAD';
    if (write || !this.#o.loopback) {
      if (!this.authorised(request))
        return refused(
          new HttpError('ERR_HTTP_UNAUTHORIZED', headers.authorization === undefined ? 'this call needs Authorization: Bearer <token>' : 'the token is wrong'),
          allowOrigin,
        );
    } else if (isCrossSite(headers, own) && !this.authorised(request)) {
      return refused(
        new HttpError(
          'ERR_HTTP_CROSS_SITE',
          'a page of another site may not read this server: open the dashboard itself, or send Authorization: Bearer <token>',
        ),
        allowOrigin,
      );
    }
    return { kind: 'granted', allowOrigin };
  }
}

function refused(error: HttpError, allowOrigin: string | null): AccessDecision {
  return { kind: 'refused', error, allowOrigin };
}

/**
 * The policy as the server's first hook: every request is judged before its route, a refusal answered with its
 * code. `onSocket` learns, from the dashboard socket's upgrade, whether the socket must authenticate.
 */
export function guardRequests(app: FastifyInstance, policy: AccessPolicy, onSocket: (raw: object, needsToken: boolean) => void): void {
  app.addHook('onRequest', async (request, reply) => {
    // An upgrade answered over HTTP (refused, or no such route) leaves a socket no HTTP server owns: end it with the answer, or it stays half-open and holds close().
    if (request.headers.upgrade !== undefined) reply.raw.once('finish', () => request.raw.socket.destroy());
    const decision = policy.decide(request);
    if (decision.allowOrigin !== null) void reply.header('access-control-allow-origin', decision.allowOrigin).header('vary', 'Origin');
    switch (decision.kind) {
      case 'refused':
        throw decision.error;
      case 'preflight':
        return reply
          .header('access-control-allow-methods', 'GET, POST, PUT, DELETE')
          .header('access-control-allow-headers', 'authorization, content-type')
          .header('access-control-max-age', '600')
          .code(204)
          .send();
      case 'socket':
        onSocket(request.raw, decision.needsToken);
        return;
      default:
        return;
    }
  });
}
