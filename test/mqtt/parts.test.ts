/**
 * The MQTT sink's pure parts, on their own: the object tracker's hysteresis
 * (properties over generated detection sequences), the bounded queue's
 * bounds and order, command parsing (every payload split and garbled), the
 * topic layout's parsing, discovery payloads, the config's mqtt section
 * (defaults, ${ENV} password, masking, refusals), and a vlm answer's payload
 * (its prompt's name as `promptName`, `prompt` beside it until 0.2.0).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError, maskConfig, parseConfig, type Config } from '../../src/config/index.js';
import { budgetSeconds, cameraBudgetsS, workerBudgetS } from '../../src/mqtt/broker/age-budget.js';
import { workerProfile } from '../../src/pipeline/base/worker-profile.js';
import type { WorkerProfile } from '../../src/pipeline/index.js';
import { AnswerPublisher, type AnswerOutput } from '../../src/mqtt/results/answers.js';
import type { EventOf } from '../../src/pipeline/index.js';
import { BoundedQueue, cameraDiscovery, detectionsOf, ObjectTracker, parseCommand, Topics, topicLabel, type ObjectEvent } from '../../src/mqtt/index.js';

/** The profiles a system builds for a camera's workers (its own, then the shared ones that read it), from a parsed config. */
function profilesOf(config: Config, camera: string): WorkerProfile[] {
  const model = (w: object) => ('model' in w && typeof w.model === 'string' ? { name: w.model, maxAgeMs: config.models[w.model]?.maxAgeMs ?? null } : null);
  return [
    ...(config.cameras[camera]?.workers ?? []).map((w) =>
      workerProfile({ camera, id: w.id, config: w, kind: 'model' in w ? 'model' : 'module', model: model(w) }),
    ),
    ...Object.entries(config.shared)
      .filter(([, w]) => w.cameras.includes(camera))
      .map(([id, w]) => workerProfile({ camera: null, id, config: w, kind: 'model' in w ? 'model' : 'module', model: model(w) })),
  ];
}

const person = (confidence: number, x = 0.1) => ({ class_name: 'person', confidence, bbox: [x, 0.1, x + 0.1, 0.5] });

