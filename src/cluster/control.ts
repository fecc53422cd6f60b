/**
 * The system's camera controls as cluster mode must carry them out. A node's
 * system runs only the cameras it holds a lease for, so a change made on it
 * directly would start a camera no lease covers (twice in the cluster, at
 * worst) or be undone by the next claim. Through this object every change goes
 * through the cluster instead: a camera entry, validated here with the same
 * schema as the config file, becomes the desired state in KV (add and replace
 * are one put); a worker restart goes to the camera's owner by request/reply.
 * The HTTP control plane takes it in place of the system's own calls.
 *
 * Enabling or disabling a worker is per process and has no cluster-wide form
 * yet: refused with ERR_CLUSTER_UNSUPPORTED rather than done on one node only.
 */
import type { VisionSystem } from '../pipeline/index.js';
import { ClusterError, RemoteControlError } from './errors.js';
import type { ControlReply, ControlRequest } from './messages.js';

/** The write calls of a control plane (the shape of VisionSystem's own). */
export interface ClusterCameraControl {
  addCamera(id: string, entry: unknown): Promise<void>;
  replaceCamera(id: string, entry: unknown): Promise<void>;
  removeCamera(id: string): Promise<void>;
  restartWorker(camera: string, worker: string): Promise<void>;
  setWorkerEnabled(camera: string, worker: string, enabled: boolean): Promise<void>;
}

export interface ClusterControlOptions {
  /** The node changes go through (ClusterNode.control). */
  readonly node: { control(request: ControlRequest): Promise<ControlReply> };
  /** This node's system: its defaults and models validate camera entries. */
  readonly system: VisionSystem;
}

export function clusterCameraControl(options: ClusterControlOptions): ClusterCameraControl {
  const { node, system } = options;
  const send = async (request: ControlRequest): Promise<void> => {
    const reply = await node.control(request);
    if (!reply.ok) throw new RemoteControlError(reply.code, reply.message);
  };
  const put = async (id: string, entry: unknown): Promise<void> => {
    // Refused here with every issue (ERR_CONFIG), not later on whichever node claims it.
    system.resolveCameraEntry(id, entry);
    await send({ op: 'add-camera', camera: id, config: entry as Record<string, unknown> });
  };
  return {
    addCamera: put,
    replaceCamera: put,
    removeCamera: (id) => send({ op: 'remove-camera', camera: id }),
    restartWorker: (camera, worker) => send({ op: 'restart-worker', camera, worker }),
    setWorkerEnabled: () =>
      Promise.reject(
        new ClusterError(
          'ERR_CLUSTER_UNSUPPORTED',
          'in cluster mode a worker cannot be enabled or disabled yet (it would change one node only); change the camera entry instead',
        ),
      ),
  };
}
