/**
 * The watch from outside the system's process (`framesupplier watchdog`, ADR 0163): a process of its own that
 * reads the system's heartbeat file (internal/heartbeat.ts, rewritten every second by the loop watch's thread
 * while the system's event loop runs) and, when it has not changed for the silence, raises the silence alarm of
 * every care camera of the config, reason `system-down`, on MQTT (the system's own topics and Home Assistant
 * entity, mqtt/alarms/watchdog.ts) and/or a webhook, and in its log; it clears when the heartbeat moves again. This is
 * what speaks when the system cannot: stopped (SIGSTOP, swapped out), blocked, crashed, or never started.
 *
 * Contract:
 * - The heartbeat is judged by change, on this process's monotonic clock (no clock is compared across
 *   processes): a write that says `running` and differs from the last read is a beat. The rule is the care
 *   watch's own SilenceAlarm (src/care/silence.ts): raised when no beat came for silenceMs (the watch's
 *   start stands for one), cleared by the first beat; judged every intervalMs, so it comes within the silence and
 *   one interval of the last beat.
 * - The detail says which: no heartbeat file (not started, or another path), the system stopped (its clean stop
 *   wrote so), or it stopped answering; details carry no counts, so the alarm changes only when the cause does.
 * - A webhook gets one JSON POST per raise, change and clear ({ type: new|update|end, alarm }); one that fails
 *   is logged at warn and not retried (MQTT is the queued path). Its URL is never logged unmasked.
 * - start() is idempotent (it starts the MQTT connection too); close() idempotent and final (also
 *   [Symbol.asyncDispose]): the MQTT side sends what is queued and `stopped`. The timer holds the process open
 *   (this is the process's one job).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { messageOf } from '../internal/abort.js';
import { parseHeartbeat } from '../internal/heartbeat.js';
import type { Logger } from '../internal/logger.js';
import { maskCredentials } from '../internal/redact.js';
import { watchedWorkers, type MqttConfig } from '../config/index.js';
import type { WatchdogPublisher } from '../mqtt/index.js';
import { cameraSilence, SilenceAlarm, type CameraSilence, type SilenceCause, type WorkerSilence } from '../care/index.js';

/** A care camera and its watched workers, as the config says (config/care.ts's watchedWorkers). */
export interface OutsideWatchedCamera {
  readonly id: string;
  readonly workers: readonly { readonly id: string; readonly silenceSeconds: number }[];
}

export interface OutsideWatchOptions {
  readonly heartbeatFile: string;
  readonly cameras: readonly OutsideWatchedCamera[];
  readonly silenceMs: number;
  /** MQTT (started and closed with the watch); null: none. */
  readonly publisher: WatchdogPublisher | null;
  /** Where each change is POSTed; null: none. */
  readonly webhook: string | null;
  readonly log: Logger;
  /** Default 1 000. */
  readonly intervalMs?: number;
  /** Monotonic ms. Default performance.now(). */
  readonly now?: () => number;
}

/** Why the system is judged down, from the heartbeat file as last read (stable words: a change of words is an update). */
export function systemDownCause(text: string | null): SilenceCause {
  const heartbeat = text === null ? null : parseHeartbeat(text);
  if (text === null) return { reason: 'system-down', detail: 'no heartbeat file: framesupplier is not running (or writes its heartbeat elsewhere)' };
  if (heartbeat?.state === 'stopped') return { reason: 'system-down', detail: 'framesupplier stopped' };
  return { reason: 'system-down', detail: 'framesupplier stopped answering: its event loop does not run (blocked, stopped or swapped out)' };
}

