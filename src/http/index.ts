/**
 * The HTTP control plane and live dashboard (issue 11): a fastify server over
 * one VisionSystem's public calls and events, its bearer token, and the JPEG
 * encoder behind live views. README "Dashboard and HTTP API", ADR 0020.
 */
export { HttpServer, type HttpServerOptions, type MetricsSource, type EventSource, type EventsAnswer } from './server.js';
export { resolveToken, tokenMatches, isLoopback, TOKEN_ENV, MIN_TOKEN_LENGTH, type Token } from './auth.js';
export { loadOrCreateToken, defaultTokenFile, type TokenChoice } from './token-file.js';
export { HttpError, type HttpErrorCode, type ErrorBody } from './errors.js';
export { encodeFrame, jpegEncodes, snapshotEncodes, boxesOf, type Box } from './jpeg.js';
export { SOCKET_PROTOCOL_VERSION, HIGH_WATER_BYTES } from './dashboard-socket.js';
