/**
 * Escalation steps told to webhooks (ADR 0159): each `fall-notify` event's `webhook` targets (its worker's profile's
 * `falls.escalate[step]`: the event names them, never their URLs) get the step
 * (escalationMessage) as a JSON POST with Node's fetch, given up after the target's timeoutMs (5 s by default);
 * how it went goes in the alert's log (system.objects.fallNotified): ok on a 2xx answer, else ERR_FALL_WEBHOOK.
 *
 * Contract: a URL may carry a token anywhere, so no log line, log entry or error holds it: a target is named by
 * its `name` or its scheme and host (targetLabel), a failure by its HTTP status or its error's name and code, never
 * a message (fetch's may quote the URL). Redirects are not followed (a token must not travel to another host). A
 * failed POST is not tried again (the next step, and the repeats on `<prefix>/falls`, still go). close() stops
 * listening and waits for the POSTs under way (each bounded by its timeout).
 */
import type { Logger } from '../internal/logger.js';
import { escalationMessage, targetLabel } from '../care/index.js';
import type { EventOf, VisionSystem } from '../pipeline/index.js';

export const WEBHOOK_TIMEOUT_MS = 5_000;

export interface FallWebhooksOptions {
  readonly system: Pick<VisionSystem, 'on' | 'off' | 'objects' | 'workers'>;
  readonly log: Logger;
}

/** An error as it may be logged: its name and code, never its message (fetch's may quote the URL). */
function errorOf(error: unknown): { err: string; errCode?: string } {
  const e = error as { name?: unknown; code?: unknown; cause?: { code?: unknown } } | null;
  const code = typeof e?.cause?.code === 'string' ? e.cause.code : typeof e?.code === 'string' ? e.code : undefined;
  return { err: typeof e?.name === 'string' ? e.name : 'Error', ...(code === undefined ? {} : { errCode: code }) };
}

export class FallWebhooks {
  readonly #o: FallWebhooksOptions;
  readonly #listener = (event: EventOf<'fall-notify'>): void => this.#onNotify(event);
  readonly #pending = new Set<Promise<void>>();
  #started = false;
  #closed = false;

  constructor(options: FallWebhooksOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#o.system.on('fall-notify', this.#listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.system.off('fall-notify', this.#listener);
    await Promise.allSettled([...this.#pending]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onNotify(event: EventOf<'fall-notify'>): void {
    const body = JSON.stringify(escalationMessage(event.alert, event.step, event.steps));
    const { camera, worker } = event.alert;
    for (const target of this.#o.system.workers.profile(camera, worker)?.falls?.escalate[event.step]?.notify ?? []) {
      if (!('webhook' in target)) continue;
      const run = this.#post(target.webhook, target.timeoutMs ?? WEBHOOK_TIMEOUT_MS, body).then((outcome) => {
        const label = targetLabel(target);
        if (!outcome.ok)
          this.#o.log.warn(
            { code: 'ERR_FALL_WEBHOOK', camera: event.alert.camera, alert: event.alert.id, step: event.step, target: label, ...outcome.why },
            'falls: an escalation step could not be told to a webhook',
          );
        this.#o.system.objects.fallNotified(event.alert.id, event.step, label, outcome.ok ? { ok: true } : { ok: false, code: 'ERR_FALL_WEBHOOK' });
      });
      const tracked = run.finally(() => this.#pending.delete(tracked));
      this.#pending.add(tracked);
    }
  }

  async #post(url: string, timeoutMs: number, body: string): Promise<{ ok: true } | { ok: false; why: Record<string, unknown> }> {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body?.cancel();
      return response.ok ? { ok: true } : { ok: false, why: { status: response.status } };
    } catch (error) {
      return { ok: false, why: errorOf(error) };
    }
  }
}
