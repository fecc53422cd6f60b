/**
 * A model worker's run on regions (ADR 0069): what the model-client worker asks of the camera's side (which crops
 * of a frame, cut at the model's input size) and how the answers about a frame's crops become one result about
 * the frame: each crop's boxes and keypoints mapped back to the frame, duplicates across crops kept once
 * (src/pictures' crop plan). The result keeps a frame result's shape: `detections` in frame coordinates, the
 * server's `metadata` with `inference_time_ms` summed over the crops, and `regions` (the crops' boxes, 0–1).
 *
 * A crop may have been turned a quarter before the model saw it (`turn`, ADR 0169: a person lying on the floor is an
 * upright one to a network trained on people standing): what the model found on it is turned back first, and a
 * detection's posture is read again from its keypoints in the frame's own coordinates (as read on the turned crop,
 * a person lying is upright).
 */
import type { Detection, InferenceResponse } from '../ipc/index.js';
import { cropBoxToFrame, cropPointToFrame, mergeAcrossCrops, turnBoxBack, turnPointBack, type PixelRegion, type Turn } from '../pictures/index.js';
import { postureOf } from '../care/index.js';
import type { Frame } from '../supplier/index.js';

/** One crop of a frame, cut and scaled to the model's input: packed RGB. */
export interface RegionCrop {
  readonly payload: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** The pixels of the picture it shows: [left, top, width, height]. */
  readonly region: PixelRegion;
  /** How the region's pixels were turned before the model saw them (0, absent: not at all). */
  readonly turn?: Turn;
  /** A second look's crop: its request is marked `look` (the protocol's hint, ADR 0186), for a handler with a look of its own. */
  readonly look?: boolean;
}

/** The crops a frame's model run is made of, cut from a picture of `width` × `height` (the frame's, or its main stream's). */
export interface RegionCrops {
  readonly width: number;
  readonly height: number;
  readonly crops: readonly RegionCrop[];
}

/** The camera's side of a run on regions: a motion-gated worker's (src/pipeline). */
export interface RegionRun {
  /** The worker reads full-size frames (its crops are cut from them), not frames at its model's input size. */
  readonly readsFull: boolean;
  /** The crops to run the model on instead of `frame`, or null: `frame` whole. `inputSide`: the model's input long side, null when unknown. */
  plan(frame: Frame, inputSide: number | null): Promise<RegionCrops | null>;
  /** A model call went out: about a crop (true) or a whole frame (false). */
  called(crop: boolean): void;
  /** The answer about a frame's crops (plan's), merged into the frame (cropsResult's detections). Absent: not told. */
  answered?(crops: RegionCrops, detections: readonly Detection[]): void;
  /**
   * Asked before each read: whether the worker may follow the newest frame while a whole frame's request waits (its
   * frames go whole, not as crops of the frame read). Absent: never, once the model's input size is known.
   */
  followsNewest?(): boolean;
  /**
   * Asked before each read when `readsFull` is false: true, the frames are read at full size from now on (crops
   * are about to be cut from them), false, at the model's size again. Absent: the model's size throughout.
   */
  wantsFullFrames?(): boolean;
}

/** A crop as a frame of the worker's own crop stream (its shared-memory store), with the frame's times. */
export function cropFrame(frame: Frame, crop: RegionCrop, streamId: string, seq: number): Frame {
  return { ...frame, seq, streamId, payload: crop.payload, width: crop.width, height: crop.height, format: 'rgb24' };
}

/** A crop's detections in the frame's coordinates (a turned crop's turned back first). */
export function detectionsInFrame(detections: readonly Detection[], region: PixelRegion, width: number, height: number, turn: Turn = 0): Detection[] {
  return detections.map((d) => {
    const bbox = cropBoxToFrame(turnBoxBack(d.bbox, turn), region, width, height);
    if (d.keypoints === undefined) return { ...d, bbox };
    const keypoints = d.keypoints.map(([x, y, score]) => [...cropPointToFrame(...turnPointBack(x, y, turn), region, width, height), score] as const);
    if (turn === 0 || d.posture === undefined) return { ...d, bbox, keypoints };
    const posture = postureOf(keypoints, bbox, { aspect: width / height });
    return { ...d, bbox, keypoints, posture: posture.posture, posture_score: posture.confidence };
  });
}

/** The answers about a frame's crops, in order, as one result about the frame. */
export function cropsResult(
  crops: RegionCrops,
  responses: readonly InferenceResponse[],
): { detections: Detection[]; metadata: InferenceResponse['metadata']; regions: number[][] } {
  const { width, height } = crops;
  const found = responses.map((r, i) => detectionsInFrame(r.detections, crops.crops[i]!.region, width, height, crops.crops[i]!.turn));
  const inference = responses.reduce((sum, r) => sum + (typeof r.metadata.inference_time_ms === 'number' ? r.metadata.inference_time_ms : 0), 0);
  const round = (v: number): number => Math.round(v * 10_000) / 10_000;
  return {
    detections: mergeAcrossCrops(found),
    metadata: { ...responses[responses.length - 1]?.metadata, inference_time_ms: inference, crops: responses.length },
    regions: crops.crops.map(({ region: [l, t, w, h] }) => [round(l / width), round(t / height), round((l + w) / width), round((t + h) / height)]),
  };
}
