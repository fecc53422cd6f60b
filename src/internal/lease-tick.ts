/**
 * A cluster node's tick (its heartbeat, renewal and claim period) from its
 * lease, once: the cluster node (src/cluster) ticks at it, and the config's
 * validator (src/config) judges a `cluster.leaseMs` by it, so `config check`
 * refuses a lease the node could not keep. An owner must renew at least twice
 * per lease: tick × 2 < lease.
 */

/** A lease's length when none is given (the config's default, and the cluster node's). */
export const DEFAULT_LEASE_MS = 6_000;

/** The tick when none is given: a quarter of the lease, never under 50 ms (a node does not spin). */
export function defaultTickMs(leaseMs: number): number {
  return Math.max(50, Math.floor(leaseMs / 4));
}

/** Whether a node ticking every tickMs renews a lease of leaseMs at least twice. */
export function renewsTwice(leaseMs: number, tickMs: number): boolean {
  return tickMs * 2 < leaseMs;
}

/** The shortest lease the default tick renews twice (101 ms). */
export const SHORTEST_LEASE_MS = ((): number => {
  let lease = 1;
  while (!renewsTwice(lease, defaultTickMs(lease))) lease++;
  return lease;
})();
