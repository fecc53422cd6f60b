/**
 * PERSON-MODELS: the person model's candidates side by side in one run, in
 * the model thread alone (no server, no socket): frames per CPU-second
 * (`fps_per_cpu_s`, the figure to compare on a shared, loaded machine: what
 * one model thread gives on a core of its own), where each frame's time goes
 * (pre-processing: frame to input tensors; inference: the network with the
 * resize inside its graph, reading its output included; post-processing:
 * decoding and NMS; poses: MoveNet Lightning per person, centernet only), and
 * how its detections compare with TF.js's, the model as it ran before ONNX
 * Runtime: `recall_vs_tfjs` (TF.js's boxes matched by one of the candidate's
 * at IoU ≥ 0.5) and `extra_vs_tfjs` (the candidate's unmatched boxes, per
 * TF.js box) over every frame, and how many of the 7 hand-labelled people of
 * vtest.avi's frame 100 each finds (test/helpers/labelled-frame.ts). Plus the
 * NV12 → RGB conversion the handler does in the server thread before a job
 * reaches a model thread (`convert_ms`).
 * Frames: 30 distinct vtest.avi frames (768 × 576, one every 2 s of the clip),
 * as NV12 converted by the handler's own conversion; `count` timed frames per
 * candidate after `warmup`, in `rounds` alternating rounds. The load average
 * at the start and the end is in every line (`load_1m`).
 * Fields: candidate, engine, network, precision, input, intra_op_threads,
 * poses, frames, fps, ms_p50, ms_p99, pre_ms, infer_ms, post_ms, pose_ms,
 * cores, fps_per_cpu_s, people_mean, recall_vs_tfjs, extra_vs_tfjs,
 * labelled_found, labelled_false, labelled_posed, convert_ms, load_1m.
 */
import { existsSync } from 'node:fs';
import { DEFAULT_MODEL_DIR, modelFile } from '../../src/models/person/person-model.js';
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { findSampleMedia } from '../../src/capture/sample-media.js';
import { toRgb } from '../../src/models/rgb.js';
import { loadavg } from 'node:os';
import type { PersonModelOptions } from '../../src/models/person/person-model.js';
import { iou } from '../../src/models/onnx/yolo.js';
import { LABELLED, LABELLED_SECOND } from '../../test/helpers/labelled-frame.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';
import type { CandidateJob, CandidateResult } from './person-candidate.js';

const run = promisify(execFile);
const W = 768;
const H = 576;

interface Candidate {
  readonly name: string;
  readonly engine: 'onnx' | 'tfjs';
  readonly options: PersonModelOptions;
}

/** The int8 variants run where their files exist (a checkout that has not made them: scripts/convert-models/quantize.py). */
const ALL_CANDIDATES: Candidate[] = [
  { name: 'tfjs multipose 448 (before)', engine: 'tfjs', options: { network: 'movenet-multipose' } },
  { name: 'multipose 448', engine: 'onnx', options: { network: 'movenet-multipose' } },
  { name: 'multipose 448 int8', engine: 'onnx', options: { network: 'movenet-multipose', precision: 'int8' } },
  { name: 'multipose 448, 2 intra-op threads', engine: 'onnx', options: { network: 'movenet-multipose', intraOpThreads: 2 } },
  { name: 'multipose 384', engine: 'onnx', options: { network: 'movenet-multipose', inputSize: 384 } },
  { name: 'multipose 512', engine: 'onnx', options: { network: 'movenet-multipose', inputSize: 512 } },
  { name: 'tfjs centernet+lightning (before)', engine: 'tfjs', options: { network: 'centernet' } },
  { name: 'centernet+lightning', engine: 'onnx', options: { network: 'centernet' } },
  { name: 'centernet+lightning int8', engine: 'onnx', options: { network: 'centernet', precision: 'int8' } },
];
const CANDIDATES = ALL_CANDIDATES.filter(
  (c) => c.options.precision !== 'int8' || existsSync(`${DEFAULT_MODEL_DIR}/${modelFile(c.options.network ?? 'movenet-multipose', 'int8')}`),
);

type Box = readonly [number, number, number, number];

/** Reference boxes matched (greedily, best IoU first) by candidate boxes at IoU ≥ 0.5, and candidate boxes left over. */
export function compareBoxes(reference: readonly (readonly Box[])[], got: readonly (readonly Box[])[]): { recall: number; extra: number; reference: number } {
  let total = 0;
  let matched = 0;
  let extra = 0;
  for (const [f, ref] of reference.entries()) {
    const mine = [...(got[f] ?? [])];
    total += ref.length;
    const pairs = ref
      .flatMap((r, i) => mine.map((m, j) => ({ i, j, v: iou(r, m) })))
      .filter((p) => p.v >= 0.5)
      .sort((x, y) => y.v - x.v);
    const usedR = new Set<number>();
    const usedM = new Set<number>();
    for (const p of pairs) {
      if (usedR.has(p.i) || usedM.has(p.j)) continue;
      usedR.add(p.i);
      usedM.add(p.j);
    }
    matched += usedR.size;
    extra += mine.length - usedM.size;
  }
  return { recall: total === 0 ? 1 : matched / total, extra: total === 0 ? 0 : extra / total, reference: total };
}

