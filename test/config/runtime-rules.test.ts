/**
 * Rules the running system enforced on a config that `config check` did not know (issue 41 item 1, ADR 0056):
 * each is now the validator's, with path and line, and the part that enforced it agrees with the validator on
 * both sides of the bound (what the validator accepts runs; what it refuses, the part refused too).
 * - cluster.leaseMs: a node ticks every max(50, leaseMs / 4) ms and must renew twice per lease, so a lease of
 *   100 ms or less threw ERR_CLUSTER_CONFIG when the node was made; a program's own tickMs likewise. A program
 *   handing ClusterNode options without a file gets the config's ERR_CONFIG with paths.
 * - a worker's maxAgeMs over a day: a model worker's requests carry it as their age budget, which the protocol
 *   bounds (modelClientWorker threw ERR_INVALID_ARGUMENT when the camera was built).
 * - the person handler's inputSize with network centernet: the model server refused it at each start.
 * - a track's lowScore above highScore when one of them is its default (the tracker threw at every result).
 * - a vlm worker's answer schema, or a summary's, that is not a JSON schema Ajv compiles: the vlm client threw
 *   when the worker was built (`run` stopped with ERR_UNEXPECTED) or at each summary asked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterNode } from '../../src/cluster/index.js';
import { ConfigError, formatIssue, parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { SHORTEST_LEASE_MS } from '../../src/internal/lease-tick.js';
import { handlerOptionsFromFlags } from '../../src/model-server/index.js';
import { createPersonHandler } from '../../src/models/index.js';
import { resolveTrackerOptions } from '../../src/objects/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { modelClientWorker, VlmClient } from '../../src/workers/index.js';
import { resolvedConfig } from '../pipeline/helpers.js';
import { issuesOf, printed, yaml } from './helpers.js';

/** Whether the validator takes this text. */
function valid(text: string): boolean {
  try {
    parseConfig(text, { env: {}, fileName: 'test.yaml' });
    return true;
  } catch (error) {
    if (error instanceof ConfigError) return false;
    throw error;
  }
}

