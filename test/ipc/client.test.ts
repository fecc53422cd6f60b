/**
 * ModelClient's lifecycle (ADR 0013) against a real in-process ModelServer
 * on a real Unix socket: start() connects once, close() is final and fails
 * what is in flight with ERR_CLIENT_CLOSED, `using` and `await using` close it.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { deferred } from '../../src/internal/abort.js';
import { ModelClient, type InferenceRequest } from '../../src/ipc/index.js';
import { createMockHandler, ModelServer } from '../../src/models/index.js';
import { workspace, writeFrames } from '../models/fixtures.js';

const ws = workspace();
after(() => ws.cleanup());

const request = (ref: { frame_reference: string; frame_metadata: InferenceRequest['frame_metadata'] }, camera = 'camera_1'): InferenceRequest => ({
  ...ref,
  camera_id: camera,
  model_id: 'mock',
  timestamp: Date.now() / 1000,
});

describe('model client lifecycle', { timeout: 60_000 }, () => {
  it('start() connects ahead of the first call, once however often it is called; close() twice is safe; calls and start() after close() are ERR_CLIENT_CLOSED', async () => {
    await using server = await new ModelServer({ socketPath: ws.socket, shmDir: ws.shmDir, handler: createMockHandler() }).start();
    const client = new ModelClient({ socketPath: ws.socket });
    assert.equal(await client.start(), client);
    await client.start();
    assert.equal((await client.ping()).connections, 1, 'one connection for two starts and a call');
    client.close();
    client.close();
    await assert.rejects(client.start(), { code: 'ERR_CLIENT_CLOSED' });
    await assert.rejects(client.ping(), { code: 'ERR_CLIENT_CLOSED' });
    assert.equal(server.stats().requests, 1);
  });

  it('start() with nothing listening is ERR_SERVER_UNAVAILABLE and the client stays usable; per-request mode has nothing to start', async () => {
    const socketPath = `${ws.dir}/later.sock`;
    using client = new ModelClient({ socketPath });
    await assert.rejects(client.start(), { code: 'ERR_SERVER_UNAVAILABLE' });
    await using server = await new ModelServer({ socketPath, shmDir: ws.shmDir, handler: createMockHandler() }).start();
    await client.start();
    assert.equal((await client.ping()).model_id, server.modelId);
    using perRequest = new ModelClient({ socketPath: `${ws.dir}/nothing.sock`, mode: 'per-request' });
    assert.equal(await perRequest.start(), perRequest);
  });

  it('close() fails a call in flight with ERR_CLIENT_CLOSED at once', async () => {
    const { writer, refs } = writeFrames(ws.shmDir, 'camera_1', 1);
    using _writer = writer;
    const inHandler = deferred<void>();
    const release = deferred<void>();
    const socketPath = `${ws.dir}/held.sock`;
    await using _server = await new ModelServer({
      socketPath,
      shmDir: ws.shmDir,
      handler: {
        name: 'held',
        modelId: 'mock',
        infer: async () => {
          inHandler.resolve();
          await release.promise;
          return { detections: [] };
        },
      },
    }).start();
    const client = new ModelClient({ socketPath });
    const inFlight = client.infer(request(refs[0]!));
    await inHandler.promise;
    client.close();
    await assert.rejects(inFlight, { code: 'ERR_CLIENT_CLOSED' });
    release.resolve();
  });

  it('`await using` and `using` close it', async () => {
    await using _server = await new ModelServer({ socketPath: ws.socket, shmDir: ws.shmDir, handler: createMockHandler() }).start();
    let escaped: ModelClient;
    {
      await using client = await new ModelClient({ socketPath: ws.socket }).start();
      escaped = client;
      assert.equal((await client.ping()).type, 'pong');
    }
    await assert.rejects(escaped.ping(), { code: 'ERR_CLIENT_CLOSED' });
    {
      using client = new ModelClient({ socketPath: ws.socket, mode: 'per-request' });
      escaped = client;
      assert.equal((await client.ping()).type, 'pong');
    }
    await assert.rejects(escaped.ping(), { code: 'ERR_CLIENT_CLOSED' });
  });
});
