/**
 * docs/adr/README.md is the whole index of the decision records: every
 * record file (NNNN-title.md) has exactly one row, linking it under its own
 * number; every row links a file that exists; no number is used twice; the
 * rows go up by number. A record added without its row, a row left behind by
 * a renamed file, or two records given one number fail here. Numbers never
 * used have no row and no file, and are not asked for.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, readRepoFile } from '../helpers/repo.js';

const ADR_DIR = join(REPO_ROOT, 'docs/adr');
const RECORD = /^(\d{4})-[a-z0-9-]+\.md$/;
/** A row of the index's table: `| [NNNN](file.md) | decision |`. */
const ROW = /^\| \[(\d{4})\]\(([^)]+)\) \|/gm;

describe('the ADR index', { timeout: 10_000 }, () => {
  const files = readdirSync(ADR_DIR).filter((name) => name !== 'README.md' && name.endsWith('.md'));
  const rows = [...readRepoFile('docs/adr/README.md').matchAll(ROW)].map((m) => ({ number: m[1]!, file: m[2]! }));

  it('reads the rows and the records', () => {
    assert.ok(files.length >= 100, `${files.length} records`);
    assert.ok(rows.length >= 100, `${rows.length} rows`);
  });

  it('every record file is named NNNN-title.md, and no number names two records', () => {
    assert.deepEqual(
      files.filter((name) => !RECORD.test(name)),
      [],
    );
    const numbers = files.map((name) => name.slice(0, 4));
    assert.deepEqual(
      numbers.filter((number, i) => numbers.indexOf(number) !== i),
      [],
    );
  });

  it('every record has exactly one row, under its own number', () => {
    for (const file of files) {
      const its = rows.filter((row) => row.file === file);
      assert.equal(its.length, 1, `${file}: ${its.length} rows in docs/adr/README.md`);
      assert.equal(its[0]!.number, file.slice(0, 4), `${file}: its row's number`);
    }
  });

  it('every row links a record that exists, and the rows go up by number', () => {
    for (const row of rows) assert.ok(existsSync(join(ADR_DIR, row.file)), `row ${row.number}: no file ${row.file}`);
    const numbers = rows.map((row) => Number(row.number));
    assert.deepEqual(
      numbers,
      [...numbers].sort((a, b) => a - b),
    );
  });
});