export async function nv12Frames(clip: string, args: string[]): Promise<Buffer> {
  const { stdout } = await run(
    'ffmpeg',
    [
      '-v',
      'error',
      ...args,
      '-i',
      clip,
      ...(args.length === 0 ? ['-vf', 'fps=0.5', '-frames:v', '30'] : ['-frames:v', '1']),
      '-f',
      'rawvideo',
      '-pix_fmt',
      'nv12',
      '-',
    ],
    {
      encoding: 'buffer',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return stdout;
}

/** The rounds of one candidate as one: frames, times and CPU added up, means weighted by frames. */
function combine(rounds: CandidateResult[]): CandidateResult {
  const frames = rounds.reduce((n, r) => n + r.totalMs.length, 0);
  const mean = (f: (r: CandidateResult) => number): number => rounds.reduce((sum, r) => sum + f(r) * r.totalMs.length, 0) / frames;
  const first = rounds[0]!;
  return {
    totalMs: rounds.flatMap((r) => r.totalMs),
    stages: {
      preMs: mean((r) => r.stages.preMs),
      inferMs: mean((r) => r.stages.inferMs),
      postMs: mean((r) => r.stages.postMs),
      poseMs: mean((r) => r.stages.poseMs),
    },
    cpuMs: rounds.reduce((n, r) => n + r.cpuMs, 0),
    wallMs: rounds.reduce((n, r) => n + r.wallMs, 0),
    people: mean((r) => r.people),
    // The same frame each round: the results agree; the first round's stands.
    labelled: first.labelled,
    boxes: first.boxes,
  };
}

const inputOf = (c: Candidate): string => {
  if (c.options.network === 'centernet') return '512x512';
  const long = c.options.inputSize ?? 448;
  return `${long}x${Math.round((long * H) / W / 32) * 32}`;
};

export async function personModels(count = 30, warmup = 2, rounds = 2): Promise<void> {
  const clip = findSampleMedia();
  if (clip === null) {
    log('PERSON-MODELS needs vtest.avi (Debian opencv-doc, or FRAMESUPPLIER_SAMPLE_MEDIA); skipped');
    return;
  }
  const loadStart = round(loadavg()[0]!, 2);
  const nv12Bytes = (W * H * 3) / 2;
  const all = await nv12Frames(clip, []);
  const converts: number[] = [];
  const frames: ArrayBuffer[] = [];
  for (let i = 0; i + nv12Bytes <= all.byteLength; i += nv12Bytes) {
    const t0 = performance.now();
    const rgb = toRgb(all.subarray(i, i + nv12Bytes), W, H, 'NV12');
    converts.push(performance.now() - t0);
    frames.push(rgb.buffer.slice(rgb.byteOffset, rgb.byteOffset + rgb.byteLength) as ArrayBuffer);
  }
  const labelled = toRgb(await nv12Frames(clip, ['-ss', String(LABELLED_SECOND)]), W, H, 'NV12');
  const convertMs = round(converts.reduce((a, b) => a + b, 0) / converts.length, 2);
  const results = new Map<Candidate, CandidateResult[]>(CANDIDATES.map((c) => [c, []]));
  for (let pass = 1; pass <= rounds; pass++) {
    for (const c of CANDIDATES) {
      log(`PERSON-MODELS round ${pass}/${rounds}: ${c.name}`);
      const job: CandidateJob = {
        engine: c.engine,
        options: c.options,
        frames,
        labelled: labelled.buffer.slice(labelled.byteOffset, labelled.byteOffset + labelled.byteLength) as ArrayBuffer,
        width: W,
        height: H,
        count,
        warmup,
      };
      const worker = new Worker(new URL('./person-candidate.js', import.meta.url), { workerData: job });
      const result = await new Promise<CandidateResult>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`candidate ${c.name} exited with ${code}`)));
      });
      await worker.terminate();
      results.get(c)!.push(result);
    }
  }
  const load = [loadStart, round(loadavg()[0]!, 2)];
  for (const c of CANDIDATES) {
    const r = combine(results.get(c)!);
    const sorted = sortedCopy(r.totalMs);
    const fps = r.totalMs.length / (r.wallMs / 1000);
    const cores = r.cpuMs / r.wallMs;
    const network = c.options.network ?? 'movenet-multipose';
    const reference = CANDIDATES.find(
      (t) => t.engine === 'tfjs' && (t.options.network ?? 'movenet-multipose') === network && (t.options.inputSize ?? 448) === (c.options.inputSize ?? 448),
    );
    const vs = reference === undefined ? null : compareBoxes(combine(results.get(reference)!).boxes, r.boxes);
    emit({
      workload: 'PERSON-MODELS',
      impl: 'framesupplier',
      candidate: c.name,
      engine: c.engine,
      network,
      precision: c.options.precision ?? 'fp32',
      input: inputOf(c),
      intra_op_threads: c.engine === 'onnx' ? (c.options.intraOpThreads ?? 1) : null,
      poses: (c.options.poseMaxPeople ?? 5) > 0,
      frames: r.totalMs.length,
      fps: round(fps, 2),
      ms_p50: round(percentile(sorted, 50), 1),
      ms_p99: round(percentile(sorted, 99), 1),
      pre_ms: round(r.stages.preMs, 2),
      infer_ms: round(r.stages.inferMs, 1),
      post_ms: round(r.stages.postMs, 2),
      pose_ms: round(r.stages.poseMs, 1),
      cores: round(cores, 2),
      fps_per_cpu_s: round(r.totalMs.length / (r.cpuMs / 1000), 2),
      people_mean: round(r.people, 2),
      recall_vs_tfjs: vs === null ? null : round(vs.recall, 3),
      extra_vs_tfjs: vs === null ? null : round(vs.extra, 3),
      labelled_found: `${r.labelled.found}/${LABELLED.length}`,
      labelled_false: r.labelled.falsePositives,
      labelled_posed: r.labelled.posed,
      convert_ms: convertMs,
      load_1m: load,
    });
  }
}
