/**
 * How fall alerts are answered (src/pipeline/watches/standing-alerts.ts, fall-rooms.ts; ADR 0157-0159), driven by
 * scripted people on clocks of the test's own (test/helpers/fall-rig.ts): repeats and escalation steps run on the
 * monotonic clock, so a wall clock stepped back (NTP at boot) stops neither, live or after a restart; a press
 * acknowledges only what went out before it; acknowledging sets time to acknowledge and time on the floor, and the
 * log says who; escalation steps are told once each, in order, until acknowledged; a single-occupancy room with a
 * carer in it holds its alerts as assisted (published and marked, not repeated or escalated) until the resident is
 * alone again, and counts the time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alertStands, type FallAlert } from '../../src/care/index.js';
import { fallRig, WALL } from '../helpers/fall-rig.js';
import { LYING, MOVES, pose, STANDING } from '../helpers/poses.js';

const lying = (holdS: number, uprightS = 1) => [
  { to: STANDING, seconds: 0, hold: uprightS },
  { to: { ...LYING, x: 0.62 }, seconds: 0.6, hold: holdS },
];
const carer = () => [{ label: 'person', score: 0.8, ...pose({ ...STANDING, x: 0.12 }) }];
const raises = (r: ReturnType<typeof fallRig>): number[] =>
  r.events.filter((e) => e.event.type === 'update' && e.event.after.raised > e.event.before.raised).map((e) => e.event.after.raised);

describe('pipeline: fall alerts answered', { timeout: 60_000 }, () => {
  it('raises again and escalates on the monotonic clock: a wall clock stepped back an hour stops neither', () => {
    const r = fallRig({
      falls: {
        repeatSeconds: 10,
        escalate: [
          { after: 0, notify: [{ mqtt: 'care/nurses' }] },
          { after: 30, notify: [{ mqtt: 'care/head' }] },
        ],
      },
    });
    r.play(MOVES.fallForward);
    assert.equal(r.notices.length, 1, 'step 0 with the new');
    r.clock -= 3_600_000; // NTP at boot: the wall clock goes back an hour
    r.advance(10_000);
    assert.deepEqual(raises(r), [2], 'raised again after repeatSeconds on the monotonic clock');
    r.advance(25_000);
    assert.deepEqual(
      r.notices.map((n) => [n.step, n.targets]),
      [
        [0, ['mqtt:care/nurses']],
        [1, ['mqtt:care/head']],
      ],
    );
  });

  it('after a restart with the wall clock behind the alert, repeats and steps not yet told come after their time from now', () => {
    const before = fallRig();
    before.play(MOVES.fallForward);
    const row = before.events[0]!.event.after;
    const r = fallRig({
      falls: {
        escalate: [
          { after: 0, notify: [{ mqtt: 'a' }] },
          { after: 20, notify: [{ mqtt: 'b' }] },
        ],
      },
    });
    r.clock = WALL - 3_600_000; // the clock stepped back: the alert is "an hour ahead"
    r.mono = 5_000;
    r.alerts.restore([{ ...row, escalated: 1 }], () => ({
      repeatSeconds: 10,
      escalate: [
        { after: 0, notify: [{ mqtt: 'a' }] },
        { after: 20, notify: [{ mqtt: 'b' }] },
      ],
    }));
    r.advance(10_000);
    assert.equal(r.alerts.alerts()[0]!.raised, 2);
    r.advance(10_000);
    assert.deepEqual(
      r.notices.map((n) => n.step),
      [1],
      'step 0 told before the restart is not told again; step 1 at its time',
    );
  });

  it("a press acknowledges the camera's alerts out before it, never one raised after; the log says who", () => {
    const r = fallRig();
    r.play([...MOVES.fallForward, { to: STANDING, seconds: 1, hold: 4 }, ...lying(4)]);
    const news = r.events.filter((e) => e.event.type === 'new').map((e) => e.event.after);
    assert.equal(news.length, 2, 'a fall, up, a second fall');
    const [first, second] = news as [FallAlert, FallAlert];
    assert.ok(first.first_raised_at < second.first_raised_at);
    const pressed = (first.first_raised_at + second.first_raised_at) / 2;
    const acked = r.alerts.acknowledge({ camera: 'room', raisedBefore: pressed }, 'mqtt');
    assert.deepEqual(
      acked.map((a) => a.id),
      [first.id],
    );
    assert.equal(r.alerts.alerts().find((a) => a.id === second.id)?.acknowledged_at, null, 'the one raised after the press still waits');
    const line = acked[0]!.log.at(-1)!;
    assert.deepEqual([line.what, line.by, line.at], ['acknowledged', 'mqtt', r.clock / 1000]);
  });

  it('acknowledging sets time to acknowledge and time on the floor; up first, time on the floor is down to up', () => {
    const r = fallRig();
    r.play(lying(5));
    const a = r.events[0]!.event.after;
    r.advance(42_000);
    const [acked] = r.alerts.acknowledge({ id: a.id }, 'nurse');
    const sinceNew = Math.round((r.clock / 1000 - a.first_raised_at) * 1000);
    assert.equal(acked!.time_to_acknowledge_ms, sinceNew);
    assert.equal(acked!.time_on_floor_ms, Math.round((r.clock / 1000 - a.down_time) * 1000), 'from the capture of the first frame down');
    assert.deepEqual(
      r.alerts.answered().map((x) => x.id),
      [a.id],
      'kept among the answered',
    );
    assert.equal(r.alerts.stats().answered.room?.acknowledged, 1);

    const up = fallRig();
    up.play([...MOVES.fallForward, { to: STANDING, seconds: 1, hold: 3 }]);
    const ended = up.events.find((e) => e.event.type === 'end')!.event.after;
    assert.equal(ended.time_on_floor_ms, Math.round((ended.end_time! - ended.down_time) * 1000));
    up.advance(5_000);
    const [late] = up.alerts.acknowledge({ id: ended.id }, 'api');
    assert.equal(late!.time_on_floor_ms, ended.time_on_floor_ms, 'up came first: kept');
    assert.ok(late!.time_to_acknowledge_ms! > 5_000);
  });

  it('a listener reading the alerts on an acknowledgement or an end reads them as they are after it (the state file writes on the event)', () => {
    // ended, then acknowledged: the acknowledgement's update already finds it gone
    const up = fallRig();
    up.play([...MOVES.fallForward, { to: STANDING, seconds: 1, hold: 3 }]);
    const ended = up.events.find((e) => e.event.type === 'end')!;
    assert.ok(ended.held.includes(ended.event.after.id), 'ended, not acknowledged: still held');
    up.alerts.acknowledge({ id: ended.event.after.id }, 'api');
    const acked = up.events.at(-1)!;
    assert.equal(acked.event.after.acknowledged_by, 'api');
    assert.deepEqual(acked.held, [], 'ended and acknowledged: history on its own update');

    // acknowledged while down, then up: the end finds it gone
    const down = fallRig();
    down.play(MOVES.fallForward);
    const id = down.events[0]!.event.after.id;
    down.alerts.acknowledge({ id }, 'nurse');
    assert.deepEqual(down.events.at(-1)!.held, [id], 'acknowledged while down: it stands until up');
    down.play([{ to: STANDING, seconds: 1, hold: 3 }], { from: 10_000 });
    const end = down.events.find((e) => e.event.type === 'end')!;
    assert.deepEqual(end.held, [], 'acknowledged and up: history on its own end');
  });

  it("escalates step by step, each once, in order, the log saying each and each target's delivery; nothing after the acknowledgement", () => {
    const r = fallRig({
      falls: {
        repeatSeconds: 600,
        escalate: [
          { after: 0, notify: [{ mqtt: 'care/nurses' }] },
          { after: 120, notify: [{ webhook: 'https://hooks.example/services/SECRET?token=abc', name: 'night manager' }, { mqtt: 'care/head' }] },
          { after: 300, notify: [{ mqtt: 'care/on-call' }] },
        ],
      },
    });
    r.play(lying(3));
    const a = r.events[0]!.event.after;
    assert.equal(r.notices.length, 1);
    assert.equal(r.notices[0]!.alert.escalated, 1);
    r.alerts.notified(a.id, 0, 'mqtt:care/nurses', { ok: true });
    r.advance(110_000);
    assert.equal(r.notices.length, 1, 'step 1 not before 120 s');
    r.advance(10_000);
    assert.deepEqual(
      r.notices.map((n) => n.step),
      [0, 1],
    );
    r.alerts.notified(a.id, 1, 'night manager', { ok: false, code: 'ERR_FALL_WEBHOOK' });
    r.alerts.acknowledge({ id: a.id }, 'dashboard');
    r.advance(600_000);
    assert.equal(r.notices.length, 2, 'acknowledged: no more steps');
    const log = r.alerts.alerts()[0]!.log.map((l) => [l.what, l.step ?? null, l.target ?? l.by ?? null, l.ok ?? null]);
    assert.deepEqual(log, [
      ['raised', null, null, null],
      ['escalated', 0, 'mqtt:care/nurses', null],
      ['notified', 0, 'mqtt:care/nurses', true],
      ['escalated', 1, 'night manager, mqtt:care/head', null],
      ['notified', 1, 'night manager', false],
      ['acknowledged', null, 'dashboard', null],
    ]);
    assert.deepEqual(r.notices[1]!.targets, ['night manager', 'mqtt:care/head']);
    assert.ok(!JSON.stringify([r.events, r.notices]).includes('SECRET'), 'the URL is in no event (nor the log)');
  });

  it('a single-occupancy room with a carer in it holds its alert as assisted: published and marked, not repeated or escalated, until the resident is alone', () => {
    const r = fallRig({ single: true, falls: { repeatSeconds: 10, escalate: [{ after: 0, notify: [{ mqtt: 'care/nurses' }] }] } });
    const carerLeaves = 15_000;
    r.play(lying(40, 5), { others: (t) => (t < carerLeaves ? carer() : []) });
    const first = r.events[0]!.event;
    assert.equal(first.type, 'new', 'never silent: its new goes out');
    assert.equal(first.after.assisted, true);
    assert.ok(alertStands(first.after));
    const alone = r.events.find((e) => e.event.before.assisted && !e.event.after.assisted);
    assert.ok(alone !== undefined, 'back to watching alone once the carer left');
    const aloneAt = alone.event.after.log.at(-1)!;
    assert.equal(aloneAt.what, 'alone');
    assert.ok(aloneAt.at * 1000 - WALL > carerLeaves + 10_000 - 1_000, 'after the leave hysteresis');
    const beforeAlone = r.events.slice(0, r.events.indexOf(alone));
    assert.deepEqual(
      beforeAlone.filter((e) => e.event.after.raised > 1),
      [],
      'not raised again while assisted',
    );
    assert.equal(r.notices.length, 1, 'step 0 told once alone');
    assert.ok(r.notices[0]!.at >= aloneAt.at * 1000);
    assert.ok(raises(r).length >= 1, 'raised again once alone');
    const room = r.alerts.stats().rooms.room!;
    assert.equal(room.state, 'alone');
    assert.ok(room.assistedSeconds >= 15 && room.assistedSeconds <= 30, `assisted ${room.assistedSeconds} s`);
  });

  it('a shared room (not single-occupancy) with two people is not assisted', () => {
    const r = fallRig({ falls: { escalate: [{ after: 0, notify: [{ mqtt: 'care/nurses' }] }] } });
    r.play(lying(10, 5), { others: carer });
    assert.equal(r.events[0]!.event.after.assisted, false);
    assert.equal(r.notices.length, 1);
    assert.deepEqual(r.alerts.stats().rooms, {});
  });
});
