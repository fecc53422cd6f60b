/**
 * Worker-thread entry of the onnx handler: one ONNX Runtime session per model
 * thread, opened as every handler opens them (session.ts: one intra-op thread
 * by default, spinning off). The letterbox runs in a second, small session
 * (preprocess.ts: native and vectorised, where the JavaScript loop took
 * 1.5–6.5 ms a frame); decoding and NMS stay in JavaScript, a pass over the
 * output and a sort of the few candidates over the threshold. A batch
 * (ADR 0127): each frame letterboxed on its own, the inputs laid one after
 * another in one [n, 3, S, S] tensor, one session run, and each image's slice
 * of the output decoded against its own frame.
 */
import type * as Ort from 'onnxruntime-node';
import { serveModelJobs, type ModelJob } from '../thread-pool.js';
import { loadOnnxRuntime } from './runtime.js';
import { openSession, type ExecutionProvider } from './session.js';
import { letterboxed, letterboxModel, Preprocessor } from './preprocess.js';
import { decodeYolo, nonMaxSuppression, type DecodedLayout, type Letterbox, type YoloBox } from './yolo.js';

export interface OnnxWorkerData {
  readonly modelPath: string;
  readonly inputName: string;
  readonly outputName: string;
  readonly inputSize: number;
  readonly layout: DecodedLayout;
  readonly minConfidence: number;
  readonly iouThreshold: number;
  readonly maxDetections: number;
  readonly intraOpThreads?: number;
  readonly executionProviders?: readonly ExecutionProvider[];
}

await serveModelJobs<OnnxWorkerData, YoloBox[]>(async (o) => {
  const ort = await loadOnnxRuntime();
  const session = await openSession(o.modelPath, o);
  const pre = await Preprocessor.open(letterboxModel(), o, 'letterbox');
  /** Runs the network on `input` ([n, 3, S, S]) and decodes each image's boxes against its frame. */
  const detect = async (input: Ort.Tensor, frames: readonly { box: Letterbox; width: number; height: number }[]): Promise<YoloBox[][]> => {
    const outputs = await session.run({ [o.inputName]: input });
    input.dispose();
    const output = outputs[o.outputName];
    if (output === undefined || output.type !== 'float32') throw new Error(`the model gave no float32 output ${JSON.stringify(o.outputName)}`);
    const data = output.data as Float32Array;
    const [n, ...one] = output.dims;
    if (n !== frames.length) throw new Error(`the model gave ${n} images' outputs for ${frames.length}`);
    const per = data.length / frames.length;
    const boxes = frames.map((frame, i) => {
      const found = decodeYolo(data.subarray(i * per, (i + 1) * per), [1, ...one], {
        layout: o.layout,
        minConfidence: o.minConfidence,
        box: frame.box,
        frameWidth: frame.width,
        frameHeight: frame.height,
      });
      // End-to-end exports did their own NMS: their boxes stand as they are.
      return o.layout === 'e2e' ? found.slice(0, o.maxDetections) : nonMaxSuppression(found, o.iouThreshold, o.maxDetections);
    });
    output.dispose();
    return boxes;
  };
  const one = async (job: ModelJob): Promise<YoloBox[]> => {
    const { input, box } = await letterboxed(pre, new Uint8Array(job.rgb), job.width, job.height, o.inputSize);
    return (await detect(input, [{ box, width: job.width, height: job.height }]))[0]!;
  };
  const batch = async (jobs: readonly ModelJob[]): Promise<YoloBox[][]> => {
    const plane = 3 * o.inputSize * o.inputSize;
    const data = new Float32Array(jobs.length * plane);
    const frames = [];
    for (const [i, job] of jobs.entries()) {
      const { input, box } = await letterboxed(pre, new Uint8Array(job.rgb), job.width, job.height, o.inputSize);
      data.set(input.data as Float32Array, i * plane);
      input.dispose();
      frames.push({ box, width: job.width, height: job.height });
    }
    return detect(new ort.Tensor('float32', data, [jobs.length, 3, o.inputSize, o.inputSize]), frames);
  };
  return Object.assign(one, { batch });
});
