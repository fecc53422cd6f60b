/**
 * What a part that keeps a camera's state retained (falls' person down, a silence alarm) needs of the retained state:
 * whether the camera is one it keeps, and setting a topic of it. RetainedState is one; the parts take this, so
 * that they stay below discovery, which the retained state publishes with.
 */
export interface RetainedStore {
  /** Whether the camera's retained topics are kept (it was in the last snapshot of the system). */
  knowsCamera(camera: string): boolean;
  /** Sets a retained topic (of a camera, or of the system for null) and publishes it when it changed. */
  set(camera: string | null, topic: string, payload: string): void;
  /** A retained topic of the camera published elsewhere, cleared with its other retained topics when it is removed. */
  noteCameraTopic(camera: string, topic: string): void;
}
