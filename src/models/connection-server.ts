/**
 * The model server's connections: the socket side of ModelServer, apart from
 * what it answers. It reads length-prefixed messages from each client, hands
 * each to `respond` (which never rejects), and writes the answers back in
 * request order, keeping every per-connection resource bounded in size and in
 * time:
 * - a message must be completed within partialMessageTimeoutMs, a silent
 *   connection is closed after idleTimeoutMs, at most maxQueuedRequests are
 *   read ahead (reading pauses beyond);
 * - answers the client does not take stop the answering once
 *   maxPendingResponseBytes wait, and close it (ERR_SLOW_CONSUMER) if they
 *   still wait after writeStallTimeoutMs; at the connection cap the longest
 *   stalled connection makes room;
 * - beyond maxConnections, or while shutting down, a client gets one error
 *   answer and is closed; a connection it ends is dropped after closeLingerMs
 *   if the client does not close its side.
 * Framing lost (a bad length) answers what came before, then the error, then
 * closes. shutdown() ends each connection once its answers are sent and cuts
 * what is left after shutdownGraceMs.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { encodeMessage, IpcError, MessageDecoder, type InferenceResponse, type PongResponse } from '../ipc/index.js';

export type Answer = InferenceResponse | PongResponse;

export interface ConnectionLimits {
  readonly maxConnections: number;
  readonly maxMessageBytes: number;
  readonly maxQueuedRequests: number;
  readonly maxPendingResponseBytes: number;
  readonly writeStallTimeoutMs: number;
  readonly partialMessageTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly closeLingerMs: number;
  readonly shutdownGraceMs: number;
}

/** What a connection is to the answering side: whether its client is still there to read an answer. */
export interface ClientLink {
  readonly gone: () => boolean;
}

export interface ConnectionServerOptions {
  readonly limits: ConnectionLimits;
  /** The answer to one message read (or a framing error, as an IpcError); never rejects. `afterShutdown`: read after shutdown() began. */
  readonly respond: (message: unknown, link: ClientLink, afterShutdown: boolean) => Promise<Answer>;
  /** The one answer a refused client gets. */
  readonly refusal: (error: IpcError) => Answer;
  /** A connection closed because of its client: counted and announced by the owner. */
  readonly report: (error: IpcError) => void;
  /** A framing error answered (and so counted) on the connection it closes: only announced. */
  readonly announce: (error: IpcError) => void;
}

interface Connection extends ClientLink {
  readonly socket: Socket;
  readonly decoder: MessageDecoder;
  /** The answers to every message read and not yet sent, in request order (each settles when its request is answered). */
  readonly queue: Promise<Answer>[];
  busy: boolean;
  partialTimer: NodeJS.Timeout | null;
  /** No more requests are taken from this connection: what still arrives is read and discarded (so the client's close is seen). */
  broken: boolean;
  /** End the connection once its queue is answered (framing lost, or the server is closing). */
  ending: boolean;
  /** Since when the client has not taken our writes (the socket wants a drain), and the timer that closes it then. */
  stalledSince: number | null;
  stallTimer: NodeJS.Timeout | null;
}

/** Resolves when `taken` does, 'closed' if the socket closes first, 'stalled' after ms. */
function within(taken: Promise<void>, socket: Socket, ms: number): Promise<'taken' | 'closed' | 'stalled'> {
  return new Promise((resolve) => {
    const done = (outcome: 'taken' | 'closed' | 'stalled'): void => {
      clearTimeout(timer);
      socket.off('close', onClose);
      resolve(outcome);
    };
    const onClose = (): void => done('closed');
    const timer = setTimeout(() => done('stalled'), ms);
    socket.once('close', onClose);
    void taken.then(() => done('taken'));
  });
}

export class ConnectionServer {
  readonly #o: ConnectionServerOptions;
  readonly #limits: ConnectionLimits;
  readonly #connections = new Set<Connection>();
  /** Every accepted socket, served or refused, for the cut at the end of the shutdown grace. */
  readonly #sockets = new Set<Socket>();
  /** Refused sockets lingering until their client closes: closed at once by shutdown(). */
  readonly #refused = new Set<Socket>();
  #shuttingDown = false;
  #grace: NodeJS.Timeout | null = null;

  constructor(options: ConnectionServerOptions) {
    this.#o = options;
    this.#limits = options.limits;
  }

  /** Served connections now. */
  get size(): number {
    return this.#connections.size;
  }

