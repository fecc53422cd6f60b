/**
 * clusterCameraControl() on its own, over a stand-in node: its calls in the system's shape become the
 * cluster's requests, and its names from before the parts (addCamera, …) stay until 0.2.0, each handing on
 * to its new call and warning once per process with a code of its own that CHANGELOG.md names.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterCameraControl, type ClusterCameraControl, type ControlRequest } from '../../src/cluster/index.js';
import type { VisionSystem } from '../../src/pipeline/index.js';
import { readRepoFile } from '../helpers/repo.js';

/** The old name → its new call, as CHANGELOG.md lists them. */
const OLD_NAMES = {
  addCamera: 'cameras.add',
  replaceCamera: 'cameras.replace',
  removeCamera: 'cameras.remove',
  restartWorker: 'workers.restart',
  setWorkerEnabled: 'workers.setEnabled',
} as const;

describe('clusterCameraControl', { timeout: 30_000 }, () => {
  const requests: ControlRequest[] = [];
  const checked: string[] = [];
  const warnings: (Error & { code?: string })[] = [];
  const onWarning = (w: Error): void => void (w.name === 'DeprecationWarning' && warnings.push(w));
  let control: ClusterCameraControl;

  before(() => {
    process.on('warning', onWarning);
    const system = { config: { resolveCamera: (id: string) => void checked.push(id) } } as unknown as VisionSystem;
    control = clusterCameraControl({ node: { control: (request) => Promise.resolve((requests.push(request), { ok: true, node: 'n1' })) }, system });
  });

  after(() => process.off('warning', onWarning));

  it('the old names hand on to the new calls and warn once each, with their code', async () => {
    const entry = { source: 'lavfi:testsrc2' };
    for (let i = 0; i < 2; i++) {
      await control.addCamera('a', entry);
      await control.replaceCamera('a', entry);
      await control.removeCamera('a');
      await control.restartWorker('a', 'people');
      await assert.rejects(control.setWorkerEnabled('a', 'people', false), { code: 'ERR_CLUSTER_UNSUPPORTED' });
    }
    assert.deepEqual(checked, ['a', 'a', 'a', 'a'], 'add and replace check the entry here, as the new calls do');
    assert.deepEqual(
      requests.map((r) => r.op),
      ['add-camera', 'add-camera', 'remove-camera', 'restart-worker', 'add-camera', 'add-camera', 'remove-camera', 'restart-worker'],
    );
    // emitWarning delivers on process.nextTick: drained before the next setImmediate.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings.map((w) => w.code).sort(), [
      'FRAMESUPPLIER_DEP_CLUSTER_CONTROL_ADD_CAMERA',
      'FRAMESUPPLIER_DEP_CLUSTER_CONTROL_REMOVE_CAMERA',
      'FRAMESUPPLIER_DEP_CLUSTER_CONTROL_REPLACE_CAMERA',
      'FRAMESUPPLIER_DEP_CLUSTER_CONTROL_RESTART_WORKER',
      'FRAMESUPPLIER_DEP_CLUSTER_CONTROL_SET_WORKER_ENABLED',
    ]);
    for (const w of warnings) assert.match(w.message, /clusterCameraControl\(\)\.\w+\(\) is deprecated: call \.(cameras|workers)\.\w+\(\)/);
  });

  it('every old name is in CHANGELOG.md with its new name, under Deprecated', () => {
    const changelog = readRepoFile('CHANGELOG.md');
    const at = changelog.indexOf("- `clusterCameraControl()`'s");
    assert.ok(at >= 0, 'CHANGELOG.md has the entry');
    const headings = [...changelog.slice(0, at).matchAll(/^### (.+)$/gm)];
    assert.equal(headings.at(-1)?.[1], 'Deprecated', 'the entry is under a Deprecated heading');
    const rest = changelog.slice(at + 1);
    const entry = changelog.slice(at, at + 1 + rest.search(/\n(?:- |#|\n)/)); // to the next entry, heading or blank line
    assert.ok(entry.includes('FRAMESUPPLIER_DEP_CLUSTER_CONTROL_'), 'the entry names the code its warnings carry');
    const missing = Object.entries(OLD_NAMES).filter(([old, now]) => !entry.includes(`\`${old}()\` → \`${now}()\``));
    assert.deepEqual(missing, []);
  });
});
