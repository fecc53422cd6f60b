/**
 * VisionSystem's calls from before its parts (ADR 0062), kept as deprecated aliases until 0.2.0 (CHANGELOG.md
 * lists each with its new name). Each still works, hands on to its part's call, and warns once per process
 * with a DeprecationWarning whose code names it (src/internal/deprecated.ts). The whole file goes in 0.2.0.
 *
 * `system.workers(camera)` is the one old call whose name is now a part's: the part answers being called,
 * as the old call did, until then.
 */
import { deprecationCode, warnDeprecated } from '../../internal/deprecated.js';
import type { SystemCameras } from './system-cameras.js';
import type { SystemConfig } from './system-config.js';
import type { SystemObjects } from './system-objects.js';
import type { SystemResults } from './system-results.js';
import type { SystemWorkers } from './system-workers.js';
import type { WorkerProfile } from '../base/index.js';

/** The parts an old call hands on to. */
interface Parts {
  readonly cameras: SystemCameras;
  readonly workers: SystemWorkers;
  readonly objects: SystemObjects;
  readonly config: SystemConfig;
  readonly results: SystemResults;
}

/** Old name → [part, its call]: the one list the aliases and their warnings are made from. */
export const DEPRECATED_SYSTEM_CALLS = {
  addCamera: ['cameras', 'add'],
  replaceCamera: ['cameras', 'replace'],
  removeCamera: ['cameras', 'remove'],
  setCameraAreas: ['cameras', 'setAreas'],
  cameraAreas: ['cameras', 'areas'],
  watchCamera: ['cameras', 'watch'],
  cameraStreamNames: ['cameras', 'streamNames'],
  cameraPicture: ['cameras', 'picture'],
  cropFeeds: ['cameras', 'cropFeeds'],
  restartWorker: ['workers', 'restart'],
  setWorkerEnabled: ['workers', 'setEnabled'],
  restartSharedWorker: ['workers', 'restartShared'],
  setSharedWorkerEnabled: ['workers', 'setSharedEnabled'],
  workerProfile: ['workers', 'profile'],
  trackedObjects: ['objects', 'tracked'],
  cameraZones: ['objects', 'zones'],
  cameraLines: ['objects', 'lines'],
  zoneCounts: ['objects', 'zoneCounts'],
  lineCounts: ['objects', 'lineCounts'],
  snapshotSaved: ['objects', 'snapshotSaved'],
  setSnapshotSource: ['objects', 'setSnapshotSource'],
  currentConfig: ['config', 'current'],
  maskedConfig: ['config', 'masked'],
  maskedCameraConfig: ['config', 'maskedCamera'],
  admitCamera: ['config', 'admit'],
  resolveCameraEntry: ['config', 'resolveCamera'],
  forecastCamera: ['config', 'forecast'],
  setOutputGate: ['results', 'setFence'],
  releaseWithheld: ['results', 'releaseWithheld'],
  recordHop: ['results', 'recordHop'],
} as const satisfies Record<string, readonly [keyof Parts, string]>;

type OldCalls = typeof DEPRECATED_SYSTEM_CALLS;
type NewCall<K extends keyof OldCalls> = Parts[OldCalls[K][0]][OldCalls[K][1] & keyof Parts[OldCalls[K][0]]];

