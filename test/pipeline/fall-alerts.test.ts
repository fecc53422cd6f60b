/**
 * Fall alerts in the system (src/pipeline/watches/falls.ts, ADR 0132), driven by a
 * scripted person's frames and a clock of the test's own: the `new` goes out
 * at the frame that confirms the fall, with a snapshot request and the
 * frames' ages, times on the wall clock by the frames' own pairs; an alert
 * not acknowledged is raised again every repeatSeconds while it stands, and
 * not after its acknowledgement (by id, or every one of a camera); one that
 * ended with the person gone stands until acknowledged, one that ended with
 * the person up does not (but is shown until acknowledged); a vlm worker's
 * answer to the `fall` trigger about the person is added as its
 * confirmation; a worker stopped ends its alerts `stopped`; alerts a killed
 * process left open are ended `restart` and stand until acknowledged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alertStands, type FallAlert } from '../../src/care/index.js';
import type { ResultEvent } from '../../src/pipeline/index.js';
import { fallRig, type FallRig } from '../helpers/fall-rig.js';
import { MOVES, STANDING, type Step } from '../helpers/poses.js';

/** The rig with the old positional play(steps, from, goneMs). */
function rig(lag = 150): FallRig & { play(steps: readonly Step[], from?: number, goneMs?: number): void } {
  const r = fallRig({ lag });
  const play = r.play.bind(r);
  return Object.assign(r, { play: (steps: readonly Step[], from = 0, goneMs = 0) => play(steps, { from, goneMs }) });
}

const lyingFor = (seconds: number) => [...MOVES.fallForward, { to: MOVES.fallForward[1].to, seconds: 0, hold: seconds }];

