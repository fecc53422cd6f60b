/**
 * The system's workers, as a user asks of them (`system.workers`; ADR 0062): restart one, stop or start it
 * again, the same for a shared worker, and what each is (its profile, worker-profile.ts).
 *
 * Contract: the changes run one at a time, in call order, with the cameras' (system.cameras), and each
 * that changes something emits a `config-change` event (setting a worker to what it is already changes
 * nothing). A switch that would break a cascade is refused (ERR_WORKER_CASCADE, ADR 0076). A camera or worker the system does not have: ERR_UNKNOWN_CAMERA / ERR_UNKNOWN_WORKER for a
 * change, an empty answer for a read. The profiles are those built with the workers (the same objects
 * the results carry): nothing is rebuilt. After close: ERR_SYSTEM_CLOSED.
 */
import { cascadeSwitch } from '../../config/index.js';
import { PipelineError, type WorkerProfile } from '../base/index.js';
import { SystemPart } from './system-part.js';

export class SystemWorkers extends SystemPart {
  /** A fresh incarnation of a camera's worker, with a fresh restart budget (also for a failed or disabled one). */
  restart(camera: string, worker: string): Promise<void> {
    const core = this.core;
    return core.exclusive(async () => {
      await core.worker(camera, worker).restartWorker(worker);
      core.changed('worker-restarted', camera, worker);
    });
  }

  /**
   * Stops (false) or starts again (true) one worker of a camera. ERR_WORKER_CASCADE, nothing changed, when the switch
   * would leave an enabled crop worker reading a disabled one (off: a worker others crop; on: a crop worker whose
   * `crops.of` is off): the config's cascade rule (ADR 0056), asked of src/config, so a switch a program or
   * `--save-config` keeps never leaves a camera, or its file, in a state `config check` refuses (ADR 0076).
   */
  setEnabled(camera: string, worker: string, enabled: boolean): Promise<void> {
    const core = this.core;
    return core.exclusive(async () => {
      const pipeline = core.worker(camera, worker);
      if (pipeline.workerEnabled(worker) === enabled) return;
      const running = (core.cameraConfig(camera)?.workers ?? []).map((w) => ({
        id: w.id,
        enabled: pipeline.workerEnabled(w.id),
        of: 'crops' in w && w.crops !== undefined ? w.crops.of : null,
      }));
      const { dependents, needs } = cascadeSwitch(running, worker, enabled);
      if (dependents.length > 0)
        throw new PipelineError(
          'ERR_WORKER_CASCADE',
          `camera ${camera}: worker ${worker} cannot be switched off while ${dependents.join(', ')} ${dependents.length === 1 ? 'reads its crops' : 'read its crops'} (crops.of) and ${dependents.length === 1 ? 'runs' : 'run'}: switch ${dependents.join(', ')} off first`,
        );
      if (needs !== null)
        throw new PipelineError(
          'ERR_WORKER_CASCADE',
          `camera ${camera}: worker ${worker} cannot be switched on while ${needs}, whose crops it reads (crops.of), is off: switch ${needs} on first`,
        );
      await pipeline.setWorkerEnabled(worker, enabled);
      core.changed(enabled ? 'worker-enabled' : 'worker-disabled', camera, worker);
    });
  }

  /** restart() for a shared worker, by its name. */
  restartShared(name: string): Promise<void> {
    const core = this.core;
    return core.exclusive(async () => {
      core.sharedWorker(name);
      await core.sharedWorkers.restart(name);
      core.changed('worker-restarted', null, name);
    });
  }

  /** setEnabled() for a shared worker, by its name. */
  setSharedEnabled(name: string, enabled: boolean): Promise<void> {
    const core = this.core;
    return core.exclusive(async () => {
      core.sharedWorker(name);
      if (core.sharedWorkers.enabled(name) === enabled) return;
      await core.sharedWorkers.setEnabled(name, enabled);
      core.changed(enabled ? 'worker-enabled' : 'worker-disabled', null, name);
    });
  }

  /**
   * What the workers that read a camera are: its own, in config order, then the shared workers that name
   * it. A camera the system does not have (removed meanwhile) has none.
   */
  profiles(camera: string): WorkerProfile[] {
    const own = this.core.cameras.get(camera)?.workerProfiles;
    if (own === undefined) return [];
    for (const shared of this.core.shared.values()) if (shared.cameras.includes(camera)) own.push(shared.profile);
    return own;
  }

  /**
   * A worker of a camera as a result names it: its own worker `worker`, or the shared worker of that name
   * (`shared` says which; not given: the camera's own first). Undefined when there is none (any more).
   */
  profile(camera: string, worker: string, shared?: boolean): WorkerProfile | undefined {
    if (shared !== true) {
      const own = this.core.cameras.get(camera)?.workerProfile(worker);
      if (own !== undefined || shared === false) return own;
    }
    const profile = this.core.shared.get(worker)?.profile;
    return profile?.cameras.includes(camera) === true ? profile : undefined;
  }
}
