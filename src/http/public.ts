/**
 * What `framesupplier/http` offers a user of the package, named by hand. The folder's index.ts is its surface
 * for the other folders of src/ and may offer them more; a name becomes the package's API only by being listed
 * here, this entry's one list (test/conventions/public-surface.test.ts holds its rules: no `export *`, no tuning constant).
 */
export {
  boxesOf,
  defaultTokenFile,
  encodeFrame,
  HttpError,
  HttpServer,
  isLoopback,
  jpegEncodes,
  loadOrCreateToken,
  resolveToken,
  snapshotEncodes,
  TOKEN_ENV,
  tokenMatches,
} from './index.js';
export type { Box, ErrorBody, EventsAnswer, EventSource, HttpErrorCode, HttpServerOptions, MetricsSource, Token, TokenChoice } from './index.js';
