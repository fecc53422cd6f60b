/**
 * Debian's nats-server with JetStream for the cluster tests, on loopback:
 * started and waited for until JetStream answers. Its "Server is ready" line
 * comes before JetStream does, and a key read in between crashed Debian's
 * nats-server 2.9.10 (a nil dereference in its message-get handler), so a
 * test reads nothing before this resolves, as the node waits for it too.
 */
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { lineFrom } from './process.js';

/** nats-server on 127.0.0.1:`port`, its JetStream store in `dir`/store, once JetStream answers. */
export async function startNatsWithJetStream(port: number, dir: string): Promise<ManagedProcess> {
  const nats = spawnManaged('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'store')]);
  await lineFrom(nats, /Server is ready/);
  const probe = await connect({ servers: `nats://127.0.0.1:${port}` });
  try {
    for (;;) {
      const ready = await jetstreamManager(probe).then(
        () => true,
        () => false,
      );
      if (ready) break;
      await new Promise((resolve) => setTimeout(resolve, 50)); // polling: JetStream says nothing when it is up
    }
  } finally {
    await probe.close();
  }
  return nats;
}
