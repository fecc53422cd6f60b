/**
 * node:sqlite without Node 22's ExperimentalWarning (src/internal/sqlite.ts):
 * a real `framesupplier run` child with an events store says nothing of
 * SQLite on stderr (and the store is there), while other warnings, during the
 * load and after it, still reach the process as they came.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { importSqlite, isSqliteWarning } from '../../src/internal/sqlite.js';
import { spawnManaged } from '../../src/process/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

describe('node:sqlite loads without its ExperimentalWarning, and other warnings still show', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `framesupplier-sqlite-warning-${process.pid}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('framesupplier run with an events store prints no ExperimentalWarning on stderr', async () => {
    const config = join(dir, 'run.json');
    const database = join(dir, 'events.db');
    writeFileSync(
      config,
      JSON.stringify({
        shmDir: `/dev/shm/framesupplier-sqlite-warning-${process.pid}`,
        events: { database },
        cameras: {
          cam: {
            source: 'lavfi:testsrc=size=64x48:rate=5',
            capture: { output: { format: 'gray' } },
            workers: [{ id: 'motion', module: 'builtin:motion', track: true }],
          },
        },
      }),
    );
    const proc = spawnManaged(process.execPath, [MAIN, 'run', config, '--view', 'none', '--log-level', 'warn', '--duration', '1', '--http', 'off']);
    let stderr = '';
    proc.child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.child.stdout.resume();
    const exit = await proc.exited;
    assert.equal(exit.code, 0, stderr);
    assert.ok(existsSync(database), 'the events store was opened');
    assert.doesNotMatch(stderr, /ExperimentalWarning/);
    assert.doesNotMatch(stderr, /SQLite is an experimental feature/);
  });

  it('passes every other warning on, during the load and after it', async () => {
    const seen: Error[] = [];
    const listener = (w: Error): void => void seen.push(w);
    process.on('warning', listener);
    try {
      const loading = importSqlite();
      process.emitWarning('another experiment is an experimental feature', 'ExperimentalWarning'); // while node:sqlite loads
      const sqlite = await loading;
      assert.equal(typeof sqlite.DatabaseSync, 'function');
      assert.equal(await importSqlite(), sqlite, 'loaded once');
      process.emitWarning('SQLite is an experimental feature and might change at any time', { type: 'ExperimentalWarning', code: 'X_TEST' }); // after: nothing is filtered any more
      process.emitWarning('something deprecated', 'DeprecationWarning', 'DEP_TEST');
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      await new Promise((resolve) => process.nextTick(resolve));
      const messages = seen.map((w) => `${w.name}: ${w.message}`);
      assert.ok(messages.includes('ExperimentalWarning: another experiment is an experimental feature'), messages.join(' | '));
      assert.ok(messages.includes('ExperimentalWarning: SQLite is an experimental feature and might change at any time'), messages.join(' | '));
      assert.ok(messages.includes('DeprecationWarning: something deprecated'), messages.join(' | '));
      assert.equal(seen.filter((w) => w.message.startsWith('SQLite')).length, 1, "only the test's own: the load's was dropped");
    } finally {
      process.off('warning', listener);
    }
    assert.equal(isSqliteWarning('SQLite is an experimental feature and might change at any time', 'ExperimentalWarning'), true);
    assert.equal(isSqliteWarning('SQLite is an experimental feature and might change at any time', 'DeprecationWarning'), false);
    assert.equal(isSqliteWarning('Fetch is an experimental feature', 'ExperimentalWarning'), false);
  });
});
