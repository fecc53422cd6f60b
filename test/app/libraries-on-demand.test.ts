/**
 * Libraries load where they are used, not with every process (ADR 0094):
 * gRPC's (grpc-js, protobufjs, the proto loader: about 3.5 MB of heap) only
 * where gRPC is spoken, not with the library, the CLI's run command or a
 * model server on its Unix socket (the system's own, which loads no KServe
 * at all), and by a gRPC client at its first call; MQTT's and NATS's clients
 * only for a config with an `mqtt` or `cluster` section (the app makes them
 * at start()); pino-pretty only for readable log lines. Each case in a Node
 * process of its own, which reports the CommonJS packages it loaded (ESM
 * imports of them go through the same cache).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';

const run = promisify(execFile);
const dist = (path: string): string => fileURLToPath(new URL(`../../src/${path}`, import.meta.url));

/** What a fresh process loads once `body` (an ES module's code, after `imports`) has run: packages under node_modules. */
async function loadedPackages(imports: string, body = ''): Promise<string[]> {
  const code = `${imports}
${body}
const { createRequire } = await import('node:module');
const cache = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify([...new Set(cache.map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean))]));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { timeout: 30_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as string[];
}

const GRPC = ['@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs'];
const ADAPTERS = ['mqtt', '@nats-io/nats-core', '@nats-io/transport-node', 'pino-pretty'];

describe('libraries load where they are used', { timeout: 120_000 }, () => {
  it('the library, the run command and a model server module load none of it', async () => {
    for (const module of ['index.js', 'cli/run.js', 'model-server/server.js']) {
      const loaded = await loadedPackages(`await import(${JSON.stringify(dist(module))});`);
      assert.ok(loaded.includes('ajv'), `${module}: the probe sees CommonJS packages (ajv: ${loaded.join(', ')})`);
      assert.deepEqual(
        loaded.filter((p) => GRPC.includes(p)),
        [],
        `${module} loaded ${loaded.join(', ')}`,
      );
    }
  });

  it('the library and the run command load no MQTT, NATS or pino-pretty; an app with an mqtt section loads mqtt.js at start()', async () => {
    for (const module of ['index.js', 'cli/run.js']) {
      const loaded = await loadedPackages(`await import(${JSON.stringify(dist(module))});`);
      assert.deepEqual(
        loaded.filter((p) => ADAPTERS.includes(p)),
        [],
        `${module} loaded ${loaded.join(', ')}`,
      );
    }
    // An app made from a config with mqtt, not started: nothing yet; started (the broker need not answer): mqtt.js.
    const app = `const { createApp } = await import(${JSON.stringify(dist('app/index.js'))});
const { parseConfig } = await import(${JSON.stringify(dist('config/index.js'))});
const app = createApp(parseConfig(JSON.stringify({ cameras: {}, shmDir: '/dev/shm/framesupplier-lazy-' + process.pid, mqtt: { url: 'mqtt://127.0.0.1:9' } })));`;
    assert.ok(!(await loadedPackages(app)).includes('mqtt'), 'made, not started');
    const started = await loadedPackages(app, 'await app.start(); await app.close();');
    assert.ok(started.includes('mqtt'), `started: ${started.join(', ')}`);
  });

  it('a gRPC client loads it at its first call, not when it is made', async () => {
    const imports = `const { KServeGrpcClient } = await import(${JSON.stringify(dist('kserve/index.js'))});`;
    const made = await loadedPackages(imports, `const client = new KServeGrpcClient({ url: 'grpc://127.0.0.1:9', model: 'm', timeoutMs: 2000 });`);
    assert.deepEqual(
      made.filter((p) => GRPC.includes(p)),
      [],
    );
    const called = await loadedPackages(
      imports,
      `const client = new KServeGrpcClient({ url: 'grpc://127.0.0.1:9', model: 'm', timeoutMs: 2000 });
await client.live().catch(() => undefined);
client.close();`,
    );
    for (const p of ['@grpc/grpc-js', '@grpc/proto-loader']) assert.ok(called.includes(p), `${p} after a call: ${called.join(', ')}`);
  });
});
