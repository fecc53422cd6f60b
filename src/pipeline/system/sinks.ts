/**
 * Sinks are subscribers of the system's event stream, never a second path for
 * results. attachResultsSink() adapts src/workers' ResultsSink interface.
 */
import type { ResultsSink } from '../../workers/index.js';
import type { EventOf } from '../base/index.js';
import type { VisionSystem } from './system.js';

/** Writes every result event to the sink (workerId is the worker's id, streamId its camera); returns the detach function. */
export function attachResultsSink(system: VisionSystem, sink: ResultsSink): () => void {
  const listener = (e: EventOf<'result'>): void =>
    sink.write({ workerId: e.worker, streamId: e.camera, seq: e.seq, captureTime: e.captureTime, wallTime: e.wallTime, output: e.output });
  system.on('result', listener);
  return () => void system.off('result', listener);
}
