/**
 * Old names still work until 0.2.0, each warning once per process with its own
 * code (CHANGELOG.md names them): the lifecycle methods renamed in 0.1.0
 * (stop() → close()), WorkerContext.skip(), Subscription.delaySlot().
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamCapture } from '../../src/capture/index.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { WorkerSupervisor } from '../../src/workers/index.js';
import { readRepoFile } from '../helpers/repo.js';
import { afterDistribution, ManualClock, rgbFrame } from '../supplier/helpers.js';

/** The DeprecationWarnings emitted while fn runs . */
async function warningsDuring(fn: () => Promise<void>): Promise<Error[]> {
  const seen: Error[] = [];
  const listener = (warning: Error): void => void (warning.name === 'DeprecationWarning' && seen.push(warning));
  process.on('warning', listener);
  try {
    await fn();
    // emitWarning delivers on process.nextTick: drained before the next setImmediate.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

describe('deprecated aliases', { timeout: 30_000 }, () => {
  it('FrameSupplier.stop() closes, and warns once with its code', async () => {
    const supplier = new FrameSupplier().start();
    const reader = supplier.subscribe('w');
    const warnings = await warningsDuring(() => supplier.stop());
    assert.equal(await reader.read(), null, 'the subscription ended: the supplier is closed');
    assert.deepEqual(
      warnings.map((w) => (w as Error & { code?: string }).code),
      ['FRAMESUPPLIER_DEP_SUPPLIER_STOP'],
    );
    let again = 0;
    const count = (w: Error): void => void (w.name === 'DeprecationWarning' && again++);
    process.on('warning', count);
    await new FrameSupplier().start().stop();
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', count);
    assert.equal(again, 0, 'once per process');
  });

  it('WorkerSupervisor.stop() and StreamCapture.stop() close, with codes of their own', async () => {
    const supervisor = new WorkerSupervisor({ supplier: new FrameSupplier().start() }).start();
    const capture = new StreamCapture({ source: 'lavfi:testsrc2', supplier: new FrameSupplier().start() });
    const warnings = await warningsDuring(async () => {
      await supervisor.stop();
      await capture.stop();
    });
    assert.throws(() => supervisor.start(), { code: 'ERR_SUPERVISOR_CLOSED' });
    const codes = warnings.map((w) => (w as Error & { code?: string }).code).sort();
    assert.deepEqual(codes, ['FRAMESUPPLIER_DEP_CAPTURE_STOP', 'FRAMESUPPLIER_DEP_SUPERVISOR_STOP']);
    const changelog = readRepoFile('CHANGELOG.md');
    for (const code of [...codes, 'FRAMESUPPLIER_DEP_SUPPLIER_STOP', 'FRAMESUPPLIER_DEP_CONTEXT_SKIP'])
      assert.ok(changelog.includes(code), `CHANGELOG.md names ${code}`);
  });

  it('Subscription.delaySlot(ms) still moves the next slot by ms, and warns once with its code (ADR 0088)', async () => {
    const clock = new ManualClock();
    const supplier = new FrameSupplier({ streamId: 'cam', clock }).start();
    const sub = supplier.subscribe('w', { maxFps: 2 });
    sub.freshSlots();
    supplier.publish(rgbFrame(4, 2, { captureTime: 0 }));
    await afterDistribution();
    assert.equal((await sub.read())?.seq, 1);
    // The next slot opens at 475; 60 ms later it opens at 535.
    const warnings = await warningsDuring(async () => sub.delaySlot(60));
    assert.deepEqual(
      warnings.map((w) => (w as Error & { code?: string }).code),
      ['FRAMESUPPLIER_DEP_SUBSCRIPTION_DELAY_SLOT'],
    );
    assert.equal(sub.nextTakeInMs(0), 535);
    const again = await warningsDuring(async () => sub.delaySlot(0));
    assert.deepEqual(again, [], 'once per process');
    assert.ok(readRepoFile('CHANGELOG.md').includes('FRAMESUPPLIER_DEP_SUBSCRIPTION_DELAY_SLOT'), 'CHANGELOG.md names it');
    await sub.close();
    await supplier.close();
  });

  it('WorkerContext.skip(code) counts a frame read and skipped in modelFrames, by the old code', async () => {
    let skipped!: () => void;
    const done = new Promise<void>((resolve) => (skipped = resolve));
    const supervisor = new WorkerSupervisor({ supplier: new FrameSupplier().start() });
    supervisor.add({
      id: 'old-kind',
      kind: {
        kind: 'custom',
        async run(context) {
          context.skip('ERR_SUPERSEDED');
          context.skip('ERR_FRAME_STALE');
          context.skip('ERR_HANDLER_FAILED');
          skipped();
          await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
        },
      },
    });
    const warnings = await warningsDuring(async () => {
      supervisor.start();
      await done;
    });
    const figures = supervisor.stats().find((w) => w.workerId === 'old-kind')?.modelFrames;
    assert.deepEqual(
      {
        skipped: figures?.skipped,
        superseded: figures?.skips.superseded,
        stale: figures?.skips.stale,
        error: figures?.skips.error,
        inFlight: figures?.inFlight,
      },
      { skipped: 3, superseded: 1, stale: 1, error: 1, inFlight: 0 },
    );
    assert.deepEqual(
      warnings.map((w) => (w as Error & { code?: string }).code),
      ['FRAMESUPPLIER_DEP_CONTEXT_SKIP'],
    );
    await supervisor.close();
  });
});
