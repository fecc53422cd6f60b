/**
 * redactExpanded: an error about a camera entry whose `${NAME}`s were filled in shows no part of a filled-in value,
 * whatever the schema's message quotes, on the real checks (resolveCamera).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, maskConfig, redactExpanded, resolveCamera } from '../../src/config/index.js';

const SECRET = 'hunter2-cam-password';
const refused = (entry: unknown): ConfigError => {
  try {
    resolveCamera('x', entry, { models: {} });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  assert.fail('the entry was taken');
};
const shown = (error: unknown): string => JSON.stringify({ message: (error as Error).message, issues: (error as ConfigError).issues });

describe('redactExpanded', { timeout: 30_000 }, () => {
  it("a port or a scheme quoted from a filled-in value, in the camera's source or a stream's (string or map), is not shown", () => {
    const cases = [
      { written: { source: 'rtsp://cam.local:${PASS}/s' }, filled: { source: `rtsp://cam.local:${SECRET}/s` } },
      { written: { source: '${PASS}://cam.local/s' }, filled: { source: `${SECRET}://cam.local/s` } },
      {
        written: { source: 'rtsp://cam.local/s', streams: { sub: { source: 'rtsp://cam.local:${PASS}/t' } } },
        filled: { source: 'rtsp://cam.local/s', streams: { sub: { source: `rtsp://cam.local:${SECRET}/t` } } },
      },
      {
        written: { source: 'rtsp://cam.local/s', streams: { sub: 'rtsp://cam.local:${PASS}/t' } },
        filled: { source: 'rtsp://cam.local/s', streams: { sub: `rtsp://cam.local:${SECRET}/t` } },
      },
    ];
    for (const { written, filled } of cases) {
      const error = refused(filled);
      assert.ok(shown(error).includes(SECRET.slice(0, 7)), `the check quotes the value (${shown(error)}): else this case proves nothing`);
      const redacted = redactExpanded(error, 'x', written, [SECRET]) as ConfigError;
      assert.equal(redacted.code, 'ERR_CONFIG');
      assert.deepEqual(
        redacted.issues.map((i) => i.path),
        error.issues.map((i) => i.path),
        'the same places',
      );
      assert.ok(!shown(redacted).includes(SECRET.slice(0, 3)), shown(redacted));
    }
  });

  it('masks the longest value first, so one inside another leaves nothing of either', () => {
    const error = redactExpanded(new Error('could not open admin!2024 as admin'), 'x', {}, ['admin', 'admin!2024']) as Error;
    assert.equal(error.message, 'could not open *** as ***');
  });

  it('masks a value as a message may quote it: percent-encoded in a URL, escaped in JSON', () => {
    const value = 'p@ss"word/1';
    const message = `cannot open rtsp://u:${encodeURIComponent(value)}@cam/s; config ${JSON.stringify({ pass: value })}; path rtsp://u:${encodeURI(value)}@cam`;
    const error = redactExpanded(new Error(message), 'x', {}, [value]) as Error;
    assert.equal(error.message, 'cannot open rtsp://u:***@cam/s; config {"pass":"***"}; path rtsp://u:***@cam');
    assert.equal(maskConfig({ note: `at ${encodeURIComponent(value)}` }, { secrets: [value] }).note, 'at ***');
  });

  it('maskConfig: names a user chose are not secret keys, a short value is masked only whole, a lone surrogate does not throw', () => {
    const polygon = [
      [0, 0],
      [1, 0],
      [1, 1],
    ];
    const config = { cameras: { pass: { source: 'rtsp://u:pw@h/s', zones: { secret_garden: { polygon } }, lines: { auth: { points: polygon } } } } };
    const masked = maskConfig(config, { secrets: ['é', 'a/', '\ud800'] });
    assert.deepEqual(masked.cameras.pass.zones.secret_garden.polygon, polygon);
    assert.deepEqual(masked.cameras.pass.lines.auth.points, polygon);
    assert.equal(masked.cameras.pass.source, 'rtsp://u:***@h/s');
    assert.equal(maskConfig({ note: 'caf%C3%A9 a%2Fb', other: 'é' }, { secrets: ['é', 'a/'] }).note, 'caf%C3%A9 a%2Fb');
    assert.equal(maskConfig({ other: 'é' }, { secrets: ['é'] }).other, '***');
    // Under a key that says secret, still masked.
    assert.equal(maskConfig({ cameras: { c: { workers: [{ env: { API_TOKEN: 'x' } }] } } }).cameras.c.workers[0]!.env.API_TOKEN, '***');
  });

  it('an entry with nothing filled in is left as it is', () => {
    const error = refused({ source: 'rtsp://cam.local:99999/s' });
    assert.equal(redactExpanded(error, 'x', { source: 'rtsp://cam.local:99999/s' }, []), error);
  });
});
