/**
 * CameraScheduler's invariants, property-based: whatever the sequence of
 * requests from whatever cameras, urgent or not, and completions, at most one
 * request per camera waits, every request leaves exactly once (run or
 * superseded), the capacity is never exceeded and never idle while a camera
 * waits, an urgent slot is served before every slot that is not, and among
 * slots of a kind the camera served next is the one whose last run is oldest,
 * the one waiting longest among equals (ADR 0172: a camera run goes to the
 * back; a job taken and refused before the model is no run and keeps its
 * camera ahead; a superseding request keeps its camera's turn and its
 * urgency). With
 * batches (maxBatch > 1): a free unit takes exactly what waits, up to
 * maxBatch, urgent slots first, then the turn order, and never holds a batch
 * back while anything waits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CameraScheduler, type TakenJob } from '../../src/models/scheduler.js';

type Op = { kind: 'offer'; camera: number; urgent: boolean } | { kind: 'done' };

/** Offers, a fifth of them urgent (as onsets are rare), and completions. */
const ops = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('offer' as const), camera: fc.integer({ min: 0, max: 5 }), urgent: fc.integer({ min: 0, max: 4 }).map((n) => n === 0) }),
    fc.record({ kind: fc.constant('done' as const) }),
  ),
  { maxLength: 200 },
);