describe('MQTT parts', { timeout: 60_000 }, () => {
  describe('ObjectTracker', () => {
    it('new once, update on a count or best score change, end after endAfterMs of absence', () => {
      const t = new ObjectTracker({ endAfterMs: 1000 });
      const at = (wallTime: number, detections: unknown[], seq = wallTime) => t.observe({ camera: 'c', worker: 'w', seq, wallTime, output: { detections } });
      const [created] = at(0, [person(0.5)]);
      assert.equal(created?.type, 'new');
      assert.deepEqual(at(100, [person(0.5)]), [], 'nothing changed');
      assert.deepEqual(at(200, [person(0.4)]), [], 'a lower score is no news');
      const [more] = at(300, [person(0.5), person(0.7, 0.3)]);
      assert.equal(more?.type, 'update');
      assert.equal(more?.count, 2);
      assert.equal(more?.bestScore, 0.7);
      assert.deepEqual(more?.box, [0.3, 0.1, 0.4, 0.5]);
      assert.deepEqual(at(400, []), [], 'absent: not ended yet');
      assert.deepEqual(t.tick(1299), []);
      const [ended] = t.tick(1300);
      assert.equal(ended?.type, 'end');
      assert.equal(ended?.id, created?.id);
      assert.equal(ended?.endTime, 1300);
      assert.equal(ended?.lastSeen, 300);
      assert.equal(ended?.maxCount, 2);
      assert.equal(t.activeCount, 0);
      assert.equal(at(1400, [person(0.5)])[0]?.type, 'new', 'seen again: a new event');
    });

    it('keeps labels and cameras apart, and follows the filters', () => {
      const t = new ObjectTracker({ endAfterMs: 10, minScore: 0.5, labels: ['person', 'car'], workers: ['det'] });
      const out = (worker: string, camera: string, detections: unknown[]) => t.observe({ camera, worker, seq: 1, wallTime: 0, output: { detections } });
      assert.deepEqual(out('other', 'a', [person(0.9)]), [], 'not an events worker');
      assert.deepEqual(out('det', 'a', [person(0.4)]), [], 'below minScore');
      assert.deepEqual(out('det', 'a', [{ class_name: 'dog', confidence: 0.9 }]), [], 'not a configured label');
      const events = out('det', 'a', [person(0.9), { label: 'car', score: 0.8, box: [0, 0, 1, 1] }]);
      assert.deepEqual(
        events.map((e) => `${e.type} ${e.label}`),
        ['new person', 'new car'],
      );
      assert.equal(out('det', 'b', [person(0.9)])[0]?.type, 'new', 'another camera, another event');
      assert.deepEqual(
        t
          .endAll(5, 'a')
          .map((e) => e.label)
          .sort(),
        ['car', 'person'],
      );
      assert.equal(t.activeCount, 1);
    });

    it('reads untrusted output without throwing', () => {
      for (const output of [
        null,
        1,
        'x',
        [],
        { detections: 'no' },
        { detections: [null, 1, {}, { class_name: 3, confidence: 1 }, { class_name: 'p', confidence: 2 }, { class_name: 'x'.repeat(65), confidence: 1 }] },
      ]) {
        const d = detectionsOf(output);
        assert.ok(d === null || d.length === 0, JSON.stringify(output));
      }
      assert.deepEqual(detectionsOf({ detections: [{ class_name: 'p', confidence: 0.5, bbox: [0, 0, 'x', 1] }] }), [
        { label: 'p', score: 0.5, box: null, keypoints: null },
      ]);
    });

    it('property: per camera and label, events go new (update)* end, one id each, counts as seen, ends only after the delay', () => {
      const frame = fc.record({
        dt: fc.integer({ min: 0, max: 400 }),
        camera: fc.constantFrom('a', 'b'),
        people: fc.integer({ min: 0, max: 4 }),
        cars: fc.integer({ min: 0, max: 2 }),
      });
      fc.assert(
        fc.property(fc.array(frame, { maxLength: 60 }), fc.integer({ min: 1, max: 1000 }), (frames, endAfterMs) => {
          const t = new ObjectTracker({ endAfterMs });
          const events: ObjectEvent[] = [];
          const lastSeen = new Map<string, number>();
          let now = 0;
          for (const f of frames) {
            now += f.dt;
            for (const e of t.tick(now)) {
              assert.ok(now - e.lastSeen >= endAfterMs, 'ended only after the delay');
              events.push(e);
            }
            const detections = [
              ...Array.from({ length: f.people }, (_, i) => person(0.5 + i / 10)),
              ...Array.from({ length: f.cars }, () => ({ class_name: 'car', confidence: 0.6 })),
            ];
            for (const e of t.observe({ camera: f.camera, worker: 'w', seq: 0, wallTime: now, output: { detections } })) {
              assert.equal(e.count, e.label === 'person' ? f.people : f.cars);
              events.push(e);
            }
            if (f.people > 0) lastSeen.set(`${f.camera}/person`, now);
            if (f.cars > 0) lastSeen.set(`${f.camera}/car`, now);
          }
          events.push(...t.endAll(now + 1));
          assert.equal(t.activeCount, 0);
          const byId = new Map<string, ObjectEvent[]>();
          for (const e of events) byId.set(e.id, [...(byId.get(e.id) ?? []), e]);
          const open = new Map<string, string>();
          for (const e of events) {
            const key = `${e.camera}/${e.label}`;
            if (e.type === 'new') {
              assert.ok(!open.has(key), 'at most one event per camera and label at a time');
              open.set(key, e.id);
            } else {
              assert.equal(open.get(key), e.id);
              if (e.type === 'end') open.delete(key);
            }
          }
          for (const list of byId.values()) {
            assert.equal(list[0]!.type, 'new');
            assert.equal(list.at(-1)!.type, 'end');
            assert.ok(list.slice(1, -1).every((e) => e.type === 'update'));
            for (let i = 1; i < list.length; i++) assert.ok(list[i]!.bestScore >= list[i - 1]!.bestScore);
          }
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('BoundedQueue', () => {
    it('property: never above its bounds, keeps the newest in order, counts every drop', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 10 }),
          fc.integer({ min: 10, max: 200 }),
          fc.array(fc.string({ maxLength: 40 }), { maxLength: 100 }),
          (maxItems, maxBytes, payloads) => {
            const q = new BoundedQueue({ maxItems, maxBytes });
            let dropped = 0;
            for (const p of payloads) {
              dropped += q.push(p);
              assert.ok(q.length <= maxItems && q.bytes <= maxBytes);
            }
            assert.equal(q.dropped, dropped);
            const kept: string[] = [];
            for (let m = q.shift(); m !== undefined; m = q.shift()) kept.push(m.payload);
            assert.equal(kept.length + dropped, payloads.length);
            // What is kept is a run of the newest that fit (a single too-big one is dropped on its own).
            const fitting = payloads.filter((p) => Buffer.byteLength(p) <= maxBytes);
            assert.deepEqual(kept, fitting.slice(fitting.length - kept.length));
            assert.equal(q.bytes, 0);
          },
        ),
      );
    });

    it('puts messages in flight back at the head, dropping the oldest past the bound', () => {
      const q = new BoundedQueue({ maxItems: 3, maxBytes: 1000 });
      q.push('c');
      q.push('d');
      assert.equal(
        q.unshift([
          { payload: 'a', bytes: 1 },
          { payload: 'b', bytes: 1 },
        ]),
        1,
      );
      assert.deepEqual([q.shift()?.payload, q.shift()?.payload, q.shift()?.payload, q.shift()], ['b', 'c', 'd', undefined]);
      assert.throws(() => new BoundedQueue({ maxItems: 0, maxBytes: 1 }), { code: 'ERR_INVALID_ARGUMENT' });
    });
  });

  describe('commands and topics', () => {
    it('parses ON, OFF, RESTART (case and blanks aside) and nothing else', () => {
      assert.equal(parseCommand(Buffer.from('ON')), 'ON');
      assert.equal(parseCommand(Buffer.from(' off\r\n')), 'OFF');
      assert.equal(parseCommand(Buffer.from('Restart')), 'RESTART');
      for (const bad of ['', 'ONN', 'O N', 'START', 'ON'.repeat(17), '\u0000ON']) assert.equal(parseCommand(Buffer.from(bad)), null, JSON.stringify(bad));
      assert.equal(parseCommand(Buffer.from([0xff, 0x4f, 0x4e])), null, 'not UTF-8');
      // Any bytes at all: a command or null, never a throw; a valid word split anywhere is no command.
      fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => [null, 'ON', 'OFF', 'RESTART'].includes(parseCommand(bytes))));
      for (const word of ['ON', 'OFF', 'RESTART']) {
        for (let i = 1; i < word.length; i++) assert.equal(parseCommand(Buffer.from(word.slice(0, i))) === word, false);
      }
    });

    it('lays topics out as ADR 0018 says, and parses only well-formed set topics', () => {
      const t = new Topics('home/fs/');
      assert.equal(t.available, 'home/fs/available');
      assert.equal(t.worker('cam', 'det', 'state'), 'home/fs/cam/det/state');
      assert.equal(t.worker(null, 'mix', 'result'), 'home/fs/@shared/mix/result');
      assert.equal(t.count('cam', 'traffic light'), 'home/fs/cam/objects/traffic_light/count');
      assert.deepEqual(t.parseSet('home/fs/cam/det/set'), { camera: 'cam', worker: 'det' });
      assert.deepEqual(t.parseSet('home/fs/@shared/mix/set'), { camera: null, worker: 'mix' });
      for (const bad of [
        'home/fs/cam/det/state',
        'home/fs/cam/set',
        'home/fs/a/b/c/set',
        'other/cam/det/set',
        'home/fs/c.m/det/set',
        `home/fs/${'x'.repeat(65)}/det/set`,
        'home/fs//det/set',
      ]) {
        assert.equal(t.parseSet(bad), null, bad);
      }
      assert.equal(topicLabel('a/b+#'), 'a_b__');
      assert.equal(topicLabel(''), '_');
    });

    it('makes one discovery config per entity, each with a unique id, availability and a state topic under the prefix', () => {
      const topics = new Topics('fs');
      const configs = cameraDiscovery('front', { prefix: 'homeassistant', node: 'node1', labels: ['person', 'car'], topics });
      assert.deepEqual([...configs.keys()].sort(), [
        'homeassistant/binary_sensor/node1/front_car_occupancy/config',
        'homeassistant/binary_sensor/node1/front_person_occupancy/config',
        'homeassistant/sensor/node1/front_car_count/config',
        'homeassistant/sensor/node1/front_fps/config',
        'homeassistant/sensor/node1/front_person_count/config',
        'homeassistant/sensor/node1/front_status/config',
      ]);
      for (const payload of configs.values()) {
        const c = JSON.parse(payload) as Record<string, unknown>;
        assert.match(String(c.unique_id), /^node1_front_/);
        assert.match(String(c.state_topic), /^fs\//);
        assert.ok(Array.isArray(c.availability));
      }
    });
  });

  describe("the config's mqtt section", () => {
    const file = (mqtt: unknown) => JSON.stringify({ cameras: {}, mqtt });
    it('fills its defaults and takes the password from the environment; masking hides it', () => {
      const config = parseConfig(file({ url: 'mqtt://broker:1883', username: 'u', password: '${MQTT_PW}' }), { env: { MQTT_PW: 'hunter2' } });
      const mqtt = config.mqtt!;
      assert.equal(mqtt.password, 'hunter2');
      assert.equal(mqtt.topicPrefix, 'framesupplier');
      assert.equal(mqtt.statsIntervalS, 60);
      assert.deepEqual(mqtt.queue, { maxEvents: 1000, maxBytes: 1_048_576 });
      assert.deepEqual(mqtt.reconnect, { initialMs: 1000, maxMs: 30_000 });
      assert.deepEqual(mqtt.events, { enabled: true, endAfterS: 5, minScore: 0 });
      assert.deepEqual(mqtt.discovery, { enabled: true, prefix: 'homeassistant', labels: ['person'] });
      assert.deepEqual(mqtt.results, { enabled: true });
      assert.ok(!JSON.stringify(maskConfig(config)).includes('hunter2'));
      assert.equal(parseConfig(file(undefined)).mqtt, undefined, 'no section, no MQTT');
    });

    it('makes TLS paths absolute and refuses what cannot work', () => {
      const config = parseConfig(file({ url: 'mqtts://b:8883', tls: { ca: 'ca.pem' } }), { baseDir: '/etc/fs' });
      assert.equal(config.mqtt?.tls?.ca, '/etc/fs/ca.pem');
      for (const bad of [
        {},
        { url: 'http://b' },
        { url: 'mqtt://b', topicPrefix: 'a/#' },
        { url: 'mqtt://b', queue: { maxEvents: 0 } },
        { url: 'mqtt://b', colour: 'red' },
        { url: 'mqtt://b', results: { perWorker: { 'a/b/c': 1 } } },
      ]) {
        assert.throws(
          () => parseConfig(file(bad)),
          (e: unknown) => e instanceof ConfigError && e.issues.every((i) => i.path.startsWith('mqtt')),
          JSON.stringify(bad),
        );
      }
      assert.throws(() => parseConfig(file({ url: 'mqtt://b', password: '${NOPE}' }), { env: {} }), /NOPE/);
    });
  });

  describe('age budgets (ADR 0032)', () => {
    it('turns a budget into whole seconds, rounded up, at least 1, and reads it from the model before the worker', () => {
      assert.equal(budgetSeconds(1), 1);
      assert.equal(budgetSeconds(1000), 1);
      assert.equal(budgetSeconds(1001), 2);
      assert.equal(budgetSeconds(2500), 3);
      assert.equal(budgetSeconds(null), null);
      assert.equal(budgetSeconds(undefined), null);
      const config = parseConfig(
        JSON.stringify({
          models: { m: { handler: 'mock', maxAgeMs: 4_200 } },
          cameras: {
            c: {
              source: 'lavfi:testsrc',
              workers: [
                { id: 'det', model: 'm', maxAgeMs: 500 },
                { id: 'own', module: 'builtin:motion', maxAgeMs: 700 },
                { id: 'none', module: 'builtin:motion' },
                { id: 'trk', module: 'builtin:motion', maxAgeMs: 9_000, track: true },
              ],
            },
          },
          shared: { s: { module: 'builtin:motion', cameras: ['c'], maxAgeMs: 1_500 } },
        }),
        { env: {} },
      );
      const profiles = profilesOf(config, 'c');
      const profile = (id: string) => profiles.find((p) => p.id === id);
      assert.equal(workerBudgetS(profile('det')), 5);
      assert.equal(workerBudgetS(profile('own')), 1);
      assert.equal(workerBudgetS(profile('none')), null);
      assert.equal(workerBudgetS(profile('s')), 2);
      assert.equal(workerBudgetS(undefined), null, 'no such worker');
      // Label counts: every admitted detector, tracking or not, the shared ones the camera feeds too; zones: the trackers.
      assert.deepEqual(cameraBudgetsS(profiles, null), { counts: 9, zones: 9 });
      assert.deepEqual(cameraBudgetsS(profiles, ['own']), { counts: 1, zones: 9 });
      assert.deepEqual(cameraBudgetsS(profiles, ['none']), { counts: null, zones: 9 });
      assert.deepEqual(cameraBudgetsS(profiles, ['det', 's']), { counts: 5, zones: 9 });
      assert.deepEqual(cameraBudgetsS(profiles, ['s']), { counts: 2, zones: 9 });
      assert.deepEqual(cameraBudgetsS([], null), { counts: null, zones: null }, 'a camera the system no longer has');
    });

    it('gives expire_after to the count and occupancy entities of labels and zones, each its own, and to nothing else', () => {
      const topics = new Topics('fs');
      const configs = cameraDiscovery('front', {
        prefix: 'homeassistant',
        node: 'n',
        labels: ['person'],
        topics,
        zones: new Map([['door', null]]),
        workers: ['det'],
        tracked: true,
        expireAfter: { counts: 2, zones: 3 },
      });
      const expiry = new Map([...configs].map(([topic, payload]) => [topic.split('/')[3], (JSON.parse(payload) as { expire_after?: number }).expire_after]));
      assert.equal(expiry.get('front_person_count'), 2);
      assert.equal(expiry.get('front_person_occupancy'), 2);
      assert.equal(expiry.get('front_door_person_count'), 3);
      assert.equal(expiry.get('front_door_person_occupancy'), 3);
      for (const other of ['front_status', 'front_fps', 'front_det_enabled', 'front_det_restart', 'front_person_snapshot'])
        assert.equal(expiry.get(other), undefined, other);
      const none = cameraDiscovery('front', { prefix: 'homeassistant', node: 'n', labels: ['person'], topics });
      assert.ok([...none.values()].every((payload) => !payload.includes('expire_after')));
    });

    it("a cascade's sensor: its last result on a crop, from the worker's result topic, the whole output as attributes", () => {
      const topics = new Topics('fs');
      const configs = cameraDiscovery('front', { prefix: 'homeassistant', node: 'n', labels: [], topics, cascades: [{ worker: 'pose', of: 'people' }] });
      const payload = configs.get('homeassistant/sensor/n/front_pose_last/config');
      assert.ok(payload !== undefined, [...configs.keys()].join(', '));
      const sensor = JSON.parse(payload) as Record<string, unknown>;
      assert.equal(sensor.state_topic, 'fs/front/pose/result');
      assert.equal(sensor.json_attributes_topic, 'fs/front/pose/result');
      assert.equal(sensor.name, "pose on people's crops");
      assert.match(String(sensor.value_template), /value_json\.output\.crop\.label/);
      assert.equal(sensor.unique_id, 'n_front_pose_last');
      assert.equal(
        cameraDiscovery('front', { prefix: 'homeassistant', node: 'n', labels: [], topics }).get('homeassistant/sensor/n/front_pose_last/config'),
        undefined,
      );
    });
  });

  describe('AnswerPublisher', () => {
    it('a vlm answer names its prompt promptName, and still sends prompt, the same name, until 0.2.0 (issue 41 item 6)', () => {
      const published: { topic: string; payload: string; retain: boolean }[] = [];
      const outlet = {
        connected: true,
        backedUp: false,
        publish: (topic: string, payload: string, _qos: 0 | 1, retain: boolean): boolean => {
          published.push({ topic, payload, retain });
          return true;
        },
      };
      const answers = new AnswerPublisher({ topics: new Topics('fs'), outlet });
      // The fields as the type names them: an output that carries promptName alone (the alias goes in 0.2.0).
      const output: AnswerOutput = { kind: 'vlm', promptName: 'colour', answer: { colour: 'red' }, trigger: { objectId: null } };
      const result = (o: object, seq: number) =>
        ({ type: 'result', camera: 'door', worker: 'vlm', shared: false, seq, output: o }) as unknown as EventOf<'result'>;
      answers.onResult(result(output, 1));
      // The worker's output as it is until 0.2.0: both, the same.
      answers.onResult(result({ ...output, prompt: 'colour', answer: 'blue' }, 2));
      const payloads = published.filter((p) => p.topic === 'fs/door/vlm/answer').map((p) => JSON.parse(p.payload) as Record<string, unknown>);
      assert.deepEqual(
        payloads.map((p) => [p.seq, p.promptName, p.prompt, p.answer]),
        [
          [1, 'colour', 'colour', { colour: 'red' }],
          [2, 'colour', 'colour', 'blue'],
        ],
      );
      assert.ok(published.every((p) => p.retain));
    });
  });
});
