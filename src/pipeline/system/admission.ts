/**
 * Camera admission: whether a camera entry that came from the network (the
 * HTTP API's body, a cluster's desired state) may run here, under the
 * operator's policy (src/config references.ts: no programs without
 * allowExec, only allowed `${NAME}`s), and the entry as this system would
 * take it (its references expanded from an environment, when one is given).
 *
 * Contract: a pure check; it never throws for a bad entry (the caller turns
 * a problem into its own error code: ERR_HTTP_EXEC_NOT_ALLOWED,
 * ERR_CLUSTER_ENV_REFERENCE…), it starts nothing, and a problem's message
 * names the variable and the path, never a value. The schema's checks come
 * later, in system.cameras.add/replace; their errors about an entry whose
 * references were expanded go through redactExpanded() (src/config) before anyone sees
 * them (a schema message quotes a value: a port, a scheme).
 */
import { checkNetworkCamera, referenceAllowed, substituteEnv, type ReferencePolicy } from '../../config/index.js';

export interface CameraAdmissionPolicy {
  /** `command` and file `module` workers may come from the network. */
  readonly allowExec: boolean;
  /** Which `${NAME}` references an entry may hold: the config file's own, and names with these prefixes. */
  readonly references: ReferencePolicy;
  /** Expand the entry's references from this environment (a cluster node's own). Absent: kept as written. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface AdmissionProblem {
  /** A program it would run (exec), or a reference the policy does not allow or the environment cannot fill (reference). */
  readonly kind: 'exec' | 'reference';
  /** Where in the entry, dotted (workers.0.command); '' for the entry itself. */
  readonly path: string;
  readonly message: string;
}

export type CameraAdmission =
  | {
      readonly admitted: true;
      readonly entry: unknown;
      /** The values `policy.env` put in the entry: to be masked wherever the entry is shown. */
      readonly secrets: readonly string[];
    }
  | { readonly admitted: false; readonly problem: AdmissionProblem };

export function admitCamera(entry: unknown, policy: CameraAdmissionPolicy): CameraAdmission {
  const problem = checkNetworkCamera(entry, { allowExec: policy.allowExec, references: policy.references });
  if (problem !== null) return { admitted: false, problem };
  if (policy.env === undefined) return { admitted: true, entry, secrets: [] };
  const expanded = substituteEnv(entry, policy.env);
  const issue = expanded.issues[0];
  if (issue !== undefined) return { admitted: false, problem: { kind: 'reference', path: issue.path.join('.'), message: issue.message } };
  return { admitted: true, entry: expanded.value, secrets: [...new Set(expanded.used.values())] };
}

/**
 * The values the policy's names hold in `env`, by name: what an entry from the network may write as `${NAME}` here.
 * The HTTP API writes a secret it showed masked back as its reference (ADR 0108), never in clear.
 */
export function referableValues(policy: ReferencePolicy, env: Readonly<Record<string, string | undefined>>): Map<string, string> {
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== '' && referenceAllowed(name, policy)) values.set(name, value);
  return values;
}
