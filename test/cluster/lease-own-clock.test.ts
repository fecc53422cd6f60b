/**
 * An owner publishes a camera's results only while its lease stands by its own clock, whatever NATS does (issue 70
 * item 4, ADR 0110). A node composed from a config file (parseConfig → createApp) runs a camera with a motion worker
 * (a result a frame) and reaches a real nats-server through a TCP relay this test cuts and mends: the node alone is
 * cut off, as in a network partition, while an observer on its own connection reads the results subject and the
 * lease, and takes the lease over as another node would.
 *
 * - Cut off with its loop running: once its lease's term runs out (a guard before the time written in the lease), no
 *   result passes the output fence, to any sink; they are counted (resultsWithheld) and the log says why once. Mended,
 *   the node renews and publishes again (logged). Before, the fence let results out for as long as NATS was away.
 * - Cut off and then its event loop starved (a synchronous busy loop longer than the lease, in the node's own
 *   thread), the lease taken meanwhile by another node: once mended, nothing of it reaches the bus after its lease's
 *   time, counted by the observer. Before, the result it kept for the bus while cut off went out at the reconnect,
 *   after its lease had run out and another node held the camera.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createApp, type App } from '../../src/app/index.js';
import { BUCKETS, parseLease, resultsSubject } from '../../src/cluster/index.js';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { ManagedProcess } from '../../src/process/index.js';
import { startNatsWithJetStream } from '../helpers/nats.js';
import { eventually, eventuallyAsync, freePort } from '../helpers/process.js';
import { smallH264Clip } from '../pipeline/helpers.js';

const CAM = `own${process.pid}`;
// Long enough that a node loaded by the whole suite on two cores still renews in time before the cut.
const LEASE_MS = 2_500;
const MARGIN_MS = 500;
const LAPSED = "lease ran out by this node's clock before a renewal: the camera's results are withheld until one succeeds";
const RENEWED = 'lease renewed: publishing again';

/** A TCP relay to NATS for the node alone: cut() drops its connections and refuses new ones until mend(). */
class Relay {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #port: number;

