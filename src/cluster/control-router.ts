/**
 * The control plane's requests as a node carries them out (ADR 0021): on
 * framesupplier.control (any node, one of a queue group), on
 * framesupplier.node.<node>.control (this node), and in process
 * (ClusterNode.control()).
 *
 * Contract: a request that does not parse is refused (counted, logged at
 * most once a second) with its code. add-camera holds the entry to this
 * node's rule before writing it (what this node may not run it does not ask
 * the cluster to run) and writes the desired state; remove-camera deletes
 * it. set-areas is done by the camera's owner (routed to it as below; here
 * when no node runs it): the camera's zones, masks and lines written into its
 * desired entry (compare-and-set on the entry's revision, read again on a
 * race), held to the rule the owner runs it by; the owner then applies them
 * live (leases.ts). restart-worker is done here if this node holds the camera, else routed
 * to the owner its lease names by request/reply, marked routed (a header) so
 * that it is never routed again: the owner answers it or says
 * ERR_CLUSTER_NOT_OWNED (no loops). handoff is the owner's side of a planned
 * move (moves.ts), run exclusive with the renewals. Every request gets one
 * answer, `{ ok: false, code }` for a failure, never a throw.
 */
import { headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { messageOf } from '../internal/abort.js';
import { PipelineError } from '../pipeline/index.js';
import type { Admission } from './admission.js';
import { casFailed, replyCode, type NodeContext } from './context.js';
import { ClusterError } from './errors.js';
import type { Holdings } from './holdings.js';
import {
  CONTROL_SUBJECT,
  encode,
  MAX_REPLY_ISSUES,
  nodeControlSubject,
  parseControl,
  parseJson,
  parseReply,
  readLease,
  type ControlReply,
  type ControlRequest,
  type ReplyIssue,
} from './messages.js';
import type { PlannedMoves } from './moves.js';

/** Set on a control request a node routed to the owner: the owner answers it or says ERR_CLUSTER_NOT_OWNED, never routes it on. */
const ROUTED_HEADER = 'Framesupplier-Routed';

export class ControlRouter {
  readonly #ctx: NodeContext;
  readonly #holdings: Holdings;
  readonly #moves: PlannedMoves;
  readonly #admission: Admission;

  constructor(ctx: NodeContext, holdings: Holdings, moves: PlannedMoves, admission: Admission) {
    this.#ctx = ctx;
    this.#holdings = holdings;
    this.#moves = moves;
    this.#admission = admission;
  }

  /** Answers on the shared and this node's control subjects; the subscriptions are the caller's to end. */
  subscribe(nc: NatsConnection): Subscription[] {
    const answer =
      (m: Msg) =>
      (r: ControlReply): void =>
        void m.respond(encode(r));
    return [
      nc.subscribe(CONTROL_SUBJECT, { queue: 'framesupplier-control', callback: (_e, m) => void this.handle(m.data, answer(m)) }),
      nc.subscribe(nodeControlSubject(this.#ctx.nodeId), {
        callback: (_e, m) => void this.handle(m.data, answer(m), m.headers?.get(ROUTED_HEADER) === '1'),
      }),
    ];
  }

  /** Carries out one request (as received: untrusted) and answers it once through `reply`. */
  async handle(data: Uint8Array, reply: (r: ControlReply) => void, routed = false): Promise<void> {
    const { nodeId, bus, refusals, system } = this.#ctx;
    let request: ControlRequest;
    try {
      request = parseControl(data);
    } catch (error) {
      refusals.refuse(error, 'control request');
      reply({ ok: false, code: (error as ClusterError).code, message: (error as Error).message });
      return;
    }
    try {
      switch (request.op) {
        case 'add-camera':
          this.#admission.admit(request.camera, encode(request.config));
          await bus.desired!.put(request.camera, encode(request.config));
          break;
        case 'remove-camera':
          await bus.desired!.delete(request.camera);
          break;
        case 'set-areas': {
          // Checked by the node that runs the camera, under the rule it will run the entry by; here when none does.
          const owner = this.#holdings.held.has(request.camera) || routed ? null : await this.#owner(request.camera);
          if (owner !== null && owner !== nodeId) {
            reply(await this.#route(owner, data));
            return;
          }
          await this.#setAreas(request.camera, request.areas);
          break;
        }
        case 'handoff':
          reply(await this.#holdings.exclusive(() => this.#moves.handOff(request.camera, request.node, request.mode)));
          return;
        default: {
          if (this.#holdings.held.has(request.camera)) {
            await system.workers.restart(request.camera, request.worker);
            break;
          }
          if (routed) throw new ClusterError('ERR_CLUSTER_NOT_OWNED', `node ${nodeId} does not run camera ${request.camera}`);
          const owner = await this.#owner(request.camera);
          if (owner === null) throw new ClusterError('ERR_CLUSTER_NOT_OWNED', `camera ${request.camera} runs on no node now`);
          reply(await this.#route(owner, data));
          return;
        }
      }
      reply({ ok: true, node: nodeId });
    } catch (error) {
      reply({ ok: false, code: replyCode(error), message: messageOf(error), ...issuesOf(error) });
    }
  }

  /** The node the camera's lease names, or null: none, not a lease, or one run out past the margin (a dead node's, unclaimed). */
  async #owner(camera: string): Promise<string | null> {
    const entry = await this.#ctx.bus.leases!.get(camera);
    if (entry === null || entry.operation !== 'PUT') return null;
    const { lease } = readLease(entry.value);
    return lease === undefined || Date.now() > lease.expiresAt + this.#ctx.settings.marginMs ? null : lease.node;
  }

  /** The request as received, to the node that runs its camera, marked routed (it is answered there, never routed on). */
  async #route(owner: string, data: Uint8Array): Promise<ControlReply> {
    const routedHeader = headers();
    routedHeader.set(ROUTED_HEADER, '1');
    return parseReply((await this.#ctx.bus.nc!.request(nodeControlSubject(owner), data, { timeout: 10_000, headers: routedHeader })).data);
  }

  /** The camera's desired entry with these areas, written if it is unchanged since read (a few tries), checked as add-camera's. */
  async #setAreas(camera: string, areas: Record<string, unknown>): Promise<void> {
    const { bus } = this.#ctx;
    // In the file's syntax, as the entry: no `${NAME}` (this node would expand it, and answer or log its value).
    this.#ctx.system.config.areasAsWritten(camera, areas);
    for (let attempt = 1; attempt <= 5; attempt++) {
      const wanted = await bus.desired!.get(camera);
      if (wanted === null || wanted.operation !== 'PUT') throw new PipelineError('ERR_UNKNOWN_CAMERA', `no camera ${camera} in the cluster`);
      const value = encode(this.#ctx.system.config.entryWithAreas(camera, parseJson(wanted.value, `desired camera ${camera}`), areas));
      this.#admission.admit(camera, value);
      try {
        await bus.desired!.update(camera, value, wanted.revision);
        return;
      } catch (error) {
        if (!casFailed(error)) throw error; // else changed since read: merged again into the newer entry
      }
    }
    throw new ClusterError('ERR_CLUSTER_UNAVAILABLE', `camera ${camera}'s entry changed five times while its areas were written: try again`);
  }
}

/** A config error's issues (path and message: what the asker fixes), for its answer. */
function issuesOf(error: unknown): { issues?: ReplyIssue[] } {
  const issues = (error as { issues?: unknown } | null)?.issues;
  if (!Array.isArray(issues)) return {};
  // As many as an answer is read with (parseReply): the rest would be cut there.
  return {
    issues: issues.slice(0, MAX_REPLY_ISSUES).map((i: { path?: unknown; message?: unknown }) => ({ path: String(i.path), message: String(i.message) })),
  };
}
