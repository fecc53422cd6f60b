/**
 * What the parts of one cluster node share (ADR 0038): who the node is and
 * its timings, its log and system, the NATS link and its buckets (one `Bus`,
 * set by the owner and the store part, read by the others), the claims log
 * every start and stop is written to, and the count of untrusted messages
 * refused. Nothing here starts anything or decides anything: a part that
 * decides something keeps it in its own file.
 */
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { messageOf } from '../internal/abort.js';
import { projectCodeOf } from '../internal/errors.js';
import type { Logger } from '../internal/logger.js';
import type { VisionSystem } from '../pipeline/index.js';
import { claimsSubject, encode, type ClaimRecord } from './messages.js';
import type { NodeClock } from './two-clocks.js';

/** A node's timings and share weight, defaults applied and checked (ClusterNodeOptions). */
export interface NodeSettings {
  readonly capacity: number;
  readonly leaseMs: number;
  readonly tickMs: number;
  readonly marginMs: number;
  readonly rejoinGraceMs: number;
  readonly settleMs: number;
  readonly handoffTimeoutMs: number;
  readonly eventsTimeoutMs: number;
}

/**
 * The node's NATS connection and its three buckets. The owner sets `nc` and
 * `connected` (start, the status watch), the store part the buckets (made
 * again after a store loss); every part reads them when it acts, never keeps
 * its own copy, so all see the same store.
 */
export class Bus {
  nc: NatsConnection | null = null;
  connected = false;
  desired: KV | null = null;
  leases: KV | null = null;
  nodes: KV | null = null;
  readonly #nodeId: string;

  constructor(nodeId: string) {
    this.#nodeId = nodeId;
  }

  /** A start, standby or stop in the claims log: core publish, captured by the stream, buffered by the client while NATS is away. */
  claim(camera: string, action: ClaimRecord['action'], revision: number, reason: string, streamedUntil?: number): void {
    const record: ClaimRecord = {
      camera,
      node: this.#nodeId,
      action,
      at: Date.now(),
      revision,
      reason,
      ...(streamedUntil === undefined ? {} : { streamedUntil }),
    };
    this.nc?.publish(claimsSubject(camera), encode(record));
  }
}

/**
 * Untrusted messages refused, counted by code and logged. A stored entry
 * (`key`: what and revision) is refused once, however often it is read; a
 * request or reply (no key) is counted every time and logged at most once a
 * second per kind, so a client sending malformed requests in a loop cannot
 * flood the log. Both memories are bounded.
 */
export class Refusals {
  readonly #log: Logger;
  readonly #counts: Record<string, number> = {};
  readonly #once = new Set<string>();
  readonly #loggedAt = new Map<string, number>();

  constructor(log: Logger) {
    this.#log = log;
  }

  refuse(error: unknown, what: string, key?: string): void {
    if (key !== undefined) {
      if (this.#once.has(key)) return;
      if (this.#once.size >= 10_000) this.#once.clear();
      this.#once.add(key);
    }
    // Counted by the project's own code (ERR_CONFIG for an entry the schema refuses); anything else is a message that did not parse.
    const code = projectCodeOf(error) ?? 'ERR_CLUSTER_MESSAGE';
    this.#counts[code] = (this.#counts[code] ?? 0) + 1;
    if (key === undefined) {
      const now = Date.now();
      if (now - (this.#loggedAt.get(what) ?? Number.NEGATIVE_INFINITY) < 1_000) return;
      if (this.#loggedAt.size >= 1_000) this.#loggedAt.clear();
      this.#loggedAt.set(what, now);
    }
    this.#log.warn({ code, err: messageOf(error) }, `refused ${what}`);
  }

  counts(): Record<string, number> {
    return { ...this.#counts };
  }
}

/** What every part is given by the owner. */
export interface NodeContext {
  readonly nodeId: string;
  readonly settings: NodeSettings;
  readonly log: Logger;
  readonly system: VisionSystem;
  readonly bus: Bus;
  readonly refusals: Refusals;
  /** Where it reads its clocks (ADR 0173). Default the process's (SYSTEM_CLOCK); a test gives its own. */
  readonly clock?: NodeClock;
}

/** JetStream's "wrong last sequence": a compare-and-set found another revision. */
const CAS_FAILED = new Set([10071, 10164]);
export const casFailed = (error: unknown): boolean => CAS_FAILED.has((error as { code?: unknown } | null)?.code as number);

/** An error's `code` when it is one of ours (ERR_…), else ERR_CLUSTER_UNAVAILABLE: what a reply on the bus says. */
export function replyCode(error: unknown): string {
  return projectCodeOf(error) ?? 'ERR_CLUSTER_UNAVAILABLE';
}
