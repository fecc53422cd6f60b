/**
 * What a summary request over MQTT is (ADR 0073): the topic `<prefix>/<camera>/summarize` and nothing like it,
 * and its payload, LAST_HOUR (Home Assistant's button, case and blanks aside) or a window as a JSON object;
 * anything else (empty, too long, not UTF-8, JSON that is not an object) is null, never a throw (fast-check),
 * and discovery's button publishes what the parser takes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseSummaryRequest } from '../../src/mqtt/commands/commands.js';
import { cameraDiscovery, Topics } from '../../src/mqtt/index.js';

describe('MQTT summary requests', { timeout: 30_000 }, () => {
  it('the summarize topic of a camera, and nothing else', () => {
    const topics = new Topics('fs/');
    assert.equal(topics.summarize('door'), 'fs/door/summarize');
    assert.equal(topics.summary('door'), 'fs/door/summary');
    assert.equal(topics.parseSummarize('fs/door/summarize'), 'door');
    for (const topic of [
      'fs/door/summary',
      'fs/door/x/summarize',
      'other/door/summarize',
      'fs/@shared/summarize',
      'fs/do+or/summarize',
      'fs//summarize',
      'fs/door/set',
    ])
      assert.equal(topics.parseSummarize(topic), null, topic);
    assert.equal(topics.parseSet('fs/door/summarize'), null, 'never a worker command');
  });

  it('LAST_HOUR or a window as JSON; anything else null', () => {
    assert.deepEqual(parseSummaryRequest(Buffer.from('LAST_HOUR')), { lastSeconds: 3_600 });
    assert.deepEqual(parseSummaryRequest(Buffer.from(' last_hour\r\n')), { lastSeconds: 3_600 });
    assert.deepEqual(parseSummaryRequest(Buffer.from('{"lastSeconds": 600}')), { lastSeconds: 600 });
    assert.deepEqual(parseSummaryRequest(Buffer.from('{"from": "2026-01-01T00:00:00Z", "to": 1767229200}')), { from: '2026-01-01T00:00:00Z', to: 1767229200 });
    for (const payload of ['', 'ON', 'NONSENSE', '[1,2]', 'null', '42', '"LAST_HOUR"', '{"lastSeconds":', `{"x":"${'a'.repeat(300)}"}`])
      assert.equal(parseSummaryRequest(Buffer.from(payload)), null, payload);
    assert.equal(parseSummaryRequest(Buffer.from([0xff, 0xfe, 0x4c])), null, 'not UTF-8');
  });

  it('any bytes: an object or null, never a throw (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const parsed = parseSummaryRequest(bytes);
        assert.ok(parsed === null || (typeof parsed === 'object' && !Array.isArray(parsed)));
      }),
    );
  });

  it("Home Assistant's button publishes on the summarize topic what the parser takes", () => {
    const topics = new Topics('fs');
    const configs = cameraDiscovery('door', { prefix: 'homeassistant', node: 'n', labels: [], topics, summaries: true });
    const button = JSON.parse(configs.get('homeassistant/button/n/door_summarize/config')!) as { command_topic: string; payload_press: string };
    assert.equal(topics.parseSummarize(button.command_topic), 'door');
    assert.deepEqual(parseSummaryRequest(Buffer.from(button.payload_press)), { lastSeconds: 3_600 });
    const sensor = JSON.parse(configs.get('homeassistant/sensor/n/door_summary/config')!) as { state_topic: string };
    assert.equal(sensor.state_topic, 'fs/door/summary');
    assert.equal(
      cameraDiscovery('door', { prefix: 'homeassistant', node: 'n', labels: [], topics }).has('homeassistant/button/n/door_summarize/config'),
      false,
    );
  });
});
