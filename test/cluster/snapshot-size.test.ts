/**
 * A stored snapshot larger than what the NATS server carries in one message (its max_payload, 1 MiB by default; a
 * 4K frame's JPEG can be more): the node that stores it answers the asking node "not here", logs why, and runs on.
 * Before, the reply threw inside the subscription's callback, an unhandled rejection that ended the node.
 * A real nats-server, its max_payload set low so a small picture is over it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Refusals, type NodeContext } from '../../src/cluster/context.js';
import { EventQueries } from '../../src/cluster/event-queries.js';
import { nodeSnapshotSubject } from '../../src/cluster/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { freePort, lineFrom } from '../helpers/process.js';

const MAX_PAYLOAD = 64 * 1024;
const ID = '1700000000.123456-abcdef';
const dir = mkdtempSync(join(tmpdir(), `framesupplier-snapshot-size-${process.pid}-`));
const LOG = join(dir, 'node.log');

describe('a snapshot over the NATS server max_payload', { timeout: 60_000 }, () => {
  let nats: ManagedProcess;
  let server: NatsConnection;
  let asker: NatsConnection;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  before(async () => {
    const port = await freePort();
    const config = join(dir, 'nats.conf');
    writeFileSync(config, `listen: 127.0.0.1:${port}\nmax_payload: ${MAX_PAYLOAD}\n`);
    nats = spawnManaged('nats-server', ['-c', config]);
    await lineFrom(nats, /Server is ready/);
    server = await connect({ servers: `nats://127.0.0.1:${port}` });
    asker = await connect({ servers: `nats://127.0.0.1:${port}` });
    process.on('unhandledRejection', onUnhandled);
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await asker?.close();
    await server?.close();
    await nats?.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('is answered as not here, said in the log, and the node answers the next request', async () => {
    const log = createLogger({ level: 'warn', destination: LOG });
    const ctx = { nodeId: 'n1', settings: { eventsTimeoutMs: 5_000 }, log, refusals: new Refusals(log) } as unknown as NodeContext;
    const big = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(MAX_PAYLOAD * 2)]);
    const small = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
    let stored = big;
    const queries = new EventQueries(ctx, { local: () => ({ query: () => [], snapshot: () => Promise.resolve(stored) }), liveNodes: () => ['n1'] });
    const subscriptions = queries.subscribe(server);
    await server.flush(); // the server has the subscriptions before the other connection asks (else: no responders)
    try {
      const reply = await asker.request(nodeSnapshotSubject('n1'), Buffer.from(ID), { timeout: 5_000 });
      assert.equal(reply.data.byteLength, 0, 'answered as not here');
      stored = small;
      const next = await asker.request(nodeSnapshotSubject('n1'), Buffer.from(ID), { timeout: 5_000 });
      assert.deepEqual(Buffer.from(next.data), small, 'the next snapshot is served');
      const lines = readFileSync(LOG, 'utf8');
      assert.match(lines, /a snapshot could not be sent/);
      assert.match(lines, new RegExp(`"bytes":${big.byteLength}`));
      assert.deepEqual(unhandled, [], 'no unhandled rejection');
    } finally {
      for (const s of subscriptions) s.unsubscribe();
    }
  });
});
