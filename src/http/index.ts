/**
 * The HTTP control plane and live dashboard (issue 11): a fastify server over
 * one VisionSystem's public calls and events, its bearer token, and the live
 * views (their JPEGs made by src/pictures). README "Dashboard and HTTP API", ADR 0020.
 */
export { HttpServer, type HttpServerOptions } from './server.js';
export type { MetricsSource } from './status-routes.js';
export type { EventSource, EventsAnswer } from './event-routes.js';
export { resolveToken, tokenMatches, isLoopback, TOKEN_ENV, MIN_TOKEN_LENGTH, type Token } from './auth.js';
export { loadOrCreateToken, defaultTokenFile, type TokenChoice } from './token-file.js';
export { HttpError, type HttpErrorCode, type ErrorBody } from './errors.js';
// Made in the pictures folder (src/pictures, ADR 0063); still here for users who took them from http.
export { encodeFrame, jpegEncodes, snapshotEncodes, boxesOf, type Box } from '../pictures/index.js';
export { SOCKET_PROTOCOL_VERSION, HIGH_WATER_BYTES } from './dashboard-socket.js';
