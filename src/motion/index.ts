/**
 * Motion: where and how much of a camera's picture moved, measured cheaply on
 * every frame of its smallest stream, with changes of light and the camera's
 * motion masks left out (ADR 0064). Pure: depends on the ground floor and the
 * objects' plane (boxes and polygons in 0–1 coordinates). Its passes over the
 * pixels run in C where the framesupplier_shm addon loads (ADR 0099), else in
 * JavaScript, with the same answers.
 */
export { MotionDetector, type LumaPlane, type MotionDetectorOptions, type MotionResult, type MotionState } from './detector.js';
export { mergeOverlapping } from './regions.js';
export { MotionError, type MotionErrorCode } from './errors.js';
export { motionPassesUnavailable } from './native.js';
