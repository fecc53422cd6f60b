/**
 * ConnectionBounds: how many TCP connections a server holds at once, in total
 * (maxConnections) and from one remote address (maxConnectionsPerAddress),
 * when clients may open connections and send nothing on them. A newcomer over
 * a bound makes room by closing the oldest connection that has sent nothing
 * yet (its own address's first, so a flood pays with its own connections);
 * only when every connection in the way has sent something is the newcomer
 * itself closed (refused). Closing the newcomer instead, as a listen socket's
 * maxConnections does, is what let a held flood of silent connections keep
 * every well-behaved client out (ADR 0036).
 *
 * "Sent nothing" is the socket's bytesRead, which the stream counts whoever
 * consumes it (node's HTTP parser, an HTTP/2 session): read when room is
 * needed, so admitted connections cost no listener of their own. A connection
 * that has sent a byte is never silent again and leaves the candidates for
 * good, so making room stays cheap under a flood. With silentTimeoutMs, a
 * connection still silent after it is closed (counted idleClosed).
 *
 * bytesRead says "silent" only once the loop has had a chance to read: a
 * connection admitted in this loop turn or the one before is not a candidate.
 * One accept burst takes as many connections as the listen backlog holds
 * (hundreds under a flood), all before the poll that reads the first of them;
 * without this a client that had sent its request at once was closed as
 * silent before its bytes were read (a loaded machine, a flood from its own
 * address). Turns, not time: a slow machine is not a reason to close anyone.
 *
 * The owner hands it each accepted socket (admit()) before serving it, reads
 * stats(), and may close every socket still held (destroyAll()).
 */
import type { Socket } from 'node:net';
import { positiveInteger } from './numbers.js';

export interface ConnectionBoundsOptions {
  /** Connections held at once. */
  readonly maxConnections: number;
  /** Connections held at once from one remote address. */
  readonly maxConnectionsPerAddress: number;
  /** A connection that has sent nothing within this is closed. Default: none (the owner has its own timeout). */
  readonly silentTimeoutMs?: number;
}

export interface ConnectionBoundsStats {
  /** Connections held now. */
  readonly open: number;
  /** Silent connections closed to make room for a newcomer. */
  readonly evicted: number;
  /** Newcomers closed because every connection in the way had sent something. */
  readonly refused: number;
  /** Connections closed for sending nothing within silentTimeoutMs. */
  readonly idleClosed: number;
}

export class ConnectionBounds {
  readonly #maxConnections: number;
  readonly #maxPerAddress: number;
  readonly #silentTimeoutMs: number | null;
  /** Every connection held, with its remote address (read at admission: a closed socket forgets it). */
  readonly #open = new Map<Socket, string>();
  readonly #perAddress = new Map<string, number>();
  /** Connections not yet seen to send a byte, oldest first (Sets keep insertion order), all and per address. */
  readonly #silent = new Set<Socket>();
  readonly #silentPerAddress = new Map<string, Set<Socket>>();
  readonly #timers = new Map<Socket, NodeJS.Timeout>();
  /** The loop turn each held connection was admitted in. */
  readonly #admittedTurn = new Map<Socket, number>();
  /** Loop turns, counted by setImmediate (it runs after each poll phase) up to two turns past the last admission. */
  #turn = 0;
  #turnsToCount = 0;
  #evicted = 0;
  #refused = 0;
  #idleClosed = 0;

  constructor(options: ConnectionBoundsOptions) {
    this.#maxConnections = positiveInteger('maxConnections', options.maxConnections);
    this.#maxPerAddress = positiveInteger('maxConnectionsPerAddress', options.maxConnectionsPerAddress);
    this.#silentTimeoutMs = options.silentTimeoutMs === undefined ? null : positiveInteger('silentTimeoutMs', options.silentTimeoutMs);
  }

