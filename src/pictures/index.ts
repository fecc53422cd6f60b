/**
 * Pictures (ADR 0063): the one folder where frames become pictures. A frame to
 * packed RGB or to luma (what motion measures), a box to the region of pixels
 * it shows, a crop scaled for a model, a frame or region encoded as JPEG with
 * sharp (its process-wide settings made once, here). Viewers (src/http),
 * snapshots (src/app), cascades (pipeline/camera/crop-feed.ts), vlm workers, model
 * handlers and motion (the camera's, builtin:motion) all use it, so a picture
 * is made one way. A picture that leaves the machine has its camera's people
 * hidden here first, for a private camera (privacy.ts, ADR 0139). On the
 * parts' floor: it imports only the ground floor and the supplier's Frame,
 * and loads sharp on its first encode.
 */
export { packedRgb, regionRgb, rgbOf } from './rgb.js';
export { LumaReader, lumaAt, type Luma } from './luma.js';
export { brightened, isLowLight, lowLightCurve, lumaSpread, type LumaSpread } from './low-light.js';
export { cropRegion, cropRgb, cutRgb, type NormalisedBox, type PixelRegion } from './region.js';
export {
  cropBoxToFrame,
  cropPointToFrame,
  DEFAULT_WHOLE_ABOVE,
  duplicates,
  LOOK_AGAIN_SCALE,
  lookAgainRegion,
  MAX_CROPS,
  mergeAcrossCrops,
  MIN_FRAME_SCALE,
  planCrops,
  type CropDetection,
  type CropPlan,
  type CropPlanOptions,
} from './crop-plan.js';
export { boxesOf, type Box } from './boxes.js';
export { TURNS, turnBoxBack, turnPoint, turnPointBack, turnRgb, type Turn } from './turn.js';
export {
  encodeFrame,
  framePicture,
  snapshotPicture,
  jpegEncodes,
  snapshotEncodes,
  loadSharp,
  type EncodeOptions,
  type Encoded,
  type Picture,
  type PictureOptions,
} from './jpeg.js';
export {
  BLUR_MIN_RADIUS,
  boxMeetsPolygon,
  FLAT,
  hideInRgb,
  hidingPlan,
  HIDE_EVERYTHING,
  NOT_PRIVATE,
  PERSON_SPEED,
  privacyStats,
  sendableRgb,
  type HidingPlan,
  type Privacy,
  type PrivacyRule,
  type PrivacyShow,
  type PrivatePolygon,
  type SeenPerson,
} from './privacy.js';
export { PictureError, type PictureErrorCode } from './errors.js';
