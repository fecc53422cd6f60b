/**
 * The retained sweep's judgement (ADR 0100) against the topic layout: for any
 * cameras, workers, zones, lines and shared workers, every retained topic
 * the sink writes for what the system has is desired (never cleared), the
 * same topics of a camera, worker, zone or line it does not have are stale,
 * so is the motion of a camera that measures none, the silence of a camera
 * with no care-critical worker (ADR 0138), and a label's count when
 * counts are written for some labels only and it is not one of them (any
 * label's when events of every label are kept), and topics of other shapes
 * (commands, stats, events) are not the sweep's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { toId } from '../../src/internal/ids.js';
import { judgeStateTopic, type SweepView } from '../../src/mqtt/retained/retained-sweep.js';
import { topicLabel, Topics } from '../../src/mqtt/broker/topics.js';

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const name = fc.string({ minLength: 1, maxLength: 12 });

describe('the retained sweep judges topics', { timeout: 60_000 }, () => {
  it('desired for what the system has, stale for what it has not, not its own for other shapes', () => {
    const camera = fc.record({
      workers: fc.uniqueArray(id, { maxLength: 3 }),
      zones: fc.uniqueArray(name, { maxLength: 2 }),
      lines: fc.uniqueArray(name, { maxLength: 2 }),
      motion: fc.boolean(),
      silence: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.dictionary(id, camera, { maxKeys: 3 }),
        fc.uniqueArray(id, { maxLength: 2 }),
        fc.dictionary(id, camera, { minKeys: 1, maxKeys: 2 }),
        fc.constantFrom('framesupplier', 'home/cams'),
        fc.option(fc.subarray(['person', 'car', 'fire hydrant']), { nil: null }),
        (cameras, shared, gone, prefix, countLabels) => {
          const topics = new Topics(prefix);
          const view: SweepView = {
            camera: (c) => {
              const has = Object.hasOwn(cameras, c) ? cameras[c] : undefined;
              return has === undefined
                ? undefined
                : {
                    workers: new Set(has.workers),
                    zones: new Set(has.zones.map(toId)),
                    lines: new Set(has.lines.map(toId)),
                    motion: has.motion,
                    silence: has.silence,
                  };
            },
            shared: new Set(shared),
            countLabels: countLabels === null ? null : new Set(countLabels.map(topicLabel)),
          };
          const judge = (topic: string) => judgeStateTopic(topic.slice(prefix.length + 1).split('/'), view);
          const retainedOf = (c: string, has: { workers: string[]; zones: string[]; lines: string[]; motion: boolean; silence: boolean }) => [
            topics.status(c),
            ...(has.motion ? [topics.motion(c)] : []),
            ...(has.silence ? [topics.silence(c)] : []),
            topics.summary(c),
            ...(countLabels ?? ['person', 'car', 'fire hydrant', 'kangaroo']).map((label) => topics.count(c, label)),
            topics.snapshot(c, 'person'),
            ...has.workers.flatMap((w) => [topics.worker(c, w, 'state'), topics.worker(c, w, 'objective'), topics.worker(c, w, 'answer')]),
            ...has.zones.map((z) => topics.zoneCount(c, z, 'person')),
            ...has.lines.flatMap((l) => [topics.lineCount(c, l, 'in', 'person'), topics.lineCountLastHour(c, l, 'out', 'person')]),
          ];
          for (const [c, has] of Object.entries(cameras)) {
            for (const topic of retainedOf(c, has)) assert.equal(judge(topic), 'desired', topic);
            // What the camera does not have (a name no generated id or name cleans to: longer than both).
            const other = 'x'.repeat(20);
            for (const topic of [topics.worker(c, other, 'state'), topics.zoneCount(c, other, 'person'), topics.lineCount(c, other, 'in', 'person')])
              assert.equal(judge(topic), 'stale', topic);
            // Its motion when it measures none; a count of a label counts are not written for.
            if (!has.motion) assert.equal(judge(topics.motion(c)), 'stale');
            if (!has.silence) assert.equal(judge(topics.silence(c)), 'stale');
            assert.equal(judge(topics.count(c, 'kangaroo')), countLabels === null ? 'desired' : 'stale');
            for (const topic of [topics.worker(c, 'motion', 'set'), topics.worker(c, 'motion', 'result'), topics.summarize(c)])
              assert.equal(judge(topic), 'not-ours', topic);
          }
          for (const [c, has] of Object.entries(gone)) {
            if (Object.hasOwn(cameras, c)) continue;
            for (const topic of retainedOf(c, has)) assert.equal(judge(topic), 'stale', topic);
          }
          for (const w of shared) assert.equal(judge(topics.worker(null, w, 'state')), 'desired');
          assert.equal(judge(topics.worker(null, 'y'.repeat(20), 'state')), 'stale');
          for (const topic of [topics.available, topics.stats, topics.events, topics.alarms, topics.trackedObjectUpdate, `${prefix}/@sweep`])
            assert.equal(judge(topic), 'not-ours', topic);
        },
      ),
      { numRuns: 300 },
    );
  });
});
