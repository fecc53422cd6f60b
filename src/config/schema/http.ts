/**
 * The config schema's http section (src/http): `http:`, the control plane and live dashboard (listener, token,
 * CORS, limits, what the API may add). Stands on the schema's shared parts alone.
 */
import { Type, type Static } from '@sinclair/typebox';
import { MIN_TOKEN_LENGTH } from '../../internal/token.js';
import { closed, int } from './shared.js';

export const HttpSchema = Type.Object(
  {
    host: Type.String({
      minLength: 1,
      default: '127.0.0.1',
      description: 'Address to listen on. Beyond loopback (127.x, ::1, localhost), every call needs the token, reads too.',
    }),
    port: int(0, 65535, { default: 8080, description: 'TCP port; 0 picks a free one.' }),
    token: Type.Optional(
      Type.String({
        minLength: MIN_TOKEN_LENGTH,
        description: `Bearer token for the API (at least ${MIN_TOKEN_LENGTH} characters; use \${NAME}). Default: FRAMESUPPLIER_HTTP_TOKEN (held to the same rule), else one made at start and printed once.`,
      }),
    ),
    cors: Type.Array(Type.String({ pattern: '^https?://[^/\\s]+$', description: 'An origin: scheme://host[:port].' }), {
      default: [],
      uniqueItems: true,
      description: 'Origins allowed to call the API from a browser (CORS). Default: none.',
    }),
    saveConfig: Type.Boolean({
      default: false,
      description: 'Write cameras added, replaced, removed and workers enabled or disabled through the API back to this file.',
    }),
    maxViewers: int(1, 1000, { default: 32, description: 'Live streams (dashboard tiles, MJPEG) served at once.' }),
    bodyLimitBytes: int(1024, 1048576, { default: 65536, description: 'Largest request body accepted (bytes).' }),
    requestTimeoutMs: int(100, 600000, {
      default: 30000,
      description: 'A request (head and body) must arrive within this or is answered 408 ERR_HTTP_REQUEST_TIMEOUT and its connection closed.',
    }),
    allowExec: Type.Boolean({
      default: false,
      description:
        "Let cameras added or changed through the API have command workers and module workers that name a file (they run programs as this server's user). Default false: those come from this file only; the API may use model, shared and builtin: workers.",
    }),
    envPrefixes: Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), {
      default: [],
      uniqueItems: true,
      description:
        'Besides the variables this file itself references, ${NAME} in values sent through the API may name variables starting with one of these prefixes (e.g. CAM_). Default: none.',
    }),
  },
  { ...closed, description: 'The HTTP control plane and live dashboard. Absent: no server (the built-in example has one on 127.0.0.1:8080).' },
);
export type HttpConfig = Static<typeof HttpSchema>;
