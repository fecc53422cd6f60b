/**
 * findSampleMedia(): the packaged clip, a gzipped one decompressed once, the
 * environment's override; never a path outside the package and the system.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { findSampleMedia, SAMPLE_MEDIA_ENV } from '../../src/capture/sample-media.js';

const dir = mkdtempSync(join(tmpdir(), `fs-sample-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));

function withEnv<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env[SAMPLE_MEDIA_ENV];
  if (value === undefined) delete process.env[SAMPLE_MEDIA_ENV];
  else process.env[SAMPLE_MEDIA_ENV] = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env[SAMPLE_MEDIA_ENV];
    else process.env[SAMPLE_MEDIA_ENV] = saved;
  }
}

describe('findSampleMedia()', { timeout: 60_000 }, () => {
  it('returns the packaged clip when it is there, null when it is not', () => {
    const clip = join(dir, 'plain.avi');
    writeFileSync(clip, 'RIFF');
    withEnv(undefined, () => {
      assert.equal(findSampleMedia(clip), clip);
      assert.equal(findSampleMedia(join(dir, 'absent.avi')), null);
    });
  });

  it('decompresses a gzipped clip (as dh_compress may ship it) into the temporary directory', () => {
    const bytes = Buffer.from(`RIFF clip of ${process.pid}`);
    const packaged = join(dir, `zipped-${process.pid}.avi`);
    writeFileSync(`${packaged}.gz`, gzipSync(bytes));
    const found = withEnv(undefined, () => findSampleMedia(packaged));
    assert.ok(found !== null && found.startsWith(tmpdir()) && found.endsWith(`zipped-${process.pid}.avi`), String(found));
    assert.deepEqual(readFileSync(found), bytes);
    rmSync(found);
  });

  it(`${SAMPLE_MEDIA_ENV} overrides the packaged clip`, () => {
    const mine = join(dir, 'mine.avi');
    writeFileSync(mine, 'RIFF');
    assert.equal(
      withEnv(mine, () => findSampleMedia('/nonexistent/vtest.avi')),
      mine,
    );
    assert.equal(
      withEnv(join(dir, 'missing.avi'), () => findSampleMedia(mine)),
      null,
    );
  });
});
