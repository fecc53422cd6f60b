/**
 * gRPC's libraries (grpc-js, protobufjs, the proto loader: about 3.5 MB of
 * heap) load only where gRPC is spoken: not with the library, not with the
 * CLI's run command, not in a model server on its Unix socket (the system's
 * own), which loads no KServe at all; a gRPC client loads them at its first
 * call. Each case in a Node process of its own, which reports the CommonJS
 * modules it loaded (ESM imports of them go through the same cache).
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

describe('gRPC loads only where it is spoken', { timeout: 120_000 }, () => {
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
