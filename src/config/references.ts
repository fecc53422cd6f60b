/**
 * What values that arrive from the network may hold (the HTTP API's camera
 * entries; the cluster's, from the bus), one rule for every door:
 *
 * - Programs: a `command` worker, or a `module` worker naming a file, runs
 *   code as the server's user. Such a camera comes from the config file, or
 *   from the network only where the operator allowed it (`allowExec`).
 *   Built-in modules (`builtin:…`), model and shared workers are allowed.
 *   A `lavfi:` source (the camera's or a stream's) is held to the same rule:
 *   its filter graph is ffmpeg's, whose filters read and write files
 *   (`movie=`, a filter's `result=`) as the server's user; so is a
 *   `capture.inputFormat` of lavfi, which makes any source a filter graph.
 * - Environment references: a `${NAME}` is kept as a reference and expanded
 *   where the config is read again (a saved file, another node), so it could
 *   reach any variable of that process (a cloud key, the API token) into a
 *   value the caller controls. A reference may name only a variable the
 *   config file itself references, or one matching the operator's allowed
 *   prefixes. `$${` (a literal `${`) is always allowed. A vlm worker's
 *   `apiKeyEnv` names a variable whose value is sent to the worker's `url`
 *   (ADR 0050): it is held to the same rule, or a caller could send any
 *   variable of the process to a server of its choosing.
 *
 * The config records what its file referenced (envOf), so the rule and the
 * masking of substituted values work from the same facts.
 */
import { classifySource } from '../internal/source-kind.js';
import { referencesIn } from './env.js';
import { streamEntrySource } from './schema.js';

export interface ReferencePolicy {
  /** Variables that may be referenced: the config file's own references. */
  readonly names: readonly string[];
  /** And any variable whose name starts with one of these (e.g. CAM_). */
  readonly prefixes?: readonly string[];
}

export interface NetworkEntryPolicy {
  readonly allowExec: boolean;
  readonly references: ReferencePolicy;
}

export interface NetworkEntryProblem {
  readonly kind: 'exec' | 'reference';
  /** Where in the entry, dotted (workers.0.command). */
  readonly path: string;
  readonly message: string;
}

export function referenceAllowed(name: string, policy: ReferencePolicy): boolean {
  return policy.names.includes(name) || (policy.prefixes ?? []).some((prefix) => prefix.length > 0 && name.startsWith(prefix));
}

/** The first thing in a camera entry from the network that the policy does not allow, or null. */
export function checkNetworkCamera(entry: unknown, policy: NetworkEntryPolicy): NetworkEntryProblem | null {
  if (!policy.allowExec && entry !== null && typeof entry === 'object') {
    const graph = filterGraphSource(entry);
    if (graph !== null)
      return { kind: 'exec', path: graph, message: "a lavfi: source runs an ffmpeg filter graph, whose filters read and write the server's files" };
    if (forcesFilterGraph(entry))
      return {
        kind: 'exec',
        path: 'capture.inputFormat',
        message: "inputFormat lavfi reads the source as an ffmpeg filter graph, whose filters read and write the server's files",
      };
    const workers = (entry as { workers?: unknown }).workers;
    if (Array.isArray(workers)) {
      for (const [i, worker] of workers.entries()) {
        if (worker === null || typeof worker !== 'object') continue;
        const w = worker as { command?: unknown; module?: unknown };
        if (w.command !== undefined) return { kind: 'exec', path: `workers.${i}.command`, message: 'a command worker runs a program' };
        if (w.module !== undefined && !(typeof w.module === 'string' && w.module.startsWith('builtin:'))) {
          return { kind: 'exec', path: `workers.${i}.module`, message: 'a module worker that names a file runs its code' };
        }
      }
    }
  }
  const keyed = apiKeyEnvOf(entry, policy.references);
  if (keyed !== null) return keyed;
  return firstReference(entry, policy.references, []);
}

