/**
 * The files a config names, checked before anything runs (src/pipeline/base/named-files.ts): what `config check`
 * lists and `run` refuses, with the codes `run` refuses them with.
 * - an onnx model whose model or class names file is not there: start() rejects with ERR_MODEL_LOAD naming the
 *   file, having started nothing (its model server used to fail at every restart, forever);
 * - a command worker whose program a path names and is not there, or not executable: ERR_WORKER_COMMAND (its
 *   worker used to crash at every restart); a bare name is left to PATH;
 * - namedFileProblems() lists every one of a config, each with its worker or model.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { namedFileProblems, VisionSystem } from '../../src/pipeline/index.js';
import { resolvedConfig } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), `fs-named-files-${process.pid}-`));
const shmDir = join(dir, 'shm');
const model = join(dir, 'yolo.onnx');
const labels = join(dir, 'labels.txt');
const script = join(dir, 'worker.sh');
const notExecutable = join(dir, 'plain.sh');
writeFileSync(model, 'not really a model: only its being there is checked');
writeFileSync(labels, 'person\n');
writeFileSync(script, '#!/bin/sh\n');
chmodSync(script, 0o755);
writeFileSync(notExecutable, '#!/bin/sh\n');
chmodSync(notExecutable, 0o644);
const source = 'lavfi:testsrc2=size=64x48:rate=5';
const log = createLogger({ level: 'silent' });
const isCode = (code: string, pattern: RegExp) => (e: Error & { code?: string }) => e.code === code && pattern.test(e.message);

async function refusedAtStart(config: unknown, code: string, pattern: RegExp): Promise<void> {
  const system = new VisionSystem({ config: resolvedConfig({ shmDir, ...(config as object) }), logger: log });
  const states: string[] = [];
  system.on('model-state', (e) => states.push(e.to));
  await assert.rejects(system.start(), isCode(code, pattern));
  assert.equal(system.state, 'closed');
  assert.deepEqual(states, [], 'no model server was started');
  await system.close();
}

describe('files a config names, checked before anything runs', { timeout: 30_000 }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('start(): an onnx model whose model file or class names file is not there is ERR_MODEL_LOAD naming it, once, before anything starts', async () => {
    const camera = { source, workers: [{ id: 'w', model: 'yolo' }] };
    await refusedAtStart(
      { models: { yolo: { handler: 'onnx', model: join(dir, 'nope.onnx') } }, cameras: { a: camera } },
      'ERR_MODEL_LOAD',
      new RegExp(`model yolo: the model file ${join(dir, 'nope.onnx')} does not exist`),
    );
    await refusedAtStart(
      { models: { yolo: { handler: 'onnx', model, classes: join(dir, 'nope.txt') } }, cameras: { a: camera } },
      'ERR_MODEL_LOAD',
      new RegExp(`the class names file ${join(dir, 'nope.txt')} does not exist`),
    );
    await refusedAtStart({ models: { yolo: { handler: 'onnx', model: dir } }, cameras: { a: camera } }, 'ERR_MODEL_LOAD', /is not a file/);
  });

  it('start(): a command worker whose program a path names is ERR_WORKER_COMMAND when it is not there or not executable', async () => {
    await refusedAtStart(
      { cameras: { a: { source, workers: [{ id: 'c', command: [join(dir, 'gone.sh')] }] } } },
      'ERR_WORKER_COMMAND',
      new RegExp(`camera a, worker c: ${join(dir, 'gone.sh')} does not exist`),
    );
    await refusedAtStart({ cameras: { a: { source, workers: [{ id: 'c', command: [notExecutable] }] } } }, 'ERR_WORKER_COMMAND', /plain\.sh is not executable/);
  });

  it('namedFileProblems(): every file that is not there, with its worker or model and the code run refuses it with; none when all are there', () => {
    const missing = resolvedConfig({
      models: { yolo: { handler: 'onnx', model: join(dir, 'nope.onnx') }, fine: { handler: 'onnx', model, classes: labels }, mock: { handler: 'mock' } },
      cameras: {
        a: {
          source,
          workers: [
            { id: 'm', module: join(dir, 'gone.js') },
            { id: 't', module: join(dir, 'gone-too.js'), thread: true },
            { id: 'c', command: [join(dir, 'gone.sh'), '--flag'] },
            { id: 'p', command: ['a-program-on-some-path', 'x.py'] },
            { id: 'b', module: 'builtin:motion' },
            { id: 'y', model: 'yolo' },
          ],
        },
      },
    });
    assert.deepEqual(
      namedFileProblems(missing).map((e) => `${e.code}: ${e.message}`),
      [
        `ERR_WORKER_MODULE: camera a, worker m: module ${join(dir, 'gone.js')} does not exist`,
        `ERR_WORKER_MODULE: camera a, worker t: module ${join(dir, 'gone-too.js')} does not exist`,
        `ERR_WORKER_COMMAND: camera a, worker c: ${join(dir, 'gone.sh')} does not exist`,
        `ERR_MODEL_LOAD: model yolo: the model file ${join(dir, 'nope.onnx')} does not exist (models.yolo.model)`,
      ],
    );
    const present = resolvedConfig({
      models: { yolo: { handler: 'onnx', model, classes: labels } },
      cameras: {
        a: {
          source,
          workers: [
            { id: 'c', command: [script] },
            { id: 'y', model: 'yolo' },
          ],
        },
      },
    });
    assert.deepEqual(namedFileProblems(present), []);
  });
});
