/**
 * A silent camera is an alarm (ADR 0138), the pure part, against a model of the rule with fast-check: for any
 * silence, any sequence of results (fresh or on old frames) and judgements (with any causes known to be down) at
 * any times, the alarm is raised iff no result was on a frame captured in the last silence (the watch's start
 * standing for one before any); only a judgement raises it; the first fresh result clears it, at once; its reason
 * is the first of the causes present at the judgement in the defined order (no-results when none); raised and
 * cleared alternate, and a raised alarm whose reason changes says `updated`. And a camera's silence is its
 * workers': silent when one is, with the first reason in order among them and the earliest since.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cameraSilence, firstCause, SILENCE_REASONS, SilenceAlarm, type SilenceCause, type WorkerSilence } from '../../src/care/index.js';

const CAUSES = SILENCE_REASONS.filter((r): r is SilenceCause['reason'] => r !== 'no-results');

type Op = { kind: 'result'; dt: number; age: number } | { kind: 'judge'; dt: number; causes: SilenceCause[] };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('result' as const), dt: fc.integer({ min: 0, max: 4_000 }), age: fc.integer({ min: 0, max: 12_000 }) }),
  fc.record({
    kind: fc.constant('judge' as const),
    dt: fc.integer({ min: 0, max: 4_000 }),
    causes: fc.array(fc.record({ reason: fc.constantFrom(...CAUSES), detail: fc.constantFrom('a', 'b') }), { maxLength: 4 }),
  }),
);

describe('the silence alarm (pure)', { timeout: 60_000 }, () => {
  it('is raised iff no fresh result for the silence; the first fresh result clears it; its reason is the first cause in order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 1e6 }), fc.array(op, { maxLength: 80 }), (silenceMs, start, ops) => {
        const alarm = new SilenceAlarm(silenceMs, start);
        let now = start;
        let newest = start; // the model: the newest capture time seen, the start before any
        let silent = false;
        let raised = 0;
        let cleared = 0;
        for (const o of ops) {
          now += o.dt;
          const before = alarm.state.silent;
          if (o.kind === 'result') {
            const captureTime = now - o.age;
            newest = Math.max(newest, captureTime);
            const change = alarm.result(captureTime, now);
            const fresh = now - captureTime < silenceMs;
            if (before && fresh) {
              assert.equal(change?.kind, 'cleared', 'the first fresh result clears it');
              silent = false;
            } else assert.equal(change, null, 'a result that is not fresh, or with no alarm raised, changes nothing');
            assert.equal(alarm.state.silent, silent);
            assert.equal(alarm.state.freshAt, newest);
          } else {
            const change = alarm.judge(now, o.causes);
            const expected = now - newest >= silenceMs;
            assert.equal(alarm.state.silent, expected, `judged at ${now}, newest ${newest}, silence ${silenceMs}`);
            if (expected) {
              const wanted = o.causes.length === 0 ? 'no-results' : CAUSES.find((r) => o.causes.some((c) => c.reason === r));
              assert.equal(alarm.state.reason, wanted, 'the first cause in the defined order');
              assert.equal(alarm.state.reason, firstCause(o.causes).reason);
              if (!before) assert.equal(change?.kind, 'raised');
              else assert.ok(change === null || change.kind === 'updated');
              assert.ok(alarm.state.since !== null && alarm.state.since <= now);
            } else {
              if (before) assert.equal(change?.kind, 'cleared');
              else assert.equal(change, null);
              assert.equal(alarm.state.since, null);
            }
            silent = expected;
          }
          if (alarm.state.silent && !before) raised++;
          if (!alarm.state.silent && before) cleared++;
          assert.ok(raised - cleared === (alarm.state.silent ? 1 : 0), 'raised and cleared alternate');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the time it was raised while its reason changes, and says updated only when the reason or detail does', () => {
    const alarm = new SilenceAlarm(1_000, 0);
    assert.equal(alarm.judge(999, [])?.kind ?? null, null);
    const raised = alarm.judge(1_000, [{ reason: 'worker-down', detail: 'worker backoff' }]);
    assert.equal(raised?.kind, 'raised');
    assert.equal(raised?.state.since, 1_000);
    assert.equal(alarm.judge(2_000, [{ reason: 'worker-down', detail: 'worker backoff' }]), null, 'the same reason: no change');
    const updated = alarm.judge(3_000, [
      { reason: 'worker-down', detail: 'worker backoff' },
      { reason: 'camera-down', detail: 'camera backoff (ERR_SOURCE_EXITED)' },
    ]);
    assert.equal(updated?.kind, 'updated');
    assert.deepEqual([updated?.state.reason, updated?.state.detail, updated?.state.since], ['camera-down', 'camera backoff (ERR_SOURCE_EXITED)', 1_000]);
    assert.equal(alarm.result(2_500, 3_100)?.kind, 'cleared', 'a frame captured 600 ms ago is fresh');
    assert.equal(alarm.state.anyResult, true);
  });

  it("a camera's silence is its workers': silent when one is, the first reason in order among the silent, the earliest since", () => {
    const worker = fc.record({
      silent: fc.boolean(),
      reason: fc.constantFrom(...SILENCE_REASONS),
      since: fc.integer({ min: 0, max: 1_000 }),
    });
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), worker, { maxKeys: 5 }), (workers) => {
        const silences: Record<string, WorkerSilence> = Object.fromEntries(
          Object.entries(workers).map(([id, w]) => [
            id,
            {
              silent: w.silent,
              reason: w.silent ? w.reason : null,
              detail: w.silent ? `d-${id}` : null,
              silenceSeconds: 30,
              lastResultAt: null,
              since: w.silent ? w.since : null,
            },
          ]),
        );
        const camera = cameraSilence(silences);
        const silent = Object.entries(workers).filter(([, w]) => w.silent);
        assert.equal(camera.silent, silent.length > 0);
        if (silent.length === 0) {
          assert.deepEqual([camera.reason, camera.detail, camera.since], [null, null, null]);
          return;
        }
        const first = Math.min(...silent.map(([, w]) => SILENCE_REASONS.indexOf(w.reason)));
        assert.equal(camera.reason, SILENCE_REASONS[first]);
        assert.ok(silent.some(([id, w]) => SILENCE_REASONS.indexOf(w.reason) === first && camera.detail === `${id}: d-${id}`));
        assert.equal(camera.since, Math.min(...silent.map(([, w]) => w.since)));
      }),
      { numRuns: 300 },
    );
  });
});
