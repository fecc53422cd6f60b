/**
 * The code behind a worker's crash reaches the system's users without
 * parsing a message: a Python subprocess worker on the shm transport whose
 * frame store cannot be made on a real, too small tmpfs mount fails with
 * lastExit.code ERR_SHM_FULL, in the worker-state event and in stats().
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { mountTmpfs, type Tmpfs } from '../shm/fixtures.js';
import { nextEvent, resolvedConfig, vtest } from './helpers.js';

const PYTHON_WORKER = fileURLToPath(new URL('../../../examples/workers/brightness_worker.py', import.meta.url));

describe("a worker crash's code in the system's events and stats", { timeout: 60_000 }, () => {
  let mount: Tmpfs | string = 'not mounted yet';
  before(() => {
    mount = mountTmpfs('1m');
  });
  after(() => {
    if (typeof mount !== 'string') mount.unmount();
  });

  it('a subprocess worker whose frame store does not fit its tmpfs: failed, with lastExit.code ERR_SHM_FULL', async (t) => {
    if (typeof mount === 'string') return t.skip(mount);
    const camera = `full-${process.pid}`;
    const system = new VisionSystem({
      config: resolvedConfig({
        shmDir: mount.dir,
        cameras: {
          // 768×576 rgb24 frames: a store of two slots is 2.6 MB, on a 1 MB tmpfs.
          [camera]: {
            source: vtest(),
            capture: { output: { format: 'rgb24' }, loop: true },
            workers: [{ id: 'brightness', command: ['/usr/bin/python3', PYTHON_WORKER], transport: 'shm', criticality: 'best-effort' }],
          },
        },
      }),
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const failed = nextEvent(system, 'worker-state', (e) => e.camera === camera && e.to === 'failed');
      await system.start();
      const event = await failed;
      assert.deepEqual([event.worker, event.lastExit?.reason, event.lastExit?.code], ['brightness', 'gave-up', 'ERR_SHM_FULL']);
      assert.match(event.lastExit!.message, /ERR_SHM_FULL/);
      const figures = system.stats().cameras[camera]!.workers.brightness!;
      assert.deepEqual([figures.state, figures.lastExit?.code], ['failed', 'ERR_SHM_FULL']);
    } finally {
      await system.close();
    }
  });
});
