/**
 * The routes that act on workers: restart, enable and disable a camera's
 * worker (/api/cameras/:id/workers/:worker/<action>) or a shared one
 * (/api/shared/:name/<action>).
 *
 * Contract: a camera's worker is changed through `control` (the system, or a
 * cluster's control, which reaches the node that runs it); a shared worker
 * through the system, whose own it is. Enabling or disabling is written to
 * the config file with --save-config (`save`); a restart changes nothing
 * there. The answer says what changed (`worker-restarted`, `worker-enabled`,
 * `worker-disabled`).
 */
import type { FastifyInstance } from 'fastify';
import type { SystemControl, VisionSystem } from '../pipeline/index.js';
import { idParams } from './route-params.js';
import type { ConfigEdit } from './save-config.js';

const WORKER_ACTIONS = ['restart', 'enable', 'disable'] as const;
type WorkerAction = (typeof WORKER_ACTIONS)[number];

export interface WorkerRoutesOptions {
  readonly system: VisionSystem;
  /** What changes a camera's workers: the system, or a cluster's control. */
  readonly control: SystemControl;
  /** Writes a change to the config file (--save-config). */
  readonly save: (edit: ConfigEdit) => Promise<boolean>;
}

export function registerWorkerRoutes(app: FastifyInstance, options: WorkerRoutesOptions): void {
  for (const action of WORKER_ACTIONS) {
    app.post<{ Params: { id: string; worker: string } }>(
      `/api/cameras/:id/workers/:worker/${action}`,
      { schema: { params: idParams('id', 'worker') } },
      async (request) => {
        const { id, worker } = request.params;
        return workerAction(options, id, worker, action);
      },
    );
    app.post<{ Params: { name: string } }>(`/api/shared/:name/${action}`, { schema: { params: idParams('name') } }, async (request) =>
      workerAction(options, null, request.params.name, action),
    );
  }
}

async function workerAction(options: WorkerRoutesOptions, camera: string | null, worker: string, action: WorkerAction): Promise<unknown> {
  const { system, control } = options;
  if (action === 'restart') {
    await (camera === null ? system.workers.restartShared(worker) : control.workers.restart(camera, worker));
  } else {
    const enabled = action === 'enable';
    await (camera === null ? system.workers.setSharedEnabled(worker, enabled) : control.workers.setEnabled(camera, worker, enabled));
    await options.save({ kind: 'worker-enabled', camera, worker, enabled });
  }
  return { ok: true, camera, worker, change: action === 'restart' ? 'worker-restarted' : action === 'enable' ? 'worker-enabled' : 'worker-disabled' };
}
