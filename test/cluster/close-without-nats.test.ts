/**
 * A cluster node that closes while NATS is away (the server gone, the node's client reconnecting): close() ends, and
 * the node's cameras stop with it. Before, it never ended: the connection's drain waited for the server's answer to a
 * ping for as long as NATS stayed away, or, refused, left the client reconnecting and the process alive for good
 * (the untrusted-bus test's file timed out after its node's client never got back); each lease's delete waited out
 * its timeout first. A real nats-server, stopped by
 * SIGKILL under a node composed from a config file (parseConfig → createApp).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApp, type App } from '../../src/app/index.js';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { eventually, freePort, lineFrom } from '../helpers/process.js';
import { smallH264Clip } from '../pipeline/helpers.js';

const CAM = `away${process.pid}`;

describe('a cluster node closing while NATS is away', { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `framesupplier-close-without-nats-${process.pid}-`));
  let nats: ManagedProcess;
  let port: number;
  let app: App | undefined;
  const stopped: string[] = [];

  before(async () => {
    port = await freePort();
    nats = spawnManaged('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'store')]);
    await lineFrom(nats, /Server is ready/);
    const clip = await smallH264Clip();
    const yaml = [
      'version: 1',
      `shmDir: /dev/shm/framesupplier-close-without-nats-${process.pid}`,
      'cluster:',
      `  servers: [nats://127.0.0.1:${port}]`,
      '  nodeId: n1',
      '  leaseMs: 2000',
      '  marginMs: 500',
      'cameras:',
      `  ${CAM}:`,
      `    source: ${clip}`,
      '    capture: { output: { format: gray, width: 64, fps: 2 }, loop: true, decoder: ffmpeg }',
    ].join('\n');
    app = createApp(parseConfig(yaml), { logger: createLogger({ level: 'silent' }) });
    app.system.on('camera-state', (e) => {
      if (e.state === 'stopped') stopped.push(e.camera);
    });
    await app.start();
    await eventually(() => app!.system.stats().cameras[CAM]?.state === 'streaming', `${CAM} streaming`, 60_000);
  });

  after(async () => {
    await app?.close();
    await nats?.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('close() ends, its camera stopped, while the node is still trying to reconnect', async () => {
    assert.deepEqual(app!.cluster!.stats().owned, [CAM]);
    await nats.stop(0); // SIGKILL: gone at once, as a crashed server or a cut network
    await eventually(() => !app!.cluster!.stats().connected, 'the node saw NATS go', 30_000);
    const closing = app!.close();
    // Bounded here so that a regression fails with its reason instead of hanging the file until its timeout.
    const outcome = await Promise.race([
      closing.then(() => 'closed'),
      new Promise((resolve) => setTimeout(resolve, 30_000, 'still closing after 30 s')).then(String),
    ]);
    assert.equal(outcome, 'closed');
    assert.ok(stopped.includes(CAM), 'the camera stopped with the node');
    app = undefined;
    // And its client stopped reconnecting: a listener on NATS's port, the server still gone, hears no one for many
    // times the client's reconnect wait (250 ms). A client left reconnecting keeps the process alive for good.
    const knocks: number[] = [];
    const listener = createServer((socket) => {
      knocks.push(Date.now());
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(port, '127.0.0.1', resolve));
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // the absence of an event: a window, not a wait for one
    await new Promise((resolve) => listener.close(resolve));
    assert.deepEqual(knocks, [], 'the closed node still dialled NATS');
  });
});
