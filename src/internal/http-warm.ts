/**
 * Node's HTTP client (undici, behind `fetch`) compiles its HTTP parser the first time it makes a connection: some
 * 20–40 ms paid by the first request of a process. A part whose every request is timed (a vlm worker's ask) warms
 * it once per process with one request to a listener of its own on the loopback interface, opened and closed here:
 * nothing leaves the machine, and nothing is sent to anyone else. Never throws; resolves when warm (or when warming
 * could not be done, which only leaves the cost where it was).
 */
import { createServer } from 'node:http';

let warming: Promise<void> | null = null;

export function warmHttpClient(): Promise<void> {
  warming ??= (async () => {
    // Connection: close, so the client's pool keeps no socket to a listener that is about to go.
    const server = createServer((_request, response) => response.setHeader('connection', 'close').end());
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      const address = server.address();
      if (address === null || typeof address === 'string') return;
      const response = await fetch(`http://127.0.0.1:${address.port}/`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
    } catch {
      // Not warm: the first ask pays for it, as it did.
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  })();
  return warming;
}
