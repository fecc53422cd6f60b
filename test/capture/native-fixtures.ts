/**
 * Real components for the native decoder's thread tests: a TCP server that
 * accepts and never answers (a camera whose RTSP server is dead), and a count
 * of the addon's decoder threads read from /proc.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';

export class SilentServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #waiters: { n: number; resolve: () => void }[] = [];
  /** Connections accepted so far, in all. */
  accepted = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<SilentServer> {
    const server = createServer();
    const silent = new SilentServer(server);
    server.on('connection', (socket) => silent.#onConnection(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return silent;
  }

  #onConnection(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.resume(); // read the RTSP request, never answer it
    this.accepted++;
    for (const waiter of this.#waiters.filter((w) => this.accepted >= w.n)) waiter.resolve();
  }

  url(path: string): string {
    const address = this.#server.address();
    assert.ok(address !== null && typeof address === 'object');
    return `rtsp://127.0.0.1:${address.port}/${path}`;
  }

  /** Resolves once n connections have been accepted in all. */
  acceptedAtLeast(n: number): Promise<void> {
    if (this.accepted >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

/** Threads of this process that are the addon's decoder threads (it names them fs-decoder). */
export function decoderThreads(): number {
  let n = 0;
  for (const task of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim() === 'fs-decoder') n++;
    } catch {
      // the thread ended meanwhile
    }
  }
  return n;
}
