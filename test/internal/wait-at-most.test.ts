/**
 * waitAtMost: a wait bounded by a timer, as a close that must end uses it (a NATS drain, an MQTT flush, workers'
 * grace): it ends with the promise or at the bound, whichever comes first, passes a rejection on, and leaves no
 * timer behind it (a timer left would keep the process alive for the rest of the bound).
 */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { waitAtMost } from '../../src/internal/abort.js';

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('waitAtMost', { timeout: 30_000 }, () => {
  it('ends with the promise, its timer gone', async () => {
    const before = timers();
    await waitAtMost(Promise.resolve(), 60_000);
    assert.equal(timers(), before, 'no timer left behind');
  });

  it('passes a rejection on, its timer gone', async () => {
    const before = timers();
    await assert.rejects(waitAtMost(Promise.reject(new Error('refused')), 60_000), /refused/);
    assert.equal(timers(), before);
  });

  it('ends at the bound when the promise never settles', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let ended = false;
      const waiting = waitAtMost(new Promise(() => undefined), 2_000).then(() => (ended = true));
      mock.timers.tick(1_999);
      await Promise.resolve();
      assert.equal(ended, false, 'not before the bound');
      mock.timers.tick(1);
      await waiting;
      assert.equal(ended, true);
    } finally {
      mock.timers.reset();
    }
  });
});
