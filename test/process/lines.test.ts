/**
 * BoundedLines, the stderr line splitter: memory bounded by one line whatever
 * the input (200 MiB without a newline used to be held whole), lines cut on a
 * UTF-8 character and marked, the rate capped with the excess counted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BoundedLines } from '../../src/process/index.js';

const SUMMARY = /^…\[suppressed (\d+) line\(s\), (\d+) bytes: over/;
const generous = { maxLinesPerSecond: 1e9, maxBytesPerSecond: 1e9 };

/** What the splitter must give for `input`, written independently: split, then cut each line at a character boundary. */
function expectedLines(input: Buffer, maxLineBytes: number): string[] {
  const lines: string[] = [];
  let from = 0;
  for (;;) {
    const newline = input.indexOf(0x0a, from);
    const line = input.subarray(from, newline < 0 ? input.byteLength : newline);
    if (newline >= 0 || line.byteLength > 0) {
      if (line.byteLength <= maxLineBytes) lines.push(line.toString('utf8'));
      else {
        let keep = maxLineBytes;
        while (keep > 0 && (line[keep]! & 0xc0) === 0x80) keep--; // the next byte continues a character: cut before it
        lines.push(`${line.subarray(0, keep).toString('utf8')}…[cut ${line.byteLength - keep} bytes]`);
      }
    }
    if (newline < 0) return lines;
    from = newline + 1;
  }
}

function feed(splitter: BoundedLines, input: Buffer, cuts: number[]): string[] {
  const out: string[] = [];
  let from = 0;
  for (const at of [...cuts.filter((c) => c > 0 && c < input.byteLength).sort((a, b) => a - b), input.byteLength]) {
    out.push(...splitter.push(input.subarray(from, at)));
    assert.ok(splitter.retainedBytes <= splitter.maxLineBytes, `retained ${splitter.retainedBytes} > ${splitter.maxLineBytes}`);
    from = at;
  }
  return [...out, ...splitter.end()];
}

describe('BoundedLines', { timeout: 120_000 }, () => {
  it('any text split anywhere: the lines of the whole, each cut at a whole character and marked; never more than one line held', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', 'é', '€', '😀', '\n'), maxLength: 300 });
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 24 }), fc.array(fc.nat({ max: 1200 }), { maxLength: 12 }), (s, maxLineBytes, cuts) => {
        const input = Buffer.from(s, 'utf8');
        assert.deepEqual(feed(new BoundedLines({ maxLineBytes, ...generous }), input, cuts), expectedLines(input, maxLineBytes));
      }),
      { numRuns: 500 },
    );
  });

  it('every split offset of one stream gives the same lines', () => {
    const input = Buffer.from(`short\n${'€'.repeat(20)}\n😀😀😀 tail without newline`, 'utf8');
    const whole = feed(new BoundedLines({ maxLineBytes: 16, ...generous }), input, []);
    assert.deepEqual(whole, ['short', `${'€'.repeat(5)}…[cut 45 bytes]`, `😀😀😀 tai…[cut 17 bytes]`]);
    for (let at = 0; at <= input.byteLength; at++)
      assert.deepEqual(feed(new BoundedLines({ maxLineBytes: 16, ...generous }), input, [at]), whole, `split at ${at}`);
  });

  it('200 MiB without a newline: at most 8 KiB held at any time, then one line, cut and marked', () => {
    const splitter = new BoundedLines();
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const total = 200 * 1024 * 1024;
    let maxRetained = 0;
    for (let sent = 0; sent < total; sent += chunk.byteLength) {
      assert.deepEqual(splitter.push(chunk), []);
      maxRetained = Math.max(maxRetained, splitter.retainedBytes);
    }
    assert.equal(maxRetained, 8 * 1024);
    assert.deepEqual(splitter.push(Buffer.from('\nnext')), [`${'x'.repeat(8 * 1024)}…[cut ${total - 8 * 1024} bytes]`]);
    assert.equal(splitter.retainedBytes, 4);
    assert.deepEqual(splitter.end(), ['next']);
  });

  it('over the line rate: the excess is counted, not buffered, and summarised once the window is over', () => {
    let now = 0;
    const splitter = new BoundedLines({ now: () => now });
    const burst = Buffer.from(Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join(''));
    const passed = splitter.push(burst);
    assert.equal(passed.length, 100);
    assert.deepEqual([passed[0], passed[99]], ['line 0', 'line 99']);
    assert.equal(splitter.lastLine, 'line 999', 'the last line is known even when suppressed (for exit messages)');
    assert.deepEqual(splitter.flush(), [], 'no summary before the window is over');
    now = 999;
    assert.deepEqual(splitter.push(Buffer.from('late\n')), []);
    now = 1000;
    const flushed = splitter.flush();
    assert.equal(flushed.length, 1);
    assert.deepEqual(SUMMARY.exec(flushed[0]!)?.slice(1), ['901', String(900 * 'line 100'.length + 'late'.length)]);
    now = 1500;
    assert.deepEqual(splitter.push(Buffer.from('fresh\n')), ['fresh']);
    assert.equal(splitter.suppressedLines, 901);
  });

  it('over the byte rate: long lines are suppressed once the second budget is spent; the first line of a window always passes', () => {
    let now = 0;
    const splitter = new BoundedLines({ maxLineBytes: 1000, maxBytesPerSecond: 2500, now: () => now });
    const line = `${'y'.repeat(999)}\n`;
    assert.equal(splitter.push(Buffer.from(line.repeat(4))).length, 2);
    now = 2000;
    const next = splitter.push(Buffer.from(`${'z'.repeat(5000)}\n`));
    assert.equal(next.length, 2);
    assert.match(next[0]!, /^…\[suppressed 2 line\(s\), 1998 bytes/);
    assert.match(next[1]!, /^z{1000}…\[cut 4000 bytes\]$/);
    assert.deepEqual(splitter.end(), []);
  });

  it('whatever arrives when: every line is passed on or counted in a summary, exactly once', () => {
    const step = fc.record({ advance: fc.integer({ min: 0, max: 700 }), lines: fc.integer({ min: 0, max: 150 }), width: fc.integer({ min: 0, max: 40 }) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 20 }), fc.boolean(), (steps, useFlush) => {
        let now = 0;
        const splitter = new BoundedLines({ maxLineBytes: 32, maxLinesPerSecond: 50, maxBytesPerSecond: 800, now: () => now });
        const out: string[] = [];
        let sent = 0;
        for (const { advance, lines, width } of steps) {
          now += advance;
          if (useFlush) out.push(...splitter.flush());
          out.push(...splitter.push(Buffer.from(`${'w'.repeat(width)}\n`.repeat(lines))));
          sent += lines;
        }
        out.push(...splitter.end());
        const summarised = out.map((l) => SUMMARY.exec(l)).reduce((n, m) => n + (m === null ? 0 : Number(m[1])), 0);
        assert.equal(out.filter((l) => !SUMMARY.test(l)).length + summarised, sent);
        assert.equal(splitter.suppressedLines, summarised);
      }),
      { numRuns: 300 },
    );
  });
});
