/**
 * A held flood of TCP connections that send nothing: `count` connections
 * from `localAddress`, each opened again when the server closes it, until
 * stop(). In the test's own process, or as a process of its own (run this
 * file with PORT COUNT ADDRESS...: it prints "held" once every connection is
 * open and stops when its stdin ends), so that a flood against a server in
 * another process does not starve the test's own client of its loop: an
 * attacker is not the client's process either.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface Flood {
  /** Connections the server closed and the flood opened again. */
  readonly reopened: () => number;
  /** Ends every flood connection and stops reopening them. */
  stop(): Promise<void>;
}

export async function flood(port: number, count: number, localAddress: string): Promise<Flood> {
  const sockets = new Set<Socket>();
  let held = true;
  let reopened = 0;
  const open = (): Promise<void> => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    sockets.add(socket);
    socket.on('error', () => undefined);
    // Read (and drop) what the server sends (gRPC's SETTINGS): a socket with unread data never ends, so never closes.
    socket.resume();
    socket.once('close', () => {
      sockets.delete(socket);
      if (!held) return;
      reopened++;
      void open();
    });
    // Closed by the server before this side saw it connect is as good as connected: the server had it.
    return Promise.race([once(socket, 'connect'), once(socket, 'close')]).then(() => undefined);
  };
  await Promise.all(Array.from({ length: count }, open));
  return {
    reopened: () => reopened,
    async stop() {
      held = false;
      const closed = [...sockets].map((s) => once(s, 'close'));
      for (const s of sockets) s.destroy();
      await Promise.all(closed);
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [port, count, ...addresses] = process.argv.slice(2);
  const floods = await Promise.all((addresses.length > 0 ? addresses : ['127.0.0.1']).map((a) => flood(Number(port), Number(count), a)));
  process.stdout.write('held\n');
  process.stdin.resume();
  await once(process.stdin, 'end');
  await Promise.all(floods.map((f) => f.stop()));
  process.exit(0);
}
