/**
 * The options the KServe REST and gRPC servers share, checked in one place so
 * the two transports refuse the same bad values with the same words: the
 * address (host, port), the token (at least 16 characters, and required
 * beyond loopback when the server starts), and the positive counts and times
 * (src/internal/numbers.ts), the connection bounds among them (ADR 0036). A bad value is ERR_INVALID_ARGUMENT naming the
 * server and the option.
 */
import { positiveInteger } from '../internal/numbers.js';
import { isLoopback } from '../internal/token.js';
import type { ServedHandler } from './served-model.js';
import { InvalidArgumentError } from '../supplier/index.js';
import { KServeError } from './errors.js';

/** What both servers take. */
export interface KServeCommonOptions {
  readonly handler: ServedHandler;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default the transport's (Triton's 8000 REST, 8001 gRPC); 0 for any free port. */
  readonly port?: number;
  /** Inferences served at once; one more is refused at once (ERR_KSERVE_BUSY). Default 4. */
  readonly maxInFlight?: number;
  /** Default 10 000 ms. */
  readonly handlerTimeoutMs?: number;
  /** Every call but health needs `Bearer <token>`. Required beyond loopback. */
  readonly token?: string;
  /** Connections held at once; over it, the oldest that has sent nothing is closed for the newcomer (else the newcomer is). Default 256. */
  readonly maxConnections?: number;
  /** Connections held at once from one remote address, the same way. Default 64. */
  readonly maxConnectionsPerAddress?: number;
  /** Whether the model has a KEYPOINTS output (listed in its metadata, answered when asked). Default: the pose handlers' (person). */
  readonly keypoints?: boolean;
}

/** The shared options, checked, with their defaults. */
export interface KServeCommonSettings {
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
  readonly maxInFlight: number;
  readonly handlerTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
}

/** A parser of one server's options: `server` (its class) names it in every refusal, `label` in what start() says. */
export class KServeOptionsParser {
  constructor(
    readonly server: string,
    readonly label: string,
  ) {}

  common(options: KServeCommonOptions, defaultPort: number): KServeCommonSettings {
    const port = options.port ?? defaultPort;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`${this.server} port must be 0–65535, got ${String(options.port)}`);
    if (options.token !== undefined && options.token.length < 16) throw new InvalidArgumentError(`${this.server} token must be at least 16 characters`);
    return {
      host: options.host ?? '127.0.0.1',
      port,
      token: options.token,
      maxInFlight: this.count('maxInFlight', options.maxInFlight, 4),
      handlerTimeoutMs: this.count('handlerTimeoutMs', options.handlerTimeoutMs, 10_000),
      maxConnections: this.count('maxConnections', options.maxConnections, 256),
      maxConnectionsPerAddress: this.count('maxConnectionsPerAddress', options.maxConnectionsPerAddress, 64),
    };
  }

  /** A positive integer option (a count, bytes, milliseconds), or its default when absent. */
  count(name: string, value: number | undefined, fallback: number): number {
    return positiveInteger(`${this.server} ${name}`, value ?? fallback);
  }

  /** ERR_KSERVE_TOKEN_REQUIRED when the server would listen beyond loopback without a token (checked at start). */
  tokenRequired(host: string, token: string | undefined): KServeError | null {
    if (token !== undefined || isLoopback(host)) return null;
    return new KServeError(
      'ERR_KSERVE_TOKEN_REQUIRED',
      `the ${this.label} listens beyond loopback (${host}): give it a token (--http-token, or FRAMESUPPLIER_KSERVE_TOKEN)`,
    );
  }
}
