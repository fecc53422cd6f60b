import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeMessage, MessageDecoder, parseRequest } from '../../src/ipc/index.js';

const request = {
  frame_reference: '/dev/shm/framesupplier/camera_1.frames',
  frame_metadata: { frame_id: 42, width: 1920, height: 1080, format: 'NV12' },
  camera_id: 'camera_1',
  model_id: 'yolov8n',
  timestamp: 1735598400.123,
};

describe('MessageDecoder', { timeout: 60_000 }, () => {
  it('decodes a stream of messages split at every pair of byte offsets', () => {
    const messages = [request, { type: 'ping' }, { x: 'é ✓ 日本' }];
    const stream = Buffer.concat(messages.map(encodeMessage));
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b += 3) {
        const decoder = new MessageDecoder();
        const out = [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)].flatMap((c) => decoder.push(c));
        assert.deepEqual(
          out,
          messages.map((message) => ({ ok: true, message })),
          `cuts ${a}/${b}`,
        );
        assert.equal(decoder.partial, false);
      }
    }
  });

  it('is partial while a message is incomplete', () => {
    const decoder = new MessageDecoder();
    const bytes = encodeMessage(request);
    assert.deepEqual(decoder.push(bytes.subarray(0, 2)), []);
    assert.equal(decoder.partial, true);
    assert.equal(decoder.push(bytes.subarray(2)).length, 1);
    assert.equal(decoder.partial, false);
  });

  it('refuses a length over the limit from its 4 bytes alone, before buffering the body', () => {
    const decoder = new MessageDecoder({ maxMessageBytes: 1024 });
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffff_fff0);
    const [result] = decoder.push(header);
    assert.equal(result?.ok, false);
    assert.equal(!result.ok && result.error.code, 'ERR_MESSAGE_TOO_LARGE');
    assert.equal(decoder.buffered, 0);
    assert.deepEqual(decoder.push(Buffer.alloc(10)), [], 'a failed stream stays failed');
  });

  it('refuses a zero length', () => {
    const [result] = new MessageDecoder().push(Buffer.alloc(4));
    assert.equal(!result!.ok && result!.error.code, 'ERR_BAD_LENGTH');
  });

  it('reports a body that is not UTF-8 JSON and goes on with the next message', () => {
    const bad = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')]);
    const badUtf8 = Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from([0xc3, 0x28])]);
    const out = new MessageDecoder().push(Buffer.concat([bad, badUtf8, encodeMessage({ a: 1 })]));
    assert.deepEqual(
      out.map((d) => (d.ok ? d.message : d.error.code)),
      ['ERR_INVALID_JSON', 'ERR_INVALID_JSON', { a: 1 }],
    );
  });

  it('property: random bytes never throw, and buffering stays under the limit', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const decoder = new MessageDecoder({ maxMessageBytes: 256 });
        for (const chunk of chunks) {
          decoder.push(chunk);
          assert.ok(decoder.buffered <= 256 + 4 + 300);
        }
      }),
    );
  });

  it('property: any JSON value round-trips through any chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 50 })), (values, cuts) => {
        const stream = Buffer.concat(values.map(encodeMessage));
        const decoder = new MessageDecoder();
        const out = [];
        let o = 0;
        for (const c of cuts) {
          out.push(...decoder.push(stream.subarray(o, o + c)));
          o = Math.min(stream.length, o + c);
        }
        out.push(...decoder.push(stream.subarray(o)));
        assert.deepEqual(
          out.map((d) => (d.ok ? d.message : d.error)),
          values.map((v) => JSON.parse(JSON.stringify(v)) as unknown),
        );
      }),
    );
  });
});