/** The old calls, typed as their new ones; each warns once per process. */
export interface DeprecatedSystemCalls {
  /** @deprecated call `system.cameras.add()` (removed in 0.2.0). */ readonly addCamera: NewCall<'addCamera'>;
  /** @deprecated call `system.cameras.replace()` (removed in 0.2.0). */ readonly replaceCamera: NewCall<'replaceCamera'>;
  /** @deprecated call `system.cameras.remove()` (removed in 0.2.0). */ readonly removeCamera: NewCall<'removeCamera'>;
  /** @deprecated call `system.cameras.setAreas()` (removed in 0.2.0). */ readonly setCameraAreas: NewCall<'setCameraAreas'>;
  /** @deprecated call `system.cameras.areas()` (removed in 0.2.0). */ readonly cameraAreas: NewCall<'cameraAreas'>;
  /** @deprecated call `system.cameras.watch()` (removed in 0.2.0). */ readonly watchCamera: NewCall<'watchCamera'>;
  /** @deprecated call `system.cameras.streamNames()` (removed in 0.2.0). */ readonly cameraStreamNames: NewCall<'cameraStreamNames'>;
  /** @deprecated call `system.cameras.picture()` (removed in 0.2.0). */ readonly cameraPicture: NewCall<'cameraPicture'>;
  /** @deprecated call `system.cameras.cropFeeds()` (removed in 0.2.0). */ readonly cropFeeds: NewCall<'cropFeeds'>;
  /** @deprecated call `system.workers.restart()` (removed in 0.2.0). */ readonly restartWorker: NewCall<'restartWorker'>;
  /** @deprecated call `system.workers.setEnabled()` (removed in 0.2.0). */ readonly setWorkerEnabled: NewCall<'setWorkerEnabled'>;
  /** @deprecated call `system.workers.restartShared()` (removed in 0.2.0). */ readonly restartSharedWorker: NewCall<'restartSharedWorker'>;
  /** @deprecated call `system.workers.setSharedEnabled()` (removed in 0.2.0). */ readonly setSharedWorkerEnabled: NewCall<'setSharedWorkerEnabled'>;
  /** @deprecated call `system.workers.profile()` (removed in 0.2.0). */ readonly workerProfile: NewCall<'workerProfile'>;
  /** @deprecated call `system.objects.tracked()` (removed in 0.2.0). */ readonly trackedObjects: NewCall<'trackedObjects'>;
  /** @deprecated call `system.objects.zones()` (removed in 0.2.0). */ readonly cameraZones: NewCall<'cameraZones'>;
  /** @deprecated call `system.objects.lines()` (removed in 0.2.0). */ readonly cameraLines: NewCall<'cameraLines'>;
  /** @deprecated call `system.objects.zoneCounts()` (removed in 0.2.0). */ readonly zoneCounts: NewCall<'zoneCounts'>;
  /** @deprecated call `system.objects.lineCounts()` (removed in 0.2.0). */ readonly lineCounts: NewCall<'lineCounts'>;
  /** @deprecated call `system.objects.snapshotSaved()` (removed in 0.2.0). */ readonly snapshotSaved: NewCall<'snapshotSaved'>;
  /** @deprecated call `system.objects.setSnapshotSource()` (removed in 0.2.0). */ readonly setSnapshotSource: NewCall<'setSnapshotSource'>;
  /** @deprecated call `system.config.current()` (removed in 0.2.0). */ readonly currentConfig: NewCall<'currentConfig'>;
  /** @deprecated call `system.config.masked()` (removed in 0.2.0). */ readonly maskedConfig: NewCall<'maskedConfig'>;
  /** @deprecated call `system.config.maskedCamera()` (removed in 0.2.0). */ readonly maskedCameraConfig: NewCall<'maskedCameraConfig'>;
  /** @deprecated call `system.config.admit()` (removed in 0.2.0). */ readonly admitCamera: NewCall<'admitCamera'>;
  /** @deprecated call `system.config.resolveCamera()` (removed in 0.2.0). */ readonly resolveCameraEntry: NewCall<'resolveCameraEntry'>;
  /** @deprecated call `system.config.forecast()` (removed in 0.2.0). */ readonly forecastCamera: NewCall<'forecastCamera'>;
  /** @deprecated call `system.results.setFence()` (removed in 0.2.0). */ readonly setOutputGate: NewCall<'setOutputGate'>;
  /** @deprecated call `system.results.releaseWithheld()` (removed in 0.2.0). */ readonly releaseWithheld: NewCall<'releaseWithheld'>;
  /** @deprecated call `system.results.recordHop()` (removed in 0.2.0). */ readonly recordHop: NewCall<'recordHop'>;
}

/** The table and the interface name the same calls (a name in only one fails to compile here). */
const sameNames: [Exclude<keyof OldCalls, keyof DeprecatedSystemCalls>, Exclude<keyof DeprecatedSystemCalls, keyof OldCalls>] extends [never, never]
  ? true
  : never = true;
void sameNames;

function warn(old: string, now: string): void {
  warnDeprecated(deprecationCode('SYSTEM', old), `VisionSystem.${old}() is deprecated: call system.${now}() (CHANGELOG.md; removed in 0.2.0)`);
}

/**
 * What VisionSystem extends until 0.2.0: a class whose prototype has the old calls, each handing on to the
 * part of `this` that DEPRECATED_SYSTEM_CALLS names.
 */
export const DeprecatedCalls = ((): abstract new () => DeprecatedSystemCalls => {
  class WithOldCalls {}
  for (const [old, [part, call]] of Object.entries(DEPRECATED_SYSTEM_CALLS)) {
    Object.defineProperty(WithOldCalls.prototype, old, {
      configurable: true,
      writable: true,
      value: function (this: Parts, ...args: unknown[]): unknown {
        warn(old, `${part}.${call}`);
        const target = this[part] as unknown as Record<string, (...a: unknown[]) => unknown>;
        return target[call]!(...args);
      },
    });
  }
  return WithOldCalls as unknown as abstract new () => DeprecatedSystemCalls;
})();

/** The old `system.workers(camera)`, answered by the workers part while it is called. */
export interface DeprecatedWorkersCall {
  /** @deprecated call `system.workers.profiles(camera)` (removed in 0.2.0). */
  (camera: string): WorkerProfile[];
}

/** The workers part, callable as the old `workers(camera)` was (it warns); everything else is the part's own. */
export function callableWorkers(part: SystemWorkers): SystemWorkers & DeprecatedWorkersCall {
  const call = (camera: string): WorkerProfile[] => {
    warn('workers', 'workers.profiles');
    return part.profiles(camera);
  };
  return new Proxy(call, {
    get: (_, key) => {
      const value: unknown = Reflect.get(part, key);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(part) : value;
    },
    has: (_, key) => Reflect.has(part, key),
    getPrototypeOf: () => Object.getPrototypeOf(part) as object | null,
  }) as unknown as SystemWorkers & DeprecatedWorkersCall;
}
