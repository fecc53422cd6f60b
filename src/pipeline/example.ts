/**
 * The built-in example `framesupplier run` (and `npm start`) runs without a
 * config file: OpenCV's pedestrian clip as two cameras that differ, one
 * person model server shared by both, and a light worker per camera.
 *
 * - `street`: the clip at its own rate (10 fps), 640 wide; people at most
 *   once a second (maxFps: within what the model does on two cores for
 *   both cameras), motion on every frame.
 * - `street-mirror`: the same clip cropped to its right part, mirrored, 480
 *   wide and decimated to 4 fps; people every other second.
 */
import type { ResolvedConfig } from './config-types.js';

export function builtinExample(source: string): ResolvedConfig {
  const capture = { decoder: 'auto', realtime: true, loop: true } as const;
  return {
    version: 1,
    // Its own frame stores: two examples running at once never share a camera's store.
    shmDir: `/dev/shm/framesupplier-example-${process.pid}`,
    models: {
      person: { handler: 'person', threads: 2, minConfidence: 0.4, poseMaxPeople: 3 },
    },
    cameras: {
      street: {
        source,
        capture: { ...capture, output: { format: 'rgb24', width: 640 } },
        workers: [
          { id: 'people', model: 'person', criticality: 'high', maxFps: 1 },
          { id: 'motion', module: 'builtin:motion', criticality: 'normal' },
        ],
      },
      'street-mirror': {
        source,
        capture: { ...capture, output: { format: 'rgb24', width: 480, fps: 4, hflip: true, crop: { x: 192, y: 144, width: 576, height: 432 } } },
        workers: [
          { id: 'people', model: 'person', criticality: 'normal', maxFps: 0.5 },
          { id: 'motion', module: 'builtin:motion', criticality: 'best-effort' },
        ],
      },
    },
  };
}
