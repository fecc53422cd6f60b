/**
 * The config file saver when the file was edited into YAML that no longer parses: the change is refused with
 * ERR_HTTP_SAVE_CONFIG saying where, and the answer quotes none of the file's lines (yaml's own message does, and
 * a line may hold a camera password). The file is left as it was.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigSaver } from '../../src/http/save-config.js';

const dir = mkdtempSync(join(tmpdir(), `framesupplier-save-config-${process.pid}-`));
const SECRET = 'hunter2-do-not-echo';

describe('saving to a config file that no longer parses', { timeout: 30_000 }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is ERR_HTTP_SAVE_CONFIG with a line and column, and no line of the file', async () => {
    const file = join(dir, 'config.yaml');
    const broken = ['version: 1', 'cameras:', '  door:', `    source: rtsp://admin:${SECRET}@10.0.0.5/stream`, `    password: ${SECRET}: oops`, ''].join('\n');
    writeFileSync(file, broken);
    const saver = new ConfigSaver(file);
    const error = await saver.save({ kind: 'remove-camera', id: 'door' }).then(
      () => assert.fail('saved'),
      (e: unknown) => e as Error & { code?: string },
    );
    assert.equal(error.code, 'ERR_HTTP_SAVE_CONFIG');
    assert.match(error.message, /no longer parses \([A-Z_]+ at line \d+, column \d+\)/);
    assert.ok(!error.message.includes(SECRET), error.message);
    assert.equal(readFileSync(file, 'utf8'), broken, 'the file as it was');
  });
});