  /** A newly accepted socket: held (true), after closing a silent one if a bound is reached, or closed at once (false). */
  admit(socket: Socket): boolean {
    const address = addressOf(socket);
    const own = this.#silentPerAddress.get(address);
    if ((this.#perAddress.get(address) ?? 0) >= this.#maxPerAddress && !this.#evictOldestSilent(own)) return this.#refuse(socket);
    if (this.#open.size >= this.#maxConnections && !this.#evictOldestSilent(own) && !this.#evictOldestSilent(this.#silent)) return this.#refuse(socket);
    this.#open.set(socket, address);
    this.#admittedTurn.set(socket, this.#turn);
    this.#endTurnAfterPoll();
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    this.#silent.add(socket);
    // Re-read: making room may have emptied (and dropped) this address's set.
    const silentOwn = this.#silentPerAddress.get(address);
    if (silentOwn === undefined) this.#silentPerAddress.set(address, new Set([socket]));
    else silentOwn.add(socket);
    socket.once('close', () => this.#forget(socket));
    if (this.#silentTimeoutMs !== null) {
      this.#timers.set(
        socket,
        setTimeout(() => {
          this.#timers.delete(socket);
          if (socket.bytesRead > 0) return;
          this.#idleClosed++;
          this.#forget(socket);
          socket.destroy();
        }, this.#silentTimeoutMs),
      );
    }
    return true;
  }

  stats(): ConnectionBoundsStats {
    return { open: this.#open.size, evicted: this.#evicted, refused: this.#refused, idleClosed: this.#idleClosed };
  }

  /** Closes every connection still held (a server's last step, for those its protocol layer does not end). */
  destroyAll(): void {
    for (const socket of [...this.#open.keys()]) {
      this.#forget(socket);
      socket.destroy();
    }
  }

  /** Closes the oldest of `candidates` that has sent nothing; false when none has. */
  #evictOldestSilent(candidates: Set<Socket> | undefined): boolean {
    if (candidates === undefined) return false;
    for (const socket of candidates) {
      if (socket.bytesRead > 0) {
        this.#unsilence(socket);
        continue;
      }
      // Oldest first, and turns only grow: from here on every candidate is as young.
      if ((this.#admittedTurn.get(socket) ?? 0) >= this.#turn - 1) return false;
      this.#evicted++;
      this.#forget(socket);
      socket.destroy();
      return true;
    }
    return false;
  }

  /**
   * Counts the end of this turn and of the next: an immediate runs in the check phase after this poll, and one it
   * schedules runs after the next poll, the one in which a connection admitted now can first be read. A quiet
   * server schedules nothing.
   */
  #endTurnAfterPoll(): void {
    const counting = this.#turnsToCount > 0;
    this.#turnsToCount = 2;
    if (!counting) this.#countTurn();
  }

  #countTurn(): void {
    setImmediate(() => {
      this.#turn++;
      if (--this.#turnsToCount > 0) this.#countTurn();
    }).unref();
  }

  #refuse(socket: Socket): false {
    this.#refused++;
    socket.destroy();
    return false;
  }

  #unsilence(socket: Socket): void {
    this.#silent.delete(socket);
    const address = this.#open.get(socket);
    if (address === undefined) return;
    const own = this.#silentPerAddress.get(address);
    own?.delete(socket);
    if (own?.size === 0) this.#silentPerAddress.delete(address);
  }

  /** Stops counting a socket (closed, or being closed now: its 'close' event comes later, the room is needed at once). Idempotent. */
  #forget(socket: Socket): void {
    const address = this.#open.get(socket);
    if (address === undefined) return;
    this.#unsilence(socket);
    this.#open.delete(socket);
    this.#admittedTurn.delete(socket);
    const count = (this.#perAddress.get(address) ?? 1) - 1;
    if (count === 0) this.#perAddress.delete(address);
    else this.#perAddress.set(address, count);
    const timer = this.#timers.get(socket);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(socket);
  }
}

/** The remote address, an IPv4-mapped IPv6 one as its IPv4 (a dual-stack listener sees both forms of one client). */
function addressOf(socket: Socket): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
