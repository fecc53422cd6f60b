/**
 * Planned moves and fencing with real processes: Debian's nats-server, two
 * `framesupplier run --cluster` nodes, four file cameras each with a motion
 * worker (a result every frame), and an observer that reads what a subscriber
 * of the cluster reads: results on framesupplier.<camera>.results, the leases
 * bucket and the claims log.
 *
 * - A node joining takes its share make-before-break: it opens each camera in
 *   standby, the old owner stops publishing once the new one has a frame, and
 *   no result of the old owner comes after the new owner's first. The dark
 *   time is logged (bench X1 records it).
 * - A stalled owner (SIGSTOP past lease + margin) whose cameras the other node
 *   took publishes nothing for them once it wakes (results are told apart by
 *   the node's emission time), stops them, and its stop records say when it
 *   last published: the claims log shows no double ownership. Being just
 *   stalled, it gets cameras back only after settleMs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { doubleOwned, type ClaimRecord } from '../../src/cluster/index.js';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { eventuallyAsync, freePort, lineFrom } from '../helpers/process.js';
import { leaseOwners, readClaims, startClusterNode } from './helpers.js';
import { smallH264Clip } from '../pipeline/helpers.js';

const CAMERAS = Array.from({ length: 4 }, (_, i) => `h${i}-${process.pid}`);
const LEASE_MS = 4_000;
const MARGIN_MS = 1_000;
const SETTLE_MS = 6_000;
const WAIT = 90_000;

interface Received {
  readonly node: string;
  /** When the node emitted it (its wall clock). */
  readonly at: number;
  /** When the observer got it. */
  readonly got: number;
}