describe('parseRequest()', { timeout: 60_000 }, () => {
  it("accepts the protocol's requests and pings", () => {
    assert.equal(parseRequest(request).kind, 'infer');
    assert.equal(parseRequest({ type: 'ping', request_id: 7 }).kind, 'ping');
    // Protocol 3: urgent, a boolean either way.
    for (const urgent of [true, false]) assert.equal((parseRequest({ ...request, urgent }) as { request: { urgent?: boolean } }).request.urgent, urgent);
  });

  it('names the offending field', () => {
    const cases: [unknown, string][] = [
      [{ ...request, camera_id: undefined }, 'camera_id'],
      [{ ...request, frame_metadata: { ...request.frame_metadata, width: 0 } }, 'frame_metadata.width'],
      [{ ...request, frame_metadata: { ...request.frame_metadata, format: 'XYZ' } }, 'frame_metadata.format'],
      [{ ...request, frame_metadata: { ...request.frame_metadata, frame_id: -1 } }, 'frame_metadata.frame_id'],
      [{ ...request, timestamp: 'now' }, 'timestamp'],
      [{ ...request, frame_reference: '' }, 'frame_reference'],
      [{ ...request, urgent: 'yes' }, 'urgent'],
      [{ ...request, urgent: 1 }, 'urgent'],
      [{ ...request, max_age_ms: 0, urgent: 1 }, 'max_age_ms'],
      [[], 'request'],
      [null, 'request'],
    ];
    for (const [message, field] of cases) {
      assert.throws(
        () => parseRequest(message),
        (e: { code: string; field: string; message: string }) => {
          assert.equal(e.code, 'ERR_SCHEMA');
          assert.equal(e.field, field, e.message);
          assert.ok(e.message.includes(field));
          return true;
        },
      );
    }
  });
  it('property: of several faults, the one reported is the first in the order docs/protocol.md gives', () => {
    // The documented order: missing required fields (in this order), then each field in this order.
    const required = ['frame_reference', 'frame_metadata', 'camera_id', 'model_id', 'timestamp'] as const;
    const fields = ['type', 'request_id', 'frame_reference', 'frame_metadata', 'camera_id', 'model_id', 'timestamp'] as const;
    const sub = ['frame_id', 'width', 'height', 'format'] as const;
    const invalid: Record<string, unknown> = {
      type: 'pong',
      request_id: 1.5,
      frame_reference: '',
      camera_id: '',
      model_id: 5,
      timestamp: 'now',
      frame_id: -1,
      width: 0,
      height: 16_385,
      format: 'XYZ',
    };
    const state = fc.constantFrom('ok', 'missing', 'invalid');
    fc.assert(
      fc.property(
        fc.record({
          type: fc.constantFrom('ok', 'invalid'),
          request_id: fc.constantFrom('ok', 'invalid'),
          frame_reference: state,
          camera_id: state,
          model_id: state,
          timestamp: state,
        }),
        fc.oneof(fc.constantFrom('ok', 'missing', 'not-object'), fc.record({ frame_id: state, width: state, height: state, format: state })),
        (top, meta) => {
          const message: Record<string, unknown> = { ...request, type: 'infer', request_id: 'r' };
          for (const [f, st] of Object.entries(top)) {
            if (st === 'missing') delete message[f];
            if (st === 'invalid') message[f] = invalid[f];
          }
          if (meta === 'missing') delete message.frame_metadata;
          else if (meta === 'not-object') message.frame_metadata = [1];
          else if (typeof meta === 'object') {
            const m: Record<string, unknown> = { ...request.frame_metadata };
            for (const [f, st] of Object.entries(meta)) {
              if (st === 'missing') delete m[f];
              if (st === 'invalid') m[f] = invalid[f];
            }
            message.frame_metadata = m;
          }
          const states: Record<string, string> = { ...top, frame_metadata: typeof meta === 'string' ? meta : 'object' };
          const expected =
            required.find((f) => states[f] === 'missing') ??
            fields
              .map((f) => {
                if (f !== 'frame_metadata') return states[f] === 'invalid' ? f : undefined;
                if (states[f] === 'not-object') return f;
                if (typeof meta !== 'object') return undefined;
                const s = sub.find((x) => meta[x] === 'missing') ?? sub.find((x) => meta[x] === 'invalid');
                return s === undefined ? undefined : `frame_metadata.${s}`;
              })
              .find((f) => f !== undefined);
          if (expected === undefined) assert.equal(parseRequest(message).kind, 'infer');
          else
            assert.throws(
              () => parseRequest(message),
              (e: { code: string; field: string }) => e.code === 'ERR_SCHEMA' && e.field === expected,
            );
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
