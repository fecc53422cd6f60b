import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { consumeLatest } from '../../src/supplier/index.js';

/** A push source whose consumer controls exactly when items arrive. */
function manualSource<T>() {
  const queue: T[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  let onDrained: (() => void) | null = null;
  const iterable: AsyncIterable<T> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (queue.length > 0) {
          yield queue.shift()!;
          continue;
        }
        if (ended) return;
        onDrained?.();
        onDrained = null;
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
  const kick = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  return {
    iterable,
    push: (...items: T[]) => {
      queue.push(...items);
      kick();
    },
    end: () => {
      ended = true;
      kick();
    },
    /** Resolves when the consumer has pulled every queued item and waits for more. */
    drained: () => new Promise<void>((r) => (onDrained = r)),
  };
}

describe('consumeLatest()', { timeout: 60_000 }, () => {
  it('hands the handler the freshest item and counts the skipped ones', async () => {
    const source = manualSource<number>();
    const handled: number[] = [];
    let release!: () => void;
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const done = consumeLatest(source.iterable, async (n) => {
      handled.push(n);
      if (n === 1) {
        entered();
        await new Promise<void>((r) => (release = r));
      }
    });
    source.push(1);
    await inHandler;
    // While the handler is busy with 1, the source yields 2..5: only 5 must be handled.
    const drained = source.drained();
    source.push(2, 3, 4, 5);
    await drained;
    release();
    source.end();
    const result = await done;
    assert.deepEqual(handled, [1, 5]);
    assert.deepEqual(result, { handled: 2, skipped: 3 });
  });

  it('drains a buffered Readable to its newest item', async () => {
    const readable = Readable.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const handled: number[] = [];
    const result = await consumeLatest<number>(readable, async (n) => {
      handled.push(n);
      await new Promise((r) => setImmediate(r));
    });
    assert.equal(handled.at(-1), 8, 'the last item is always handled');
    assert.equal(result.handled + result.skipped, 8);
    assert.ok(result.skipped > 0, 'a slow handler skips buffered items');
  });

  it('rejects with the handler error and stops pumping', async () => {
    const boom = new Error('boom');
    await assert.rejects(
      consumeLatest(Readable.from([1, 2, 3]), () => {
        throw boom;
      }),
      (e) => e === boom,
    );
  });

  it('rejects with the source error', async () => {
    const bad = new Error('source broke');
    async function* broken() {
      yield 1;
      throw bad;
    }
    await assert.rejects(
      consumeLatest(broken(), () => undefined),
      (e) => e === bad,
    );
  });

  it('stops on abort with the signal reason, even if the source never yields again', async () => {
    const source = manualSource<number>();
    const controller = new AbortController();
    let first!: () => void;
    const seen = new Promise<void>((r) => (first = r));
    const done = consumeLatest(source.iterable, () => first(), { signal: controller.signal });
    source.push(1);
    await seen;
    controller.abort(new Error('stop'));
    await assert.rejects(done, /stop/);
  });

  it('refuses non-iterable sources and non-function handlers with ERR_INVALID_ARGUMENT', async () => {
    await assert.rejects(
      consumeLatest(42 as never, () => undefined),
      { code: 'ERR_INVALID_ARGUMENT' },
    );
    await assert.rejects(consumeLatest(Readable.from([]), null as never), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
