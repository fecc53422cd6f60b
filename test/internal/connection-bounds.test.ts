/**
 * ConnectionBounds on a real node:net server over loopback (127.0.0.1 and
 * 127.0.0.2 as two client addresses): which connection makes room for a
 * newcomer over a bound, and when the newcomer is the one closed.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { ConnectionBounds, type ConnectionBoundsOptions } from '../../src/internal/connection-bounds.js';

interface Bounded {
  readonly bounds: ConnectionBounds;
  readonly server: Server;
  /** The server's side of each connection it kept, in order. */
  readonly accepted: Socket[];
}

const opened: Socket[] = [];
let current: Bounded | null = null;

async function bounded(options: ConnectionBoundsOptions): Promise<Bounded> {
  const bounds = new ConnectionBounds(options);
  const accepted: Socket[] = [];
  const server = createServer((socket) => {
    if (bounds.admit(socket)) accepted.push(socket);
    server.emit('admitted', socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  current = { bounds, server, accepted };
  return current;
}

/** A client connection from `localAddress`, resolved once the server has decided on it. */
async function client(b: Bounded, localAddress: string, send?: string): Promise<Socket> {
  const admitted = once(b.server, 'admitted');
  const socket = connect({ port: (b.server.address() as AddressInfo).port, host: '127.0.0.1', localAddress });
  socket.on('error', () => undefined);
  socket.resume();
  opened.push(socket);
  await admitted;
  // Two loop turns, in which the server could read what the connection sent: until then it is not silent yet.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  if (send !== undefined) {
    const serverSide = b.accepted.at(-1)!;
    socket.write(send);
    await once(serverSide, 'data');
  }
  return socket;
}

describe('ConnectionBounds', { timeout: 30_000 }, () => {
  afterEach(async () => {
    for (const s of opened.splice(0)) s.destroy();
    if (current !== null) {
      current.bounds.destroyAll();
      await new Promise((resolve) => current!.server.close(resolve));
      current = null;
    }
  });

  it("over the total bound, the newcomer's own address's oldest silent connection makes room before an older one of another address", async () => {
    const b = await bounded({ maxConnections: 3, maxConnectionsPerAddress: 10 });
    await client(b, '127.0.0.2');
    await client(b, '127.0.0.1');
    await client(b, '127.0.0.1');
    await client(b, '127.0.0.1');
    // Making room is synchronous with the admission: the server's sides say who was closed.
    assert.deepEqual(
      b.accepted.map((s) => s.destroyed),
      [false, true, false, false],
    );
    assert.deepEqual(b.bounds.stats(), { open: 3, evicted: 1, refused: 0, idleClosed: 0 });
  });

  it('over the per-address bound, only that address pays; a connection that has sent a byte is never evicted', async () => {
    const b = await bounded({ maxConnections: 100, maxConnectionsPerAddress: 2 });
    await client(b, '127.0.0.1');
    await client(b, '127.0.0.2', 'x');
    await client(b, '127.0.0.2');
    await client(b, '127.0.0.2');
    await client(b, '127.0.0.2');
    // .2's silent ones went in turn for its newcomers; its talker and .1's silent one stayed.
    assert.deepEqual(
      b.accepted.map((s) => s.destroyed),
      [false, false, true, true, false],
    );
    assert.equal(b.bounds.stats().evicted, 2);
  });

  it('the newcomer is closed when every connection in the way has sent something', async () => {
    const b = await bounded({ maxConnections: 2, maxConnectionsPerAddress: 10 });
    await client(b, '127.0.0.1', 'a');
    await client(b, '127.0.0.2', 'b');
    const newcomer = await client(b, '127.0.0.1');
    await once(newcomer, 'close');
    assert.deepEqual(b.bounds.stats(), { open: 2, evicted: 0, refused: 1, idleClosed: 0 });
  });

  it('a connection silent for silentTimeoutMs is closed; one that sent a byte stays', async () => {
    const b = await bounded({ maxConnections: 10, maxConnectionsPerAddress: 10, silentTimeoutMs: 50 });
    const talking = await client(b, '127.0.0.1', 'x');
    const silent = await client(b, '127.0.0.1');
    await once(silent, 'close');
    assert.equal(b.bounds.stats().idleClosed, 1);
    assert.equal(talking.destroyed, false);
    assert.equal(b.bounds.stats().open, 1);
  });

  it('a connection admitted in this loop turn or the one before is not silent yet: the newcomer is refused, and after two turns the oldest makes room', async () => {
    // The server's sides of four connections, collected first so that they can be admitted in one turn, as one accept
    // burst of a flood admits them: before the loop has polled any of them for its first bytes.
    const bounds = new ConnectionBounds({ maxConnections: 2, maxConnectionsPerAddress: 10 });
    const sides: Socket[] = [];
    const server = createServer({ pauseOnConnect: true }, (socket) => {
      sides.push(socket);
      server.emit('collected');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      for (let i = 0; i < 4; i++) {
        const collected = once(server, 'collected');
        const socket = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1' });
        socket.on('error', () => undefined);
        opened.push(socket);
        await collected;
      }
      const [first, second, third, fourth] = sides as [Socket, Socket, Socket, Socket];
      assert.equal(bounds.admit(first), true);
      assert.equal(bounds.admit(second), true);
      assert.equal(bounds.admit(third), false, 'both held connections were admitted this turn: neither has been read yet');
      assert.deepEqual(bounds.stats(), { open: 2, evicted: 0, refused: 1, idleClosed: 0 });
      // The turn ends after its poll; in the next one the first two could have been read, and after it they are silent.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(bounds.admit(fourth), true);
      assert.equal(first.destroyed, true, 'the oldest silent connection made room');
      assert.equal(second.destroyed, false);
      assert.deepEqual(bounds.stats(), { open: 2, evicted: 1, refused: 1, idleClosed: 0 });
    } finally {
      bounds.destroyAll();
      for (const side of sides) side.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses bounds that are not positive integers', () => {
    assert.throws(() => new ConnectionBounds({ maxConnections: 0, maxConnectionsPerAddress: 1 }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => new ConnectionBounds({ maxConnections: 1, maxConnectionsPerAddress: 1.5 }), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
