/**
 * A model server the system starts runs with a small V8 young generation (issue 45 item 4, ADR 0068): its
 * command line carries --max-semi-space-size=1 unless NODE_OPTIONS names a semi-space size (the user's, which
 * wins), and a server so started answers. A real server process, its command line read from /proc.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { modelServerNodeFlags } from '../../src/pipeline/model-host/model-process.js';
import { ModelService } from '../../src/pipeline/model-host/model-service.js';
import type { ModelStateEvent } from '../../src/pipeline/index.js';
import { workspace } from '../models/fixtures.js';
import { commandLine } from './helpers.js';

describe("a started model server's young generation", { timeout: 60_000 }, () => {
  const ws = workspace();
  let service: ModelService;

  before(async () => {
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    service = new ModelService({
      name: 'mock',
      config: { handler: 'mock', modelId: 'mock', timeoutMs: 5_000, restart: { initialMs: 50, maxMs: 200 } },
      runtimeDir: ws.dir,
      shmDir: ws.shmDir,
      log: createLogger({ level: 'silent' }),
      onState: (e: ModelStateEvent) => {
        if (e.to === 'ready') ready();
      },
      healthIntervalMs: 200,
      pingTimeoutMs: 1_000,
      failedPings: 2,
      killTimeoutMs: 1_000,
    });
    service.start();
    await isReady;
  });

  after(async () => {
    await service?.close();
    ws.cleanup();
  });

  it('runs with --max-semi-space-size=1 before its script, and is ready', () => {
    const pid = service.stats().pid;
    assert.ok(pid !== null);
    const args = commandLine(pid).split(' ');
    const flag = args.indexOf('--max-semi-space-size=1');
    assert.ok(flag > 0 && flag < args.findIndex((a) => a.endsWith('model-server/main.js')), args.join(' '));
    assert.equal(service.stats().state, 'ready');
  });

  it("leaves a semi-space size given in NODE_OPTIONS to the user's", () => {
    assert.deepEqual(modelServerNodeFlags('--max-semi-space-size=8'), []);
    assert.deepEqual(modelServerNodeFlags('--max-old-space-size=512'), ['--max-semi-space-size=1']);
    assert.deepEqual(modelServerNodeFlags(undefined), ['--max-semi-space-size=1']);
  });
});
