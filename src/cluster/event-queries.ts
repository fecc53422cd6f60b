/**
 * Cluster-wide tracked-object events, a node's part of them (ADR 0033; the
 * messages and the merge are in events.ts).
 *
 * Contract: this node answers queries of its own store on
 * framesupplier.node.<node>.events and snapshots on …snapshot; a request that
 * does not parse, or a snapshot id that is not an event id's shape (it names
 * a file), is refused and answered with its code (events) or nothing
 * (snapshot). query() asks every other live node of the last tick in
 * parallel (eventsTimeoutMs each), adds this node's own, and merges newest
 * first: a node that did not answer, or answered what does not parse or
 * names another node, is listed in `missing` (the answer is partial, never
 * silently). snapshot() looks here first, then asks the others and takes the
 * first JPEG of at most MAX_SNAPSHOT_BYTES.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { messageOf } from '../internal/abort.js';
import { encode } from './messages.js';
import { replyCode, type NodeContext } from './context.js';
import { ClusterError } from './errors.js';
import {
  eventsReply,
  isJpeg,
  MAX_SNAPSHOT_BYTES,
  mergeEvents,
  nodeEventsSubject,
  nodeSnapshotSubject,
  parseEventsReply,
  parseEventsRequest,
  type ClusterEventQuery,
  type ClusterEventsAnswer,
  type EventRow,
  type LocalEventSource,
  type NodeEvents,
} from './events.js';

/** A tracked object's id (src/objects: `<start>.<µs>-<6 chars>`), the only thing a snapshot request may hold. */
const SNAPSHOT_ID = /^[0-9]{1,12}\.[0-9]{6}-[a-z0-9]{6}$/;

export interface EventQueriesOptions {
  /** This node's store, read when asked (it opens after the node is made); null or absent: it has none. */
  readonly local: (() => LocalEventSource | null) | undefined;
  /** The live nodes of the last tick (this one included). */
  readonly liveNodes: () => readonly string[];
}

export class EventQueries {
  readonly #ctx: NodeContext;
  readonly #o: EventQueriesOptions;

  constructor(ctx: NodeContext, options: EventQueriesOptions) {
    this.#ctx = ctx;
    this.#o = options;
  }

  /** Answers this node's events and snapshot subjects; the subscriptions are the caller's to end. */
  subscribe(nc: NatsConnection): Subscription[] {
    return [
      nc.subscribe(nodeEventsSubject(this.#ctx.nodeId), { callback: (_e, m) => this.#answerEvents(m) }),
      nc.subscribe(nodeSnapshotSubject(this.#ctx.nodeId), { callback: (_e, m) => void this.#answerSnapshot(m) }),
    ];
  }

  async query(nc: NatsConnection, q: ClusterEventQuery): Promise<ClusterEventsAnswer> {
    const { nodeId, settings } = this.#ctx;
    const limit = Math.max(1, Math.min(1000, Math.floor(q.limit ?? 100)));
    const others = this.#o.liveNodes().filter((n) => n !== nodeId);
    const answers: NodeEvents[] = [];
    const missing: { node: string; code: string; message: string }[] = [];
    const local = this.#o.local?.() ?? null;
    answers.push({ node: nodeId, events: local === null ? [] : (local.query({ ...q, limit }) as EventRow[]), truncated: false });
    await Promise.all(
      others.map(async (node) => {
        try {
          const reply = await nc.request(nodeEventsSubject(node), encode({ ...q, limit }), { timeout: settings.eventsTimeoutMs });
          const answer = parseEventsReply(reply.data);
          if ('ok' in answer) missing.push({ node, code: answer.code, message: answer.message });
          else if (answer.node !== node) throw new ClusterError('ERR_CLUSTER_MESSAGE', `events reply: asked node ${node}, ${answer.node} answered`);
          else answers.push(answer);
        } catch (error) {
          if (error instanceof ClusterError) this.#ctx.refusals.refuse(error, `events reply of node ${node}`);
          const code = error instanceof ClusterError ? error.code : 'ERR_CLUSTER_UNAVAILABLE';
          missing.push({ node, code, message: messageOf(error) });
        }
      }),
    );
    return { events: mergeEvents(answers, limit), nodes: answers.map((a) => a.node).sort(), missing: missing.sort((a, b) => (a.node < b.node ? -1 : 1)) };
  }

  async snapshot(nc: NatsConnection, id: string): Promise<Buffer | null> {
    const { nodeId, settings } = this.#ctx;
    const local = await this.#o.local?.()?.snapshot(id);
    if (local != null) return local;
    const found = await Promise.all(
      this.#o
        .liveNodes()
        .filter((n) => n !== nodeId)
        .map(async (node) => {
          try {
            const reply = await nc.request(nodeSnapshotSubject(node), Buffer.from(id, 'utf8'), { timeout: settings.eventsTimeoutMs });
            if (reply.data.byteLength === 0) return null;
            if (reply.data.byteLength > MAX_SNAPSHOT_BYTES || !isJpeg(reply.data))
              throw new ClusterError('ERR_CLUSTER_MESSAGE', `snapshot reply of node ${node}: not a JPEG of at most ${MAX_SNAPSHOT_BYTES} bytes`);
            return Buffer.from(reply.data);
          } catch (error) {
            if (error instanceof ClusterError) this.#ctx.refusals.refuse(error, `snapshot reply of node ${node}`);
            return null;
          }
        }),
    );
    return found.find((b) => b !== null) ?? null;
  }

  #answerEvents(m: Msg): void {
    try {
      const q = parseEventsRequest(m.data);
      const local = this.#o.local?.() ?? null;
      m.respond(eventsReply(this.#ctx.nodeId, local === null ? [] : local.query(q)));
    } catch (error) {
      if (error instanceof ClusterError) this.#ctx.refusals.refuse(error, 'events request');
      m.respond(encode({ ok: false, code: replyCode(error), message: messageOf(error) }));
    }
  }

  async #answerSnapshot(m: Msg): Promise<void> {
    const id = Buffer.from(m.data).toString('utf8');
    let jpeg: Buffer | null = null;
    if (SNAPSHOT_ID.test(id))
      jpeg =
        (await this.#o
          .local?.()
          ?.snapshot(id)
          .catch(() => null)) ?? null;
    else this.#ctx.refusals.refuse(new ClusterError('ERR_CLUSTER_MESSAGE', 'snapshot request: not an event id'), 'snapshot request');
    try {
      m.respond(jpeg ?? new Uint8Array(0));
    } catch (error) {
      // Larger than the server's max_payload (1 MiB by default; a 4K snapshot can be more): answered as not here, and said,
      // never thrown out of the subscription (an unhandled rejection would end the node).
      this.#ctx.log.warn(
        { id, bytes: jpeg?.byteLength ?? 0, err: messageOf(error) },
        "cluster: a snapshot could not be sent to the node that asked (larger than the NATS server's max_payload?); answered as not found",
      );
      try {
        m.respond(new Uint8Array(0));
      } catch {
        // The connection is gone: the asker's request times out, as for a node that went away.
      }
    }
  }
}
