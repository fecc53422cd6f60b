/**
 * PERSON-MODELS: the person model's candidates side by side in one run, in
 * the model thread alone (no server, no socket): frames per second of one
 * model thread, where each frame's time goes (pre-processing: frame to input
 * tensor; inference: the network, reading its output included; post-processing:
 * decoding and NMS; poses: MoveNet Lightning per person, centernet only), the
 * CPU it took (cores: CPU time / wall time, above 1 for the threaded build),
 * and how many of the 7 hand-labelled people of vtest.avi's frame 100 each
 * finds (test/helpers/labelled-frame.ts). Plus, in every line, the NV12 → RGB
 * conversion the handler does in the server thread before a job reaches a
 * model thread (`convert_ms`), and the share of the network's kernel time
 * spent in convolutions (`conv_pct`, from one frame under tf.profile).
 * On a shared machine wall times swing with the load: candidates run in
 * `rounds` rounds, one after the other in each, and `fps_per_core` (frames
 * per CPU-second: what one model thread gives on a core of its own, for the
 * single-threaded build) is the figure to compare across a loaded run.
 * Frames: 30 distinct vtest.avi frames (768 × 576, one every 2 s of the clip),
 * as NV12 converted by the handler's own conversion; `count` timed frames per
 * candidate after `warmup`. Not a workload of WORKLOADS.md; issue 9 asks for it.
 * Fields: candidate, network, input, wasm_threads, poses, frames, fps,
 * ms_p50, ms_p99, pre_ms, infer_ms, post_ms, pose_ms, conv_pct, cores,
 * fps_per_core, people_mean, labelled_found, labelled_false, labelled_posed,
 * convert_ms.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { findSampleMedia } from '../../src/capture/sample-media.js';
import { toRgb } from '../../src/models/rgb.js';
import type { PersonModelOptions } from '../../src/models/person/person-model.js';
import { LABELLED, LABELLED_SECOND } from '../../test/helpers/labelled-frame.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';
import type { CandidateJob, CandidateResult } from './person-candidate.js';

const run = promisify(execFile);
const W = 768;
const H = 576;

interface Candidate {
  readonly name: string;
  readonly options: PersonModelOptions;
  readonly raw?: CandidateJob['raw'];
}

const CANDIDATES: Candidate[] = [
  { name: 'centernet+lightning', options: { network: 'centernet' } },
  { name: 'centernet (no poses)', options: { network: 'centernet', poseMaxPeople: 0 } },
  { name: 'centernet+lightning, 2 wasm threads', options: { network: 'centernet', wasmThreads: 2 } },
  { name: 'nanodet 416 (network only, no poses)', options: {}, raw: { file: 'nanodet.json', input: [416, 416], layout: 'nchw' } },
  ...[256, 320, 384, 448, 512].map((size) => ({ name: `multipose ${size}`, options: { network: 'movenet-multipose', inputSize: size } }) as const),
  { name: 'multipose 448, 2 wasm threads', options: { network: 'movenet-multipose', inputSize: 448, wasmThreads: 2 } },
  { name: 'multipose 256, 2 wasm threads', options: { network: 'movenet-multipose', inputSize: 256, wasmThreads: 2 } },
];

async function nv12Frames(clip: string, args: string[]): Promise<Buffer> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', ...args, '-i', clip, ...(args.length === 0 ? ['-vf', 'fps=0.5', '-frames:v', '30'] : ['-frames:v', '1']), '-f', 'rawvideo', '-pix_fmt', 'nv12', '-'], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** The rounds of one candidate as one: frames, times and CPU added up, means weighted by frames. */
function combine(rounds: CandidateResult[]): CandidateResult {
  const frames = rounds.reduce((n, r) => n + r.totalMs.length, 0);
  const mean = (f: (r: CandidateResult) => number): number => rounds.reduce((sum, r) => sum + f(r) * r.totalMs.length, 0) / frames;
  const first = rounds[0]!;
  return {
    wasmThreads: first.wasmThreads,
    totalMs: rounds.flatMap((r) => r.totalMs),
    stages: { preMs: mean((r) => r.stages.preMs), inferMs: mean((r) => r.stages.inferMs), postMs: mean((r) => r.stages.postMs), poseMs: mean((r) => r.stages.poseMs) },
    cpuMs: rounds.reduce((n, r) => n + r.cpuMs, 0),
    wallMs: rounds.reduce((n, r) => n + r.wallMs, 0),
    people: mean((r) => r.people),
    // The same frame each round: the results agree; the first round's stands.
    labelled: first.labelled,
    convShare: mean((r) => r.convShare),
  };
}

const inputOf = (c: Candidate): string => {
  if (c.raw !== undefined) return `${c.raw.input[1]}x${c.raw.input[0]}`;
  if (c.options.network === 'centernet') return '512x512';
  const long = c.options.inputSize ?? 448;
  return `${long}x${Math.round((long * H) / W / 32) * 32}`;
};

export async function personModels(count = 10, warmup = 2, rounds = 3): Promise<void> {
  const clip = findSampleMedia();
  if (clip === null) {
    log('PERSON-MODELS needs vtest.avi (Debian opencv-doc, or FRAMESUPPLIER_SAMPLE_MEDIA); skipped');
    return;
  }
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
        options: c.options,
        ...(c.raw === undefined ? {} : { raw: c.raw }),
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
  for (const c of CANDIDATES) {
    const r = combine(results.get(c)!);
    const sorted = sortedCopy(r.totalMs);
    const fps = r.totalMs.length / (r.wallMs / 1000);
    const cores = r.cpuMs / r.wallMs;
    const poses = c.raw === undefined && (c.options.poseMaxPeople ?? 5) > 0;
    emit({
      workload: 'PERSON-MODELS',
      impl: 'framesupplier',
      candidate: c.name,
      network: c.raw === undefined ? (c.options.network ?? 'movenet-multipose') : c.raw.file.replace('.json', ''),
      input: inputOf(c),
      wasm_threads: r.wasmThreads,
      poses,
      frames: r.totalMs.length,
      fps: round(fps, 2),
      ms_p50: round(percentile(sorted, 50), 1),
      ms_p99: round(percentile(sorted, 99), 1),
      pre_ms: round(r.stages.preMs, 1),
      infer_ms: round(r.stages.inferMs, 1),
      post_ms: round(r.stages.postMs, 2),
      pose_ms: round(r.stages.poseMs, 1),
      conv_pct: round(100 * r.convShare, 0),
      cores: round(cores, 2),
      fps_per_core: round(fps / cores, 2),
      people_mean: round(r.people, 2),
      labelled_found: r.labelled === null ? null : `${r.labelled.found}/${LABELLED.length}`,
      labelled_false: r.labelled?.falsePositives ?? null,
      labelled_posed: r.labelled?.posed ?? null,
      convert_ms: convertMs,
    });
  }
}
