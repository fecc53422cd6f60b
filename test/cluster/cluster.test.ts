/**
 * Cluster mode with real processes: Debian's nats-server (2.9, -js) on a
 * loopback port with a temp store, three `framesupplier run --cluster` nodes
 * and twelve file cameras. The cameras spread by capacity; a node killed with
 * SIGKILL has its cameras streaming again on the others; a node started again
 * takes its share back; a NATS restart stops no camera; and the claims log
 * shows no camera ever owned by two nodes beyond the lease margin.
 *
 * The control plane from any node, through NATS request/reply as an operator
 * sends it: a camera added on one node is claimed and streamed, a worker
 * restart asked of a node that does not run the camera is routed to the owner
 * (whose worker restarts), removal stops it, a malformed request gets a code.
 *
 * Who streams what is read from NATS itself (the camera-state events each
 * node publishes, and the leases bucket): the facts a cluster operator sees.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { BUCKETS, CONTROL_SUBJECT, doubleOwned, nodeControlSubject, parseReply, type ClaimRecord, type ControlReply } from '../../src/cluster/index.js';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { eventually, eventuallyAsync, freePort, lineFrom, removeRuntimeDirs } from '../helpers/process.js';
import { leaseOwners, readClaims, startClusterNode } from './helpers.js';
import { smallH264Clip } from '../pipeline/helpers.js';

const CAMERAS = Array.from({ length: 12 }, (_, i) => `c${i}-${process.pid}`);
// Leases long enough that a node stalled by a loaded machine (the whole suite on 2 cores) still renews in time:
// with 2 s and 0.5 s, a NATS restart under full-suite load once moved an owner and overlapped two.
const LEASE_MS = 4_000;
const MARGIN_MS = 1_000;
const WAIT = 60_000;
/** n3 serves the HTTP API (--http) with this token. */
const HTTP_TOKEN = `cluster-test-token-${process.pid}`;

