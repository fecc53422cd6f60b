/**
 * The masker's cost grows with the text, not its square: URLs are read by
 * scans that only move forward (src/internal/redact.ts). What it masks is
 * unchanged: it answers exactly as the masker before that change
 * (maskedBefore below, from c8f295d, with the one rule added since: a run
 * past a blank begins `user:`) on any text drawn from the
 * characters URLs and messages are made of, and on hostile texts: many URLs
 * on one line, many `@` past a blank, many quotes, megabytes of them, where
 * the masker before took seconds (a text an API caller or a broker sends
 * reaches it). No time is asserted; a masker gone quadratic again runs these
 * past the suite's timeout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { maskCredentials } from '../../src/internal/redact.js';

function* userinfosBefore(text: string): Generator<{ readonly start: number; readonly end: number; readonly user: string | null }> {
  for (let i = text.indexOf('://'); i >= 0; i = text.indexOf('://', i + 3)) {
    const start = i + 3;
    const rest = text.slice(start);
    const word = /^\S*/.exec(rest)![0];
    const authority = /^[^/?#\r\n]*/.exec(rest)![0];
    const run = authority.lastIndexOf('@') > word.length && /^[^\s/?#@:]*:/.test(word) ? authority : word;
    const at = run.lastIndexOf('@');
    if (at < 0) continue;
    const userinfo = run.slice(0, at);
    const user = /^[^\s/?#@:]*:/.exec(userinfo);
    if (user !== null && /^\d*[/?#]/.test(userinfo.slice(user[0].length))) continue;
    if (user !== null) yield { start, end: start + at, user: user[0].slice(0, -1) };
    else if (!/[/?#]/.test(userinfo)) yield { start, end: start + at, user: null };
  }
}

const SECRET_PARAMETER =
  /(?<![\w/.])((?:password|passwd|pwd|pass|token|access_token|secret|api[_-]?key|apikey|auth)\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;#,"']+)/gi;

function maskedBefore(text: string): string {
  let out = '';
  let from = 0;
  for (const { start, end, user } of userinfosBefore(text)) {
    if (start < from) continue;
    out += text.slice(from, start) + (user === null ? '***' : `${user}:***`);
    from = end;
  }
  out += text.slice(from);
  return out.replace(SECRET_PARAMETER, (_match, name: string) => `${name}***`);
}

/** Pieces URLs and messages are made of, so that texts drawn from them hold URLs, userinfos, blanks and lines. */
const PIECES = ['rtsp://', '://', 'http://', ':', '@', '/', '?', '#', ' ', '\n', '\r', '"', "'", 'cam', 'admin', 'p w', '554', 'token=', 'x', '\\', 'é'];
const text = fc.array(fc.constantFrom(...PIECES), { maxLength: 60 }).map((parts) => parts.join(''));

describe('masker: linear, and what it masks unchanged', { timeout: 60_000 }, () => {
  it('masks any text exactly as the masker before', () => {
    fc.assert(
      fc.property(text, (t) => {
        assert.equal(maskCredentials(t), maskedBefore(t), JSON.stringify(t));
      }),
      { numRuns: 5000 },
    );
  });

  it('masks hostile texts of 20 KB as the masker before', () => {
    for (const t of hostile(20_000)) assert.equal(maskCredentials(t), maskedBefore(t));
  });

  it('masks hostile texts of megabytes, each URL as alone', () => {
    for (const t of hostile(2_000_000)) {
      const masked = maskCredentials(t);
      assert.ok(!masked.includes('s3cret'), 'no password survives');
    }
    // A password on a line of 100 000 URLs is masked as it is on its own.
    const line = `${'x://'.repeat(100_000)} rtsp://admin:s3cret@cam/stream`;
    assert.ok(maskCredentials(line).endsWith('rtsp://admin:***@cam/stream'));
  });
});

/** Texts about `size` long that made the masker before scan each URL to its line's end. */
function hostile(size: number): string[] {
  const fill = (piece: string): string => piece.repeat(Math.ceil(size / piece.length)).slice(0, size);
  return [
    `rtsp://a:${fill('@ ')}`,
    fill('x://'),
    fill('"x://'),
    fill('rtsp://cam:554 down; ops@example.com '),
    `${fill('rtsp://admin:s3cret@cam ')}`,
    `${fill('a://b@')}`,
    `rtsp://${fill('a')}@cam`,
  ];
}
