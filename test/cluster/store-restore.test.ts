/**
 * What a node puts back after a failed tick (the store room's restore(), ADR
 * 0038's rooms) against a real nats-server with JetStream: what the store
 * lost, never what someone removed. A camera this node holds whose desired
 * entry was deleted (through the control plane, while this node's ticks were
 * failing) stays deleted; a camera whose bucket was wiped comes back with its
 * lease; an entry another node wrote meanwhile wins over this node's copy.
 * Before this was so, restore() used KV's create(), which writes over a
 * deletion marker: the removed camera came back and its owner held it for
 * good (the cluster test's "lease released" timed out after a NATS restart).
 * The same rule seeds a node's own file cameras at its start: a camera removed
 * from the cluster is not brought back by a node whose file names it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BUCKETS, parseLease } from '../../src/cluster/index.js';
import { encode } from '../../src/cluster/messages.js';
import { Bus } from '../../src/cluster/context.js';
import { Holdings } from '../../src/cluster/holdings.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { createLogger } from '../../src/internal/logger.js';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { freePort, lineFrom } from '../helpers/process.js';
import { roomsContext } from './helpers.js';

const NODE = 'n1';
const entryOf = (source: string): Uint8Array => encode({ source, workers: [] });
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe('a node puts back what the store lost, never what was removed', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `framesupplier-store-restore-${process.pid}-`));
  let nats: ManagedProcess;
  let nc: NatsConnection;
  let observer: NatsConnection;
  let holdings: Holdings;
  let store: ClusterStore;
  let bus: Bus;

  /** The observer's view of a bucket, opened anew (a wiped bucket is a new stream). */
  const bucket = (name: string): Promise<KV> => new Kvm(observer).open(name);

  /** A camera this node holds: its desired entry and its lease written as a claim would, and the record. */
  const hold = async (camera: string, entry: Uint8Array): Promise<void> => {
    await bus.desired!.put(camera, entry);
    const term = holdings.term();
    const revision = await bus.leases!.create(camera, holdings.leaseValue(undefined, term.expiresAt));
    holdings.held.set(camera, holdings.newHeld(revision, entry, term));
  };

  before(async () => {
    const port = await freePort();
    nats = spawnManaged('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'store')]);
    await lineFrom(nats, /Server is ready/);
    nc = await connect({ servers: `nats://127.0.0.1:${port}` });
    observer = await connect({ servers: `nats://127.0.0.1:${port}` });
    bus = new Bus(NODE);
    bus.nc = nc;
    bus.connected = true;
    const ctx = roomsContext(bus, 60_000);
    holdings = new Holdings(ctx);
    store = await new ClusterStore(ctx, holdings, {}).start();
  });

  after(async () => {
    await store?.close();
    await nc?.close().catch(() => undefined);
    await observer?.close().catch(() => undefined);
    await nats?.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a held camera removed from the desired state stays removed', async () => {
    const camera = `removed${process.pid}`;
    await hold(camera, entryOf('rtsp://a.invalid/removed'));
    // Removed as the control plane removes it, while this node's ticks fail: the next tick restores first.
    await (await bucket(BUCKETS.desired)).delete(camera);
    await store.restore();
    const after = await (await bucket(BUCKETS.desired)).get(camera);
    assert.notEqual(after?.operation, 'PUT', 'the removed camera must not be put back');
  });

  it('an entry another node wrote meanwhile wins over the copy of the camera this node holds', async () => {
    const camera = `changed${process.pid}`;
    await hold(camera, entryOf('rtsp://a.invalid/mine'));
    await (await bucket(BUCKETS.desired)).put(camera, entryOf('rtsp://a.invalid/theirs'));
    await store.restore();
    const now = await (await bucket(BUCKETS.desired)).get(camera);
    assert.equal(now?.operation, 'PUT');
    assert.match(text(now.value), /theirs/);
  });

  it('the desired and leases buckets wiped: the held camera comes back with its lease, the removed one does not', async () => {
    const camera = `kept${process.pid}`;
    await hold(camera, entryOf('rtsp://a.invalid/kept'));
    const jsm = await jetstreamManager(observer);
    await jsm.streams.delete(`KV_${BUCKETS.desired}`);
    await jsm.streams.delete(`KV_${BUCKETS.leases}`);
    // The first test's camera is still held here (no tick released it): with its entry gone with the bucket, its
    // removal is lost too, and it comes back as this node's; that is what a store loss can and cannot tell.
    await store.restore();
    const desired = await bucket(BUCKETS.desired);
    const entry = await desired.get(camera);
    assert.equal(entry?.operation, 'PUT');
    assert.match(text(entry.value), /kept/);
    const lease = await (await bucket(BUCKETS.leases)).get(camera);
    assert.equal(lease?.operation, 'PUT');
    assert.equal(parseLease(lease.value).node, NODE);
  });

  it("a node's start seeds its file's cameras where the store has none; an entry there wins, and a removal stays, said in the log", async () => {
    const fresh = `fresh${process.pid}`;
    const removed = `gone${process.pid}`;
    const theirs = `theirs${process.pid}`;
    const desired = await bucket(BUCKETS.desired);
    await desired.put(removed, entryOf('rtsp://a.invalid/gone'));
    await desired.delete(removed); // removed through the control plane since this node last ran
    await desired.put(theirs, entryOf('rtsp://a.invalid/theirs'));
    const logFile = join(dir, 'seed.log');
    const ctx = { ...roomsContext(bus, 60_000), log: createLogger({ level: 'warn', destination: logFile }) };
    const seeded = await new ClusterStore(ctx, new Holdings(ctx), {
      [fresh]: { source: 'rtsp://a.invalid/fresh', workers: [] },
      [removed]: { source: 'rtsp://a.invalid/gone', workers: [] },
      [theirs]: { source: 'rtsp://a.invalid/mine', workers: [] },
    }).start();
    try {
      const now = await bucket(BUCKETS.desired);
      const entry = await now.get(fresh);
      assert.equal(entry?.operation, 'PUT');
      assert.match(text(entry.value), /fresh/);
      assert.notEqual((await now.get(removed))?.operation, 'PUT', "a camera removed from the cluster is not brought back by a node's file");
      assert.match(text((await now.get(theirs))!.value), /theirs/, "the cluster's entry wins over the file's");
      const lines = readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => line.includes('removed from the cluster'));
      assert.equal(lines.length, 1, 'the removal is said once');
      assert.equal((JSON.parse(lines[0]!) as { camera: string }).camera, removed);
    } finally {
      await seeded.close();
    }
  });
});
