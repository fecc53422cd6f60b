/**
 * Summaries of a stretch of a camera's time (ADR 0073): the tracked-object events of a window, read from the
 * events store with the best of their snapshots, go to the vision-language model of the camera's vlm worker
 * (its server, model, key and endpoint: the same VlmClient and the same endpoint budgets, so a summary's
 * tokens count against `tokensPerHour` and in the endpoint's figures like any ask) with the camera's prompt,
 * and a title, a summary and a level (none, notice, alert; the user's schema may add fields) come back. The
 * summary is kept in the store with its window and goes out as a `summary` event (MQTT publishes it).
 *
 * Contract: ask() resolves with the summary or rejects with a code, and nothing else is touched by a failure:
 * a window that is not one is ERR_SUMMARY_WINDOW, a camera without a `summary` section
 * ERR_SUMMARY_NOT_CONFIGURED, no events store ERR_SUMMARY_NO_STORE, a second ask of a camera while one runs
 * ERR_SUMMARY_BUSY, an endpoint budget that refuses ERR_SUMMARY_BUDGET (an endpoint at its concurrency is
 * waited for, within the ask's timeout), the server's failures their ERR_VLM_* code (a 429 pauses the
 * endpoint for every asker). A window with no events is summarised without asking anyone (level none): no
 * tokens are spent on nothing. The API key is only ever in the request's header (vlm-client.ts).
 */
import { SUMMARY_LEVELS, summaryWorkerOf, type CameraConfig, type VlmConfig } from '../../config/index.js';
import { linkedSignal, messageOf } from '../../internal/abort.js';
import { codeOf } from '../../internal/errors.js';
import type { Logger } from '../../internal/logger.js';
import { maskCredentials } from '../../internal/redact.js';
import type { StoredSummary, SummaryQuery, TrackedObject, WindowQuery } from '../../objects/index.js';
import { snapshotPicture } from '../../pictures/index.js';
import { renderPrompt, VlmClient, VlmError, vlmEndpoint, vlmEndpointKey, type VlmEndpoint } from '../../workers/index.js';
import { SummaryError } from './errors.js';
import { vlmApiKey, vlmEndpointLimits } from './vlm-entry.js';

export type SummaryLevel = (typeof SUMMARY_LEVELS)[number];

/** The window asked for: `lastSeconds` up to now, or `from` (and `to`, default now): epoch seconds or ISO 8601 text. */
export interface SummaryWindow {
  readonly from?: number | string;
  readonly to?: number | string;
  readonly lastSeconds?: number;
}

/** A summary, as kept in the store, published on MQTT and answered by the API (times in epoch seconds). */
export interface Summary extends StoredSummary {
  readonly level: SummaryLevel;
  readonly title: string;
  readonly summary: string;
  /** The model's whole answer: title, summary, level and the fields the user's schema added. */
  readonly answer: Readonly<Record<string, unknown>>;
  /** The window's events: how many there were, which were listed in the prompt, whose snapshots were sent. */
  readonly events: { readonly total: number; readonly listed: readonly string[]; readonly snapshots: readonly string[] };
  /** The model asked, or null when the window had no events and nobody was asked. */
  readonly model: string | null;
  readonly tokens: { readonly prompt: number | null; readonly completion: number | null };
  /** The ask's time, ms (0 when nobody was asked). */
  readonly latency_ms: number;
  /** Who asked: `api`, `mqtt` (Home Assistant's button too), or the caller's word. */
  readonly via: string;
}

/** What summaries need of the events store (src/objects' EventStore is one). */
export interface SummaryStore {
  eventsBetween(q: WindowQuery): { events: TrackedObject[]; total: number };
  snapshot(id: string): Promise<Buffer | null>;
  recordSummary(summary: StoredSummary): void;
  summaries<T extends StoredSummary>(q?: SummaryQuery): T[];
}

export interface AskSummaryOptions {
  /** Who asks (kept on the summary). Default `library`. */
  readonly via?: string;
  readonly signal?: AbortSignal;
}

export interface SummariesOptions {
  /** A camera's config as it runs now; ERR_UNKNOWN_CAMERA for a camera the system does not have. */
  readonly camera: (id: string) => CameraConfig;
  /** A summary was made: the system's `summary` event. */
  readonly emit: (camera: string, summary: Summary) => void;
  readonly log: Logger;
  /** The wall clock (ms). Default Date.now. */
  readonly now?: () => number;
}

