/**
 * The access policy on its own (src/http/access-policy.ts), decided from a
 * request's method, path and headers with no server: the Host check on
 * loopback, CORS and its preflight, the open paths, the dashboard socket's
 * upgrade (its Origin, whether it must authenticate, the bound on those
 * waiting, counted), writes that always need the token, reads that need it
 * beyond loopback or cross-site, and the two refusals' messages (missing
 * header, wrong token). The routes' side of it is test/http/api.test.ts's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AccessPolicy, DASHBOARD_SOCKET_PATH, type AccessDecision, type AccessPolicyOptions, type AccessRequest } from '../../src/http/access-policy.js';

const TOKEN = 'access-policy-token-0123456789';
const OWN_HOST = '127.0.0.1:8080';

function policy(options: Partial<AccessPolicyOptions> & { pending?: number } = {}): AccessPolicy {
  const pending = options.pending ?? 0;
  return new AccessPolicy({
    token: TOKEN,
    loopback: true,
    cors: new Set(['https://allowed.example']),
    openPaths: new Set(['/', '/healthz', '/readyz']),
    pendingSockets: () => pending,
    maxPendingSockets: 2,
    ...options,
  });
}

function request(method: string, url: string, headers: AccessRequest['headers'] = {}): AccessRequest {
  return { method, url, headers: { host: OWN_HOST, ...headers } };
}

/** The decision's kind, and its error's code when refused. */
function verdict(decision: AccessDecision): string {
  return decision.kind === 'refused' ? decision.error.code : decision.kind;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('http access policy', { timeout: 30_000 }, () => {
  it('on loopback: reads without the token, writes only with it, the wrong token and a missing one told apart', () => {
    const p = policy();
    assert.equal(verdict(p.decide(request('GET', '/api/stats'))), 'granted');
    assert.equal(verdict(p.decide(request('HEAD', '/api/cameras'))), 'granted');
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const missing = p.decide(request(method, '/api/cameras/a'));
      assert.equal(verdict(missing), 'ERR_HTTP_UNAUTHORIZED', method);
      assert.match(missing.kind === 'refused' ? missing.error.message : '', /needs Authorization: Bearer <token>/);
      const wrong = p.decide(request(method, '/api/cameras/a', bearer('not-the-token-0123456789')));
      assert.match(wrong.kind === 'refused' ? wrong.error.message : '', /the token is wrong/);
      assert.equal(verdict(p.decide(request(method, '/api/cameras/a', bearer(TOKEN)))), 'granted', method);
    }
    assert.equal(p.readsNeedToken, false);
  });

  it('beyond loopback: every read needs the token too, and any Host is answered', () => {
    const p = policy({ loopback: false });
    assert.equal(p.readsNeedToken, true);
    assert.equal(verdict(p.decide(request('GET', '/api/stats', { host: 'cameras.example:8080' }))), 'ERR_HTTP_UNAUTHORIZED');
    assert.equal(verdict(p.decide(request('GET', '/api/stats', { host: 'cameras.example:8080', ...bearer(TOKEN) }))), 'granted');
  });

  it('on loopback, a Host that is not a loopback name is refused before anything else (DNS rebinding)', () => {
    const p = policy();
    for (const host of ['evil.example', 'evil.example:8080', '10.0.0.1:8080', '']) {
      const decision = p.decide(request('GET', '/healthz', { host, ...bearer(TOKEN), origin: 'https://allowed.example' }));
      assert.equal(verdict(decision), 'ERR_HTTP_FORBIDDEN_HOST', host);
      assert.equal(decision.allowOrigin, null, 'no CORS header on a refused Host');
    }
    for (const host of ['127.0.0.1:8080', 'localhost', 'localhost:1', '[::1]:8080'])
      assert.equal(verdict(policy().decide(request('GET', '/healthz', { host }))), 'open', host);
  });

  it('on loopback, a read from another site needs the token (an <img>, a fetch of another page)', () => {
    const p = policy();
    assert.equal(verdict(p.decide(request('GET', '/api/cameras/a/latest.jpg', { 'sec-fetch-site': 'cross-site' }))), 'ERR_HTTP_CROSS_SITE');
    assert.equal(verdict(p.decide(request('GET', '/api/stats', { origin: 'https://other.example' }))), 'ERR_HTTP_CROSS_SITE');
    assert.equal(verdict(p.decide(request('GET', '/api/stats', { origin: 'null' }))), 'ERR_HTTP_CROSS_SITE', 'an opaque origin');
    assert.equal(verdict(p.decide(request('GET', '/api/stats', { 'sec-fetch-site': 'cross-site', ...bearer(TOKEN) }))), 'granted');
    assert.equal(verdict(p.decide(request('GET', '/api/stats', { origin: `http://${OWN_HOST}`, 'sec-fetch-site': 'same-origin' }))), 'granted');
  });

  it('the open paths are served to anyone, their query aside; a path beside them is not', () => {
    const p = policy({ loopback: false });
    for (const url of ['/', '/healthz', '/readyz?full=1']) assert.equal(verdict(p.decide(request('GET', url, { host: 'cameras.example' }))), 'open', url);
    assert.equal(verdict(p.decide(request('GET', '/healthz/x', { host: 'cameras.example' }))), 'ERR_HTTP_UNAUTHORIZED');
    assert.equal(verdict(p.decide(request('POST', '/healthz', { host: 'cameras.example' }))), 'open', 'by path, whatever the method (no route answers it)');
  });

  it('CORS: a configured origin is named on whatever it is answered, and its preflight answered before any token', () => {
    const p = policy();
    const allowed = { origin: 'https://allowed.example' };
    assert.deepEqual(p.decide(request('OPTIONS', '/api/cameras/a', allowed)), { kind: 'preflight', allowOrigin: 'https://allowed.example' });
    const refused = p.decide(request('POST', '/api/cameras/a', allowed));
    assert.equal(verdict(refused), 'ERR_HTTP_UNAUTHORIZED');
    assert.equal(refused.allowOrigin, 'https://allowed.example', 'the page can read the refusal');
    assert.equal(p.decide(request('POST', '/api/cameras/a', { ...allowed, ...bearer(TOKEN) })).allowOrigin, 'https://allowed.example');
    const other = p.decide(request('OPTIONS', '/api/cameras/a', { origin: 'https://other.example' }));
    assert.equal(verdict(other), 'ERR_HTTP_UNAUTHORIZED', 'no preflight for an origin not configured');
    assert.equal(other.allowOrigin, null);
  });

  it("the dashboard socket: its Origin the server's own or configured, a token needed beyond loopback or cross-site", () => {
    const own = { origin: `http://${OWN_HOST}` };
    assert.deepEqual(policy().decide(request('GET', DASHBOARD_SOCKET_PATH, own)), { kind: 'socket', needsToken: false, allowOrigin: null });
    assert.deepEqual(policy().decide(request('GET', DASHBOARD_SOCKET_PATH)), { kind: 'socket', needsToken: false, allowOrigin: null }, 'no Origin: not a page');
    assert.equal(verdict(policy().decide(request('GET', DASHBOARD_SOCKET_PATH, { origin: 'https://other.example' }))), 'ERR_HTTP_FORBIDDEN_ORIGIN');
    assert.deepEqual(policy().decide(request('GET', DASHBOARD_SOCKET_PATH, { origin: 'https://allowed.example' })), {
      kind: 'socket',
      needsToken: true,
      allowOrigin: 'https://allowed.example',
    });
    assert.deepEqual(policy({ loopback: false }).decide(request('GET', DASHBOARD_SOCKET_PATH, { host: 'cameras.example', origin: 'http://cameras.example' })), {
      kind: 'socket',
      needsToken: true,
      allowOrigin: null,
    });
  });

  it('sockets that must authenticate are refused while maxPendingSockets wait, and counted; those that need no token are not', () => {
    const full = policy({ loopback: false, pending: 2 });
    const upgrade = request('GET', DASHBOARD_SOCKET_PATH, { host: 'cameras.example' });
    assert.equal(verdict(full.decide(upgrade)), 'ERR_HTTP_TOO_MANY_SOCKETS');
    assert.equal(verdict(full.decide(upgrade)), 'ERR_HTTP_TOO_MANY_SOCKETS');
    assert.equal(full.refusedSockets, 2);
    assert.equal(verdict(policy({ loopback: false, pending: 1 }).decide(upgrade)), 'socket');
    const loopbackFull = policy({ pending: 2 });
    assert.equal(verdict(loopbackFull.decide(request('GET', DASHBOARD_SOCKET_PATH))), 'socket');
    assert.equal(loopbackFull.refusedSockets, 0);
  });

  it('a change never runs without the token, whatever the method, path, origin or site (property)', () => {
    const methods = fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS');
    const paths = fc.constantFrom(
      '/api/cameras/a',
      '/api/shared/x/restart',
      '/api/config',
      '/api/cameras/a/areas',
      '/api/falls/1.000000-abcdef/acknowledge',
      '/metrics',
    );
    const origins = fc.option(fc.constantFrom('https://allowed.example', 'https://other.example', `http://${OWN_HOST}`, 'null'), { nil: undefined });
    const sites = fc.option(fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none'), { nil: undefined });
    const tokens = fc.option(fc.oneof(fc.constant('not-the-token-0123456789'), fc.string()), { nil: undefined });
    fc.assert(
      fc.property(fc.boolean(), methods, paths, origins, sites, tokens, (loopback, method, path, origin, site, token) => {
        const decision = policy({ loopback }).decide(
          request(method, path, { origin, 'sec-fetch-site': site, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }),
        );
        // Only a configured origin's preflight (which runs nothing) gets past without the token.
        return decision.kind === 'refused' || (decision.kind === 'preflight' && method === 'OPTIONS' && origin === 'https://allowed.example');
      }),
    );
  });
});
