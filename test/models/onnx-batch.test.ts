/**
 * The onnx handler in batches (ADR 0127), on ONNX Runtime with a hand-built
 * YOLO model whose input has a free batch axis: one session run on frames of
 * different sizes gives each frame what a call of its own gives it (its boxes
 * mapped back to its own size); a frame that cannot go (JPEG) is refused
 * alone. A model whose first axis is a fixed 1, and the person model's shipped
 * networks, refuse `batch` above 1 with ERR_MODEL_BATCH: at load, in the
 * model-server command, and in `config check`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelClient } from '../../src/ipc/index.js';
import { checkOnnxBatch, createOnnxHandler, createPersonHandler, declaredInputs, type BatchItem } from '../../src/models/index.js';
import { FrameStoreWriter, readFrame, type FrameReference } from '../../src/shm/index.js';
import { CLI, ServerProcess, workspace } from './fixtures.js';
import { buildYoloModel, type Candidate } from './onnx-model.js';

const ws = workspace();
after(() => ws.cleanup());

const S = 320;
const candidates: Candidate[] = [
  { box: [160, 160, 64, 48], scores: [0.9, 0.1, 0] },
  { box: [40, 80, 20, 20], scores: [0, 0.1, 0.7] },
  // Under the threshold: more candidates than channels, as a YOLO head has, so the layout is told without names.
  ...Array.from({ length: 8 }, (_, i): Candidate => ({ box: [10 * i, 10, 5, 5], scores: [0.01, 0, 0] })),
];

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('onnx handler in batches', { timeout: 180_000 }, () => {
  const batched = join(ws.dir, 'tiny-batch.onnx');
  const fixed = join(ws.dir, 'tiny-fixed.onnx');
  let writer: FrameStoreWriter;

  before(() => {
    writeFileSync(batched, buildYoloModel({ layout: 'v8', inputSize: S, classes: 3, candidates, batchAxis: true }));
    writeFileSync(fixed, buildYoloModel({ layout: 'v8', inputSize: S, classes: 3, candidates }));
    writer = new FrameStoreWriter('batch_cam', { dir: ws.shmDir, slots: 8, slotBytes: 768 * 576 * 3 });
  });
  after(() => writer.close());

  const item = (ref: FrameReference): BatchItem => ({
    frame: readFrame(ref.frame_reference, ref.frame_metadata, ws.shmDir),
    request: { ...ref, camera_id: 'batch_cam', model_id: 'yolo', timestamp: 0 },
  });

  it('one run on frames of different sizes gives each what a call of its own gives it; a JPEG frame is refused alone', async () => {
    assert.deepEqual(declaredInputs(batched)[0]?.shape, ['batch', 3, S, S]);
    const handler = createOnnxHandler({ modelPath: batched, modelId: 'yolo', maxBatch: 4 });
    await handler.load!();
    try {
      assert.equal(handler.maxBatch, 4);
      const refs = [
        writer.write(new Uint8Array(768 * 576 * 3).fill(255), { width: 768, height: 576, format: 'RGB24' }),
        writer.write(new Uint8Array(320 * 240 * 3).fill(0), { width: 320, height: 240, format: 'RGB24' }),
        writer.write(new Uint8Array(400 * 300 * 3).fill(255), { width: 400, height: 300, format: 'RGB24' }),
      ];
      const outcomes = await handler.inferBatch!(
        refs.map((r) => item(r)),
        new AbortController().signal,
      );
      assert.equal(outcomes.length, 3);
      for (const [i, ref] of refs.entries()) {
        const alone = await handler.infer(item(ref).frame, item(ref).request, new AbortController().signal);
        const together = outcomes[i]!;
        assert.ok(!(together instanceof Error), together instanceof Error ? together.message : '');
        assert.deepEqual(together.detections, alone.detections, `frame ${i}`);
      }
      // White frames find the candidates, the black one nothing: each image's own scores.
      assert.equal((outcomes[0] as { detections: unknown[] }).detections.length, 2);
      assert.equal((outcomes[1] as { detections: unknown[] }).detections.length, 0);
      // 4:3 frames of two sizes: the same normalised boxes.
      assert.deepEqual((outcomes[0] as { detections: unknown[] }).detections, (outcomes[2] as { detections: unknown[] }).detections);
      const jpeg = writer.write(new Uint8Array(100).fill(1), { width: 10, height: 10, format: 'JPEG' });
      const mixed = await handler.inferBatch!([item(refs[0]!), item(jpeg)], new AbortController().signal);
      assert.equal((mixed[0] as { detections: unknown[] }).detections.length, 2);
      assert.ok(mixed[1] instanceof Error && (mixed[1] as { code?: string }).code === 'ERR_SCHEMA');
    } finally {
      await handler.close!();
    }
  });

  it('through the model-server command: --batch 4 on a free batch axis serves, its pong says max_batch 4', async () => {
    const socket = join(ws.dir, 'onnx-batch.sock');
    const server = await new ServerProcess(socket, ws.shmDir, ['--handler', 'onnx', '--model', batched, '--model-id', 'yolo', '--batch', '4']).start();
    const client = new ModelClient({ socketPath: socket, mode: 'per-request' });
    try {
      const ref = writer.write(new Uint8Array(768 * 576 * 3).fill(255), { width: 768, height: 576, format: 'RGB24' });
      const answer = await client.infer({ ...ref, camera_id: 'batch_cam', model_id: 'yolo', timestamp: 0 });
      assert.equal(answer.error, null);
      assert.equal(answer.detections.length, 2);
      assert.equal(answer.metadata.batch_size, 1);
      assert.equal((await client.ping()).max_batch, 4);
    } finally {
      client.close();
      await server.kill('SIGTERM');
    }
  });

  it('a fixed batch axis, and the person model, refuse batch above 1 with ERR_MODEL_BATCH: at load, in model-server, in config check', async () => {
    assert.throws(() => checkOnnxBatch('model yolo', fixed, 2), { code: 'ERR_MODEL_BATCH', message: /free batch axis.*\[1, 3, 320, 320\].*dynamic=True/ });
    checkOnnxBatch('model yolo', fixed, 1);
    checkOnnxBatch('model yolo', batched, 8);
    await assert.rejects(createOnnxHandler({ modelPath: fixed, maxBatch: 2 }).load!(), { code: 'ERR_MODEL_BATCH' });
    assert.throws(() => createPersonHandler({ maxBatch: 2, threads: 1 }), { code: 'ERR_MODEL_BATCH', message: /movenet-multipose\.onnx.*\[1, / });
    const cli = await run([
      'model-server',
      '--handler',
      'onnx',
      '--model',
      fixed,
      '--batch',
      '2',
      '--socket',
      join(ws.dir, 'never.sock'),
      '--shm-dir',
      ws.shmDir,
    ]);
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /ERR_MODEL_BATCH/);
    const config = join(ws.dir, 'batch.yaml');
    writeFileSync(
      config,
      [
        'cameras: {}',
        'models:',
        `  yolo: { handler: onnx, model: ${fixed}, batch: 8 }`,
        `  dynamic: { handler: onnx, model: ${batched}, batch: 8 }`,
        '  person: { handler: person, batch: 4 }',
        '  stand-in: { handler: mock, batch: 32, delayMs: 4, delayPerFrameMs: 0.3 }',
      ].join('\n'),
    );
    const check = await run(['config', 'check', config]);
    assert.equal(check.code, 2, check.stdout + check.stderr);
    const lines = check.stderr
      .trim()
      .split('\n')
      .filter((line) => line.startsWith('framesupplier: ERR_'));
    assert.equal(lines.length, 2, check.stderr);
    assert.match(lines[0]!, /^framesupplier: ERR_MODEL_BATCH: model yolo \(models\.yolo\.batch\)/);
    assert.match(lines[1]!, /^framesupplier: ERR_MODEL_BATCH: model person \(models\.person\.batch\)/);
  });
});
