/**
 * What `framesupplier/pictures` offers a user of the package, named by hand. The folder's index.ts is its surface
 * for the other folders of src/ and may offer them more; a name becomes the package's API only by being listed
 * here (test/conventions/public-surface.test.ts holds this list to test/conventions/public-surface.txt).
 */
export {
  boxesOf,
  cropBoxToFrame,
  cropPointToFrame,
  cropRegion,
  cropRgb,
  cutRgb,
  DEFAULT_WHOLE_ABOVE,
  duplicates,
  encodeFrame,
  framePicture,
  jpegEncodes,
  loadSharp,
  lumaAt,
  LumaReader,
  MAX_CROPS,
  mergeAcrossCrops,
  MIN_FRAME_SCALE,
  NOT_PRIVATE,
  packedRgb,
  PictureError,
  planCrops,
  regionRgb,
  rgbOf,
  snapshotEncodes,
  snapshotPicture,
} from './index.js';
export type {
  Box,
  CropDetection,
  CropPlan,
  CropPlanOptions,
  Encoded,
  EncodeOptions,
  Luma,
  NormalisedBox,
  Picture,
  PictureErrorCode,
  PictureOptions,
  PixelRegion,
  Privacy,
  PrivacyShow,
} from './index.js';