/** Whether fn runs without throwing; the code it threw otherwise. */
function runs(fn: () => unknown): true | string {
  try {
    fn();
    return true;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

const log = createLogger({ level: 'silent' });

describe('rules the runtime enforced are the validator’s, with path and line', { timeout: 60_000 }, () => {
  it('cluster.leaseMs: 100 or less is refused at its line; from 101 on, a node is made with it', async () => {
    const text = (lease: number): string => yaml('cameras: {}', 'cluster:', '  servers: [nats://127.0.0.1:4222]', `  leaseMs: ${lease}`);
    assert.deepEqual(printed(issuesOf(text(100))), [
      'cluster.leaseMs: (100) must be at least 101: a node renews its lease every max(50, leaseMs / 4) ms (50 here), at least twice per lease (line 4)',
    ]);
    assert.equal(SHORTEST_LEASE_MS, 101);
    await using system = new VisionSystem({ config: resolvedConfig({ cameras: {} }), logger: log });
    // The node agrees with the validator at every lease around the bound (constructing one connects to nothing).
    for (const lease of [1, 50, 99, 100, 101, 102, 150, 199, 200, 201, 400]) {
      const node = runs(() => new ClusterNode({ servers: ['nats://127.0.0.1:4222'], system, log, nodeId: 'n1', leaseMs: lease }));
      assert.equal(node === true, valid(text(lease)), `leaseMs ${lease}: the node says ${String(node)}`);
      if (node !== true) assert.equal(node, 'ERR_CONFIG');
    }
  });

  it("a program's ClusterNode options are judged by the same rules: ERR_CONFIG, every issue with its path", async () => {
    await using system = new VisionSystem({ config: resolvedConfig({ cameras: {} }), logger: log });
    assert.throws(
      () =>
        new ClusterNode({
          servers: [],
          system,
          log,
          nodeId: 'not an id',
          capacity: 0,
          leaseMs: 1_000,
          tickMs: 500,
          auth: { user: 'u', token: 'tok-secret-1' },
          tls: { cert: '/c.pem' },
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.code, 'ERR_CONFIG');
        assert.deepEqual(printed(error.issues), [
          'cluster.auth: one method at a time, got user/password and token',
          'cluster.auth.password: is required: user and password go together',
          'cluster.capacity: must be above 0 and at most 1000000',
          'cluster.nodeId: must be an id: 1–64 characters of A–Z a–z 0–9 _ -',
          'cluster.servers: needs at least one nats:// server',
          'cluster.tickMs: (500) must be under half of leaseMs (1000): a node renews its lease at least twice per lease',
          'cluster.tls.key: is required: cert and key go together',
        ]);
        assert.ok(!error.message.includes('tok-secret-1'), error.message);
        return true;
      },
    );
  });

  it("a worker's maxAgeMs over a day is refused at its line, as a model worker's requests would refuse it", () => {
    const text = (maxAgeMs: number): string =>
      yaml(
        'models: { m: { handler: mock } }',
        'cameras:',
        '  c:',
        '    source: rtsp://10.0.0.1/s',
        `    workers: [{ id: w, model: m, maxAgeMs: ${maxAgeMs} }]`,
      );
    assert.deepEqual(printed(issuesOf(text(86_400_001))), ['cameras.c.workers[0].maxAgeMs: must be at most 86400000 (line 5)']);
    assert.deepEqual(printed(issuesOf(yaml('defaults: { workers: { maxAgeMs: 100000000 } }', 'cameras: {}'))), [
      'defaults.workers.maxAgeMs: must be at most 86400000 (line 1)',
    ]);
    for (const maxAgeMs of [86_400_000, 86_400_001]) {
      const worker = runs(() => modelClientWorker({ socketPath: '/tmp/m.sock', modelId: 'm', maxAgeMs }));
      assert.equal(worker === true, valid(text(maxAgeMs)), `maxAgeMs ${maxAgeMs}: the worker says ${String(worker)}`);
    }
  });

  it("the person handler's inputSize with network centernet is refused at its line, and as a model server's flags", () => {
    const text = (network: string, inputSize: string): string =>
      yaml('models:', `  p: { handler: person, network: ${network}${inputSize === '' ? '' : `, inputSize: ${inputSize}`} }`, 'cameras: {}');
    assert.deepEqual(printed(issuesOf(text('centernet', '448'))), [
      'models.p.inputSize: is an option of network movenet-multipose only (centernet takes 512 × 512): drop it (line 2)',
    ]);
    assert.throws(
      () => handlerOptionsFromFlags('person', { network: 'centernet', 'input-size': '448' }),
      (error: Error & { code?: string }) =>
        error.code === 'ERR_INVALID_ARGUMENT' && /--input-size: is an option of network movenet-multipose only/.test(error.message),
    );
    // The handler refuses the same (checked before it starts anything), and takes what the validator takes.
    assert.equal(
      runs(() => createPersonHandler({ network: 'centernet', inputSize: 448 })),
      'ERR_INVALID_ARGUMENT',
    );
    assert.ok(valid(text('centernet', '')) && valid(text('movenet-multipose', '448')));
  });

  it('a track whose lowScore exceeds highScore, either of them its default, is refused at its line, as the tracker refuses it', () => {
    const text = (track: string): string =>
      yaml('models: { m: { handler: mock } }', 'cameras:', '  c:', '    source: rtsp://10.0.0.1/s', `    workers: [{ id: w, model: m, track: ${track} }]`);
    assert.deepEqual(printed(issuesOf(text('{ lowScore: 0.7 }'))), [
      'cameras.c.workers[0].track.lowScore: (0.7) must not exceed highScore (0.5, its default) (line 5)',
    ]);
    assert.deepEqual(printed(issuesOf(text('{ highScore: 0.05 }'))), [
      'cameras.c.workers[0].track.highScore: (0.05) must not be under lowScore (0.1, its default) (line 5)',
    ]);
    assert.deepEqual(printed(issuesOf(text('{ lowScore: 0.6, highScore: 0.4 }'))), [
      'cameras.c.workers[0].track.lowScore: (0.6) must not exceed highScore (0.4) (line 5)',
    ]);
    const pairs: { lowScore?: number; highScore?: number }[] = [
      { lowScore: 0.7 },
      { lowScore: 0.5 },
      { lowScore: 0.3 },
      { highScore: 0.05 },
      { highScore: 0.1 },
      { lowScore: 0.6, highScore: 0.4 },
      { lowScore: 0.4, highScore: 0.4 },
      {},
    ];
    for (const track of pairs) {
      const tracker = runs(() => resolveTrackerOptions(track));
      assert.equal(tracker === true, valid(text(JSON.stringify(track))), `${JSON.stringify(track)}: the tracker says ${String(tracker)}`);
    }
  });

  it("a vlm worker's or a summary's answer schema that is no JSON schema is refused at its line, as the vlm client refuses it", () => {
    const vlm = (schema: string): string => `      - { id: v, vlm: { api: openai, url: "http://gpu:8000/v1", model: llava, prompt: hi, schema: ${schema} } }`;
    const text = (schema: string, summary = ''): string =>
      yaml(
        'cameras:',
        '  c:',
        '    source: rtsp://10.0.0.1/s',
        '    workers:',
        vlm(schema),
        ...(summary === '' ? [] : [`    summary: { schema: ${summary} }`]),
      );
    const broken = '{ type: object, properties: { colour: { type: colour } } }';
    assert.deepEqual(printed(issuesOf(text(broken))), [
      'cameras.c.workers[0].vlm.schema: is not a JSON schema at properties.colour.type: must be equal to one of the allowed values (line 5)',
    ]);
    assert.deepEqual(printed(issuesOf(text('{ type: object }', broken))), [
      'cameras.c.summary.schema: is not a JSON schema at properties.colour.type: must be equal to one of the allowed values (line 6)',
    ]);
    const client = (schema: Record<string, unknown>): true | string =>
      runs(() => new VlmClient({ api: 'openai', url: 'http://gpu:8000/v1', model: 'llava', apiKey: null, stream: false, schema, schemaName: 'answer' }));
    for (const schema of [
      { type: 'object', properties: { colour: { type: 'colour' } } },
      { type: 'object', properties: { colour: { type: 'string', enum: ['red', 'blue'] } }, required: ['colour'] },
      { type: 'object', properties: { box: { $ref: '#/definitions/nowhere' } } },
      // With an $id: compiled by the config's check and again by the client (Ajv once refused the second).
      { $id: 'https://example.com/answer.json', type: 'object', properties: { colour: { type: 'string' } } },
    ]) {
      const yamlSchema = JSON.stringify(schema);
      assert.equal(client(schema) === true, valid(text(yamlSchema)), `${yamlSchema}: the client says ${String(client(schema))}`);
    }
  });

  it('their issues come with the rest of the file’s, each at its line', () => {
    const text = yaml(
      'models: { m: { handler: mock } }', // 1
      'cameras:', // 2
      '  c:', // 3
      '    source: rtsp://10.0.0.1/s', // 4
      '    workers: [{ id: w, model: m, track: { lowScore: 0.9 }, maxAgeMs: 1e9 }]', // 5
      'cluster: { servers: [nats://127.0.0.1:4222], leaseMs: 60 }', // 6
    );
    assert.deepEqual(issuesOf(text).map(formatIssue), [
      'cameras.c.workers[0].track.lowScore: (0.9) must not exceed highScore (0.5, its default) (line 5)',
      'cameras.c.workers[0].maxAgeMs: must be at most 86400000 (line 5)',
      'cluster.leaseMs: (60) must be at least 101: a node renews its lease every max(50, leaseMs / 4) ms (50 here), at least twice per lease (line 6)',
    ]);
  });
});