/** The base every summary's answer fits; a user's schema adds to it. */
const BASE_PROPERTIES = {
  title: { type: 'string', minLength: 1, maxLength: 200 },
  summary: { type: 'string', minLength: 1 },
  level: { type: 'string', enum: [...SUMMARY_LEVELS] },
};
/** A `from` or `to` past this is milliseconds, not seconds (year 5138). */
const MAX_EPOCH_S = 1e11;
/** How often an ask waiting for an endpoint at its concurrency looks again (the vlm worker's pace). */
const ENDPOINT_RETRY_MS = 50;

/** The answer schema of a camera's summaries: the base, with the user's properties and required added (the base keeps its own). */
export function summarySchema(user: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const properties = { ...((user?.properties as Record<string, unknown> | undefined) ?? {}), ...BASE_PROPERTIES };
  const required = [...new Set([...((user?.required as string[] | undefined) ?? []), ...Object.keys(BASE_PROPERTIES)])];
  return { ...(user ?? {}), type: 'object', properties, required };
}

/** A window as epoch seconds, or ERR_SUMMARY_WINDOW saying what is wrong with it. `nowS`: epoch seconds. */
export function summaryWindow(input: unknown, nowS: number, maxWindowS: number): { from: number; to: number } {
  const bad = (message: string): SummaryError => new SummaryError('ERR_SUMMARY_WINDOW', message);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw bad('a window is an object: { lastSeconds } or { from, to }');
  const w = input as Record<string, unknown>;
  const unknown = Object.keys(w).filter((k) => !['from', 'to', 'lastSeconds'].includes(k));
  if (unknown.length > 0)
    throw bad(
      `unknown ${unknown.length === 1 ? 'key' : 'keys'} ${unknown.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}: a window is { lastSeconds } or { from, to }`,
    );
  if (w.lastSeconds !== undefined) {
    if (w.from !== undefined || w.to !== undefined) throw bad('lastSeconds or from/to, not both');
    const s = w.lastSeconds;
    if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0) throw bad('lastSeconds must be a number of seconds above 0');
    if (s > maxWindowS) throw bad(`lastSeconds ${s} is longer than this camera's summary.maxWindowS (${maxWindowS})`);
    return { from: nowS - s, to: nowS };
  }
  if (w.from === undefined) throw bad('a window needs lastSeconds, or from (and to, default now)');
  const from = instant(w.from, 'from', bad);
  const to = w.to === undefined ? nowS : Math.min(instant(w.to, 'to', bad), nowS);
  if (from >= nowS) throw bad('from is not in the past');
  if (from >= to) throw bad('from must be before to');
  if (to - from > maxWindowS) throw bad(`the window is ${Math.round(to - from)} s, longer than this camera's summary.maxWindowS (${maxWindowS})`);
  return { from, to };
}

function instant(value: unknown, name: string, bad: (message: string) => SummaryError): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) throw bad(`${name} must be epoch seconds above 0`);
    if (value > MAX_EPOCH_S) throw bad(`${name} ${value} looks like milliseconds: give epoch seconds`);
    return value;
  }
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) throw bad(`${name} ${JSON.stringify(value.slice(0, 40))} is not a time (ISO 8601, or epoch seconds as a number)`);
    return ms / 1000;
  }
  throw bad(`${name} must be epoch seconds or ISO 8601 text`);
}

/** What a camera's summaries ask with, made once per camera config (a replaced camera gets new ones). */
interface Asker {
  readonly worker: string;
  readonly vlm: VlmConfig;
  readonly client: VlmClient;
  readonly endpoint: VlmEndpoint;
  readonly endpointName: string;
}

export class Summaries {
  readonly #o: SummariesOptions;
  readonly #now: () => number;
  readonly #askers = new WeakMap<CameraConfig, Asker>();
  readonly #busy = new Set<string>();
  readonly #running = new Set<Promise<unknown>>();
  readonly #abort = new AbortController();
  #store: SummaryStore | null = null;