describe('pipeline: fall alerts', { timeout: 60_000 }, () => {
  it('raises at once with a snapshot request, dated by the frames, with their ages', () => {
    const r = rig(150);
    r.play(MOVES.fallForward);
    const first = r.events[0]!;
    assert.equal(first.event.type, 'new');
    const a = first.event.after;
    assert.equal(a.kind, 'fall');
    assert.equal(a.label, 'fall');
    assert.ok(a.fall_time !== null && a.fall_time < a.down_time && a.down_time < a.raised_time);
    assert.equal(a.start_time, a.fall_time);
    assert.equal(a.frame_age_ms, 150, 'the raising frame, handled 150 ms after capture');
    assert.equal(a.down_age_ms, Math.round((a.raised_time - a.down_time) * 1000) + 150);
    assert.equal(a.fall_age_ms, Math.round((a.raised_time - a.fall_time) * 1000) + 150);
    assert.equal(a.raised, 1);
    assert.ok(alertStands(a));
    assert.deepEqual(first.snapshot, { id: a.id, camera: 'room', label: 'fall', score: 0.8, box: a.box, frame_time: a.raised_time });
    assert.deepEqual(
      r.alerts.alerts('room').map((x) => x.id),
      [a.id],
    );
    assert.deepEqual(r.alerts.alerts('elsewhere'), []);
    assert.deepEqual(r.alerts.watched('room', 'people'), [a.object_id]);
  });

  it('raises again every repeatSeconds until acknowledged, then no more; acknowledging twice changes nothing', () => {
    const r = rig();
    r.play(lyingFor(25));
    const raises = r.events.filter((e) => e.event.type === 'update' && e.event.after.raised > e.event.before.raised).map((e) => e.event.after.raised);
    assert.deepEqual(raises, [2, 3]);
    const id = r.events[0]!.event.after.id;
    const acked = r.alerts.acknowledge({ camera: 'room' }, 'nurse');
    assert.equal(acked.length, 1);
    assert.equal(acked[0]!.acknowledged_by, 'nurse');
    assert.equal(acked[0]!.acknowledged_at, r.clock / 1000);
    assert.deepEqual(r.alerts.acknowledge({ id }, 'again'), []);
    r.advance(60_000);
    r.alerts.tick();
    assert.equal(r.events.at(-1)!.event.after.acknowledged_by, 'nurse', 'no raise after the acknowledgement');
    assert.ok(alertStands(r.alerts.alerts()[0]!), 'acknowledged and still down: stands (the sensor stays on)');
  });

  it('an alert ended with the person up is shown until acknowledged but stands no more; one gone stands and repeats until acknowledged', () => {
    const up = rig();
    up.play([...MOVES.fallForward, { to: STANDING, seconds: 1, hold: 3 }]);
    const ended = up.events.find((e) => e.event.type === 'end')!.event.after;
    assert.equal(ended.end_reason, 'up');
    assert.equal(alertStands(ended), false);
    assert.deepEqual(
      up.alerts.alerts().map((a) => a.id),
      [ended.id],
    );
    up.advance(60_000);
    up.alerts.tick();
    assert.equal(up.events.at(-1)!.event.type, 'end', 'no repeat once up');
    up.alerts.acknowledge({ id: ended.id }, 'api');
    assert.deepEqual(up.alerts.alerts(), [], 'acknowledged and ended: history');

    const gone = rig();
    gone.play(MOVES.fallForward, 0, 4_000);
    const lost = gone.events.find((e) => e.event.type === 'end')!.event.after;
    assert.equal(lost.end_reason, 'gone');
    assert.equal(lost.end_time, lost.frame_time, 'dated by the last sighting');
    assert.ok(alertStands(lost));
    gone.advance(20_000);
    gone.alerts.tick();
    assert.equal(gone.events.at(-1)!.event.after.raised, 2, 'lost from sight while down: raised again');
    gone.alerts.acknowledge({ camera: 'room' }, 'api');
    assert.deepEqual(gone.alerts.alerts(), []);
  });

  it("adds a vlm worker's answer about the person as the confirmation, once", () => {
    const r = rig();
    r.play(MOVES.fallForward);
    const a = r.events[0]!.event.after;
    const answer = (objectId: string, kind = 'fall'): ResultEvent =>
      ({
        type: 'result',
        at: r.clock,
        camera: 'room',
        worker: 'look',
        shared: false,
        seq: 1,
        captureTime: 0,
        wallTime: r.clock,
        ageMs: 420,
        output: { kind: 'vlm', answer: { fallen: true }, trigger: { kind, objectId, label: 'person', zone: null } },
      }) as unknown as ResultEvent;
    r.alerts.onResult(answer('someone else'));
    r.alerts.onResult(answer(a.object_id, 'new'));
    assert.equal(r.events.length, 1, 'another person, another trigger: nothing');
    r.alerts.onResult(answer(a.object_id));
    const confirmed = r.events.at(-1)!.event;
    assert.equal(confirmed.type, 'update');
    assert.deepEqual(confirmed.after.confirmation, {
      worker: 'look',
      answer: { fallen: true },
      at: r.clock / 1000,
      frame_age_ms: 420,
      stale: false,
      judged: true,
    });
    r.alerts.onResult(answer(a.object_id));
    assert.equal(r.events.length, 2, 'the first answer is kept');
  });

  it('a worker stopped ends its alerts as stopped; a camera removed forgets them', () => {
    const r = rig();
    r.play(MOVES.fallForward);
    r.alerts.onConfigChange({ type: 'config-change', at: r.clock, change: 'worker-disabled', camera: 'room', worker: 'people', shared: false });
    const ended = r.events.at(-1)!.event;
    assert.equal(ended.type, 'end');
    assert.equal(ended.after.end_reason, 'stopped');
    assert.ok(alertStands(ended.after), 'not acknowledged: still stands');
    r.alerts.onConfigChange({ type: 'config-change', at: r.clock, change: 'camera-removed', camera: 'room', worker: null, shared: false });
    assert.deepEqual(r.alerts.alerts(), []);
  });

  it('restores what a killed process left: open ones ended `restart`, standing until acknowledged and raised again', () => {
    const before = rig();
    before.play(MOVES.fallForward);
    const open = before.events[0]!.event.after;
    const acknowledged: FallAlert = { ...open, id: '1700000000.000000-acked1', acknowledged_at: 1, acknowledged_by: 'api' };
    const up: FallAlert = { ...open, id: '1700000000.000000-upupup', end_time: open.down_time + 5, end_reason: 'up' };
    const r = rig();
    r.clock = before.clock + 3_000;
    r.mono = 1_000_000;
    const ends = r.alerts.restore([open, acknowledged, up], () => ({ repeatSeconds: 30, escalate: [] }));
    assert.deepEqual(
      ends.map((e) => [e.type, e.after.id, e.after.end_reason]),
      [['end', open.id, 'restart']],
    );
    assert.deepEqual(
      r.alerts.alerts().map((a) => a.id),
      [open.id],
    );
    r.advance(31_000);
    r.alerts.tick();
    assert.equal(r.events.at(-1)!.event.after.raised, 2);
    assert.equal(r.alerts.acknowledge({ id: open.id }, 'api').length, 1);
  });

  it('ends its open alerts as stopped on close', async () => {
    const r = rig();
    r.play(MOVES.fallForward);
    await r.alerts.close();
    await r.alerts.close();
    assert.equal(r.events.at(-1)!.event.after.end_reason, 'stopped');
  });
});