  /** Bytes of answers written and not yet taken by their clients. */
  get pendingAnswerBytes(): number {
    let sum = 0;
    for (const c of this.#connections) sum += c.socket.writableLength;
    return sum;
  }

  /** Connections whose clients are not taking their answers. */
  get stalled(): number {
    let n = 0;
    for (const c of this.#connections) if (c.stalledSince !== null) n++;
    return n;
  }

  /** A new client: served, or refused with one answer when full or shutting down. */
  accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined); // a client that vanished: nothing to answer
    // Full, and some client is not reading its answers: it goes, so a fresh client always has room.
    if (!this.#shuttingDown && this.#connections.size >= this.#limits.maxConnections) this.#evictLongestStalled();
    if (this.#shuttingDown || this.#connections.size >= this.#limits.maxConnections) {
      this.#refuse(
        socket,
        this.#shuttingDown
          ? new IpcError('ERR_SHUTTING_DOWN', 'the server is shutting down')
          : new IpcError('ERR_TOO_MANY_CONNECTIONS', `the server has ${this.#limits.maxConnections} connections already`),
      );
      return;
    }
    const connection: Connection = {
      socket,
      gone: () => socket.destroyed,
      decoder: new MessageDecoder({ maxMessageBytes: this.#limits.maxMessageBytes }),
      queue: [],
      busy: false,
      partialTimer: null,
      broken: false,
      ending: false,
      stalledSince: null,
      stallTimer: null,
    };
    this.#connections.add(connection);
    socket.on('drain', () => this.#unstalled(connection));
    socket.setTimeout(this.#limits.idleTimeoutMs);
    socket.on('timeout', () => {
      // Busy connections are bounded by the handler timeout and writeStallTimeoutMs instead.
      if (!connection.busy && connection.queue.length === 0) this.#finish(connection);
    });
    socket.on('close', () => {
      if (connection.partialTimer !== null) clearTimeout(connection.partialTimer);
      if (connection.stallTimer !== null) clearTimeout(connection.stallTimer);
      this.#connections.delete(connection);
    });
    socket.on('data', (chunk: Buffer) => this.#onData(connection, chunk));
  }

  /**
   * Refuses new clients from now on, ends each connection once its answers are
   * sent, and cuts every socket still open after shutdownGraceMs. Idempotent.
   */
  shutdown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const socket of this.#refused) socket.destroy();
    for (const connection of this.#connections) {
      connection.ending = true;
      if (!connection.busy && connection.queue.length === 0) this.#finish(connection);
    }
    this.#grace = setTimeout(() => {
      for (const socket of this.#sockets) socket.destroy();
    }, this.#limits.shutdownGraceMs);
  }

  /** Every socket is closed: the grace timer is no longer needed. */
  closed(): void {
    if (this.#grace !== null) clearTimeout(this.#grace);
    this.#grace = null;
  }

  /** One answer without reading any request, then closed. */
  #refuse(socket: Socket, error: IpcError): void {
    this.#o.report(error);
    this.#refused.add(socket);
    socket.once('close', () => this.#refused.delete(socket));
    // Read and discard: an unread request would keep the client's close unseen and the descriptor open for ever.
    socket.on('data', () => undefined);
    this.#end(socket, encodeMessage(this.#o.refusal(error)));
  }

  /** Ends a served connection: no more requests are taken from it. */
  #finish(connection: Connection): void {
    connection.broken = true;
    connection.ending = true;
    if (connection.partialTimer !== null) clearTimeout(connection.partialTimer);
    connection.partialTimer = null;
    if (connection.socket.isPaused()) connection.socket.resume(); // discard, and see the client's close
    this.#end(connection.socket);
  }

  /** Sends `last` and ends the socket; drops it if the client has not closed its side within closeLingerMs. */
  #end(socket: Socket, last?: Buffer): void {
    if (socket.writableEnded || socket.destroyed) return;
    if (last === undefined) socket.end();
    else socket.end(last);
    const linger = setTimeout(() => socket.destroy(), this.#limits.closeLingerMs);
    socket.once('close', () => clearTimeout(linger));
  }

  #onData(connection: Connection, chunk: Buffer): void {
    if (connection.broken) return;
    const afterShutdown = this.#shuttingDown;
    for (const decoded of connection.decoder.push(chunk)) {
      if (decoded.ok) connection.queue.push(this.#o.respond(decoded.message, connection, afterShutdown));
      else {
        connection.queue.push(this.#o.respond(decoded.error, connection, afterShutdown));
        if (decoded.error.code !== 'ERR_INVALID_JSON') {
          // Framing is lost: answer what came before, then this error, then close.
          this.#o.announce(decoded.error);
          connection.broken = true;
          connection.ending = true;
        }
      }
    }
    if (connection.decoder.partial && connection.partialTimer === null && !connection.broken) {
      connection.partialTimer = setTimeout(() => {
        const error = new IpcError('ERR_TIMEOUT', `message not completed within ${this.#limits.partialMessageTimeoutMs} ms`);
        this.#o.announce(error);
        connection.queue.push(this.#o.respond(error, connection, this.#shuttingDown));
        connection.broken = true;
        connection.ending = true;
        void this.#drain(connection);
      }, this.#limits.partialMessageTimeoutMs);
    } else if (!connection.decoder.partial && connection.partialTimer !== null) {
      clearTimeout(connection.partialTimer);
      connection.partialTimer = null;
    }
    if (connection.queue.length >= this.#limits.maxQueuedRequests) connection.socket.pause();
    void this.#drain(connection);
  }

  /** Sends the connection's answers one at a time, in request order, each once it is ready. */
  async #drain(connection: Connection): Promise<void> {
    if (connection.busy) return;
    connection.busy = true;
    try {
      while (connection.queue.length > 0) {
        const response = await connection.queue[0]!;
        void connection.queue.shift(); // the answer just awaited
        if (connection.socket.destroyed || connection.socket.writableEnded) return;
        if (!(await this.#send(connection, response))) return;
        if (connection.queue.length < this.#limits.maxQueuedRequests && connection.socket.isPaused() && connection.stalledSince === null)
          connection.socket.resume();
      }
      if (connection.ending) this.#finish(connection);
    } finally {
      connection.busy = false;
    }
  }

  /**
   * Writes an answer. Once maxPendingResponseBytes of answers wait for the
   * client to read them, stops answering this connection until it has; a
   * client that has not within writeStallTimeoutMs is closed ERR_SLOW_CONSUMER
   * (it would otherwise hold its connection, and a share of the cap, for ever).
   * False when the connection is gone.
   */
  async #send(connection: Connection, response: Answer): Promise<boolean> {
    const socket = connection.socket;
    const taken = new Promise<void>((resolve) => {
      if (!socket.write(encodeMessage(response), () => resolve())) this.#stalled(connection);
    });
    if (socket.writableLength < this.#limits.maxPendingResponseBytes) return true;
    const outcome = await within(taken, socket, this.#limits.writeStallTimeoutMs);
    // The stall timer of #stalled may have closed it for the same reason a moment before: #slowConsumer reports it once.
    if (outcome === 'stalled') this.#slowConsumer(connection);
    return outcome === 'taken' && !socket.destroyed;
  }

  /**
   * The client is not taking our writes: read no more of its requests (what
   * it has sent stays in its own buffers, not ours), and close it if it has
   * not taken them within writeStallTimeoutMs, whatever is in flight.
   */
  #stalled(connection: Connection): void {
    if (connection.stalledSince !== null) return;
    connection.stalledSince = performance.now();
    connection.socket.pause();
    connection.stallTimer = setTimeout(() => this.#slowConsumer(connection), this.#limits.writeStallTimeoutMs);
  }

  #unstalled(connection: Connection): void {
    if (connection.stallTimer !== null) clearTimeout(connection.stallTimer);
    connection.stallTimer = null;
    connection.stalledSince = null;
    if (!connection.broken && connection.queue.length < this.#limits.maxQueuedRequests && connection.socket.isPaused()) connection.socket.resume();
  }

  /** Closes a client that is not taking its answers, ERR_SLOW_CONSUMER; once, whoever notices first. */
  #slowConsumer(connection: Connection): void {
    const socket = connection.socket;
    if (socket.destroyed) return;
    this.#o.report(
      new IpcError('ERR_SLOW_CONSUMER', `${socket.writableLength} bytes of answers not read by the client within ${this.#limits.writeStallTimeoutMs} ms`),
    );
    socket.destroy();
  }

  /** At the connection cap: the connection stalled longest (if any) is closed ERR_SLOW_CONSUMER. */
  #evictLongestStalled(): void {
    let oldest: Connection | null = null;
    for (const c of this.#connections) if (c.stalledSince !== null && (oldest === null || c.stalledSince < oldest.stalledSince!)) oldest = c;
    if (oldest === null) return;
    this.#slowConsumer(oldest);
    this.#connections.delete(oldest); // its 'close' comes later; its place is free now
  }
}