  constructor(port: number, upstream: number) {
    this.#port = port;
    this.#server = createServer((client) => {
      const server = createConnection(upstream, '127.0.0.1');
      for (const [a, b] of [
        [client, server],
        [server, client],
      ] as const) {
        this.#sockets.add(a);
        a.pipe(b);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.#sockets.delete(a);
          b.destroy();
        });
      }
    });
  }

  /** Listens (again); at once if it does. */
  mend(): Promise<void> {
    if (this.#server.listening) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  /** Drops the connections and refuses new ones. */
  cut(): Promise<void> {
    const closed = this.#server.listening ? new Promise<void>((resolve) => this.#server.close(() => resolve())) : Promise.resolve();
    for (const socket of this.#sockets) socket.destroy();
    return closed;
  }
}

describe('an owner whose lease runs out by its own clock publishes nothing more, whatever NATS does', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `framesupplier-lease-own-clock-${process.pid}-`));
  const logFile = join(dir, 'node.log');
  let nats: ManagedProcess | undefined;
  let relay: Relay | undefined;
  let app: App | undefined;
  let observer: NatsConnection | undefined;
  let leases: KV;
  /** The node's results as the observer read them on the bus: when (its wall clock, the node's too) and whose. */
  const onBus: { at: number; node: string }[] = [];
  /** When the node's system let a result out (past the fence, to every sink). */
  const passed: number[] = [];

  const node = (): NonNullable<App['cluster']> => app!.cluster!;
  const withheld = (): number => app!.system.stats().resultsWithheld;
  const logged = (message: string): number =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && (JSON.parse(line) as { msg?: string; camera?: string }).msg === message).length;
  /** The node's lease of the camera as the store has it now. */
  const lease = async (): Promise<{ revision: number; node: string; expiresAt: number }> => {
    const entry = await leases.get(CAM);
    assert.ok(entry !== null && entry.operation === 'PUT', 'the camera has a lease');
    return { revision: entry.revision, ...parseLease(entry.value) };
  };

  before(async () => {
    const port = await freePort();
    const relayPort = await freePort();
    nats = await startNatsWithJetStream(port, dir);
    relay = new Relay(relayPort, port);
    await relay.mend();
    observer = await connect({ servers: `nats://127.0.0.1:${port}` });
    observer.subscribe(resultsSubject(CAM), {
      callback: (_error, message) => {
        onBus.push({ at: Date.now(), node: message.json<{ node: string }>().node });
      },
    });
    const clip = await smallH264Clip();
    const yaml = [
      'version: 1',
      `shmDir: /dev/shm/framesupplier-lease-own-clock-${process.pid}`,
      'cluster:',
      `  servers: [nats://127.0.0.1:${relayPort}]`,
      '  nodeId: n1',
      `  leaseMs: ${LEASE_MS}`,
      `  marginMs: ${MARGIN_MS}`,
      'cameras:',
      `  ${CAM}:`,
      `    source: ${clip}`,
      '    capture: { output: { format: gray, width: 64, fps: 5 }, loop: true, decoder: ffmpeg }',
      '    workers: [{ id: motion, module: "builtin:motion" }]',
    ].join('\n');
    app = createApp(parseConfig(yaml), { logger: createLogger({ level: 'info', destination: logFile }) });
    app.system.on('result', (event) => {
      if (event.camera === CAM) passed.push(Date.now());
    });
    await app.start();
    leases = await new Kvm(observer).open(BUCKETS.leases);
    await eventually(() => onBus.some((r) => r.node === 'n1'), 'the node publishing its camera', 60_000);
  });

  after(async () => {
    await app?.close();
    await observer?.close();
    await relay?.cut().catch(() => undefined);
    await nats?.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('cut off from NATS: its results stop at its lease, on every sink, counted and said once; mended, they go out again', async () => {
    const withheldBefore = withheld();
    const lapses = logged(LAPSED);
    const renewals = logged(RENEWED);
    await relay!.cut();
    await eventually(() => !node().stats().connected, 'the node cut off');
    // The last lease it wrote before the cut: renewed before it, never after (the store is out of its reach).
    const { expiresAt } = await lease();
    // Three frames' results after the lease's time, let out or withheld.
    await eventually(() => passed.filter((at) => at > expiresAt).length + withheld() - withheldBefore >= 3, 'three results after the lease ran out', 30_000);
    const late = passed.filter((at) => at > expiresAt);
    assert.deepEqual(late, [], `results let out after the lease ran out at ${expiresAt}`);
    assert.equal(logged(LAPSED), lapses + 1, 'said once');

    await relay!.mend();
    await eventually(() => node().stats().connected, 'the node back on NATS', 30_000);
    const mendedAt = passed.length;
    await eventually(() => passed.length > mendedAt, 'results let out again after a renewal', 30_000);
    assert.equal(logged(RENEWED), renewals + 1);
    await eventually(() => onBus.at(-1)?.node === 'n1' && onBus.at(-1)!.at > expiresAt, 'its results on the bus again');
  });

  it('cut off and starved past its lease while another node took the camera: nothing of it reaches the bus after its lease', async () => {
    await relay!.mend(); // (the test before mends it, unless it failed before)
    await eventually(() => node().stats().connected && node().stats().owned.includes(CAM), 'the node on NATS, running its camera', 30_000);
    await eventuallyAsync(async () => (await lease()).expiresAt > Date.now() + LEASE_MS / 2, 'its lease renewed', 30_000);
    const passedBefore = passed.length;
    await relay!.cut();
    await eventually(() => !node().stats().connected, 'the node cut off');
    // A result let out while cut off: the node keeps it for the bus (the newest of its worker).
    await eventually(() => passed.length > passedBefore, 'a result let out while cut off');
    const { revision, expiresAt } = await lease();
    await observer!.flush(); // what reached the bus before the spin is read before it

    // The node's own thread does nothing but spin for longer than a lease and the margin: no timer, no renewal, no fence.
    const spinUntil = performance.now() + LEASE_MS + MARGIN_MS + 500;
    while (performance.now() < spinUntil);
    const wokeAt = Date.now();
    assert.ok(wokeAt > expiresAt + MARGIN_MS, 'woken past the lease and the margin');

    // Meanwhile another node found the lease run out and claimed it, as a claim does: compare-and-set on its revision.
    await leases.update(CAM, new TextEncoder().encode(JSON.stringify({ node: 'n2', expiresAt: Date.now() + 60_000 })), revision);
    await relay!.mend();
    await eventually(() => node().stats().connected, 'the node back on NATS', 30_000);
    await eventually(() => !node().stats().owned.includes(CAM), 'the node stopped the camera it lost', 30_000);
    await observer!.flush(); // everything the server routed to the observer before now has been read

    const late = onBus.filter((r) => r.node === 'n1' && r.at > expiresAt);
    assert.deepEqual(late, [], `results of the node on the bus after its lease ran out at ${expiresAt}`);
    assert.ok((await lease()).node === 'n2', 'the other node holds the camera');
  });
});
