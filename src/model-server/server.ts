/**
 * A model server process: the composition root of `framesupplier
 * model-server` and of the servers the system starts (main.ts is their entry
 * module). From its command line it builds the handler (options checked by
 * the config's schema, handlers.ts), the Unix-socket ModelServer and, with
 * --http, the KServe v2 server, prints one JSON line when it listens, and
 * ends both in order on SIGTERM or SIGINT.
 *
 *   model-server --handler NAME (--socket PATH | --http HOST:PORT | --grpc HOST:PORT | any of them) [--model-id ID] [--shm-dir DIR] [--frame-access auto|copy] [limits] [handler options]
 *     --http: also answer the KServe v2 protocol on TCP; --grpc: the same protocol over gRPC; --http-max-in-flight N (default 4, per transport);
 *       --http-max-connections N (default 256) and --http-max-connections-per-address N (default 64): connections held, per transport (ADR 0036);
 *       --http-token TOKEN (or FRAMESUPPLIER_KSERVE_TOKEN, which keeps it out of `ps`): every call but health
 *       needs Authorization: Bearer TOKEN; required when --http is beyond loopback
 *     limits (ModelServer options, docs/protocol.md): --max-message-bytes --partial-message-timeout-ms
 *       --idle-timeout-ms --handler-timeout-ms --max-connections --max-queued-requests
 *       --max-pending-response-bytes --write-stall-timeout-ms --close-linger-ms --shutdown-grace-ms
 *       --concurrency N (inferences at once; default: the handler's model threads, mock 1)
 *     handler options: the config's keys as flags (minConfidence is --min-confidence):
 *       mock:   [--delay-ms N] [--input-size N] [--mock-touch pages|none] [--batch N] [--delay-per-frame-ms N]
 *       person: [--threads N] [--min-confidence X] [--pose-max-people N] [--network movenet-multipose|centernet]
 *               [--input-size N] [--wasm-threads N]
 *       onnx:   --model FILE [--classes FILE] [--layout auto|v5|v8|v11] [--input-size N] [--min-confidence X] [--iou X] [--threads N]
 *               [--batch N] (batches of every waiting request up to N: a model whose input has a free batch axis)
 */
import { MAX_TIMER_MS } from '../internal/abort.js';
import { hostPort, int, parseFlags, required } from '../internal/args.js';
import { createLogger } from '../internal/logger.js';
import { reportFatalSignalsTo } from '../internal/fatal-report.js';
import type { KServeGrpcServer, KServeServer } from '../kserve/index.js';
import { MODEL_SERVER_DEFAULTS, ModelServer } from '../models/index.js';
import { DEFAULT_SHM_DIR } from '../shm/index.js';
import { FrameSupplierError, InvalidArgumentError } from '../supplier/index.js';
import { createHandler, handlerFlags, handlerOptionsFromFlags } from './handlers.js';

/** The KServe server's token from the environment (kept out of the process list, unlike --http-token). */
export const KSERVE_TOKEN_ENV = 'FRAMESUPPLIER_KSERVE_TOKEN';

/** The server's limits as flags: --max-connections for maxConnections, and so on. */
const LIMIT_FLAGS = Object.fromEntries(
  (Object.keys(MODEL_SERVER_DEFAULTS) as (keyof typeof MODEL_SERVER_DEFAULTS)[]).map((key) => [key, key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)]),
) as Record<keyof typeof MODEL_SERVER_DEFAULTS, string>;

/** The model server's flags (its help page lists each; a test checks it). */
export function modelServerFlags() {
  return {
    handler: { type: 'string' },
    socket: { type: 'string' },
    http: { type: 'string' },
    grpc: { type: 'string' },
    'http-max-in-flight': { type: 'string' },
    'http-max-connections': { type: 'string' },
    'http-max-connections-per-address': { type: 'string' },
    'http-token': { type: 'string' },
    'model-id': { type: 'string' },
    'shm-dir': { type: 'string' },
    concurrency: { type: 'string' },
    'frame-access': { type: 'string' },
    'mock-touch': { type: 'string' },
    ...Object.fromEntries(Object.values(LIMIT_FLAGS).map((flag) => [flag, { type: 'string' as const }])),
    ...handlerFlags(),
  } as const;
}

