/**
 * Worker-thread entry of the onnx handler: one ONNX Runtime session per model
 * thread, opened as every handler opens them (session.ts: one intra-op thread
 * by default, spinning off). The letterbox runs in a second, small session
 * (preprocess.ts: native and vectorised, where the JavaScript loop took
 * 1.5–6.5 ms a frame); decoding and NMS stay in JavaScript, a pass over the
 * output and a sort of the few candidates over the threshold.
 */
import { serveModelJobs } from '../thread-pool.js';
import { openSession, type ExecutionProvider } from './session.js';
import { letterboxed, letterboxModel, Preprocessor } from './preprocess.js';
import { decodeYolo, nonMaxSuppression, type DecodedLayout, type YoloBox } from './yolo.js';

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
  const session = await openSession(o.modelPath, o);
  const pre = await Preprocessor.open(letterboxModel(), o, 'letterbox');
  return async (job) => {
    const { input, box } = await letterboxed(pre, new Uint8Array(job.rgb), job.width, job.height, o.inputSize);
    const outputs = await session.run({ [o.inputName]: input });
    const output = outputs[o.outputName];
    if (output === undefined || output.type !== 'float32') throw new Error(`the model gave no float32 output ${JSON.stringify(o.outputName)}`);
    const boxes = decodeYolo(output.data as Float32Array, output.dims, {
      layout: o.layout,
      minConfidence: o.minConfidence,
      box,
      frameWidth: job.width,
      frameHeight: job.height,
    });
    input.dispose();
    output.dispose();
    // End-to-end exports did their own NMS: their boxes stand as they are.
    return o.layout === 'e2e' ? boxes.slice(0, o.maxDetections) : nonMaxSuppression(boxes, o.iouThreshold, o.maxDetections);
  };
});
