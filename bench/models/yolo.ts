/**
 * YOLO: a YOLO-class detector through the onnx handler at 320 and 640, and
 * each step of a frame alone. The network is YOLOv8n's with random weights
 * (yolo-graph.ts: the real network's arithmetic, detections meaningless), so
 * the figures are speed only.
 *
 * Records:
 *   kind "handler": the onnx handler as the model server runs it (one model
 *     thread, one intra-op thread; the frame's NV12 → RGB conversion in the
 *     calling thread, letterbox graph, network, decoding and NMS in the model
 *     thread) on `count` vtest.avi frames after `warmup`: fps, ms_p50, ms_p99,
 *     cores (CPU time of the process over wall time), fps_per_cpu_s.
 *   kind "step": each step on its own in this thread, `count` times:
 *     nv12_to_rgb (768 × 576), letterbox_js (the JavaScript letterbox the
 *     handler ran before), letterbox_graph (the graph it runs now),
 *     infer (the network alone), decode_nms (decoding the network's output
 *     with `planted` candidates over the threshold, then NMS): ms_p50, ms_mean.
 * Every record has input, frames and load_1m (start and end).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { findSampleMedia } from '../../src/capture/sample-media.js';
import { createOnnxHandler } from '../../src/models/index.js';
import { letterboxed, letterboxModel, Preprocessor } from '../../src/models/onnx/preprocess.js';
import { openSession } from '../../src/models/onnx/session.js';
import { decodeYolo, letterbox, letterboxGeometry, nonMaxSuppression } from '../../src/models/onnx/yolo.js';
import { toRgb } from '../../src/models/rgb.js';
import type { ReadFrame } from '../../src/shm/index.js';
import type { InferenceRequest } from '../../src/ipc/index.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';
import { nv12Frames } from './person.js';
import { buildYolov8n } from './yolo-graph.js';

const W = 768;
const H = 576;

async function timed(count: number, step: () => unknown): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await step();
    ms.push(performance.now() - t0);
  }
  return ms;
}

const summary = (ms: number[]): { ms_p50: number; ms_mean: number } => ({
  ms_p50: round(percentile(sortedCopy(ms), 50), 2),
  ms_mean: round(ms.reduce((a, b) => a + b, 0) / ms.length, 2),
});

export async function yolo(count = 20, warmup = 3, planted = 60): Promise<void> {
  const clip = findSampleMedia();
  if (clip === null) {
    log('YOLO needs vtest.avi (Debian opencv-doc, or FRAMESUPPLIER_SAMPLE_MEDIA); skipped');
    return;
  }
  const nv12Bytes = (W * H * 3) / 2;
  const all = await nv12Frames(clip, []);
  const nv12: Buffer[] = [];
  for (let i = 0; i + nv12Bytes <= all.byteLength; i += nv12Bytes) nv12.push(all.subarray(i, i + nv12Bytes));
  const dir = mkdtempSync(join(tmpdir(), 'fs-yolo-'));
  try {
    for (const size of [320, 640]) {
      const load = [round(loadavg()[0]!, 2)];
      log(`YOLO ${size}: writing the network`);
      const modelPath = join(dir, `yolov8n-${size}.onnx`);
      writeFileSync(modelPath, buildYolov8n(size));
      const input = `${size}x${size}`;
      const frame = (i: number): Buffer => nv12[i % nv12.length]!;

      // The handler as the server runs it.
      const handler = createOnnxHandler({ modelPath, threads: 1 });
      await handler.load?.();
      const request = {} as InferenceRequest;
      const signal = new AbortController().signal;
      const infer = (i: number) =>
        handler.infer({ data: frame(i), width: W, height: H, format: 'NV12', wallTimeMs: Date.now() } satisfies ReadFrame, request, signal);
      for (let i = 0; i < warmup; i++) await infer(i);
      const cpu0 = process.cpuUsage();
      const wall0 = performance.now();
      let detections = 0;
      const totals = await timed(count, async () => {
        detections += (await infer(detections)).detections?.length ?? 0;
      });
      const wallMs = performance.now() - wall0;
      const cpu = process.cpuUsage(cpu0);
      await handler.close?.();
      const cores = (cpu.user + cpu.system) / 1000 / wallMs;
      const sorted = sortedCopy(totals);
      emit({
        workload: 'YOLO',
        kind: 'handler',
        network: 'yolov8n (random weights)',
        input,
        frames: count,
        fps: round(count / (wallMs / 1000), 2),
        ms_p50: round(percentile(sorted, 50), 1),
        ms_p99: round(percentile(sorted, 99), 1),
        cores: round(cores, 2),
        fps_per_cpu_s: round(count / (wallMs / 1000) / cores, 2),
        detections_mean: round(detections / count, 2),
        load_1m: [...load, round(loadavg()[0]!, 2)],
      });

      // Each step alone, in this thread.
      const rgbFrames = nv12.slice(0, count).map((f) => toRgb(f, W, H, 'NV12'));
      const steps: Record<string, number[]> = {};
      steps.nv12_to_rgb = await timed(count, () => toRgb(frame(1), W, H, 'NV12'));
      let k = 0;
      steps.letterbox_js = await timed(count, () => letterbox(rgbFrames[k++ % rgbFrames.length]!, W, H, size));
      const pre = await Preprocessor.open(letterboxModel(), {}, 'letterbox');
      k = 0;
      steps.letterbox_graph = await timed(count, async () => (await letterboxed(pre, rgbFrames[k++ % rgbFrames.length]!, W, H, size)).input.dispose());
      const { input: tensor } = await letterboxed(pre, rgbFrames[0]!, W, H, size);
      await pre.release();
      const session = await openSession(modelPath, {});
      let output: Float32Array = new Float32Array();
      let dims: readonly number[] = [];
      steps.infer = await timed(count, async () => {
        const out = (await session.run({ images: tensor })).output0!;
        output = out.data as Float32Array;
        dims = out.dims;
      });
      await session.release();
      // Candidates over the threshold, as a frame with people in it has: class scores raised at spread anchors.
      const anchors = dims[2]!;
      const withCandidates = output.slice();
      for (let p = 0; p < planted; p++) {
        const anchor = Math.floor(((p + 0.5) / planted) * anchors);
        withCandidates[(4 + (p % 3)) * anchors + anchor] = 0.3 + (0.6 * p) / planted;
      }
      const geometry = letterboxGeometry(W, H, size);
      steps.decode_nms = await timed(count, () =>
        nonMaxSuppression(decodeYolo(withCandidates, dims, { layout: 'v8', minConfidence: 0.25, box: geometry, frameWidth: W, frameHeight: H }), 0.45, 300),
      );
      for (const [step, ms] of Object.entries(steps)) {
        emit({
          workload: 'YOLO',
          kind: 'step',
          input,
          step,
          frames: count,
          ...summary(ms),
          ...(step === 'decode_nms' ? { planted } : {}),
          load_1m: [...load, round(loadavg()[0]!, 2)],
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