export async function runModelServer(args: readonly string[]): Promise<number> {
  const values = parseFlags([...args], modelServerFlags());
  const flags = values as Record<string, string | undefined>;
  const limits: Partial<Record<keyof typeof MODEL_SERVER_DEFAULTS, number>> = {};
  for (const [key, flag] of Object.entries(LIMIT_FLAGS) as [keyof typeof MODEL_SERVER_DEFAULTS, string][]) {
    if (flags[flag] !== undefined) limits[key] = int(flag, flags[flag], flag.endsWith('-ms') ? { max: MAX_TIMER_MS } : {});
  }
  const frameAccess = values['frame-access'] ?? 'auto';
  if (frameAccess !== 'auto' && frameAccess !== 'copy')
    throw new InvalidArgumentError(`--frame-access must be auto or copy, got ${JSON.stringify(frameAccess)}`);
  const touch = values['mock-touch'] ?? 'pages';
  if (touch !== 'pages' && touch !== 'none') throw new InvalidArgumentError(`--mock-touch must be pages or none, got ${JSON.stringify(touch)}`);
  const options = handlerOptionsFromFlags(required('handler', values.handler), flags);
  if (values['mock-touch'] !== undefined && options.handler !== 'mock') throw new InvalidArgumentError(`--mock-touch is an option of the mock handler`);
  const handler = createHandler(options, { ...(values['model-id'] === undefined ? {} : { modelId: values['model-id'] }), touch });
  const http = values.http === undefined ? null : hostPort('http', values.http, '(e.g. 0.0.0.0:8000)');
  const grpcAddress = values.grpc === undefined ? null : hostPort('grpc', values.grpc, '(e.g. 0.0.0.0:8001)');
  if (values.socket === undefined && http === null && grpcAddress === null)
    throw new InvalidArgumentError('model-server needs --socket PATH, --http HOST:PORT, --grpc HOST:PORT, or several');
  const httpToken = values['http-token'] ?? (process.env[KSERVE_TOKEN_ENV] || undefined);
  // What both transports take from the same flags (each transport its own in-flight slots and connection bounds).
  const kserveOptions = {
    ...(limits.handlerTimeoutMs === undefined ? {} : { handlerTimeoutMs: limits.handlerTimeoutMs }),
    ...(values['http-max-in-flight'] === undefined ? {} : { maxInFlight: int('http-max-in-flight', values['http-max-in-flight']) }),
    ...(values['http-max-connections'] === undefined ? {} : { maxConnections: int('http-max-connections', values['http-max-connections']) }),
    ...(values['http-max-connections-per-address'] === undefined
      ? {}
      : { maxConnectionsPerAddress: int('http-max-connections-per-address', values['http-max-connections-per-address']) }),
    ...(httpToken === undefined ? {} : { token: httpToken }),
  };
  const server =
    values.socket === undefined
      ? null
      : new ModelServer({
          socketPath: values.socket,
          handler,
          shmDir: values['shm-dir'] ?? DEFAULT_SHM_DIR,
          ...(values.concurrency === undefined ? {} : { concurrency: int('concurrency', values.concurrency, { min: 1, max: 1024 }) }),
          frameAccess,
          ...limits,
        });
  // The log is pino's on stderr (JSON off a terminal): the system that started this server relays each line at its level.
  const log = createLogger({ base: { model_id: handler.modelId } });
  // A fault in the handler's native code (ONNX Runtime, libvips) then leaves a last line the system relays.
  reportFatalSignalsTo(log);
  // Connections closed because of their client (slow readers, refusals, lost framing): one line each.
  server?.on('connection-error', ({ code, message }) => log.warn({ event: 'connection-error', code }, message));
  // The socket server loads the handler (and closes it); alone, the HTTP server's owner does.
  if (server !== null) {
    await server.start();
    // Frames copied instead of mapped work, only slower: said once, with why.
    if (server.frameAccess === 'copy' && frameAccess === 'auto') {
      log.warn({ event: 'frame-access', frame_access: 'copy', reason: server.frameAccessReason }, 'frames are copied, not mapped');
    }
  } else await handler.load?.();
  // KServe (and gRPC's libraries, about 5 MB of heap) load only for a server asked to speak it: the system's own model
  // servers, on a Unix socket, never are.
  const kserveModule = http === null && grpcAddress === null ? null : await import('../kserve/index.js');
  let kserve: KServeServer | null = null;
  if (http !== null && kserveModule !== null) {
    kserve = new kserveModule.KServeServer({
      handler,
      ...http,
      ...kserveOptions,
    });
    try {
      await kserve.start();
    } catch (error) {
      await (server === null ? handler.close?.() : server.close());
      if (error instanceof FrameSupplierError) throw error;
      throw new InvalidArgumentError(`--http ${values.http}: cannot listen: ${(error as Error).message}`);
    }
  }
  // The same protocol over gRPC, with the same token and limits (each transport its own in-flight slots).
  let grpcServer: KServeGrpcServer | null = null;
  if (grpcAddress !== null && kserveModule !== null) {
    grpcServer = new kserveModule.KServeGrpcServer({
      handler,
      ...grpcAddress,
      ...kserveOptions,
    });
    try {
      await grpcServer.start();
    } catch (error) {
      await kserve?.close();
      await (server === null ? handler.close?.() : server.close());
      if (error instanceof FrameSupplierError) throw error;
      throw new InvalidArgumentError(`--grpc ${values.grpc}: cannot listen: ${(error as Error).message}`);
    }
  }
  const address = kserve?.address();
  const grpcBound = grpcServer?.address();
  process.stdout.write(
    `${JSON.stringify({ listening: server?.socketPath ?? null, ...(address === undefined ? {} : { http: `${address.host}:${address.port}` }), ...(grpcBound === undefined ? {} : { grpc: `${grpcBound.host}:${grpcBound.port}` }), model_id: handler.modelId, handler: handler.name, pid: process.pid, ...(server === null ? {} : { frame_access: server.frameAccess }) })}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  // A second signal during the drain ends the process at once (the default action, as no handler is left).
  await Promise.all([kserve?.close(), grpcServer?.close()]);
  if (server !== null) await server.close();
  else await handler.close?.();
  return 0;
}