/** Where a camera entry names a lavfi: source (its own, or a stream's), dotted; null when none does. */
function filterGraphSource(entry: object): string | null {
  const isGraph = (source: unknown): boolean => {
    if (typeof source !== 'string') return false;
    const kind = classifySource(source);
    return 'kind' in kind && kind.kind === 'lavfi';
  };
  if (isGraph((entry as { source?: unknown }).source)) return 'source';
  const streams = (entry as { streams?: unknown }).streams;
  if (streams === null || typeof streams !== 'object') return null;
  for (const [name, stream] of Object.entries(streams as Record<string, unknown>)) if (isGraph(streamEntrySource(stream))) return `streams.${name}`;
  return null;
}

/**
 * Whether the entry's capture forces ffmpeg's lavfi input format: any source (a v4l2: device, a file name) is then
 * read as a filter graph, a lavfi: source under another name. ffmpeg takes a comma-separated list of names there.
 */
function forcesFilterGraph(entry: object): boolean {
  const format = (entry as { capture?: { inputFormat?: unknown } | null }).capture?.inputFormat;
  return typeof format === 'string' && format.split(',').some((name) => name.trim().toLowerCase() === 'lavfi');
}

/** A vlm worker's apiKeyEnv the reference rule does not allow, or null. */
function apiKeyEnvOf(entry: unknown, policy: ReferencePolicy): NetworkEntryProblem | null {
  const workers = entry !== null && typeof entry === 'object' ? (entry as { workers?: unknown }).workers : undefined;
  if (!Array.isArray(workers)) return null;
  for (const [i, worker] of workers.entries()) {
    const name = (worker as { vlm?: { apiKeyEnv?: unknown } } | null)?.vlm?.apiKeyEnv;
    if (typeof name === 'string' && !referenceAllowed(name, policy)) {
      return {
        kind: 'reference',
        path: `workers.${i}.vlm.apiKeyEnv`,
        message: `apiKeyEnv ${name} names an environment variable the config file does not reference (its value would be sent to vlm.url; allowed: the file's own references${(policy.prefixes ?? []).length > 0 ? ` and names starting with ${(policy.prefixes ?? []).join(', ')}` : ''})`,
      };
    }
  }
  return null;
}

function firstReference(value: unknown, policy: ReferencePolicy, path: (string | number)[]): NetworkEntryProblem | null {
  if (typeof value === 'string') {
    for (const name of referencesIn(value)) {
      if (!referenceAllowed(name, policy)) {
        return {
          kind: 'reference',
          path: path.join('.'),
          message: `\${${name}} names an environment variable the config file does not reference (allowed: the file's own references${(policy.prefixes ?? []).length > 0 ? ` and names starting with ${(policy.prefixes ?? []).join(', ')}` : ''}); write $\${ for a literal \${`,
        };
      }
    }
    return null;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const problem = firstReference(item, policy, [...path, i]);
      if (problem !== null) return problem;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const problem = firstReference(item, policy, [...path, key]);
      if (problem !== null) return problem;
    }
  }
  return null;
}

/** What a config's file took from the environment: the names it referenced, and the values substituted (to be masked wherever they are printed). */
export interface ConfigEnv {
  readonly names: readonly string[];
  readonly values: readonly string[];
  /** Each variable the file took, and its value: where an API entry's references to them take theirs. */
  readonly taken: Readonly<Record<string, string>>;
  /** The file's cameras as it wrote them, references kept (null: not resolvable without their values, or not parsed from text). */
  readonly writtenCameras: Readonly<Record<string, unknown>> | null;
}

const ENV = new WeakMap<object, ConfigEnv>();

/** @internal parseConfig records it. */
export function recordEnv(config: object, used: ReadonlyMap<string, string>, writtenCameras: Readonly<Record<string, unknown>> | null): void {
  ENV.set(config, { names: [...used.keys()], values: [...new Set(used.values())], taken: Object.fromEntries(used), writtenCameras });
}

/** `copy` (a config made from a parsed one) with what that one's file took from the environment: masked where it is shown. */
export function withEnv<T extends object>(copy: T, env: ConfigEnv): T {
  ENV.set(copy, env);
  return copy;
}

/** What the config's file took from the environment (nothing for a config not parsed from text). */
export function envOf(config: object): ConfigEnv {
  return ENV.get(config) ?? { names: [], values: [], taken: {}, writtenCameras: null };
}
