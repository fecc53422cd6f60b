/**
 * The system's camera controls as cluster mode must carry them out. A node's
 * system runs only the cameras it holds a lease for, so a change made on it
 * directly would start a camera no lease covers (twice in the cluster, at
 * worst) or be undone by the next claim. Through this object every change goes
 * through the cluster instead: a camera entry, validated here with the same
 * schema as the config file, becomes the desired state in KV (add and replace
 * are one put; zones, masks and lines are written into the camera's entry); a
 * worker restart goes to the camera's owner by request/reply.
 * The HTTP control plane takes it in place of the system's own calls.
 *
 * Enabling or disabling a worker is per process and has no cluster-wide form
 * yet: refused with ERR_CLUSTER_UNSUPPORTED rather than done on one node only.
 * The names from before the system's parts (addCamera, …) stay until 0.2.0,
 * each warning once per process (CHANGELOG.md, Deprecated).
 */
import { deprecationCode, warnDeprecated } from '../internal/deprecated.js';
import { cameraAreasOf, type AreasInput, type CameraAreas, type SystemControl, type VisionSystem } from '../pipeline/index.js';
import { ClusterError, RemoteControlError } from './errors.js';
import type { ControlReply, ControlRequest } from './messages.js';

/** The write calls of a control plane, in the system's own shape (system.cameras, system.workers). */
export interface ClusterCameraControl extends SystemControl {
  /** @deprecated `cameras.add` (removed in 0.2.0). */
  readonly addCamera: (id: string, entry: unknown) => Promise<void>;
  /** @deprecated `cameras.replace` (removed in 0.2.0). */
  readonly replaceCamera: (id: string, entry: unknown) => Promise<void>;
  /** @deprecated `cameras.remove` (removed in 0.2.0). */
  readonly removeCamera: (id: string) => Promise<void>;
  /** @deprecated `workers.restart` (removed in 0.2.0). */
  readonly restartWorker: (camera: string, worker: string) => Promise<void>;
  /** @deprecated `workers.setEnabled` (removed in 0.2.0). */
  readonly setWorkerEnabled: (camera: string, worker: string, enabled: boolean) => Promise<void>;
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
    if (!reply.ok) throw new RemoteControlError(reply.code, reply.message, reply.issues);
  };
  const put = async (id: string, entry: unknown): Promise<void> => {
    // Refused here with every issue (ERR_CONFIG), not later on whichever node claims it.
    system.config.resolveCamera(id, entry);
    await send({ op: 'add-camera', camera: id, config: entry as Record<string, unknown> });
  };
  const cameras = {
    add: put,
    replace: put,
    remove: (id: string) => send({ op: 'remove-camera', camera: id }),
    // Into the camera's desired entry (the file's syntax: values as given are escaped), checked by its owner (ERR_CONFIG
    // with its issues), who applies them live. Answered with what was asked (an absent kind is none), nothing from the bus.
    setAreas: async (id: string, areas: AreasInput, options: { readonly asWritten?: boolean } = {}): Promise<CameraAreas> => {
      await send({ op: 'set-areas', camera: id, areas: options.asWritten === true ? { ...areas } : system.config.asWritten({ ...areas }) });
      return cameraAreasOf(areas);
    },
  };
  const workers = {
    restart: (camera: string, worker: string) => send({ op: 'restart-worker', camera, worker }),
    setEnabled: (): Promise<void> =>
      Promise.reject(
        new ClusterError(
          'ERR_CLUSTER_UNSUPPORTED',
          'in cluster mode a worker cannot be enabled or disabled yet (it would change one node only); change the camera entry instead',
        ),
      ),
  };
  /* eslint-disable @typescript-eslint/no-deprecated -- the old names are defined here, until 0.2.0 */
  return {
    cameras,
    workers,
    addCamera: deprecated('addCamera', 'cameras.add', cameras.add),
    replaceCamera: deprecated('replaceCamera', 'cameras.replace', cameras.replace),
    removeCamera: deprecated('removeCamera', 'cameras.remove', cameras.remove),
    restartWorker: deprecated('restartWorker', 'workers.restart', workers.restart),
    setWorkerEnabled: deprecated('setWorkerEnabled', 'workers.setEnabled', workers.setEnabled),
  };
  /* eslint-enable @typescript-eslint/no-deprecated */
}

/** An old name: hands on to its new call, warning once per process (FRAMESUPPLIER_DEP_CLUSTER_CONTROL_<OLD_NAME>). */
function deprecated<A extends unknown[]>(old: string, now: string, call: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return (...args) => {
    warnDeprecated(deprecationCode('CLUSTER_CONTROL', old), `clusterCameraControl().${old}() is deprecated: call .${now}() (CHANGELOG.md; removed in 0.2.0)`);
    return call(...args);
  };
}