describe('cluster over NATS with real processes', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `framesupplier-cluster-${process.pid}-`));
  let port: number;
  let httpPort: number;
  let nats: ManagedProcess;
  let observer: NatsConnection;
  const nodes = new Map<string, ManagedProcess>();
  /** Camera → the node whose camera-state 'streaming' event came last. */
  const streamingOn = new Map<string, string>();
  /** Worker-state events, in order of arrival. */
  const workerEvents: { camera: string; worker: string; to: string; node: string }[] = [];
  /** Config changes and camera stops, as the nodes published them. */
  const changes: { camera: string; change: string; node: string }[] = [];
  const killedAt = new Map<string, number>();
  let configPath: string;
  let clip: string;

  const startNats = async (): Promise<void> => {
    nats = spawnManaged('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'nats')]);
    await lineFrom(nats, /Server is ready/);
  };
  const startNode = async (id: string, capacity: number, extra: readonly string[] = []): Promise<void> =>
    void (await startClusterNode(nodes, configPath, id, {
      args: ['--capacity', String(capacity), ...extra],
      env: { ...process.env, FRAMESUPPLIER_HTTP_TOKEN: HTTP_TOKEN },
    }));
  const leases = (): Promise<Map<string, string>> => leaseOwners(observer, CAMERAS);
  const counts = (owners: Map<string, string>): Record<string, number> => {
    const c: Record<string, number> = {};
    for (const node of owners.values()) c[node] = (c[node] ?? 0) + 1;
    return c;
  };
  /** Waits until the leases match `want` exactly and every camera streams on its lease owner. */
  const settle = async (want: Record<string, number>, what: string): Promise<Map<string, string>> => {
    let owners = new Map<string, string>();
    let polling = false;
    await eventually(
      () => {
        if (!polling) {
          polling = true;
          void Promise.race([leases(), new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('leases read took over 5 s')), 5_000))]).then(
            (l) => {
              owners = l;
              polling = false;
            },
            () => {
              polling = false;
            },
          );
        }
        return (
          owners.size === CAMERAS.length &&
          JSON.stringify(counts(owners), Object.keys(want).sort()) === JSON.stringify(want, Object.keys(want).sort()) &&
          Object.keys(counts(owners)).length === Object.keys(want).length &&
          CAMERAS.every((c) => streamingOn.get(c) === owners.get(c))
        );
      },
      `${what}: shares ${JSON.stringify(want)}`,
      WAIT,
    );
    return owners;
  };
  const until = (check: () => Promise<boolean>, what: string): Promise<void> => eventuallyAsync(check, what, WAIT);
  /** The node holding a camera's lease now, or null. */
  const ownerOfCamera = async (camera: string): Promise<string | null> => (await leaseOwners(observer, [camera])).get(camera) ?? null;
  const claims = async (also?: string): Promise<ClaimRecord[]> => (await readClaims(observer)).filter((r) => CAMERAS.includes(r.camera) || r.camera === also);

  before(async () => {
    port = await freePort();
    httpPort = await freePort();
    await startNats();
    clip = await smallH264Clip();
    configPath = join(dir, 'cluster.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        shmDir: `/dev/shm/framesupplier-cluster-test-${process.pid}`,
        cluster: { servers: [`nats://127.0.0.1:${port}`], leaseMs: LEASE_MS, marginMs: MARGIN_MS },
        defaults: { capture: { output: { format: 'gray', width: 64, fps: 2 }, loop: true, decoder: 'ffmpeg' } },
        cameras: Object.fromEntries(CAMERAS.map((c) => [c, { source: clip }])),
      }),
    );
    observer = await connect({ servers: `nats://127.0.0.1:${port}`, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    observer.subscribe('framesupplier.*.events', {
      callback: (_e, m) => {
        const event = JSON.parse(m.string()) as { type: string; camera: string; state: string; node: string; worker: string; to: string; change: string };
        if (event.type === 'config-change') changes.push({ camera: event.camera, change: event.change, node: event.node });
        if (event.type === 'camera-state' && event.state === 'stopped') changes.push({ camera: event.camera, change: 'stopped', node: event.node });
        if (event.type === 'camera-state' && event.state === 'streaming') streamingOn.set(event.camera, event.node);
        if (event.type === 'worker-state') workerEvents.push({ camera: event.camera, worker: event.worker, to: event.to, node: event.node });
      },
    });
  });

  after(async () => {
    for (const proc of nodes.values()) await proc.stop(5_000);
    await observer?.close().catch(() => undefined);
    await nats?.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
    rmSync(`/dev/shm/framesupplier-cluster-test-${process.pid}`, { recursive: true, force: true });
  });

  it('three nodes spread twelve cameras by capacity (1, 1, 2 → 3, 3, 6)', async () => {
    await Promise.all([startNode('n1', 1), startNode('n2', 1), startNode('n3', 2, ['--http', `127.0.0.1:${httpPort}`])]);
    await settle({ n1: 3, n2: 3, n3: 6 }, 'initial spread');
  });

  it('kill -9 of a node: its cameras stream again on the others', async () => {
    const before = await leases();
    const orphans = CAMERAS.filter((c) => before.get(c) === 'n1');
    killedAt.set('n1', Date.now());
    const pid = nodes.get('n1')!.pid!;
    process.kill(pid, 'SIGKILL');
    await nodes.get('n1')!.exited;
    removeRuntimeDirs(pid);
    nodes.delete('n1');
    // Shares by capacity among the live nodes: ceil(12 × 1/3) and ceil(12 × 2/3).
    const after = await settle({ n2: 4, n3: 8 }, 'failover');
    for (const c of orphans) assert.notEqual(after.get(c), 'n1');
  });

  it('a node started again takes its share back, gently', async () => {
    await startNode('n1b', 1);
    await settle({ n1b: 3, n2: 3, n3: 6 }, 'rejoin');
  });

  it('a NATS restart stops no running camera', async () => {
    const ownersBefore = await leases();
    const claimsBefore = (await claims()).length;
    await nats.stop(5_000);
    await startNats();
    // Every node renews and no camera changes hands: the owners stay, and the claims log gains no stop.
    const ownersAfter = await settle({ n1b: 3, n2: 3, n3: 6 }, 'after the NATS restart');
    assert.deepEqual([...ownersAfter].sort(), [...ownersBefore].sort());
    const stops = (await claims()).slice(claimsBefore).filter((r) => r.action === 'stop');
    assert.deepEqual(stops, []);
  });

  it('the control plane from any node: add a camera, restart its worker through its owner, remove it; malformed requests get codes', async () => {
    const ask = async (subject: string, body: unknown): Promise<ControlReply> =>
      parseReply((await observer.request(subject, typeof body === 'string' ? body : JSON.stringify(body), { timeout: 30_000 })).data);
    const extra = `ctl-${process.pid}`;
    const desiredKv = await new Kvm(observer).open(BUCKETS.desired);
    const ownerOf = (): Promise<string | null> => ownerOfCamera(extra);

    // Add on n2: the desired state is written there and some node claims and streams the camera.
    const added = await ask(nodeControlSubject('n2'), {
      op: 'add-camera',
      camera: extra,
      config: { source: clip, workers: [{ id: 'motion', module: 'builtin:motion' }] },
    });
    assert.deepEqual(added, { ok: true, node: 'n2' });
    assert.notEqual(await desiredKv.get(extra), null);
    let owner: string | null = null;
    await until(async () => {
      owner = await ownerOf();
      return owner !== null && streamingOn.get(extra) === owner;
    }, `${extra} claimed and streaming`);
    await eventually(
      () => workerEvents.some((e) => e.camera === extra && e.worker === 'motion' && e.to === 'running' && e.node === owner),
      `${extra}'s worker running on ${String(owner)}`,
      WAIT,
    );

    // Restart its worker, asked of a node that does not run it: routed to the owner, whose worker restarts.
    const other = ['n1b', 'n2', 'n3'].find((n) => n !== owner)!;
    const mark = workerEvents.length;
    const restarted = await ask(nodeControlSubject(other), { op: 'restart-worker', camera: extra, worker: 'motion' });
    assert.deepEqual(restarted, { ok: true, node: owner });
    await eventually(
      () => {
        const since = workerEvents.slice(mark).filter((e) => e.camera === extra && e.worker === 'motion');
        const left = since.findIndex((e) => e.to !== 'running');
        return left >= 0 && since.slice(left).some((e) => e.to === 'running') && since.every((e) => e.node === owner);
      },
      `the worker restarted on ${String(owner)}`,
      WAIT,
    );
    // A worker the owner does not have: the owner's own code comes back through the router.
    const unknownWorker = await ask(nodeControlSubject(other), { op: 'restart-worker', camera: extra, worker: 'nope' });
    assert.equal(unknownWorker.ok, false);
    assert.match((unknownWorker as { code: string }).code, /^ERR_/);
    // A routed request that reached a node not running the camera is answered, never routed on.
    const routedHeaders = headers();
    routedHeaders.set('Framesupplier-Routed', '1');
    const misrouted = parseReply(
      (
        await observer.request(nodeControlSubject(other), JSON.stringify({ op: 'restart-worker', camera: extra, worker: 'motion' }), {
          timeout: 30_000,
          headers: routedHeaders,
        })
      ).data,
    );
    assert.equal((misrouted as { code?: string }).code, 'ERR_CLUSTER_NOT_OWNED');

    // Malformed requests, to any node: answered with a code, and every node stays up.
    for (const body of ['not json', '[]', { op: 'explode', camera: extra }, { op: 'add-camera', camera: 'bad id!', config: {} }, { op: 'remove-camera' }]) {
      const reply = await ask(CONTROL_SUBJECT, body);
      assert.deepEqual([reply.ok, (reply as { code?: string }).code], [false, 'ERR_CLUSTER_MESSAGE'], JSON.stringify(body));
    }
    assert.equal(
      ((await ask(CONTROL_SUBJECT, { op: 'restart-worker', camera: `none-${process.pid}`, worker: 'motion' })) as { code?: string }).code,
      'ERR_CLUSTER_NOT_OWNED',
    );

    // Remove from any node: the desired entry goes, the owner stops the camera and gives its lease back.
    const removed = await ask(CONTROL_SUBJECT, { op: 'remove-camera', camera: extra });
    assert.equal(removed.ok, true);
    assert.equal(await desiredKv.get(extra).then((e) => (e === null || e.operation !== 'PUT' ? null : e)), null);
    await until(async () => (await ownerOf()) === null, `${extra}'s lease released`);
    await until(
      async () => (await claims(extra)).some((r) => r.camera === extra && r.node === owner && r.action === 'stop'),
      `${extra}'s stop in the claims log`,
    );
    for (const id of ['n1b', 'n2', 'n3']) assert.equal(nodes.get(id)!.child.exitCode, null, `${id} still running`);
  });

  it("a node's HTTP API in cluster mode changes the cluster, not that node alone", async () => {
    const call = (method: string, path: string, body?: unknown): Promise<Response> =>
      fetch(`http://127.0.0.1:${httpPort}/api${path}`, {
        method,
        headers: { authorization: `Bearer ${HTTP_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const codeOf = async (res: Response): Promise<string> => ((await res.json()) as { error: { code: string } }).error.code;
    const camera = `http-${process.pid}`;
    const desiredKv = await new Kvm(observer).open(BUCKETS.desired);

    // A bad entry is refused on the node asked, with the config's code, and nothing reaches the desired state.
    const bad = await call('POST', `/cameras/${camera}`, { source: 42 });
    assert.deepEqual([bad.status, await codeOf(bad)], [400, 'ERR_CONFIG']);
    assert.equal(await desiredKv.get(camera), null);

    // Added through n3: the desired state, then a lease and a stream on whichever node claims it.
    const added = await call('POST', `/cameras/${camera}`, { source: clip, workers: [{ id: 'motion', module: 'builtin:motion' }] });
    assert.equal(added.status, 201);
    let owner: string | null = null;
    await until(async () => {
      owner = await ownerOfCamera(camera);
      return owner !== null && streamingOn.get(camera) === owner;
    }, `${camera} claimed and streaming`);
    await eventually(
      () => workerEvents.some((e) => e.camera === camera && e.worker === 'motion' && e.to === 'running' && e.node === owner),
      `${camera}'s worker running`,
      WAIT,
    );

    // A restart through n3 reaches the owner, wherever it is.
    const mark = workerEvents.length;
    assert.equal((await call('POST', `/cameras/${camera}/workers/motion/restart`)).status, 200);
    await eventually(
      () => workerEvents.slice(mark).some((e) => e.camera === camera && e.worker === 'motion' && e.to !== 'running' && e.node === owner),
      `the worker restarted on ${String(owner)}`,
      WAIT,
    );
    // An unknown worker: the owner's code, through the router.
    assert.match(await codeOf(await call('POST', `/cameras/${camera}/workers/nope/restart`)), /^ERR_/);
    // Disabling has no cluster-wide form: refused, not done on one node.
    const disabled = await call('POST', `/cameras/${camera}/workers/motion/disable`);
    assert.deepEqual([disabled.status, await codeOf(disabled)], [409, 'ERR_CLUSTER_UNSUPPORTED']);

    // Zones set through n3: into the camera's desired entry (so every node and a move have them), applied live by the owner.
    const zone = {
      polygon: [
        [0, 0],
        [0.5, 0],
        [0.5, 0.5],
      ],
    };
    const since = changes.length;
    const set = await call('PUT', `/cameras/${camera}/areas`, { zones: { door: zone } });
    assert.equal(set.status, 200);
    const answer = (await set.json()) as { saved: boolean; savedTo: string; zones: unknown };
    assert.deepEqual([answer.saved, answer.savedTo, answer.zones], [true, 'cluster', { door: zone }]);
    assert.deepEqual((JSON.parse(new TextDecoder().decode((await desiredKv.get(camera))!.value)) as { zones: unknown }).zones, { door: zone });
    await eventually(
      () => changes.slice(since).some((c) => c.camera === camera && c.change === 'camera-areas' && c.node === owner),
      'the owner set them',
      WAIT,
    );
    assert.deepEqual(
      changes.slice(since).filter((c) => c.camera === camera && c.change !== 'camera-areas'),
      [],
      'set live: no replace, no stop',
    );
    const misspelt = await call('PUT', `/cameras/${camera}/areas`, { zonez: {} });
    assert.equal(misspelt.status, 400);
    const refusal = ((await misspelt.json()) as { error: { code: string; issues: { path: string }[] } }).error;
    assert.deepEqual([refusal.code, refusal.issues.map((i) => i.path)], ['ERR_CONFIG', [`cameras.${camera}.zonez`]]);
    const nowhere = await call('PUT', '/cameras/nosuchcamera/areas', {});
    assert.deepEqual([nowhere.status, await codeOf(nowhere)], [404, 'ERR_HTTP_NOT_FOUND']);

    // Removed through n3: the entry goes and the owner gives its lease back.
    assert.equal((await call('DELETE', `/cameras/${camera}`)).status, 200);
    await until(async () => (await ownerOfCamera(camera)) === null, `${camera}'s lease released`);
    assert.equal(await desiredKv.get(camera).then((e) => (e === null || e.operation !== 'PUT' ? null : e)), null);
  });

  it('the claims log shows no camera ever owned by two nodes beyond the margin', async () => {
    const records = await claims(`ctl-${process.pid}`);
    assert.ok(records.some((r) => r.action === 'start'));
    assert.deepEqual(
      doubleOwned(records, MARGIN_MS, (node) => killedAt.get(node)),
      [],
    );
  });
});
