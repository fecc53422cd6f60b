/**
 * What `framesupplier/pictures` offers a user of the package, named by hand. The folder's index.ts is its surface
 * for the other folders of src/ and may offer them more; a name becomes the package's API only by being listed
 * here, this entry's one list (test/conventions/public-surface.test.ts holds its rules: no `export *`, no tuning constant).
 */
export {
  boxesOf,
  cropBoxToFrame,
  cropPointToFrame,
  cropRegion,
  cropRgb,
  cutRgb,
  duplicates,
  encodeFrame,
  framePicture,
  jpegEncodes,
  loadSharp,
  lumaAt,
  LumaReader,
  mergeAcrossCrops,
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
