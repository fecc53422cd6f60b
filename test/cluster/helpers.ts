/**
 * What the cluster tests (and bench X1) read from NATS, as an operator would,
 * and how they start a node: the owner of each camera's lease, the whole
 * claims log, and a `framesupplier run --cluster` process once it has joined
 * (its log kept in CLUSTER_TEST_LOGS when that names a directory).
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS, CLAIMS_STREAM, parseClaim, parseLease, type ClaimRecord } from '../../src/cluster/index.js';
import { Refusals, type Bus, type NodeContext } from '../../src/cluster/context.js';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { lineFrom } from '../helpers/process.js';
import { resolvedConfig } from '../pipeline/helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Camera → the node its lease names, for the cameras that have one. */
export async function leaseOwners(nc: NatsConnection, cameras: readonly string[]): Promise<Map<string, string>> {
  const kv = await new Kvm(nc).open(BUCKETS.leases);
  const out = new Map<string, string>();
  for (const camera of cameras) {
    const e = await kv.get(camera);
    if (e !== null && e.operation === 'PUT') out.set(camera, parseLease(e.value).node);
  }
  return out;
}

/** Every record of the claims log (JetStream stream FRAMESUPPLIER_CLAIMS), oldest first. */
export async function readClaims(nc: NatsConnection): Promise<ClaimRecord[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(CLAIMS_STREAM);
  const out: ClaimRecord[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(CLAIMS_STREAM, { seq }).catch(() => null);
    if (m !== null) out.push(parseClaim(m.data));
  }
  return out;
}

/**
 * `framesupplier run CONFIG --view none --log-level info --node-id ID …args`, put in `nodes` at once (so the test's
 * after() stops it even if it never joins), resolved once it logs that it joined.
 */
export async function startClusterNode(
  nodes: Map<string, ManagedProcess>,
  configPath: string,
  id: string,
  options: { readonly args?: readonly string[]; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<ManagedProcess> {
  const proc = spawnManaged(process.execPath, [MAIN, 'run', configPath, '--view', 'none', '--log-level', 'info', '--node-id', id, ...(options.args ?? [])], {
    group: true,
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  nodes.set(id, proc);
  if (process.env.CLUSTER_TEST_LOGS !== undefined) proc.child.stderr.pipe(createWriteStream(join(process.env.CLUSTER_TEST_LOGS, `${id}.log`)));
  await lineFrom(proc, /cluster node joined/);
  return proc;
}

/**
 * What a cluster node's rooms share, for a test that makes rooms without a node: node `n1` on `bus`, a system with no
 * cameras (never started), a quiet log, and timings with a lease of `leaseMs`.
 */
export function roomsContext(bus: Bus, leaseMs: number, marginMs = 1_000): NodeContext {
  const log = createLogger({ level: 'silent' });
  return {
    nodeId: 'n1',
    settings: {
      capacity: 1,
      leaseMs,
      tickMs: 1_000,
      marginMs,
      rejoinGraceMs: leaseMs,
      settleMs: 1_000,
      handoffTimeoutMs: 1_000,
      eventsTimeoutMs: 1_000,
    },
    log,
    system: new VisionSystem({ config: resolvedConfig({ cameras: {} }), logger: log }),
    bus,
    refusals: new Refusals(log),
  };
}
