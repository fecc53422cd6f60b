/**
 * The description of an event's snapshot that tracked objects and fall alerts carry (the picture itself is the
 * events store's): a type only, below both.
 */
/**
 * Which picture a snapshot is: the stream it was taken from, that picture's size and capture time, and how far
 * that time is from the detection's (a camera of several streams gives its main stream's picture nearest the
 * detection, or another stream's when main had none within a frame: `fallback` says why).
 */
export interface SnapshotInfo {
  /** The camera's stream (`main` for a camera of one stream). */
  readonly stream: string;
  readonly width: number;
  readonly height: number;
  /** Epoch seconds the picture was captured. */
  readonly frame_time: number;
  /** The picture's capture time less the detection's (ms): negative when the picture is earlier. */
  readonly offset_ms: number;
  /** Why the picture is not the main stream's, or null. */
  readonly fallback: string | null;
}
