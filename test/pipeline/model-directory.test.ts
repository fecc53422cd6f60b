/**
 * `models: { discover: DIR }` (ADR 0046): a directory of model servers, with real Node model servers binding
 * their sockets there. A worker naming a model the file does not declare waits until a server binds
 * `DIR/<name>.sock`, then gets its results; a server binding a socket no worker names is a model in the stats
 * (source discovered) while it is there, and stops being one when its socket goes; the named one stays,
 * waited for, when its server goes. A discovered model's handler is what its server says it runs (its pong).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { createMockHandler, ModelServer } from '../../src/models/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { eventually } from '../helpers/process.js';
import { nextResults, vtest } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'framesupplier-model-dir-'));
const MODELS = join(dir, 'models');
const SHM_DIR = `/dev/shm/framesupplier-model-dir-${process.pid}`;

describe('a models directory: every server with its socket there is a model', { timeout: 120_000 }, () => {
  const servers: ModelServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  const serve = (model: string): Promise<ModelServer> => {
    const server = new ModelServer({
      socketPath: join(MODELS, `${model}.sock`),
      handler: createMockHandler({ modelId: model }),
      shmDir: SHM_DIR,
      closeLingerMs: 200,
      shutdownGraceMs: 2_000,
    });
    servers.push(server);
    return server.start();
  };

  it('a named model waits for its server, then answers; an unnamed one comes and goes with its socket', async () => {
    mkdirSync(MODELS, { recursive: true });
    const config = parseConfig(
      [
        `shmDir: ${SHM_DIR}`,
        'models:',
        `  discover: ${MODELS}`,
        'cameras:',
        '  street:',
        `    source: ${vtest()}`,
        '    capture: { loop: true, output: { format: nv12, width: 160, fps: 5 } }',
        '    workers:',
        '      - { id: finder, model: finder }',
      ].join('\n'),
      { env: {}, fileName: 'directory.yaml' },
    );
    assert.equal(config.modelDirectory, MODELS);
    assert.deepEqual(config.models.finder, { discover: MODELS, modelId: 'finder', timeoutMs: 5_000 });
    const system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }), modelHealthIntervalMs: 200, drainTimeoutMs: 2_000 });
    await system.start();
    try {
      const finder = system.stats().models.finder!;
      assert.equal(finder.source, 'discovered');
      assert.notEqual(finder.state, 'ready', 'no server yet');
      assert.equal(finder.handler, null, 'nothing said yet');
      const finderServer = await serve('finder');
      await nextResults(system, 'street', 'finder', 2);
      // What the server says it runs (its pong's handler), not null (issue 41, item 4).
      assert.equal(system.stats().models.finder?.handler, 'mock');

      // a server nobody names: a model while its socket is there
      const extra = await serve('extra');
      await eventually(() => system.stats().models.extra?.state === 'ready', 'the unnamed server found and ready');
      assert.equal(system.stats().models.extra?.source, 'discovered');
      assert.equal(system.stats().models.extra?.handler, 'mock');
      await extra.close();
      await eventually(() => system.stats().models.extra === undefined, 'the unnamed model gone with its socket');

      // the named one's server goes: the model stays, waited for
      await finderServer.close();
      await eventually(() => system.stats().models.finder?.state !== 'ready', 'the named model not ready without its server');
      assert.ok(system.stats().models.finder !== undefined, 'a model a worker names stays');
      await serve('finder');
      await nextResults(system, 'street', 'finder', 2);
    } finally {
      await system.close();
    }
  });
});
