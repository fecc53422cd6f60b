/**
 * The MQTT sink's fall part and its pieces (src/mqtt/alarms/falls.ts, ADR 0132): the topics and the acknowledge topic read
 * back, an acknowledgement's payload (ACK, an alert's id, anything else refused; split at every byte offset of
 * a valid one, no prefix is taken), the person-down state ON only while an alert stands, the Home Assistant
 * entities, and the retained sweep judging a camera's person_down by whether it has a fall worker.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fallEntities, FallTopics, parseAcknowledgement, personDownPayload } from '../../src/mqtt/alarms/falls.js';
import { judgeStateTopic, type SweepView } from '../../src/mqtt/retained/retained-sweep.js';
import type { FallAlert } from '../../src/care/index.js';

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
    acknowledged_by: null,
    raised: 1,
    first_raised_at: 11,
    assisted: false,
    escalated: 0,
    time_to_acknowledge_ms: null,
    time_on_floor_ms: null,
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
    // Home Assistant's button: its command template sends the press's time
    assert.deepEqual(parseAcknowledgement(enc('ACK 1700000123.456789')), { all: true, pressedAt: 1700000123.456789 });
    assert.deepEqual(parseAcknowledgement(enc('ack 1700000123')), { all: true, pressedAt: 1700000123 });
    for (const bad of ['ACK x', 'ACK -1', 'ACK 1e9', 'ACK 1.2.3']) assert.equal(parseAcknowledgement(enc(bad)), null, bad);
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
      {
        id: ID,
        kind: 'fall',
        object_id: 't1',
        down_time: 10,
        end_time: null,
        end_reason: null,
        acknowledged: false,
        raised: 1,
        seen_down: true,
        assisted: false,
        first_raised_at: 11,
        acknowledged_by: null,
        escalated: 0,
        time_to_acknowledge_ms: null,
        time_on_floor_ms: null,
      },
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
    assert.equal(entities[1]!.config.command_template, 'ACK {{ now().timestamp() }}', 'the press carries its time');
    assert.equal(entities[1]!.config.json_attributes_topic, 'fs/room/person_down');
    assert.equal(entities[1]!.config.json_attributes_template, '{{ value_json.acknowledge | tojson }}');
    const single = fallEntities('room', new FallTopics('fs'), true);
    assert.deepEqual(
      single.map((e) => [e.component, e.object]),
      [
        ['binary_sensor', 'assisted'],
        ['binary_sensor', 'person_down'],
        ['button', 'acknowledge_fall'],
        ['image', 'person_down_snapshot'],
      ],
    );
    assert.equal(single[0]!.config.value_template, "{{ 'ON' if value_json.assisted else 'OFF' }}");
  });

  it("says what a press covers now and what the last one acknowledged, and the room's state", () => {
    const payload = JSON.parse(
      personDownPayload(
        [alert({}), alert({ id: '1700000001.000000-def456', acknowledged_at: 20, acknowledged_by: 'mqtt' })],
        30,
        { state: 'assisted', people: 2, assisted_seconds: 42 },
        { at: 20, pressed_at: 19.5, acknowledged: ['1700000001.000000-def456'] },
      ),
    ) as Record<string, unknown>;
    assert.equal(payload.assisted, true);
    assert.deepEqual(payload.room, { state: 'assisted', people: 2, assisted_seconds: 42 });
    assert.deepEqual(payload.acknowledge, {
      covers: [ID],
      rule: "a press acknowledges this camera's alerts raised before it, never one raised after",
      last: { at: 20, pressed_at: 19.5, acknowledged: ['1700000001.000000-def456'] },
    });
    assert.equal((JSON.parse(personDownPayload([], 1)) as { assisted: unknown }).assisted, null, 'not a single-occupancy room');
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