export class OutsideWatch implements AsyncDisposable {
  readonly cameras: readonly OutsideWatchedCamera[];
  readonly silenceMs: number;
  readonly #o: OutsideWatchOptions;
  readonly #now: () => number;
  readonly #alarm: SilenceAlarm;
  #last: string | null = null;
  /** When the raised alarm began (wall ms): its events' start. */
  #since: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: OutsideWatchOptions) {
    this.#o = options;
    this.cameras = options.cameras;
    this.silenceMs = options.silenceMs;
    this.#now = options.now ?? (() => performance.now());
    this.#alarm = new SilenceAlarm(options.silenceMs, this.#now());
    this.#last = this.#read();
  }

  /** Whether the alarm is raised now. */
  get silent(): boolean {
    return this.#alarm.state.silent;
  }

  start(): void {
    if (this.#timer !== null || this.#closed) return;
    this.#o.publisher?.start();
    this.#timer = setInterval(() => this.tick(), this.#o.intervalMs ?? 1_000);
  }

  /** One reading of the heartbeat and one judgement (the timer's; tests call it with their own clock). */
  tick(): void {
    const now = this.#now();
    const text = this.#read();
    const beat = text !== null && text !== this.#last && parseHeartbeat(text)?.state === 'running';
    this.#last = text;
    const cleared = beat ? this.#alarm.result(now, now) : null;
    const change = cleared ?? this.#alarm.judge(now, [systemDownCause(text)]);
    if (change === null) return;
    const wall = Date.now();
    const raisedAt = this.#alarm.state.since;
    if (raisedAt !== null) this.#since ??= Math.round(wall - (now - raisedAt));
    const since = this.#since;
    if (change.kind === 'cleared') this.#since = null;
    if (change.kind === 'cleared') {
      this.#o.log.info({ code: 'ERR_SYSTEM_DOWN' }, 'framesupplier answers again: the silence alarm of every care camera is cleared');
      for (const camera of this.#o.cameras) this.#o.publisher?.clear(camera.id, wall);
    } else {
      const { detail } = change.state;
      this.#o.log.error({ code: 'ERR_SYSTEM_DOWN', cameras: this.#o.cameras.map((c) => c.id) }, `silence alarm: ${detail ?? ''}`);
      for (const camera of this.#o.cameras) this.#o.publisher?.raise(camera.id, this.#silenceOf(camera, since, detail), wall);
    }
    void this.#post(change.kind === 'raised' ? 'new' : change.kind === 'updated' ? 'update' : 'end', since, wall);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#o.publisher?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #read(): string | null {
    try {
      return readFileSync(this.#o.heartbeatFile, 'utf8');
    } catch {
      return null;
    }
  }

  #silenceOf(camera: OutsideWatchedCamera, since: number | null, detail: string | null): CameraSilence {
    const workers: Record<string, WorkerSilence> = {};
    for (const w of camera.workers)
      workers[w.id] = { silent: true, reason: 'system-down', detail, silenceSeconds: w.silenceSeconds, lastResultAt: null, since };
    return cameraSilence(workers);
  }

  async #post(type: 'new' | 'update' | 'end', since: number | null, wall: number): Promise<void> {
    const url = this.#o.webhook;
    if (url === null) return;
    const s = this.#alarm.state;
    const alarm = {
      kind: 'silence',
      reason: s.reason,
      detail: s.detail,
      silent: type !== 'end',
      cameras: this.#o.cameras.map((c) => c.id),
      start_time: since === null ? null : since / 1000,
      end_time: type === 'end' ? wall / 1000 : null,
      silence_seconds: this.#alarm.silenceMs / 1000,
    };
    try {
      const answer = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type, alarm }),
        signal: AbortSignal.timeout(5_000),
      });
      if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    } catch (error) {
      this.#o.log.warn({ code: 'ERR_SYSTEM_DOWN', webhook: maskCredentials(url) }, `the webhook did not take the alarm's ${type}: ${messageOf(error)}`);
    }
  }
}

/** The care cameras of a config and their watched workers (config/care.ts's rule). */
export function careCameras(cameras: Readonly<Record<string, Parameters<typeof watchedWorkers>[0]>>): OutsideWatchedCamera[] {
  return Object.entries(cameras).flatMap(([id, camera]) => {
    const workers = watchedWorkers(camera).map((w) => ({ id: w.id, silenceSeconds: w.care.silenceSeconds }));
    return workers.length === 0 ? [] : [{ id, workers }];
  });
}

/**
 * The watch of `framesupplier watchdog`: the config's care cameras, its MQTT broker (a client id of its own) if any.
 * Async because mqtt.js is loaded only when the config has a broker (the library loads no adapter it does not use).
 */
export async function createOutsideWatch(options: {
  readonly cameras: Readonly<Record<string, Parameters<typeof watchedWorkers>[0]>>;
  readonly mqtt: MqttConfig | undefined;
  /** The MQTT client id when the config names none (the system's, with `-watchdog` after it). */
  readonly clientId: () => string;
  readonly heartbeatFile: string;
  /** Seconds; default the shortest care silence of the cameras, else 30. */
  readonly silenceSeconds?: number;
  readonly webhook: string | null;
  readonly log: Logger;
}): Promise<OutsideWatch> {
  const cameras = careCameras(options.cameras);
  const silences = cameras.flatMap((c) => c.workers.map((w) => w.silenceSeconds));
  const silenceS = options.silenceSeconds ?? (silences.length === 0 ? 30 : Math.min(...silences));
  const mqtt = options.mqtt;
  const publisher =
    mqtt === undefined
      ? null
      : new (await import('../mqtt/index.js')).WatchdogPublisher({
          config: mqtt,
          clientId: `${mqtt.clientId ?? options.clientId()}-watchdog`,
          log: options.log,
        });
  return new OutsideWatch({ heartbeatFile: options.heartbeatFile, cameras, silenceMs: silenceS * 1000, publisher, webhook: options.webhook, log: options.log });
}
