/**
 * How the system checks that a model answers, one check per kind of model:
 * a model server on a Unix socket (started by the system or run by someone
 * else) answers a ping, whose pong carries its scheduling figures; a remote
 * model over KServe v2 answers /v2/models/<m>/ready. A discovered model's
 * connection is checked for who serves it first (model-trust.ts), and a
 * refusal is said in the result. A check opens its own
 * connection, closes it after, and never rejects: false is "did not answer".
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { codeOf } from '../../internal/errors.js';
import { maskCredentials } from '../../internal/redact.js';
import type { ModelConfig } from '../base/index.js';
import { ModelClient, type PongCameraStats, type PongMemory } from '../../ipc/index.js';
import { kserveClient } from '../../kserve/index.js';

export interface ModelScheduling {
  readonly protocol: number;
  readonly concurrency: number | null;
  readonly running: number | null;
  readonly waiting: number | null;
  readonly cameras: Readonly<Record<string, PongCameraStats>>;
  /** Frames one call of its model takes at most (its pong's max_batch; 1: per frame, and a server that does not say). */
  readonly maxBatch: number;
  /** The server process's memory, bytes (null: its pong carries none). */
  readonly memory: PongMemory | null;
}

export interface CheckResult {
  readonly ok: boolean;
  /** How long the answer took, ms (ok only). */
  readonly ms: number | null;
  /** The server's scheduling figures from a pong (protocol 2 socket servers only); undefined: the check carries none. */
  readonly scheduling?: ModelScheduling | null;
  /** Why the server was refused (ERR_MODEL_UNTRUSTED: who serves it is not trusted), when that is why the check failed. */
  readonly refusal?: string;
  /** The handler the server says it runs (its pong's `handler`: python, person...); undefined: the check carries none. */
  readonly handler?: string;
}

export interface ModelEndpoint {
  /** Where it is, as shown in stats and messages (a URL's credentials masked). */
  readonly address: string;
  check(timeoutMs: number, signal?: AbortSignal): Promise<CheckResult>;
}

/** A remote model over the KServe v2 protocol. */
export type KServeModelConfig = Extract<ModelConfig, { readonly kserve: unknown }>;

/** A server on a Unix socket; `verifyConnection` (a discovered model's trust rule) checks each connection before it is used. */
export function socketEndpoint(socketPath: string, verifyConnection?: (socket: Socket) => void): ModelEndpoint {
  return {
    address: socketPath,
    check: (timeoutMs, signal) => {
      const client = new ModelClient({ socketPath, mode: 'per-request', timeoutMs, ...(verifyConnection === undefined ? {} : { verifyConnection }) });
      return timed(client, async () => {
        const pong = await client.ping(signal === undefined ? {} : { signal });
        const scheduling =
          pong.protocol === undefined
            ? null
            : {
                protocol: pong.protocol,
                concurrency: pong.concurrency ?? null,
                running: pong.running ?? null,
                waiting: pong.waiting ?? null,
                cameras: pong.cameras ?? {},
                maxBatch: Number.isSafeInteger(pong.max_batch) && pong.max_batch! >= 1 ? pong.max_batch! : 1,
                memory: pong.memory ?? null,
              };
        // What the server says it is, as it says it: a string of bounded length, or nothing.
        const handler = typeof pong.handler === 'string' && pong.handler.length > 0 ? pong.handler.slice(0, 64) : undefined;
        return { scheduling, ...(handler === undefined ? {} : { handler }) };
      });
    },
  };
}

export function kserveEndpoint(kserve: KServeModelConfig['kserve']): ModelEndpoint {
  const { url, model, version, token } = kserve;
  return {
    address: maskCredentials(url),
    check: (timeoutMs, signal) => {
      const client = kserveClient({ url, model, ...(version === undefined ? {} : { version }), ...(token === undefined ? {} : { token }), timeoutMs });
      return timed(client, async () => ((await client.ready(signal === undefined ? {} : { signal })) ? {} : null));
    },
  };
}

/** One check, its client closed after, timed when it passes. */
async function timed(
  client: { close(): unknown },
  check: () => Promise<{ scheduling?: ModelScheduling | null; handler?: string } | null>,
): Promise<CheckResult> {
  const started = performance.now();
  try {
    const passed = await check();
    if (passed === null) return { ok: false, ms: null };
    return { ok: true, ms: performance.now() - started, ...passed };
  } catch (error) {
    return codeOf(error) === 'ERR_MODEL_UNTRUSTED' ? { ok: false, ms: null, refusal: (error as Error).message } : { ok: false, ms: null };
  } finally {
    client.close();
  }
}
