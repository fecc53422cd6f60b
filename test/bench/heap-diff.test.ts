/**
 * The heap snapshots' comparison SOAK and SOAK-CHURN print (bench/heap-diff.ts, issue 45 item 2) names what a
 * process kept between two snapshots: real snapshots of this process (v8.writeHeapSnapshot), with objects of a
 * kind of their own made and held between them by a holder of a kind of its own. The kind is found with its
 * count and its new objects, and its holder named; a kind made and let go is not listed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeHeapSnapshot } from 'node:v8';
import { diff, summarize } from '../../bench/heap-diff.js';

class HeapDiffKept {
  constructor(readonly n: number) {}
}
class HeapDiffLetGo {
  constructor(readonly n: number) {}
}
class HeapDiffHolder {
  readonly kept: HeapDiffKept[] = [];
}

const dir = mkdtempSync(join(tmpdir(), 'heap-diff-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('heap snapshots compared', { timeout: 120_000 }, () => {
  it('name the kind kept between them, how many, and what holds them', () => {
    const holder = new HeapDiffHolder();
    for (let i = 0; i < 10; i++) holder.kept.push(new HeapDiffKept(i));
    const first = writeHeapSnapshot(join(dir, 'first.heapsnapshot'));
    for (let i = 0; i < 1000; i++) holder.kept.push(new HeapDiffKept(i));
    // Made and let go before the second snapshot (which collects first).
    assert.equal(Array.from({ length: 1000 }, (_, i) => new HeapDiffLetGo(i)).length, 1000);
    const second = writeHeapSnapshot(join(dir, 'second.heapsnapshot'));
    const rows = diff(summarize(first), summarize(second), 50);
    const kept = rows.find((r) => r.kind === 'HeapDiffKept');
    assert.ok(kept, `HeapDiffKept not among ${rows.map((r) => r.kind).join(', ')}`);
    assert.equal(kept.countBefore, 10);
    assert.equal(kept.countAfter, 1010);
    assert.equal(kept.newCount, 1000);
    // Held through the holder's array: its elements' store, reached from the array holder.kept is.
    const top = kept.retainers[0];
    assert.ok(top !== undefined && top.after - top.before === 1000, JSON.stringify(kept.retainers));
    assert.equal(
      rows.find((r) => r.kind === 'HeapDiffLetGo'),
      undefined,
    );
    assert.equal(holder.kept.length, 1010);
  });
});
