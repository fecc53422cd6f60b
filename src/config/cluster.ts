/**
 * The `cluster:` section's rules beyond its schema (ADR 0056), one reading for
 * a file (`config check`, `run`) and for the options a program hands a cluster
 * node (checkRunnableCluster, which the node asks through the system): auth
 * and TLS settings that contradict each other, and a lease the node's tick
 * cannot renew twice (src/internal/lease-tick.ts). The cluster node keeps
 * ERR_CLUSTER_CONFIG for what only its start can know: a file it cannot read,
 * or one that holds no seed or creds.
 *
 * Defensive about shape, as checkReferences is: runs on sections the schema
 * refused too. Messages name keys, never values (a value may be a secret).
 */
import { DEFAULT_LEASE_MS, defaultTickMs, renewsTwice, SHORTEST_LEASE_MS } from '../internal/lease-tick.js';
import { isUserNkeySeed } from '../internal/nkey-seed.js';
import { isPlainObject, type Segment } from './schema.js';

/** An issue at a path of the file (validate.ts's RawIssue). */
export interface ClusterIssue {
  readonly path: readonly Segment[];
  readonly message: string;
  readonly anchor: 'key' | 'value' | 'parent';
}

const field = (v: unknown, key: string): unknown => (isPlainObject(v) && Object.hasOwn(v, key) ? v[key] : undefined);

/**
 * Every issue of a cluster section (at `cluster`): two auth methods, a user without a password (or the reverse),
 * a seed given twice or not shaped as a user NKey seed, a TLS cert without its key, and a `leaseMs` (or a
 * program's `tickMs`) with which a node would not renew its lease twice per lease.
 */
export function clusterIssues(cluster: unknown): ClusterIssue[] {
  const out: ClusterIssue[] = [];
  const auth = field(cluster, 'auth');
  if (isPlainObject(auth)) {
    const has = (key: string): boolean => field(auth, key) !== undefined && field(auth, key) !== null;
    const methods = [
      has('user') || has('password') ? 'user/password' : null,
      has('token') ? 'token' : null,
      has('nkeySeed') || has('nkeySeedFile') ? 'nkey' : null,
      has('credsFile') ? 'creds' : null,
    ].filter((m) => m !== null);
    const at = ['cluster', 'auth'];
    if (methods.length > 1) out.push({ path: at, message: `one method at a time, got ${methods.join(' and ')}`, anchor: 'value' });
    if (has('nkeySeed') && has('nkeySeedFile')) out.push({ path: [...at, 'nkeySeedFile'], message: 'nkeySeed or nkeySeedFile, not both', anchor: 'key' });
    if (has('user') !== has('password'))
      out.push({ path: [...at, has('user') ? 'password' : 'user'], message: 'is required: user and password go together', anchor: 'parent' });
    const seed = field(auth, 'nkeySeed');
    if (typeof seed === 'string' && !isUserNkeySeed(seed.trim()))
      out.push({ path: [...at, 'nkeySeed'], message: 'is not a user NKey seed (SU…)', anchor: 'value' });
  }
  const tls = field(cluster, 'tls');
  if (isPlainObject(tls) && (field(tls, 'cert') === undefined) !== (field(tls, 'key') === undefined))
    out.push({
      path: ['cluster', 'tls', field(tls, 'cert') === undefined ? 'cert' : 'key'],
      message: 'is required: cert and key go together',
      anchor: 'parent',
    });
  out.push(...leaseIssues(cluster));
  return out;
}

/** A lease the node's tick would not renew twice: the file's `leaseMs` (the tick follows it), or a program's `tickMs` beside it. */
function leaseIssues(cluster: unknown): ClusterIssue[] {
  const lease = field(cluster, 'leaseMs') ?? DEFAULT_LEASE_MS;
  const tick = field(cluster, 'tickMs');
  // A value of the wrong type or range is the schema's issue.
  if (typeof lease !== 'number' || !(lease > 0) || (tick !== undefined && !(typeof tick === 'number' && tick > 0))) return [];
  if (tick === undefined) {
    const derived = defaultTickMs(lease);
    if (renewsTwice(lease, derived)) return [];
    return [
      {
        path: ['cluster', 'leaseMs'],
        message: `(${lease}) must be at least ${SHORTEST_LEASE_MS}: a node renews its lease every max(50, leaseMs / 4) ms (${derived} here), at least twice per lease`,
        anchor: 'value',
      },
    ];
  }
  if (renewsTwice(lease, tick)) return [];
  return [
    {
      path: ['cluster', 'tickMs'],
      message: `(${tick}) must be under half of leaseMs (${lease}): a node renews its lease at least twice per lease`,
      anchor: 'value',
    },
  ];
}
