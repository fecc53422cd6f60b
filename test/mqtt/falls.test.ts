/**
 * The MQTT sink's fall room, its parts (src/mqtt/falls.ts, ADR 0132): the topics and the acknowledge topic read
 * back, an acknowledgement's payload (ACK, an alert's id, anything else refused; split at every byte offset of
 * a valid one, no prefix is taken), the person-down state ON only while an alert stands, the Home Assistant
 * entities, and the retained sweep judging a camera's person_down by whether it has a fall worker.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fallEntities, FallTopics, parseAcknowledgement, personDownPayload } from '../../src/mqtt/falls.js';
import { judgeStateTopic, type SweepView } from '../../src/mqtt/retained-sweep.js';
import type { FallAlert } from '../../src/objects/index.js';

const ID = '1700000000.123456-abc123';

const alert = (fields: Partial<FallAlert>): FallAlert =>
  ({
    id: ID,
    kind: 'fall',
    label: 'fall',
    camera: 'room',
    worker: 'people',
    object_id: 't1',
    down_time: 10,
    end_time: null,
    end_reason: null,
    acknowledged_at: null,
    raised: 1,
    ...fields,
  }) as FallAlert;

describe('mqtt: falls', { timeout: 30_000 }, () => {
  it('lays out its topics and reads the acknowledge topic back, nothing else', () => {
    const t = new FallTopics('fs');
    assert.equal(t.events, 'fs/falls');
    assert.equal(t.state('room'), 'fs/room/person_down');
    assert.equal(t.snapshot('room'), 'fs/room/person_down/snapshot');
    assert.equal(t.acknowledge('room'), 'fs/room/acknowledge');
    assert.equal(t.acknowledgements, 'fs/+/acknowledge');
    assert.equal(t.parseAcknowledge('fs/room/acknowledge'), 'room');
    for (const topic of [
      'fs/room/acknowledge/x',
      'fs/acknowledge',
      'other/room/acknowledge',
      'fs/bad id/acknowledge',
      'fs/room/summarize',
      'fs/@shared/acknowledge',
    ])
      assert.equal(t.parseAcknowledge(topic), null, topic);
  });

  it('takes ACK or an alert id as an acknowledgement, whole; refuses the rest', () => {
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    assert.deepEqual(parseAcknowledgement(enc('ACK')), { all: true });
    assert.deepEqual(parseAcknowledgement(enc(' ack\n')), { all: true });
    assert.deepEqual(parseAcknowledgement(enc(ID)), { id: ID });
    for (const bad of ['', 'yes', 'ACK ACK', `${ID}x`, '1.1-abc', 'x'.repeat(65)]) assert.equal(parseAcknowledgement(enc(bad)), null, bad);
    assert.equal(parseAcknowledgement(new Uint8Array([0xff, 0xfe])), null, 'not UTF-8');
    // a valid payload cut anywhere is not taken for another
    const whole = enc(ID);
    for (let i = 1; i < whole.length; i++) assert.equal(parseAcknowledgement(whole.subarray(0, i)), null, `cut at ${i}`);
  });

  it('says ON while an alert stands: open, or ended other than up and not acknowledged', () => {
    const state = (alerts: FallAlert[]): { state: string; unacknowledged: number; alerts: unknown[] } =>
      JSON.parse(personDownPayload(alerts, 1)) as { state: string; unacknowledged: number; alerts: unknown[] };
    assert.equal(state([]).state, 'OFF');
    assert.equal(state([alert({})]).state, 'ON');
    assert.equal(state([alert({ acknowledged_at: 5 })]).state, 'ON', 'acknowledged, still down');
    assert.equal(state([alert({ end_time: 20, end_reason: 'up' })]).state, 'OFF');
    assert.equal(state([alert({ end_time: 20, end_reason: 'up' })]).unacknowledged, 1, 'shown until acknowledged');
    assert.equal(state([alert({ end_time: 20, end_reason: 'gone' })]).state, 'ON', 'lost from sight while down');
    assert.equal(state([alert({ end_time: 20, end_reason: 'gone', acknowledged_at: 30 })]).state, 'OFF');
    assert.deepEqual(state([alert({})]).alerts, [
      { id: ID, kind: 'fall', object_id: 't1', down_time: 10, end_time: null, end_reason: null, acknowledged: false, raised: 1 },
    ]);
  });

  it("gives Home Assistant the person-down sensor, the acknowledge button and the snapshot's image", () => {
    const entities = fallEntities('room', new FallTopics('fs'));
    assert.deepEqual(
      entities.map((e) => [e.component, e.object]),
      [
        ['binary_sensor', 'person_down'],
        ['button', 'acknowledge_fall'],
        ['image', 'person_down_snapshot'],
      ],
    );
    assert.equal(entities[0]!.config.value_template, '{{ value_json.state }}');
    assert.equal(entities[1]!.config.command_topic, 'fs/room/acknowledge');
    assert.equal(entities[1]!.config.payload_press, 'ACK');
  });

  it('sweeps a camera’s person_down left by an earlier run when it has no fall worker', () => {
    const view = (falls: boolean): SweepView => ({
      camera: (id) => (id === 'room' ? { workers: new Set(['people']), zones: new Set(), lines: new Set(), motion: false, silence: false, falls } : undefined),
      shared: new Set(),
      countLabels: null,
    });
    assert.equal(judgeStateTopic(['room', 'person_down'], view(true)), 'desired');
    assert.equal(judgeStateTopic(['room', 'person_down'], view(false)), 'stale');
    assert.equal(judgeStateTopic(['gone', 'person_down'], view(true)), 'stale');
  });
});
