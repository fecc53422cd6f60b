/**
 * Clients that never read (real Unix sockets, a real ModelServer): each
 * pipelines pings as fast as its socket takes them and reads no answer. They
 * once held every connection slot (the idle timeout spared connections with
 * answers in flight) while the server's memory grew with their unread
 * answers. Now a connection whose client does not take its answers stops
 * being read and is closed after the write-stall timeout whatever is in
 * flight (ERR_SLOW_CONSUMER, counted), what waits for such clients stays
 * bounded, and at the cap the longest-stalled connection makes room for a
 * fresh client, which is served.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { encodeMessage, ModelClient } from '../../src/ipc/index.js';
import { createMockHandler, ModelServer } from '../../src/models/index.js';
import { workspace } from './fixtures.js';

const CAP = 8;

/** A client that writes pings until its socket pushes back, then more each time it drains, and never reads. */
function flooder(path: string): { socket: Socket; closed: Promise<void> } {
  const socket = connect(path);
  socket.on('error', () => undefined);
  const ping = encodeMessage({ type: 'ping' });
  const write = (): void => {
    while (!socket.destroyed && socket.write(ping));
  };
  socket.once('connect', write);
  socket.on('drain', write);
  return { socket, closed: new Promise((resolve) => socket.once('close', () => resolve())) };
}

describe('model server: clients that never read', { timeout: 60_000 }, () => {
  const ws = workspace();
  let server: ModelServer;

  before(async () => {
    server = await new ModelServer({
      socketPath: ws.socket,
      shmDir: ws.shmDir,
      handler: createMockHandler(),
      maxConnections: CAP,
      // Past the stall timeout: the stall, not idleness, is what closes them.
      idleTimeoutMs: 30_000,
      // Long enough that every flooder stalls before the first one's stall is timed out, on a loaded machine too
      // (with 1.5 s the first were closed before the eighth had connected, and the count of stalled never reached CAP).
      writeStallTimeoutMs: 10_000,
    }).start();
  });
  after(async () => {
    await server?.close();
    ws.cleanup();
  });

  it('are closed after the write-stall timeout with answers in flight, hold a bounded amount, and a fresh client is served meanwhile', async () => {
    const flooders = Array.from({ length: CAP }, () => flooder(ws.socket));
    // Every slot taken by a client that does not read, each stalled.
    while (server.stats().stalledConnections < CAP) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(server.stats().connections, CAP);
    // What waits for them is bounded: about one socket buffer each, not a growing heap.
    const pending = server.stats().pendingAnswerBytes;
    assert.ok(pending < CAP * 1024 * 1024, `${pending} bytes of answers wait`);
    // A fresh client is served at once: the longest-stalled connection makes room.
    const fresh = new ModelClient({ socketPath: ws.socket, mode: 'per-request', timeoutMs: 5_000 });
    assert.equal((await fresh.ping()).type, 'pong');
    fresh.close();
    // And every flooder is closed, by eviction or by its own stall timeout.
    await Promise.all(flooders.map((f) => f.closed));
    assert.ok((server.stats().errors.ERR_SLOW_CONSUMER ?? 0) >= CAP, JSON.stringify(server.stats().errors));
    const again = new ModelClient({ socketPath: ws.socket, mode: 'per-request', timeoutMs: 5_000 });
    assert.equal((await again.ping()).type, 'pong');
    again.close();
  });
});
