/**
 * The MQTT codec's length cache is written once, all together, at start (src/mqtt/broker/packet-lengths.ts): after
 * warmPacketLengths(), publishing a packet of a length never written before cuts no new Buffer from Node's shared
 * slab (before, it cut one, each able to keep an 8 KiB slab alive for the life of the process).
 */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { mqttPacketCodec, warmPacketLengths } from '../../src/mqtt/broker/packet-lengths.js';

describe('MQTT packet lengths', { timeout: 30_000 }, () => {
  it('a new length cuts a buffer before the warm-up, none after it', () => {
    const codec = mqttPacketCodec();
    const sink = { write: (): boolean => true, destroy: (): void => {} };
    const publish = (bytes: number): number => {
      const cuts = mock.method(Buffer, 'allocUnsafe');
      try {
        codec.writeToStream({ cmd: 'publish', topic: 'cam/result', payload: Buffer.alloc(bytes), qos: 0, retain: false, dup: false }, sink, {
          protocolVersion: 4,
        });
        // The length's bytes are cut 4 at a time (the longest a length takes).
        return cuts.mock.calls.filter((call) => call.arguments[0] === 4).length;
      } finally {
        cuts.mock.restore();
      }
    };
    assert.equal(publish(5_000), 1, 'a length not written before is cut and kept');
    assert.equal(publish(5_000), 0, 'and found the next time');
    warmPacketLengths();
    for (const bytes of [0, 1, 777, 7_000, 16_000]) assert.equal(publish(bytes), 0, `${bytes} bytes: its length was written at the warm-up`);
    // Past the cache (16 KiB and more) nothing is kept: cut each time, let go with the packet.
    assert.equal(publish(20_000), 1);
  });
});