  constructor(options: SummariesOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  setStore(store: SummaryStore | null): void {
    this.#store = store;
  }

  /** Whether a camera of the system has summaries configured (its `summary` section and a vlm worker to ask). */
  available(config: CameraConfig): boolean {
    return config.summary !== undefined && summaryWorkerOf(config) !== null;
  }

  list(query: SummaryQuery): Summary[] {
    if (this.#store === null) throw noStore();
    return this.#store.summaries<Summary>(query);
  }

  ask(camera: string, window: unknown, options: AskSummaryOptions = {}): Promise<Summary> {
    let run: Promise<Summary>;
    try {
      run = this.#ask(camera, window, options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#running.add(run);
    const done = (): void => {
      this.#busy.delete(camera);
      this.#running.delete(run);
    };
    void run.then(done, done);
    return run;
  }

  /** Aborts the asks in flight and waits for them to settle. */
  async close(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled([...this.#running]);
  }

  /** Checks synchronously (so a refusal never marks the camera busy), then asks. */
  #ask(camera: string, input: unknown, options: AskSummaryOptions): Promise<Summary> {
    const config = this.#o.camera(camera);
    const nowS = this.#now() / 1000;
    const window = summaryWindow(input, nowS, config.summary?.maxWindowS ?? 86_400);
    const asker = this.#asker(camera, config);
    const store = this.#store;
    if (store === null) throw noStore();
    if (this.#busy.has(camera)) throw new SummaryError('ERR_SUMMARY_BUSY', `a summary of camera ${camera} is being made: one at a time per camera`);
    this.#busy.add(camera);
    return this.#make(camera, config, asker, store, window, options);
  }

  #asker(camera: string, config: CameraConfig): Asker {
    const known = this.#askers.get(config);
    if (known !== undefined) return known;
    const worker = config.summary === undefined ? null : summaryWorkerOf(config);
    const entry = worker === null ? undefined : config.workers.find((w) => w.id === worker);
    if (config.summary === undefined || entry === undefined || !('vlm' in entry))
      throw new SummaryError(
        'ERR_SUMMARY_NOT_CONFIGURED',
        config.summary === undefined
          ? `camera ${camera} has no summary section (docs/configuration.md, Summaries)`
          : `camera ${camera}'s summaries have no vlm worker to ask (summary.worker)`,
      );
    const vlm = entry.vlm;
    const client = new VlmClient({
      api: vlm.api,
      url: vlm.url,
      model: vlm.model,
      apiKey: vlmApiKey(`camera ${camera}, summaries (worker ${entry.id})`, vlm),
      ...(vlm.maxTokens === undefined ? {} : { maxTokens: vlm.maxTokens }),
      stream: vlm.stream,
      schema: summarySchema(config.summary.schema),
      schemaName: 'summary',
    });
    // The worker's endpoint, by the same key: its budgets hold for summaries and its figures count their tokens.
    const endpoint = vlmEndpoint(vlmEndpointKey(client.endpoint, vlm.model), vlmEndpointLimits(vlm));
    const asker: Asker = { worker: entry.id, vlm, client, endpoint, endpointName: maskCredentials(client.endpoint) };
    this.#askers.set(config, asker);
    return asker;
  }

  async #make(
    camera: string,
    config: CameraConfig,
    asker: Asker,
    store: SummaryStore,
    window: { from: number; to: number },
    options: AskSummaryOptions,
  ): Promise<Summary> {
    const settings = config.summary!;
    const { events, total } = store.eventsBetween({ camera, from: window.from, to: window.to, limit: settings.maxEvents });
    const base = {
      id: `${camera}-${Math.round(window.from)}-${Math.round(window.to)}-${Math.round(this.#now()).toString(36)}`,
      camera,
      from: window.from,
      to: window.to,
      via: options.via ?? 'library',
    };
    let summary: Summary;
    if (total === 0) {
      const answer = {
        title: 'Nothing seen',
        summary: `No tracked objects on ${camera} between ${iso(window.from)} and ${iso(window.to)}.`,
        level: 'none' as const,
      };
      summary = {
        ...base,
        ...answer,
        created_at: this.#now() / 1000,
        answer,
        events: { total: 0, listed: [], snapshots: [] },
        model: null,
        tokens: { prompt: null, completion: null },
        latency_ms: 0,
      };
    } else summary = { ...base, ...(await this.#askModel(camera, asker, store, settings, events, total, window, options.signal)) };
    try {
      store.recordSummary(summary);
    } catch (error) {
      // Made and paid for: it still goes out and back to the caller; only the row is lost (logged).
      this.#o.log.warn({ camera, code: codeOf(error), err: messageOf(error) }, 'summaries: a summary could not be stored');
    }
    this.#o.emit(camera, summary);
    return summary;
  }

  async #askModel(
    camera: string,
    asker: Asker,
    store: SummaryStore,
    settings: NonNullable<CameraConfig['summary']>,
    events: readonly TrackedObject[],
    total: number,
    window: { from: number; to: number },
    callerSignal: AbortSignal | undefined,
  ): Promise<Omit<Summary, 'id' | 'camera' | 'from' | 'to' | 'via'>> {
    const timeoutMs = settings.timeoutMs ?? asker.vlm.timeoutMs;
    const deadline = this.#now() + timeoutMs;
    // The summaries' signal lives as long as the system: linked for this ask only (linkedSignal says why).
    const link = callerSignal === undefined ? null : linkedSignal([callerSignal, this.#abort.signal]);
    const signal = link?.signal ?? this.#abort.signal;
    try {
      await this.#takeEndpoint(asker, deadline, signal);
    } catch (error) {
      link?.[Symbol.dispose]();
      throw error;
    }
    try {
      // The snapshots of the listed events with the best scores, sent in the order the list names them.
      const chosen = new Set(
        [...events]
          .filter((e) => e.has_snapshot)
          .sort((a, b) => b.top_score - a.top_score)
          .slice(0, settings.maxImages)
          .map((e) => e.id),
      );
      const pictures: { id: string; jpeg: Buffer }[] = [];
      for (const event of events) {
        if (!chosen.has(event.id)) continue;
        const jpeg = await store.snapshot(event.id);
        if (jpeg === null) continue;
        try {
          pictures.push({ id: event.id, jpeg: (await snapshotPicture(jpeg, settings.image)).jpeg });
        } catch (error) {
          this.#o.log.warn(
            { camera, event: event.id, code: codeOf(error), err: messageOf(error) },
            'summaries: a snapshot could not be read; asked without it',
          );
        }
      }
      const prompt = renderPrompt(settings.prompt, {
        camera,
        from: iso(window.from),
        to: iso(window.to),
        count: String(total),
        events: eventLines(
          events,
          total,
          pictures.map((p) => p.id),
        ),
      });
      const sentAt = this.#now();
      let answer;
      try {
        answer = await asker.client.ask(
          prompt,
          pictures.map((p) => p.jpeg),
          { signal, timeoutMs: Math.max(1, deadline - sentAt) },
        );
      } catch (error) {
        if (error instanceof VlmError && error.code === 'ERR_VLM_RATE_LIMITED') asker.endpoint.pause(this.#now() + (error.retryAfterMs ?? 1_000));
        // An answer outside the schema was still paid for: its tokens count against the endpoint.
        if (error instanceof VlmError && error.tokens !== null) asker.endpoint.spend(this.#now(), error.tokens.prompt ?? 0, error.tokens.completion ?? 0);
        throw error;
      }
      const answeredAt = this.#now();
      asker.endpoint.spend(answeredAt, answer.promptTokens ?? 0, answer.completionTokens ?? 0);
      const json = answer.json as { title: string; summary: string; level: SummaryLevel } & Record<string, unknown>;
      return {
        created_at: answeredAt / 1000,
        title: json.title,
        summary: json.summary,
        level: json.level,
        answer: json,
        events: { total, listed: events.map((e) => e.id), snapshots: pictures.map((p) => p.id) },
        model: asker.vlm.model,
        tokens: { prompt: answer.promptTokens, completion: answer.completionTokens },
        latency_ms: answeredAt - sentAt,
      };
    } finally {
      asker.endpoint.release();
      link?.[Symbol.dispose]();
    }
  }

  /** A slot of the endpoint: waited for while it is at its concurrency (until the deadline); any other budget refuses at once. */
  async #takeEndpoint(asker: Asker, deadline: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const now = this.#now();
      const refused = asker.endpoint.refusal(now);
      if (refused === null) {
        asker.endpoint.take(now);
        return;
      }
      if (refused !== 'endpoint-busy' || now + ENDPOINT_RETRY_MS >= deadline)
        throw new SummaryError('ERR_SUMMARY_BUDGET', `${asker.endpointName} (${asker.vlm.model}) refuses the ask now: ${refused}`, { reason: refused });
      await new Promise((resolve) => setTimeout(resolve, ENDPOINT_RETRY_MS));
    }
  }
}

function noStore(): SummaryError {
  return new SummaryError(
    'ERR_SUMMARY_NO_STORE',
    'no events store: summaries read the events of their window from it and are kept in it (add an events section to the config)',
  );
}

function iso(epochS: number): string {
  return new Date(epochS * 1000).toISOString();
}

/** The events as the prompt lists them, one a line; a snapshot sent says which picture it is. */
function eventLines(events: readonly TrackedObject[], total: number, pictured: readonly string[]): string {
  const lines = events.map((e, i) => {
    const picture = pictured.indexOf(e.id);
    const end = e.end_time === null ? 'still in view' : `until ${iso(e.end_time)} (${Math.round(e.end_time - e.start_time)} s)`;
    const zones = e.entered_zones.length === 0 ? '' : `, zones: ${e.entered_zones.join(', ')}`;
    // A vlm worker's answer about it, kept on its stored event (ADR 0050).
    const said = (e as { description?: unknown }).description;
    const description = typeof said === 'string' ? `, described: ${said}` : '';
    return `${i + 1}. ${e.label} (score ${e.top_score.toFixed(2)}) from ${iso(e.start_time)} ${end}${zones}${e.stationary ? ', stationary' : ''}${description}${picture < 0 ? '' : `; picture ${picture + 1}`}`;
  });
  if (total > events.length) lines.push(`… and ${total - events.length} more not listed.`);
  return lines.join('\n');
}
