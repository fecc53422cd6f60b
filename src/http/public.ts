/**
 * What `framesupplier/http` offers a user of the package, named by hand. The folder's index.ts is its surface
 * for the other folders of src/ and may offer them more; a name becomes the package's API only by being listed
 * here (test/conventions/public-surface.test.ts holds this list to test/conventions/public-surface.txt).
 */
export {
  boxesOf,
  defaultTokenFile,
  encodeFrame,
  HIGH_WATER_BYTES,
  HttpError,
  HttpServer,
  isLoopback,
  jpegEncodes,
  loadOrCreateToken,
  MIN_TOKEN_LENGTH,
  resolveToken,
  snapshotEncodes,
  SOCKET_PROTOCOL_VERSION,
  TOKEN_ENV,
  tokenMatches,
} from './index.js';
export type { Box, ErrorBody, EventsAnswer, EventSource, HttpErrorCode, HttpServerOptions, MetricsSource, Token, TokenChoice } from './index.js';
