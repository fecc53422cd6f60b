/**
 * One candidate of the PERSON-MODELS benchmark, in its own worker thread (a
 * TF.js backend is chosen once per thread; an ONNX Runtime session's threads
 * must not overlap the next candidate's): loads it, runs the frames, posts its
 * figures and its boxes on every frame (for the comparison with TF.js).
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { PersonModel, type PersonModelOptions, type StageTimings } from '../../src/models/person/person-model.js';
import { matchLabelled } from '../../test/helpers/labelled-frame.js';

export interface CandidateJob {
  /** tfjs: the model as it ran before ONNX Runtime (test/models/tfjs-person-model.ts), the reference. */
  readonly engine: 'onnx' | 'tfjs';
  readonly options: PersonModelOptions;
  readonly frames: ArrayBuffer[];
  readonly labelled: ArrayBuffer;
  readonly width: number;
  readonly height: number;
  readonly count: number;
  readonly warmup: number;
}

type Box = [number, number, number, number];

export interface CandidateResult {
  readonly totalMs: number[];
  readonly stages: StageTimings;
  /** CPU time of the process (this candidate alone runs) over the timed frames. */
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly people: number;
  readonly labelled: { found: number; falsePositives: number; posed: number };
  /** Per frame of `frames`, the boxes found. */
  readonly boxes: Box[][];
}

const job = workerData as CandidateJob;
const frames = job.frames.map((b) => new Uint8Array(b));

interface Detector {
  detect(rgb: Uint8Array, width: number, height: number): Promise<{ bbox: Box; keypoints?: unknown[] }[]>;
  readonly timings: StageTimings;
}

let model: Detector;
if (job.engine === 'onnx') {
  const onnx = new PersonModel(job.options);
  await onnx.load();
  model = onnx;
} else {
  const { TfjsPersonModel } = await import('../../test/models/tfjs-person-model.js');
  const { intraOpThreads: _i, executionProviders: _e, precision: _p, modelDir: _m, ...options } = job.options;
  const tfjs = new TfjsPersonModel(options);
  await tfjs.load();
  model = tfjs;
}
const detect = async (rgb: Uint8Array) => {
  const people = await model.detect(rgb, job.width, job.height);
  return {
    people: people.length,
    stages: { ...model.timings },
    boxes: people.map((p) => p.bbox),
    posed: people.filter((p) => p.keypoints?.length === 17).length,
  };
};

for (let i = 0; i < job.warmup; i++) await detect(frames[i % frames.length]!);
const totalMs: number[] = [];
const stages: StageTimings = { preMs: 0, inferMs: 0, postMs: 0, poseMs: 0 };
let people = 0;
const boxes: Box[][] = [];
const cpu0 = process.cpuUsage();
const start = performance.now();
for (let i = 0; i < job.count; i++) {
  const t0 = performance.now();
  const r = await detect(frames[i % frames.length]!);
  totalMs.push(performance.now() - t0);
  for (const key of Object.keys(stages) as (keyof StageTimings)[]) stages[key] += r.stages[key] / job.count;
  people += r.people;
  if (i < frames.length) boxes[i] = r.boxes;
}
const wallMs = performance.now() - start;
const cpu = process.cpuUsage(cpu0);
// Frames the timed loop did not reach, for the comparison only.
for (let i = boxes.length; i < frames.length; i++) boxes[i] = (await detect(frames[i]!)).boxes;
const onLabelled = await detect(new Uint8Array(job.labelled));
const result: CandidateResult = {
  totalMs,
  stages,
  cpuMs: (cpu.user + cpu.system) / 1000,
  wallMs,
  people: people / job.count,
  labelled: { ...matchLabelled(onLabelled.boxes), posed: onLabelled.posed },
  boxes,
};
parentPort!.postMessage(result);
