/**
 * `models: { discover: DIR }` in the config (ADR 0046): the directory is no model; workers may name models the
 * file does not declare (found there as `<name>.sock`), which must be names a socket file can have; the
 * directory must be absolute; without it, an undeclared model is refused as before; a map under `discover`
 * is a model named discover, as any. `models.discoverTrust` (ADR 0058) lists the uids and gids that may serve there.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { issueAt, issuesOf, yaml } from './helpers.js';

const withModels = (...models: string[]): string =>
  yaml(
    'models:',
    ...models.map((m) => `  ${m}`),
    'cameras:',
    '  door:',
    '    source: rtsp://10.0.0.5/101',
    '    workers:',
    '      - { id: people, model: yolo }',
  );

describe('config: a models directory', { timeout: 30_000 }, () => {
  it('accepts models.discover, and a worker naming a model found there; declared models stay as written', () => {
    const config = parseConfig(withModels('discover: /run/framesupplier/models', 'person: { handler: mock }'), { env: {}, fileName: 'test.yaml' });
    assert.equal(config.modelDirectory, '/run/framesupplier/models');
    assert.deepEqual(config.models.yolo, { discover: '/run/framesupplier/models', modelId: 'yolo', timeoutMs: 5_000 });
    assert.equal((config.models.person as { handler?: string }).handler, 'mock');
    assert.equal(config.models.discover, undefined, 'the directory is no model');
  });

  it('refuses a relative directory, and a model name no socket file can have, at their lines', () => {
    const relative = issueAt(issuesOf(withModels('discover: models')), 'models.discover');
    assert.equal(relative.line, 2);
    assert.match(relative.message, /absolute path/);
    const text = withModels('discover: /run/models').replace('model: yolo', 'model: "yo lo"');
    assert.match(issueAt(issuesOf(text), 'cameras.door.workers[0].model').message, /cannot be found in models.discover/);
  });

  it('models.discoverTrust: numeric uids and gids trusted to serve there, checked at their lines, and only beside a directory', () => {
    const config = parseConfig(withModels('discover: /run/models', 'discoverTrust: { uids: [1001, 1001], gids: [2000] }'), { env: {}, fileName: 'test.yaml' });
    assert.deepEqual(config.modelDirectoryTrust, { uids: [1001], gids: [2000] });
    assert.equal(config.models.discoverTrust, undefined, 'no model');
    assert.equal(parseConfig(withModels('discover: /run/models'), { env: {}, fileName: 'test.yaml' }).modelDirectoryTrust, undefined);
    const bad = issuesOf(withModels('discover: /run/models', 'discoverTrust: { uids: [frigate, -1], groups: [1] }'));
    assert.match(issueAt(bad, 'models.discoverTrust.uids[0]').message, /numeric id from 0 to 4294967294.*id -u NAME/);
    assert.equal(issueAt(bad, 'models.discoverTrust.uids[1]').line, 3);
    assert.match(issueAt(bad, 'models.discoverTrust.groups').message, /not a key of discoverTrust \(uids, gids\)/);
    assert.match(
      issueAt(issuesOf(withModels('discoverTrust: { uids: [1] }', 'yolo: { handler: mock }')), 'models.discoverTrust').message,
      /needs models\.discover/,
    );
    assert.match(issueAt(issuesOf(withModels('discover: /run/models', 'discoverTrust: [1]')), 'models.discoverTrust').message, /must be a map/);
  });

  it('without a directory an undeclared model is refused as before; a map under discover is a model named discover', () => {
    assert.match(issueAt(issuesOf(withModels('person: { handler: mock }')), 'cameras.door.workers[0].model').message, /names no model/);
    const config = parseConfig(withModels('discover: { handler: mock }', 'yolo: { handler: mock }'), { env: {}, fileName: 'test.yaml' });
    assert.equal((config.models.discover as { handler?: string }).handler, 'mock');
    assert.equal(config.modelDirectory, undefined);
  });
});
