/**
 * The desired state's copy a node keeps: whatever a writer on the bus puts there, it holds no more than its
 * entries and bytes, never an entry over the size limit, and for every camera it keeps, the newest value written.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DesiredCopy, DESIRED_COPY_LIMITS } from '../../src/cluster/desired-copy.js';

describe('the desired copy', { timeout: 60_000 }, () => {
  it('stays within its entries and bytes, keeps no oversized entry, and keeps only the newest value of a camera', () => {
    const limits = { maxEntries: 5, maxBytes: 100, maxEntryBytes: 40 };
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('set' as const),
        camera: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'),
        bytes: fc.nat({ max: 60 }),
        tag: fc.nat(255),
      }),
      fc.record({ kind: fc.constant('delete' as const), camera: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const copy = new DesiredCopy(limits);
        const newest = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'delete') {
            copy.delete(o.camera);
            newest.delete(o.camera);
            continue;
          }
          copy.set(o.camera, new Uint8Array(o.bytes).fill(o.tag));
          newest.set(o.camera, o.tag);
          assert.ok(copy.size <= limits.maxEntries);
          assert.ok(copy.bytes <= limits.maxBytes);
        }
        let bytes = 0;
        for (const [camera, value] of copy.entries()) {
          bytes += value.byteLength;
          assert.ok(value.byteLength <= limits.maxEntryBytes);
          if (value.byteLength > 0) assert.equal(value[0], newest.get(camera), `${camera}: an outdated value kept`);
        }
        assert.equal(bytes, copy.bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('a value that no longer fits forgets the camera rather than keep the old one', () => {
    const copy = new DesiredCopy({ maxEntries: 10, maxBytes: 1_000, maxEntryBytes: 100 });
    assert.equal(copy.set('cam', new Uint8Array(10)), true);
    assert.equal(copy.set('cam', new Uint8Array(101)), false);
    assert.deepEqual(copy.entries(), []);
    assert.equal(copy.bytes, 0);
  });

  it('the shipped limits: 10 000 cameras, 32 MiB, no entry over the messages’ 256 KiB', () => {
    assert.deepEqual(DESIRED_COPY_LIMITS, { maxEntries: 10_000, maxBytes: 32 * 1024 * 1024, maxEntryBytes: 256 * 1024 });
    const copy = new DesiredCopy();
    let kept = 0;
    for (let i = 0; i < 200; i++) if (copy.set(`cam${i}`, new Uint8Array(200 * 1024))) kept++;
    assert.equal(kept, Math.floor((32 * 1024 * 1024) / (200 * 1024)));
  });
});
