/**
 * The watch from outside (src/app/outside-watch.ts) on its own, with a clock of the test's and a heartbeat file it
 * writes: a beat is a change of a `running` heartbeat; none for the silence raises the alarm (reason system-down,
 * the detail saying why: no file, stopped, stopped answering), the first beat clears it; a file that is rewritten
 * with the same content, or says `stopped`, is no beat. Each change is logged with ERR_SYSTEM_DOWN.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createOutsideWatch, OutsideWatch } from '../../src/app/index.js';
import { formatHeartbeat } from '../../src/internal/heartbeat.js';
import { createLogger } from '../../src/internal/logger.js';
import { resolvedConfig } from '../pipeline/helpers.js';

describe('the watch from outside', { timeout: 30_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `fs-outside-${process.pid}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const log = createLogger({ level: 'silent' });

  it('raised after the silence without a beat, with why; cleared by the first beat', () => {
    const file = join(dir, 'heartbeat');
    const clock = { now: 0 };
    const watch = new OutsideWatch({ heartbeatFile: file, cameras: [], silenceMs: 3_000, publisher: null, webhook: null, log, now: () => clock.now });
    const tick = (ms: number): void => {
      clock.now += ms;
      watch.tick();
    };
    tick(2_999);
    assert.equal(watch.silent, false);
    tick(1);
    assert.equal(watch.silent, true, 'no file for the silence');
    let beat = 0;
    const write = (state: 'running' | 'stopped'): void => writeFileSync(file, formatHeartbeat({ pid: 1, beat: ++beat, at: 0, state }));
    write('running');
    tick(1_000);
    assert.equal(watch.silent, false, 'the first beat clears it');
    for (let s = 0; s < 5; s++) {
      write('running');
      tick(1_000);
    }
    assert.equal(watch.silent, false, 'beating');
    const same = formatHeartbeat({ pid: 1, beat, at: 0, state: 'running' });
    for (let s = 0; s < 3; s++) {
      writeFileSync(file, same);
      tick(1_000);
    }
    assert.equal(watch.silent, true, 'the same content again is no beat');
    write('stopped');
    tick(1_000);
    assert.equal(watch.silent, true, 'stopped is no beat');
    write('running');
    tick(1_000);
    assert.equal(watch.silent, false);
  });

  it('from a config: the care cameras, the shortest silence (or the one given)', async () => {
    const config = resolvedConfig({
      models: { person: { handler: 'mock' } },
      cameras: {
        a: { source: 'lavfi:testsrc', care: { silenceSeconds: 20 }, workers: [{ id: 'p', model: 'person' }] },
        b: { source: 'lavfi:testsrc', workers: [{ id: 'p', model: 'person', care: { silenceSeconds: 12 } }] },
        c: { source: 'lavfi:testsrc', workers: [{ id: 'p', model: 'person' }] },
      },
    });
    const base = { cameras: config.cameras, mqtt: undefined, clientId: () => 'x', heartbeatFile: join(dir, 'none'), webhook: null, log };
    const watch = await createOutsideWatch(base);
    assert.deepEqual(
      watch.cameras.map((c) => c.id),
      ['a', 'b'],
    );
    assert.equal(watch.silenceMs, 12_000);
    assert.equal((await createOutsideWatch({ ...base, silenceSeconds: 5 })).silenceMs, 5_000);
    await watch.close();
  });
});
