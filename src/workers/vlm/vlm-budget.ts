/**
 * The rate budgets of vision-language asks (ADR 0050): requests per minute
 * per worker, and per endpoint (every worker of the process asking the same
 * server and model) requests per minute and requests at once, and a pause
 * an endpoint asked for with 429 Retry-After, and tokens an hour per
 * endpoint (as its answers' usage counted them). An ask over a rate, the
 * pause or the tokens is dropped and counted by the reason; an endpoint at
 * its concurrency makes the worker's objects wait (ADR 0067).
 *
 * Contract: admit() either takes a slot everywhere (the caller must
 * release() it exactly once when its request ends) or takes nothing and
 * says why. Endpoints are shared by key (the URL and the model); when two
 * workers configure the same endpoint differently, the tighter limit holds.
 */
import type { EndpointTokens } from '../kinds.js';

/**
 * Why an ask was not sent. `busy`: its object already had an ask waiting or in flight (merged into it);
 * `pending-full`: the worker's pending set was full; `ended-late`: its object ended longer ago than the
 * worker's maxAgeMs before the model was free; `stopped`: still waiting when the worker stopped; `endpoint-tokens`: the endpoint's tokens an hour were spent.
 * `endpoint-busy`: only an ask whose frame was read while another worker took the endpoint; otherwise an endpoint at
 * its concurrency makes objects wait (ADR 0067).
 */
export type VlmSkipReason =
  | 'worker-rate'
  | 'endpoint-rate'
  | 'endpoint-busy'
  | 'endpoint-paused'
  | 'endpoint-tokens'
  | 'busy'
  | 'pending-full'
  | 'ended-late'
  | 'stale'
  | 'gone'
  | 'stopped';

export const VLM_SKIP_REASONS: readonly VlmSkipReason[] = Object.freeze([
  'worker-rate',
  'endpoint-rate',
  'endpoint-busy',
  'endpoint-paused',
  'endpoint-tokens',
  'busy',
  'pending-full',
  'ended-late',
  'stale',
  'gone',
  'stopped',
]);

/** Times of the asks sent in the last minute. */
export class MinuteWindow {
  readonly #limit: number | null;
  readonly #sent: number[] = [];

  constructor(limit: number | null) {
    this.#limit = limit;
  }

  get limit(): number | null {
    return this.#limit;
  }

  /** True when one more may go at `now`. */
  allows(now: number): boolean {
    if (this.#limit === null) return true;
    while (this.#sent.length > 0 && this.#sent[0]! <= now - 60_000) this.#sent.shift();
    return this.#sent.length < this.#limit;
  }

  record(now: number): void {
    if (this.#limit !== null) this.#sent.push(now);
  }
}

export interface EndpointLimits {
  /** Requests a minute to this endpoint from the whole process; null: no limit. */
  readonly perMinute: number | null;
  /** Requests at once; null: no limit. */
  readonly concurrency: number | null;
  /** Tokens (prompt and completion, as the server counts them) an hour to this endpoint from the whole process; null or absent: no limit. */
  readonly tokensPerHour?: number | null;
}

export class VlmEndpoint {
  readonly key: string;
  #window: MinuteWindow;
  #concurrency: number | null;
  #inFlight = 0;
  #pausedUntil = 0;
  #tokensPerHour: number | null;
  /** [time, tokens] of the answers of the last hour, oldest first. */
  readonly #spent: [number, number][] = [];
  #spentLastHour = 0;
  #prompt = 0;
  #completion = 0;

  constructor(key: string, limits: EndpointLimits) {
    this.key = key;
    this.#window = new MinuteWindow(limits.perMinute);
    this.#concurrency = limits.concurrency;
    this.#tokensPerHour = limits.tokensPerHour ?? null;
  }

  /** An answer's usage: counted in the totals and against the tokens an hour. */
  spend(now: number, prompt: number, completion: number): void {
    this.#prompt += prompt;
    this.#completion += completion;
    this.#spent.push([now, prompt + completion]);
    this.#spentLastHour += prompt + completion;
  }

  /** Tokens answered within the hour before `now`. */
  lastHour(now: number): number {
    while (this.#spent.length > 0 && this.#spent[0]![0] <= now - 3_600_000) this.#spentLastHour -= this.#spent.shift()![1];
    return this.#spentLastHour;
  }

  tokens(now: number): Omit<EndpointTokens, 'endpoint' | 'model'> {
    return { prompt: this.#prompt, completion: this.#completion, lastHour: this.lastHour(now), perHour: this.#tokensPerHour };
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** A second worker's limits: the tighter of each holds. */
  tighten(limits: EndpointLimits): void {
    const perMinute = tighter(this.#window.limit, limits.perMinute);
    if (perMinute !== this.#window.limit) this.#window = new MinuteWindow(perMinute);
    this.#concurrency = tighter(this.#concurrency, limits.concurrency);
    this.#tokensPerHour = tighter(this.#tokensPerHour, limits.tokensPerHour ?? null);
  }

  /** 429 with Retry-After: nothing goes until then. */
  pause(untilMs: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, untilMs);
  }

  /** Why an ask cannot go now, or null. */
  refusal(now: number): VlmSkipReason | null {
    if (now < this.#pausedUntil) return 'endpoint-paused';
    if (this.#concurrency !== null && this.#inFlight >= this.#concurrency) return 'endpoint-busy';
    if (!this.#window.allows(now)) return 'endpoint-rate';
    // Tokens are known when an answer comes: the last ask before the limit may pass it by its own answer.
    if (this.#tokensPerHour !== null && this.lastHour(now) >= this.#tokensPerHour) return 'endpoint-tokens';
    return null;
  }

  take(now: number): void {
    this.#inFlight++;
    this.#window.record(now);
  }

  release(): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
  }
}

function tighter(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

/** An endpoint's key: the server's chat URL and the model (every worker, and a camera's summaries, asking both share one). */
export function vlmEndpointKey(chatUrl: string, model: string): string {
  return `${chatUrl}\u0000${model}`;
}

/** The process's endpoints, by key. */
const endpoints = new Map<string, VlmEndpoint>();

/** The endpoint of `key`, made at first use; a later worker's limits tighten it. */
export function vlmEndpoint(key: string, limits: EndpointLimits): VlmEndpoint {
  let endpoint = endpoints.get(key);
  if (endpoint === undefined) endpoints.set(key, (endpoint = new VlmEndpoint(key, limits)));
  else endpoint.tighten(limits);
  return endpoint;
}
