/**
 * ThrottledLog against its definition, on a mocked clock: after any sequence
 * of notes of a few kinds at any times, each kind's lines are at most one per
 * interval plus its first, every note is either a line or counted in a later
 * line's `suppressed` (nothing lost once closed), a summary line carries the
 * last note's fields, and a burst followed by silence is still told when its
 * interval is over.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import fc from 'fast-check';
import { ThrottledLog } from '../../src/internal/throttled-log.js';

interface Line {
  readonly at: number;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

const INTERVAL = 1_000;

describe('ThrottledLog', { timeout: 60_000 }, () => {
  let clock = 0;
  beforeEach(() => {
    clock = 0;
    mock.timers.enable({ apis: ['setTimeout'], now: 0 });
  });
  afterEach(() => mock.timers.reset());

  /** Advances the mocked timers and the log's clock together. */
  const advance = (ms: number): void => {
    clock += ms;
    mock.timers.tick(ms);
  };

  const make = (lines: Line[]) =>
    new ThrottledLog({ intervalMs: INTERVAL, now: () => clock, write: (fields, message) => lines.push({ at: clock, fields, message }) });

  it('writes the first of a kind, then at most one line per interval counting the rest, with the last one’s fields', () => {
    const lines: Line[] = [];
    const log = make(lines);
    for (let i = 0; i < 1000; i++) log.note('bad', { n: i }, 'bad command');
    assert.deepEqual(
      lines.map((l) => l.fields),
      [{ n: 0 }],
    );
    assert.equal(log.suppressed, 999);
    advance(INTERVAL);
    assert.equal(lines.length, 2, 'the burst is told when its interval is over, though nothing more came');
    assert.deepEqual(lines[1]!.fields, { n: 999, suppressed: 999 });
    assert.match(lines[1]!.message, /^bad command \(999 more since the last such line/);
    advance(10 * INTERVAL);
    assert.equal(lines.length, 2, 'nothing pending, nothing written');
    log.note('bad', { n: 1000 }, 'bad command');
    assert.equal(lines.length, 3, 'after a quiet interval the next one is written at once');
    log.close();
  });

  it('keeps kinds apart', () => {
    const lines: Line[] = [];
    const log = make(lines);
    log.note('a', { k: 'a' }, 'a');
    log.note('b', { k: 'b' }, 'b');
    log.note('a', { k: 'a' }, 'a');
    assert.deepEqual(
      lines.map((l) => l.message),
      ['a', 'b'],
    );
    log.close();
    assert.deepEqual(lines[2]!.fields, { k: 'a', suppressed: 1 });
    log.note('a', {}, 'a');
    assert.equal(lines.length, 3, 'after close(), only counted');
  });

  it('bounds the lines per kind and loses no count, for any notes at any times', () => {
    const note = fc.record({ kind: fc.constantFrom('x', 'y', 'z'), after: fc.integer({ min: 0, max: 3 * INTERVAL }) });
    fc.assert(
      fc.property(fc.array(note, { maxLength: 200 }), (notes) => {
        clock = 0;
        mock.timers.reset();
        mock.timers.enable({ apis: ['setTimeout'], now: 0 });
        const lines: Line[] = [];
        const log = make(lines);
        const noted = new Map<string, number>();
        for (const [i, n] of notes.entries()) {
          advance(n.after);
          log.note(n.kind, { kind: n.kind, i }, n.kind);
          noted.set(n.kind, (noted.get(n.kind) ?? 0) + 1);
        }
        const span = clock;
        log.close();
        for (const [kind, count] of noted) {
          const own = lines.filter((l) => l.fields.kind === kind);
          // Every note a line of its own or counted in one.
          assert.equal(
            own.reduce((sum, l) => sum + (typeof l.fields.suppressed === 'number' ? l.fields.suppressed : 1), 0),
            count,
          );
          // Never two lines within an interval (but close(), which writes what is pending at once).
          const timed = own.slice(0, -1);
          for (let j = 1; j < timed.length; j++) assert.ok(timed[j]!.at - timed[j - 1]!.at >= INTERVAL, JSON.stringify(own));
          assert.ok(own.length <= 2 + Math.floor(span / INTERVAL), `${own.length} lines in ${span} ms`);
          // A summary line carries the last counted note's fields.
          const last = own.at(-1)!;
          const lastNote = notes
            .map((n, i) => ({ ...n, i }))
            .filter((n) => n.kind === kind)
            .at(-1)!;
          if (typeof last.fields.suppressed === 'number') assert.equal(last.fields.i, lastNote.i);
        }
        assert.equal(
          lines.reduce((sum, l) => sum + (typeof l.fields.suppressed === 'number' ? l.fields.suppressed : 0), 0),
          log.suppressed,
        );
      }),
      { numRuns: 300 },
    );
  });
});
