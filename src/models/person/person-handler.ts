/**
 * The `person` handler: people (COCO class 0, CenterNet) with a 17-keypoint
 * MoveNet pose for the most confident ones, the seed's PersonDetector and Pose
 * workers in one model server. Weights ship in the @vladmandic/human npm
 * package; nothing is downloaded.
 *
 * Each request's frame is converted to RGB here, straight from the frame
 * store's mapping, which is released at once (its seqlock checked); the RGB
 * copy is transferred to a model thread, not copied again. Stateless per
 * request (seed 05).
 */
import { availableParallelism } from 'node:os';
import type { Detection, InferenceRequest } from '../../ipc/index.js';
import type { ReadFrame } from '../../shm/index.js';
import type { InferenceHandler, InferenceResult } from '../handler.js';
import { toRgb } from '../rgb.js';
import { ModelThreadPool } from '../thread-pool.js';
import { InvalidArgumentError } from '../../supplier/index.js';
import { POSE_KEYPOINTS } from './keypoints.js';
import type { PersonDetection, PersonModelOptions } from './person-model.js';

export interface PersonHandlerOptions extends PersonModelOptions {
  readonly modelId?: string;
  /** Model threads, each a full copy of the model (~40 MB) on one core. Default: the machine's cores, at most 4. */
  readonly threads?: number;
}

export function createPersonHandler(options: PersonHandlerOptions = {}): InferenceHandler {
  const { modelId = 'person', threads = Math.min(4, availableParallelism()), ...modelOptions } = options;
  if (!Number.isInteger(threads) || threads < 1) throw new InvalidArgumentError(`threads must be an integer ≥ 1, got ${String(threads)}`);
  const pool = new ModelThreadPool<PersonDetection[]>({
    workerUrl: new URL('./person-worker.js', import.meta.url),
    workerData: modelOptions,
    threads,
    name: 'person',
  });
  return {
    name: 'person',
    modelId,
    // One inference per model thread: the server keeps the other requests in their cameras' slots, not in the pool's queue.
    concurrency: threads,
    load: async () => {
      await pool.start();
    },
    close: () => pool.close(),
    async infer(frame: ReadFrame, _request: InferenceRequest, signal: AbortSignal): Promise<InferenceResult> {
      const rgb = toRgb(frame.data, frame.width, frame.height, frame.format);
      frame.release?.(); // converted: the seqlock is checked now, not after inference
      const people = await pool.run({ rgb: rgb.buffer as ArrayBuffer, width: frame.width, height: frame.height }, signal);
      const detections: Detection[] = people.map((p) => ({
        class_id: 0,
        class_name: 'person',
        confidence: p.confidence,
        bbox: p.bbox,
        ...(p.keypoints === undefined ? {} : { keypoints: p.keypoints }),
      }));
      return { detections, metadata: { handler: 'person', keypoint_names: POSE_KEYPOINTS } };
    },
  };
}
