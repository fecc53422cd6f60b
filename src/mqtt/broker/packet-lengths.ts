/**
 * The MQTT client's codec (mqtt-packet) keeps the encoded length of each packet under 16 KiB the first time it
 * writes that length: a Buffer of 1–4 bytes cut from Node's shared 8 KiB allocation slab. Cut one at a time over
 * months of publishing, each may keep a different slab alive: up to 16 384 slabs (128 MiB) held for 64 KiB of
 * lengths (issue 45: heap snapshots under SOAK-CHURN saw 32 slabs grow to 123 in seven minutes). Written all
 * together at start they share a few slabs: warmPacketLengths() writes one packet of each length to a sink that
 * keeps nothing, once a process, before the first connection.
 */
import { createRequire } from 'node:module';

/** The codec keeps the lengths below this. */
export const CACHED_LENGTHS = 16_384;

interface PacketCodec {
  writeToStream(packet: object, stream: object, options?: object): boolean;
}

let warmed = false;

/** The codec the MQTT client uses (its own dependency, resolved from it). */
export function mqttPacketCodec(): PacketCodec {
  const fromHere = createRequire(import.meta.url);
  return createRequire(fromHere.resolve('mqtt'))('mqtt-packet') as PacketCodec;
}

/** Writes a publish of every cached length to a sink that keeps nothing (about 20 ms, once a process). */
export function warmPacketLengths(): void {
  if (warmed) return;
  warmed = true;
  const codec = mqttPacketCodec();
  const sink = { write: (): boolean => true, destroy: (): void => {} };
  const payload = Buffer.alloc(CACHED_LENGTHS);
  // A QoS 0 publish's remaining length is 2 (the topic's length) + the topic + the payload.
  const topic = 'w';
  for (let length = 2 + topic.length; length < CACHED_LENGTHS; length++) {
    const packet = { cmd: 'publish', topic, payload: payload.subarray(0, length - 2 - topic.length), qos: 0, retain: false, dup: false };
    codec.writeToStream(packet, sink, { protocolVersion: 4 });
  }
}