describe('planned moves and fencing over NATS with real processes', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `framesupplier-handoff-${process.pid}-`));
  let port: number;
  let nats: ManagedProcess;
  let observer: NatsConnection;
  const nodes = new Map<string, ManagedProcess>();
  const results = new Map<string, Received[]>(CAMERAS.map((c) => [c, []]));
  let configPath: string;

  const startNode = async (id: string): Promise<void> => void (await startClusterNode(nodes, configPath, id));
  const owners = (): Promise<Map<string, string>> => leaseOwners(observer, CAMERAS);
  const claims = async (): Promise<ClaimRecord[]> => (await readClaims(observer)).filter((r) => CAMERAS.includes(r.camera));
  const until = (check: () => Promise<boolean>, what: string): Promise<void> => eventuallyAsync(check, what, WAIT);
  const count = (m: Map<string, string>, node: string): number => [...m.values()].filter((n) => n === node).length;
  /** Every camera has a result from its lease owner received after `since`. */
  const streamingOnOwners = async (since: number): Promise<boolean> => {
    const o = await owners();
    return CAMERAS.every((c) => o.has(c) && results.get(c)!.some((r) => r.node === o.get(c) && r.got > since));
  };

  before(async () => {
    port = await freePort();
    nats = spawnManaged('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'nats')]);
    await lineFrom(nats, /Server is ready/);
    const clip = await smallH264Clip();
    configPath = join(dir, 'cluster.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        shmDir: `/dev/shm/framesupplier-handoff-test-${process.pid}`,
        cluster: { servers: [`nats://127.0.0.1:${port}`], leaseMs: LEASE_MS, marginMs: MARGIN_MS, settleMs: SETTLE_MS },
        defaults: { capture: { output: { format: 'gray', width: 64, fps: 5 }, loop: true, decoder: 'ffmpeg' } },
        cameras: Object.fromEntries(CAMERAS.map((c) => [c, { source: clip, workers: [{ id: 'motion', module: 'builtin:motion' }] }])),
      }),
    );
    observer = await connect({ servers: `nats://127.0.0.1:${port}`, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    observer.subscribe('framesupplier.*.results', {
      callback: (_e, m) => {
        const event = JSON.parse(m.string()) as { camera: string; node: string; at: number };
        results.get(event.camera)?.push({ node: event.node, at: event.at, got: Date.now() });
      },
    });
  });

  after(async () => {
    for (const proc of nodes.values()) {
      if (proc.pid !== undefined) process.kill(proc.pid, 'SIGCONT');
      await proc.stop(5_000);
    }
    await observer?.close().catch(() => undefined);
    await nats?.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
    rmSync(`/dev/shm/framesupplier-handoff-test-${process.pid}`, { recursive: true, force: true });
  });

  it('a joining node takes its share make-before-break: standby first, no result of the old owner after the new one’s first', async () => {
    await startNode('m1');
    await until(async () => count(await owners(), 'm1') === 4 && (await streamingOnOwners(0)), 'm1 streams all four cameras');
    const joined = Date.now();
    await startNode('m2');
    await until(async () => count(await owners(), 'm2') === 2 && (await streamingOnOwners(joined)), 'two cameras moved to m2 and streaming there');
    const moved = CAMERAS.filter((c) => results.get(c)!.some((r) => r.node === 'm2'));
    assert.equal(moved.length, 2);
    const records = await claims();
    for (const camera of moved) {
      const mine = records.filter((r) => r.camera === camera && r.at >= joined);
      const standby = mine.find((r) => r.node === 'm2' && r.action === 'standby');
      const start = mine.find((r) => r.node === 'm2' && r.action === 'start');
      const stop = mine.find((r) => r.node === 'm1' && r.action === 'stop');
      assert.ok(standby !== undefined && start !== undefined && stop !== undefined, `${camera}: ${JSON.stringify(mine)}`);
      assert.ok(standby.at <= start.at);
      assert.match(start.reason, /make-before-break/);
      assert.match(stop.reason, /planned move to m2 \(make-before-break\)/);
      // From the new owner's first result on, only the new owner publishes.
      const list = results.get(camera)!;
      const firstNew = list.findIndex((r) => r.node === 'm2');
      assert.deepEqual(
        list.slice(firstNew).filter((r) => r.node === 'm1'),
        [],
      );
      const lastOld = list.slice(0, firstNew).at(-1)!;
      // Make before break, told by order, not by a clock: the new node had the camera open before the old one stopped.
      assert.ok(standby.at <= stop.at, `${camera}: standby at ${standby.at}, old owner stopped at ${stop.at}`);
      // How long it was dark is a figure (bench X1), not a test's assertion on a shared machine.
      console.log(`# ${camera}: dark ${list[firstNew]!.got - lastOld.got} ms between m1's last result and m2's first`);
    }
    assert.deepEqual(doubleOwned(records, MARGIN_MS), []);
  });

  it('a stalled owner publishes nothing for the cameras taken while it stood still, and the claims log tells when it stopped', async () => {
    const before = await owners();
    const stalledCameras = CAMERAS.filter((c) => before.get(c) === 'm2');
    assert.equal(stalledCameras.length, 2);
    const m2 = nodes.get('m2')!;
    const woke = lineFrom(m2, /woke from a stall/);
    process.kill(m2.pid!, 'SIGSTOP');
    const stoppedAt = Date.now();
    try {
      await until(async () => count(await owners(), 'm1') === 4 && (await streamingOnOwners(stoppedAt)), 'm1 took the stalled node’s cameras');
    } finally {
      process.kill(m2.pid!, 'SIGCONT');
    }
    const wokeAt = Date.now();
    await woke;
    let claimsCache: ClaimRecord[] = [];
    await until(async () => {
      claimsCache = await claims();
      return stalledCameras.every((c) => claimsCache.some((r) => r.camera === c && r.node === 'm2' && r.action === 'stop' && r.at >= stoppedAt));
    }, 'the woken node stopped both cameras');
    for (const camera of stalledCameras) {
      const start = claimsCache.find((r) => r.camera === camera && r.node === 'm1' && r.action === 'start' && r.at >= stoppedAt)!;
      const stop = claimsCache.find((r) => r.camera === camera && r.node === 'm2' && r.action === 'stop' && r.at >= stoppedAt)!;
      assert.match(stop.reason, /lease lost during a stall/);
      assert.ok(
        stop.streamedUntil !== undefined && stop.streamedUntil <= stoppedAt,
        `${camera}: streamed until ${stop.streamedUntil}, stopped at ${stoppedAt}`,
      );
      // Nothing m2 emitted after m1 took the camera (what was sent before the stall may arrive late, flushed at the wake).
      const late = results.get(camera)!.filter((r) => r.node === 'm2' && r.at >= start.at);
      assert.deepEqual(late, [], `${camera}: m2 published after m1 took it`);
    }
    assert.deepEqual(doubleOwned(claimsCache, MARGIN_MS), []);
    // Just stalled: m2 gets cameras back by planned moves only after it has been healthy for settleMs.
    await until(async () => count(await owners(), 'm2') === 2 && (await streamingOnOwners(wokeAt)), 'the shares even again');
    const back = (await claims()).filter((r) => r.node === 'm2' && r.action === 'standby' && r.at >= wokeAt);
    assert.ok(back.length >= 2);
    for (const r of back) assert.ok(r.at - wokeAt >= SETTLE_MS - 1_000, `standby ${r.at - wokeAt} ms after the wake`);
  });
});