describe('CameraScheduler', { timeout: 60_000 }, () => {
  it('one waiting request per camera, each request answered exactly once, capacity kept, urgent first, else longest-waiting camera first', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), ops, (capacity, sequence: Op[]) => {
        const outcome = new Map<number, 'run' | 'superseded' | 'drained'>();
        const settle = (job: number, how: 'run' | 'superseded' | 'drained'): void => {
          assert.equal(outcome.has(job), false, `job ${job} answered twice`);
          outcome.set(job, how);
        };
        /** Per camera: its waiting job, since when (op index) its slot has been occupied, and whether it is urgent. */
        const waiting = new Map<string, { job: number; since: number; urgent: boolean }>();
        /** Per camera, the step it last ran at (a job taken and refused before the model is no run). */
        const lastServed = new Map<string, number>();
        /** Whether a taken job reached the model: every third is refused when taken (its frame too old). */
        const runs = (job: number): boolean => job % 3 !== 2;
        let running: number[] = [];
        let step = 0;
        /** The job an offer() about to be made must supersede. */
        let toSupersede: number | null = null;
        const scheduler = new CameraScheduler<number>(capacity, {
          start: (job, camera, urgent) => {
            const slot = waiting.get(camera);
            assert.equal(slot?.job, job, "the job started is its camera's waiting one");
            assert.equal(urgent, slot.urgent, 'started as urgent exactly when its slot is');
            const anyUrgent = [...waiting.values()].some((s) => s.urgent);
            // An urgent slot goes before every one that is not, whenever that one was offered.
            assert.ok(slot.urgent || !anyUrgent, `camera ${camera} (not urgent) served while an urgent slot waited`);
            // Among the slots of its kind (urgent ones, or all when none is): the last run oldest, then the one waiting longest.
            const ranAt = (key: string): number => lastServed.get(key) ?? 0;
            for (const [other, s] of waiting)
              if (s.urgent || !anyUrgent)
                assert.ok(
                  ranAt(other) > ranAt(camera) || (ranAt(other) === ranAt(camera) && s.since >= slot.since),
                  `camera ${camera} served while camera ${other} had run less lately or waited longer`,
                );
            // No camera run twice while another waits, except by urgency.
            const before = lastServed.get(camera);
            if (!urgent && before !== undefined)
              for (const [other, s] of waiting) assert.ok(s.since >= before, `camera ${camera} run twice while camera ${other} waited`);
            if (runs(job)) {
              lastServed.set(camera, step);
              scheduler.ran(camera);
            }
            waiting.delete(camera);
            running.push(job);
            settle(job, 'run');
          },
          supersede: (job) => {
            assert.equal(job, toSupersede, 'only the waiting job of the same camera is superseded');
            settle(job, 'superseded');
          },
        });
        let nextJob = 0;
        for (const op of sequence) {
          step++;
          if (op.kind === 'offer') {
            const camera = `camera_${op.camera}`;
            const job = nextJob++;
            const previous = waiting.get(camera);
            toSupersede = previous?.job ?? null;
            // A superseding job keeps its camera's place in the turn order, and its urgency (the onset is unanswered).
            waiting.set(camera, { job, since: previous?.since ?? step, urgent: op.urgent || previous?.urgent === true });
            scheduler.offer(camera, job, op.urgent);
            if (previous !== undefined) assert.equal(outcome.get(previous.job), 'superseded', 'the older job is answered at once');
            toSupersede = null;
          } else if (running.length > 0) {
            running = running.slice(1);
            scheduler.done();
          }
          assert.ok(scheduler.running <= capacity, 'capacity exceeded');
          assert.equal(scheduler.running, running.length);
          assert.equal(scheduler.waiting, waiting.size, 'at most one waiting job per camera');
          assert.ok(!(scheduler.running < capacity && scheduler.waiting > 0), 'capacity idle while a camera waits');
        }
        for (const [, job] of scheduler.drain()) settle(job, 'drained');
        assert.equal(outcome.size, nextJob, 'every job answered exactly once');
      }),
      { numRuns: 500 },
    );
  });

  it('batches: a free unit takes what waits, up to maxBatch, urgent first then the turn order; each job once; never idle while one waits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 5 }), ops, (capacity, maxBatch, sequence: Op[]) => {
        const outcome = new Map<number, 'run' | 'superseded' | 'drained'>();
        const settle = (job: number, how: 'run' | 'superseded' | 'drained'): void => {
          assert.equal(outcome.has(job), false, `job ${job} answered twice`);
          outcome.set(job, how);
        };
        /** The model of the slots: per camera its waiting job, the step its slot filled, and whether it is urgent. */
        const waiting = new Map<string, { job: number; since: number; urgent: boolean }>();
        let running = 0;
        let step = 0;
        const scheduler = new CameraScheduler<number>(
          capacity,
          {
            start: () => assert.fail('a batching scheduler starts batches'),
            supersede: (job) => settle(job, 'superseded'),
            startBatch: (batch: readonly TakenJob<number>[]) => {
              // Expected: every urgent slot in turn order, then the others in turn order, cut at maxBatch.
              const order = [...waiting.entries()].sort((a, b) => a[1].since - b[1].since);
              const expected = [...order.filter(([, s]) => s.urgent), ...order.filter(([, s]) => !s.urgent)].slice(0, maxBatch);
              assert.deepEqual(
                batch.map((t) => [t.key, t.job, t.urgent]),
                expected.map(([camera, s]) => [camera, s.job, s.urgent]),
              );
              assert.ok(batch.length >= 1 && batch.length <= maxBatch);
              for (const t of batch) {
                waiting.delete(t.key);
                settle(t.job, 'run');
              }
              running++;
            },
          },
          maxBatch,
        );
        let nextJob = 0;
        for (const op of sequence) {
          step++;
          if (op.kind === 'offer') {
            const camera = `camera_${op.camera}`;
            const previous = waiting.get(camera);
            const job = nextJob++;
            waiting.set(camera, { job, since: previous?.since ?? step, urgent: op.urgent || previous?.urgent === true });
            scheduler.offer(camera, job, op.urgent);
          } else if (running > 0) {
            running--;
            scheduler.done();
          }
          assert.ok(scheduler.running <= capacity, 'capacity exceeded');
          assert.equal(scheduler.running, running);
          assert.equal(scheduler.waiting, waiting.size);
          assert.ok(!(scheduler.running < capacity && scheduler.waiting > 0), 'a unit idle while a camera waits: no batch is held back to fill');
        }
        for (const [, job] of scheduler.drain()) settle(job, 'drained');
        assert.equal(outcome.size, nextJob, 'every job answered exactly once');
      }),
      { numRuns: 500 },
    );
  });

  it('an urgent request goes before the requests waiting; a newer one of its camera keeps the urgency; urgent ones in turn order', () => {
    const served: string[] = [];
    const urgentStarts: string[] = [];
    const scheduler = new CameraScheduler<string>(1, {
      start: (job, camera, urgent) => {
        served.push(job);
        if (urgent) urgentStarts.push(camera);
      },
      supersede: () => undefined,
    });
    scheduler.offer('busy', 'busy#1'); // runs: never interrupted
    for (const camera of ['a', 'b', 'c']) scheduler.offer(camera, `${camera}#1`);
    scheduler.offer('onset', 'onset#1', true);
    scheduler.offer('onset', 'onset#2'); // the onset is still unanswered: its replacement keeps the urgency
    scheduler.offer('b', 'b#2', true); // b became urgent while waiting: urgent ones go in the order they started waiting
    assert.deepEqual(served, ['busy#1']);
    for (let i = 0; i < 4; i++) scheduler.done();
    assert.deepEqual(served, ['busy#1', 'b#2', 'onset#2', 'a#1', 'c#1']);
    assert.deepEqual(urgentStarts, ['b', 'onset']);
    // Served, a camera's next request is as its client marks it: not urgent, it waits its turn.
    scheduler.offer('d', 'd#1');
    scheduler.offer('onset', 'onset#3');
    scheduler.done();
    scheduler.done();
    assert.deepEqual(served.slice(5), ['d#1', 'onset#3']);
  });

  it('overload: a model asked three times what it serves still runs every camera, one rechecking every 10 s within its interval (ADR 0172)', () => {
    // A discrete-event run on a virtual clock: the model a stand-in with a fixed service time, every step an event.
    const SERVICE_MS = 50;
    const MAX_AGE_MS = 500;
    const RECHECK_MS = 10_000;
    const SLOT_MS = 500; // maxFps 2
    const MOVING = 31;
    const END_MS = 120_000;
    let now = 0;
    const events: { at: number; n: number; run: () => void }[] = [];
    let order = 0;
    const at = (time: number, run: () => void): void => void events.push({ at: time, n: order++, run });
    /** A request: the capture time of the newest frame the server would take for it now. */
    type Request = () => number;
    const runs = new Map<string, number[]>();
    const answered = new Map<string, () => void>();
    const scheduler = new CameraScheduler<Request>(1, {
      start: (newest, camera) => {
        // The runner's rule when it takes a request: a frame older than max_age_ms is refused, no run.
        if (now - newest() > MAX_AGE_MS) return at(now, () => (scheduler.done(), answered.get(camera)!()));
        scheduler.ran(camera);
        runs.get(camera)!.push(now);
        at(now + SERVICE_MS, () => (scheduler.done(), answered.get(camera)!()));
      },
      supersede: () => assert.fail('each camera has one request at a time'),
    });
    // 31 cameras with motion all the time, in step: each asks at its next 2 fps slot once answered, and its frames keep
    // coming while it waits (it follows the newest): 62 frames/s asked of a model that serves 20.
    for (let i = 0; i < MOVING; i++) {
      const camera = `moving${i}`;
      runs.set(camera, []);
      let sent = 0;
      const send = (): void => {
        sent = now;
        scheduler.offer(camera, () => now - (now % 100));
      };
      answered.set(camera, () => at(Math.max(now, sent + SLOT_MS), send));
      at(0, send);
    }
    // One camera whose person stands: its gate lets one frame go per recheck, and nothing newer while it waits.
    runs.set('standing', []);
    let pending = false;
    answered.set('standing', () => (pending = false));
    for (let t = 3_000; t < END_MS; t += RECHECK_MS)
      at(t, () => {
        if (pending) return;
        pending = true;
        const captured = now;
        scheduler.offer('standing', () => captured);
      });
    while (events.length > 0) {
      events.sort((a, b) => a.at - b.at || a.n - b.n);
      const next = events.shift()!;
      if (next.at > END_MS) break;
      now = next.at;
      next.run();
    }
    const total = [...runs.values()].reduce((sum, r) => sum + r.length, 0);
    assert.ok(total >= (END_MS / SERVICE_MS) * 0.95, `the model was kept busy: ${total} runs`);
    /** The longest time without a run, from `from` to the end. */
    const gaps = (times: number[], from = 0): number => Math.max(...times.map((t, i) => t - (times[i - 1] ?? from)), END_MS - (times.at(-1) ?? from));
    const standing = runs.get('standing')!;
    assert.equal(standing.length, 12, `the standing camera ran at every recheck: ${standing.join(', ')}`);
    assert.ok(gaps(standing, 3_000) <= RECHECK_MS + 2 * SERVICE_MS, `its runs at most one recheck interval apart: ${standing.join(', ')}`);
    for (let i = 0; i < MOVING; i++) assert.ok(gaps(runs.get(`moving${i}`)!) <= 2 * (MOVING + 1) * SERVICE_MS, `moving${i} ran once a round or more often`);
  });

  it('a camera flooding requests takes one turn per round: the other cameras are served in between', () => {
    const served: string[] = [];
    const superseded: number[] = [];
    const scheduler = new CameraScheduler<number>(1, { start: (_job, camera) => served.push(camera), supersede: (job) => superseded.push(job) });
    let job = 0;
    scheduler.offer('flood', job++); // runs
    for (const camera of ['a', 'b', 'c']) scheduler.offer(camera, job++);
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 10; i++) scheduler.offer('flood', job++);
      scheduler.done();
      // a, b and c offer again once served, as a client with one request in flight does.
      const last = served.at(-1)!;
      if (last !== 'flood') scheduler.offer(last, job++);
    }
    // After the first: flood, a, b, c, flood, a, … never flood twice in a row while others wait.
    for (let i = 1; i < served.length; i++)
      assert.ok(!(served[i] === 'flood' && served[i - 1] === 'flood'), `flood served twice in a row at ${i}: ${served.join(' ')}`);
    const counts = Object.fromEntries(['flood', 'a', 'b', 'c'].map((c) => [c, served.filter((s) => s === c).length]));
    assert.ok(Math.max(...Object.values(counts)) - Math.min(...Object.values(counts)) <= 1, JSON.stringify(counts));
    assert.ok(superseded.length > 200);
  });
});
