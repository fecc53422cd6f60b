/**
 * `framesupplier models check FILE.onnx`, the real command as a child process,
 * on small YOLO-shaped models built by the tests' ONNX writer and frames of
 * the real sample clip: it says what the model is (input, output, layout,
 * classes), runs it and says how fast; a model no layout fits is refused
 * with ERR_MODEL_LAYOUT and exit 2.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { VTEST } from '../helpers/media.js';
import { buildYoloModel, type Candidate } from '../models/onnx-model.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fs-models-check-'));
const candidates: Candidate[] = [
  { box: [160, 160, 64, 48], scores: [0.9, 0.1, 0] },
  { box: [40, 80, 20, 20], scores: [0, 0.1, 0.7] },
];

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, FRAMESUPPLIER_SAMPLE_MEDIA: VTEST } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('framesupplier models check', { timeout: 120_000 }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('says what the model is, runs it on the sample clip and says how fast', async () => {
    const model = join(dir, 'tiny-v8.onnx');
    writeFileSync(model, buildYoloModel({ layout: 'v8', inputSize: 320, classes: 3, candidates }));
    const names = join(dir, 'names.txt');
    writeFileSync(names, 'person\nbicycle\ncar\n');
    const r = await cli(['models', 'check', model, '--classes', names, '--frames', '4']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^input {4}images \[1, 3, 320, 320\]/m);
    assert.match(r.stdout, /^output {3}output0 \[1, 7, 2\]/m);
    assert.match(r.stdout, /^layout {3}v8 \(read from the output\)/m);
    assert.match(r.stdout, /^classes {2}3: person, bicycle, car$/m);
    assert.equal(r.stdout.match(/^frame +\d+ {2}\d+ detection/gm)?.length, 4);
    assert.match(r.stdout, /^found {4}person ×4, car ×4 in 4 frames of /m);
    assert.match(r.stdout, /^speed {4}\d+(\.\d)? frames per CPU-second .*; \d+(\.\d)? ms p50 a frame$/m);
  });

  it('an output no layout fits is ERR_MODEL_LAYOUT with its shape; no file is ERR_MODEL_LOAD; both exit 2', async () => {
    const odd = join(dir, 'tiny-odd.onnx');
    writeFileSync(odd, buildYoloModel({ layout: 'v8', inputSize: 320, classes: 3, candidates: candidates.slice(0, 2) }));
    const r = await cli(['models', 'check', odd]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^framesupplier: ERR_MODEL_LAYOUT: output output0 \[1, 7, 2\] fits no YOLO layout/);
    const missing = await cli(['models', 'check', join(dir, 'nope.onnx')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^framesupplier: ERR_MODEL_LOAD/);
    assert.match((await cli(['models', 'list'])).stderr, /ERR_INVALID_ARGUMENT: models takes check FILE.onnx/);
  });
});
