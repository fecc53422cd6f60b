/**
 * Which camera entries from the cluster this node runs (ADR 0021, untrusted
 * bus). An entry is parsed and held to this node's rule: no programs
 * (command or file-module workers) unless cluster.allowExec is on or the
 * node's own file names the camera with this very entry, and only the
 * `${NAME}` references its policy allows, expanded from its own environment.
 *
 * admit() throws the coded refusal (ERR_CLUSTER_EXEC_NOT_ALLOWED,
 * ERR_CLUSTER_ENV_REFERENCE, ERR_CLUSTER_MESSAGE, and ERR_CONFIG for an
 * entry the config's schema refuses) for a caller that answers
 * someone; admitted() reads the desired entry and refuses it once (counted,
 * logged, not tried again until the entry changes), for the lease and move
 * parts that would otherwise claim and refuse it every tick.
 */
import type { CameraAdmissionPolicy, VisionSystem } from '../pipeline/index.js';
import type { Bus, Refusals } from './context.js';
import { ClusterError } from './errors.js';
import { parseJson } from './messages.js';

export interface AdmissionOptions {
  readonly nodeId: string;
  readonly bus: Bus;
  readonly refusals: Refusals;
  /** This node's own cameras (its file's): an entry equal to its own runs even without allowExec. */
  readonly seed: Readonly<Record<string, unknown>>;
  /** The system's admission (the same rule the HTTP API applies), under this node's policy; its env expands references. */
  readonly system: Pick<VisionSystem, 'config'>;
  readonly policy: CameraAdmissionPolicy & { readonly env: Readonly<Record<string, string | undefined>> };
}

/** A camera entry as this node may run it: its config expanded, and the values this node's environment filled in. */
export interface AdmittedEntry {
  readonly config: Record<string, unknown>;
  /** Handed to the system with the entry (cameras.add/replace), which masks them wherever it shows its config. */
  readonly secrets: readonly string[];
}

/** A desired entry as this node may run it, and the stored bytes it came from (and their revision). */
export interface Admitted extends AdmittedEntry {
  readonly value: Uint8Array;
  readonly revision: number;
  /** An error about running it as it may be logged: no value this node's environment filled in. */
  readonly redact: (error: unknown) => unknown;
}

/** How long an entry the system refused is left before this node tries it again (unchanged). */
export const SYSTEM_RETRY_MS = 60_000;

export class Admission {
  readonly #o: AdmissionOptions;
  /** Desired entries this node refused to run, by revision: not claimed again until the entry changes. */
  readonly #refusedEntry = new Map<string, number>();
  /** Desired entries this node's system refused (cameras.add or replace threw), by revision: not tried again until the entry changes or the time is past. */
  readonly #failedEntry = new Map<string, { readonly revision: number; readonly until: number }>();

  constructor(options: AdmissionOptions) {
    this.#o = options;
  }

  /** A camera entry from the cluster, as this node may run it; throws the coded refusal. */
  admit(camera: string, value: Uint8Array): AdmittedEntry {
    return this.#admit(camera, value);
  }

  #admit(camera: string, value: Uint8Array): Omit<Admitted, 'value' | 'revision'> {
    const entry = parseJson(value, `desired camera ${camera}`);
    const own = this.#o.seed[camera];
    // Its areas set live (set-areas) keep it this node's own: zones, masks and lines run no program.
    const pinned = own !== undefined && this.alikeButAreas(camera, own as Record<string, unknown>, entry);
    const admission = this.#o.system.config.admit(entry, { ...this.#o.policy, allowExec: this.#o.policy.allowExec || pinned });
    if (admission.admitted) {
      // An entry the config's schema refuses would be claimed, fail to start and be released every tick on every node:
      // checked here as cameras.add checks it (ERR_CONFIG, every issue), so it is refused once like the rest.
      try {
        this.#o.system.config.resolveCamera(camera, admission.entry);
      } catch (error) {
        // Answered on the bus and logged: never with a value this node's environment filled in.
        throw this.#o.system.config.redactEntryError(error, camera, entry, admission.secrets);
      }
      return {
        config: admission.entry as Record<string, unknown>,
        secrets: admission.secrets,
        redact: (error) => this.#o.system.config.redactEntryError(error, camera, entry, admission.secrets),
      };
    }
    const { problem } = admission;
    const where = `cameras.${camera}${problem.path === '' ? '' : `.${problem.path}`}`;
    throw problem.kind === 'exec'
      ? new ClusterError(
          'ERR_CLUSTER_EXEC_NOT_ALLOWED',
          `${where}: ${problem.message} (this node runs such cameras from the cluster only with cluster.allowExec: true, or from its own file)`,
        )
      : new ClusterError('ERR_CLUSTER_ENV_REFERENCE', `${where}: ${problem.message} on node ${this.#o.nodeId}`);
  }

  /**
   * The camera's desired entry as this node may run it, or null: absent, refused (logged once, not tried again until it
   * changes), or refused by the system within the last SYSTEM_RETRY_MS.
   */
  async admitted(camera: string): Promise<Admitted | null> {
    const wanted = await this.#o.bus.desired!.get(camera);
    if (wanted === null || wanted.operation !== 'PUT' || this.#refusedEntry.get(camera) === wanted.revision) return null;
    const failed = this.#failedEntry.get(camera);
    if (failed !== undefined && failed.revision === wanted.revision && Date.now() < failed.until) return null;
    try {
      return { ...this.#admit(camera, wanted.value), value: wanted.value, revision: wanted.revision };
    } catch (error) {
      this.#refusedEntry.set(camera, wanted.revision);
      this.#o.refusals.refuse(error, `desired entry of ${camera}`, `desired:${camera}@${wanted.revision}`);
      return null;
    }
  }

  /**
   * This node's system refused the entry (it threw starting or replacing the camera; logged there with its code): not
   * claimed again for SYSTEM_RETRY_MS unless it changes, so the camera is not claimed, refused and released every tick
   * (a line in the log and two in the claims stream each time, for as long as the node runs). Retried after: the
   * refusal may pass (a camera of the same id a program added to this node's system, since removed).
   */
  systemRefused(camera: string, admitted: Admitted): void {
    this.#failedEntry.set(camera, { revision: admitted.revision, until: Date.now() + SYSTEM_RETRY_MS });
  }

  /** Two camera entries the same but for their zones, masks and lines (what set-areas changes). */
  alikeButAreas(camera: string, a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
    const { config } = this.#o.system;
    return JSON.stringify(config.entryWithAreas(camera, a, {})) === JSON.stringify(config.entryWithAreas(camera, b, {}));
  }

  /** Forgets what it remembers of cameras no longer desired, and system refusals past their time (each tick). */
  forgetUnless(desired: ReadonlySet<string>): void {
    const now = Date.now();
    for (const camera of this.#refusedEntry.keys()) if (!desired.has(camera)) this.#refusedEntry.delete(camera);
    for (const [camera, failed] of this.#failedEntry) if (!desired.has(camera) || now >= failed.until) this.#failedEntry.delete(camera);
  }
}
