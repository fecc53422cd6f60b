/**
 * A real broker for tests and benchmarks: Debian's mosquitto (installed by
 * `scripts/setup.sh test`) on 127.0.0.1 and a free port, with its config in a
 * temp dir of its own, spawned through src/process so it dies with the test
 * process. stop() and kill() end it; start() again brings it back on the
 * same port (a broker restart). Also a subscriber that records every message
 * and waits for the ones a test needs (no sleeps).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { findExecutable, spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { freePort } from './process.js';

export interface MosquittoOptions {
  /** Lines added to the config file (e.g. max_queued_messages). */
  readonly extraConfig?: readonly string[];
  /** Keep retained messages and persistent sessions across a clean stop (saved on SIGTERM, in the broker's dir). Default false. */
  readonly persistence?: boolean;
  /** Refuse every client (anonymous access off, no users): a broker that says "not authorised". Default false. */
  readonly refuseAnonymous?: boolean;
}

export { freePort };

export class Mosquitto {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly #conf: string;
  #process: ManagedProcess | null = null;
  /** The broker's log lines, for failure messages. */
  readonly log: string[] = [];

  private constructor(port: number, options: MosquittoOptions) {
    this.port = port;
    this.url = `mqtt://127.0.0.1:${port}`;
    this.dir = mkdtempSync(join(tmpdir(), `framesupplier-mosquitto-${process.pid}-`));
    this.#conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(
      this.#conf,
      [
        `listener ${port} 127.0.0.1`,
        // Run as root, mosquitto would switch to its own user, and a process that changes user loses the
        // parent-death signal that makes it die with the test (src/process): it keeps root's.
        ...(process.getuid?.() === 0 ? ['user root'] : []),
        `allow_anonymous ${options.refuseAnonymous === true ? 'false' : 'true'}`,
        ...(options.persistence === true ? ['persistence true', `persistence_location ${this.dir}/`] : ['persistence false']),
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'log_type information',
        ...(options.extraConfig ?? []),
        '',
      ].join('\n'),
    );
  }

  /** Starts a broker on a free port and waits until it listens. */
  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    const broker = new Mosquitto(await freePort(), options);
    await broker.start();
    return broker;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** Starts (again) on the same port; resolves when it says it is running. */
  async start(): Promise<void> {
    assert.equal(this.#process, null, 'mosquitto is already running');
    const executable = findExecutable('mosquitto') ?? findExecutable('/usr/sbin/mosquitto');
    assert.ok(executable !== null, 'mosquitto is not installed: run `bash scripts/setup.sh test`');
    const child = spawnManaged(executable, ['-c', this.#conf]);
    this.#process = child;
    let buffered = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        buffered += chunk.toString('utf8');
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          this.log.push(line);
          if (/mosquitto version \S+ running/.test(line)) resolve();
        }
      };
      child.child.stderr.on('data', onData);
      child.child.stdout.resume();
      void child.exited.then((exit) => reject(new Error(`mosquitto exited (${JSON.stringify(exit)}) before it ran:\n${this.log.join('\n')}`)));
    });
  }

  /** SIGTERM: a clean stop. */
  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = null;
    await child?.stop(2_000);
  }

  /** SIGKILL: the broker dies without a word (clients' wills are lost with it). */
  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = null;
    if (child === null) return;
    child.child.kill('SIGKILL');
    await child.exited;
  }

  /** Stops it and removes its directory. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Message {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
  readonly qos: number;
  /** performance.now() at receipt. */
  readonly at: number;
  /** MQTT v5's message expiry interval (seconds, what is left of it for a retained message), when the recorder speaks v5 and the message has one. */
  readonly expiryS: number | undefined;
}

/**
 * A client subscribed to `topics` (default every topic) that records what it
 * receives, reconnecting by itself (every second) when the broker goes away.
 */
export class Recorder {
  readonly client: MqttClient;
  readonly messages: Message[] = [];
  readonly #waiters = new Set<() => void>();

  private constructor(client: MqttClient) {
    this.client = client;
    client.on('message', (topic, payload, packet) => {
      this.messages.push({
        topic,
        payload: payload.toString('utf8'),
        retain: packet.retain,
        qos: packet.qos,
        at: performance.now(),
        expiryS: packet.properties?.messageExpiryInterval,
      });
      for (const wake of [...this.#waiters]) wake();
    });
  }

  static async connect(
    url: string,
    topics: readonly string[] = ['#'],
    clientId = `recorder-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    protocolVersion: 4 | 5 = 4,
  ): Promise<Recorder> {
    const client = connect(url, { clientId, reconnectPeriod: 200, clean: true, protocolVersion });
    client.on('error', () => undefined);
    const recorder = new Recorder(client);
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await client.subscribeAsync([...topics], { qos: 1 });
    return recorder;
  }

  /** Resolves with the first message from index `from` on that matches; fails after timeoutMs. */
  waitFor(match: (m: Message) => boolean, what: string, options: { from?: number; timeoutMs?: number } = {}): Promise<Message> {
    const from = options.from ?? 0;
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      let checked = from;
      const check = (): boolean => {
        for (; checked < this.messages.length; checked++) {
          const m = this.messages[checked]!;
          if (match(m)) {
            done();
            resolve(m);
            return true;
          }
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `timed out waiting for ${what}; last topics: ${this.messages
              .slice(-10)
              .map((m) => `${m.topic}=${m.payload.slice(0, 80)}`)
              .join(' | ')}`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      const wake = (): void => void check();
      if (!check()) this.#waiters.add(wake);
    });
  }

  /** The messages on one topic. */
  on(topic: string): Message[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/**
 * A TCP proxy on a free loopback port in front of a broker, so a test can
 * cut a client's connection while the broker lives (the broker then sends
 * the client's will) or hold a client off (connections refused) while the
 * test gets ready.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #blocked = false;
  #port = 0;

  private constructor(targetPort: number) {
    this.#server = createServer((client) => {
      if (this.#blocked) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.#sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    const address = proxy.#server.address();
    assert.ok(typeof address === 'object' && address !== null);
    proxy.#port = address.port;
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.#port}`;
  }

  /** Resets every connection through the proxy (the broker sees the client vanish). */
  cut(): void {
    for (const s of this.#sockets) s.resetAndDestroy();
  }

  /** Refuses new connections (true) or lets them through again (false). */
  block(blocked: boolean): void {
    this.#blocked = blocked;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
