/**
 * The vlm worker kind (ADR 0050, 0067): asks a vision-language model about
 * the camera's freshest pixels when something happens, and emits its answer.
 *
 * When it asks: on the objects layer's events of its camera (a `new` object
 * of given labels, entering a zone, loitering, `end`) and/or every
 * `intervalS`. Frames are never queued; objects wait (ADR 0067): a trigger
 * puts its object in a bounded pending set (one entry per object, `interval`
 * one more), and when the model is free the worker takes the entry of the
 * best priority (zone and loitering, then new, then end, then interval),
 * oldest trigger first, and only then reads the newest frame (one captured
 * after the trigger's) and cuts the object's latest tracker box from it. An
 * object that ended while it waited is asked about from its stored best
 * snapshot (`end` too), or dropped (`ended-late`) once it ended longer ago
 * than the worker's maxAgeMs.
 *
 * Budgets, each over one dropped and counted by reason: a trigger for an
 * object already waiting or asked about is merged into it (`busy`); a full
 * pending set drops the new trigger (`pending-full`); requests per minute of
 * this worker and of its endpoint, tokens an hour and a 429's Retry-After of
 * its endpoint (vlm-budget.ts) drop the entry they refuse; an endpoint at its
 * concurrency makes the entries wait; a frame older than `maxAgeMs` when the
 * request would go out is replaced by the next one, and the entry dropped
 * (`stale`) when none comes within that budget; an answer that arrives later
 * than `staleAfterMs` after capture is emitted marked `stale: true`. No
 * picture is encoded for an ask a budget refuses.
 *
 * Accounting (ADR 0040): every frame read is taken (answered) or skipped
 * (stale, an error answer, superseded by a budget or by the trigger's own
 * frame, unanswered at stop); frames it never reads are the mailbox's drops,
 * by design for a best-effort worker. The counts ride on every result.
 *
 * Failures: 401/403 and any other refusal of the request as configured
 * (ERR_VLM_UNAUTHORIZED, ERR_VLM_REJECTED) stop the incarnation with that
 * code; a 5xx, a hang (ERR_VLM_TIMEOUT), a 429 or a bad answer is an error
 * result for that ask, and the next entry goes. A dead or slow endpoint
 * holds only this worker's asks: nothing else waits on it.
 */
import { projectCodeOf } from '../internal/errors.js';
import { linkedSignal } from '../internal/abort.js';
import type { Frame, FrameSource } from '../supplier/index.js';
import { nextFrame, WorkerExit, type AskFigures, type WorkerContext, type WorkerKind } from './kinds.js';
import { MinuteWindow, VLM_SKIP_REASONS, vlmEndpoint, vlmEndpointKey, type EndpointLimits, type VlmSkipReason } from './vlm-budget.js';
import { SampleWindow } from '../internal/sample-window.js';
import { maskCredentials } from '../internal/redact.js';
import { VlmClient, type VlmApi } from './vlm-client.js';
import { VlmError } from './vlm-errors.js';
import type { NormalisedBox, Picture } from '../pictures/index.js';
import { framePicture, snapshotPicture } from './vlm-image.js';
import { DEFAULT_VLM_PENDING, PendingObjects, pendingKey, type PendingAsk } from './vlm-pending.js';
import { renderPrompt, triggerOf, type VlmObjectTriggers, type VlmScene, type VlmTrigger, type VlmTriggerKind } from './vlm-triggers.js';

export { renderPrompt, triggerOf } from './vlm-triggers.js';
export { DEFAULT_VLM_PENDING } from './vlm-pending.js';
export type { VlmObject, VlmObjectEvent, VlmObjectTriggers, VlmScene, VlmTrigger, VlmTriggerKind } from './vlm-triggers.js';

export interface VlmWorkerOptions {
  readonly camera: string;
  readonly api: VlmApi;
  readonly url: string;
  readonly model: string;
  /** The key (the caller read it from the environment), or null. */
  readonly apiKey: string | null;
  readonly prompt: { readonly name: string; readonly text: string; readonly schema?: Readonly<Record<string, unknown>> };
  readonly image: { readonly crop: boolean; readonly margin: number; readonly size: number; readonly quality: number };
  readonly maxTokens?: number;
  readonly stream?: boolean;
  readonly timeoutMs: number;
  readonly triggers: { readonly objects: VlmObjectTriggers | null; readonly intervalS: number | null };
  readonly budgets: {
    /** Age budget at request (ms from capture). */
    readonly maxAgeMs: number;
    /** An answer later than this after capture is marked stale; null: never. */
    readonly staleAfterMs: number | null;
    /** Asks a minute of this worker; null: no limit. */
    readonly perMinute: number | null;
    readonly endpoint: EndpointLimits;
  };
  readonly scene: VlmScene | null;
  /** How often the worker tells its subscription it is alive while it waits for triggers. Default 1 000 ms. */
  readonly touchMs?: number;
  /** Most objects waiting for the model at once (ADR 0067). Default 16. */
  readonly pending?: number;
  /** An object that ended longer ago than this when the model is free is dropped (`ended-late`); null or absent: never. */
  readonly endedMaxAgeMs?: number | null;
}

/** What a vlm worker emits: an answer, or an error in its place (with the same ask's fields). */
export interface VlmOutput {
  readonly kind: 'vlm';
  /** The prompt's `name` in the config (never its text, which may hold the objects' ids and boxes). */
  readonly promptName: string;
  /** @deprecated The same as `promptName` (a name, not the prompt's text); goes in 0.2.0. */
  readonly prompt: string;
  readonly trigger: { readonly kind: VlmTriggerKind; readonly objectId: string | null; readonly label: string | null; readonly zone: string | null };
  /** The text, or with a schema the parsed object; absent on an error. */
  readonly answer?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
  /** Wall-clock capture time of the frame asked about (ms). */
  readonly captureTime: number;
  readonly ageAtRequestMs: number;
  readonly ageAtAnswerMs: number;
  /** The answer came later than staleAfterMs after capture. */
  readonly stale: boolean;
  readonly latencyMs: number;
  readonly tokens: { readonly prompt: number | null; readonly completion: number | null };
  readonly image: { readonly width: number; readonly height: number; readonly region: readonly number[]; readonly source: 'frame' | 'snapshot' };
  /**
   * Its object's wait and the worker's own time: `pendingMs` from the trigger until the model was free, `frameMs`
   * waiting for a frame newer than the trigger's, `pictureMs` cutting and encoding the picture.
   */
  readonly timing: { readonly pendingMs: number; readonly frameMs: number; readonly pictureMs: number };
  /** Wall-clock time of the trigger (ms). */
  readonly triggeredAt: number;
  /** Capture time (wall clock, ms) of the frame the trigger saw the object in; the picture's frame is newer. null: unknown (an interval). */
  readonly triggerCaptureTime: number | null;
  readonly model: string;
  /** The worker's asks so far (every incarnation): sent, answered, stale answers, and skipped by reason. */
  readonly counts: VlmCounts;
}

export interface VlmCounts extends AskFigures {
  readonly skipped: Readonly<Record<VlmSkipReason, number>>;
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/** A vlm worker kind, with its asks counted over its life (every incarnation). */
export interface VlmWorkerKind extends WorkerKind {
  counts(): VlmCounts;
}

interface MutableCounts {
  triggers: number;
  sent: number;
  answered: number;
  stale: number;
  errors: number;
  readonly skipped: Record<VlmSkipReason, number>;
  readonly tokens: { prompt: number; completion: number };
}

/** What the worker's figures read of its incarnation's pending set, across incarnations. */
interface PendingFigures {
  now: number;
  readonly capacity: number;
  readonly waits: SampleWindow;
}

export function vlmWorker(options: VlmWorkerOptions): VlmWorkerKind {
  const client = new VlmClient({
    api: options.api,
    url: options.url,
    model: options.model,
    apiKey: options.apiKey,
    ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
    ...(options.stream === undefined ? {} : { stream: options.stream }),
    ...(options.prompt.schema === undefined ? {} : { schema: options.prompt.schema, schemaName: options.prompt.name }),
  });
  const endpoint = vlmEndpoint(vlmEndpointKey(client.endpoint, options.model), options.budgets.endpoint);
  const endpointName = maskCredentials(client.endpoint);
  const counts: MutableCounts = {
    triggers: 0,
    sent: 0,
    answered: 0,
    stale: 0,
    errors: 0,
    skipped: Object.fromEntries(VLM_SKIP_REASONS.map((r) => [r, 0])) as Record<VlmSkipReason, number>,
    tokens: { prompt: 0, completion: 0 },
  };
  const pending: PendingFigures = { now: 0, capacity: Math.max(1, options.pending ?? DEFAULT_VLM_PENDING), waits: new SampleWindow(512) };
  const figures = (): VlmCounts => ({
    ...counts,
    skipped: { ...counts.skipped },
    pending: { now: pending.now, capacity: pending.capacity, waitMs: { p50: pending.waits.percentile(50), p99: pending.waits.percentile(99) } },
    tokens: {
      ...counts.tokens,
      endpoint: { endpoint: endpointName, model: options.model, ...endpoint.tokens(Date.now()) },
    },
  });
  return {
    kind: 'vlm',
    run: (context) => runIncarnation(context, options, client, endpoint, counts, pending, figures),
    counts: figures,
    asks: figures,
  };
}

async function runIncarnation(
  context: WorkerContext,
  options: VlmWorkerOptions,
  client: VlmClient,
  endpoint: ReturnType<typeof vlmEndpoint>,
  counts: MutableCounts,
  figures: PendingFigures,
  snapshotCounts: () => VlmCounts,
): Promise<void> {
  const subscription: FrameSource = context.subscribe();
  const ledger = context.modelLedger();
  const perWorker = new MinuteWindow(options.budgets.perMinute);
  const waiting = new PendingObjects(figures.capacity);
  let inFlight: PendingAsk | null = null;
  let retry: NodeJS.Timeout | null = null;
  let fatal: ((error: WorkerExit) => void) | null = null;
  const failed = new Promise<never>((_, reject) => (fatal = reject));
  failed.catch(() => undefined);
  const cleanups: (() => void)[] = [];
  const where = `vlm ${options.api} ${options.model} at ${client.endpoint}`;

  const skip = (reason: VlmSkipReason): void => {
    counts.skipped[reason]++;
  };
  const settle = (): void => {
    figures.now = waiting.size;
  };

  /** The newest frame no older than the age budget and newer than `after`: the mailbox's, or the next ones; null when none comes in time. */
  const freshFrame = async (after: number | null): Promise<Frame | null> => {
    const deadline = Date.now() + options.budgets.maxAgeMs;
    for (;;) {
      const wait = linkedSignal([context.signal, AbortSignal.timeout(Math.max(1, deadline - Date.now()))]);
      let frame: Frame | null;
      try {
        frame = await nextFrame(subscription, wait.signal);
      } finally {
        wait[Symbol.dispose]();
      }
      if (frame === null) return null;
      ledger.read(frame);
      const fresh = Date.now() - frame.wallTime <= options.budgets.maxAgeMs;
      if (fresh && (after === null || frame.wallTime > after)) return frame;
      // Not newer than the trigger's own frame: the next one shows the object as it is now.
      ledger.skip(frame, fresh ? 'superseded' : 'stale');
      if (Date.now() >= deadline) return null;
    }
  };

  const ask = async (entry: PendingAsk): Promise<void> => {
    const trigger = entry.trigger;
    const takenAt = Date.now();
    const pendingMs = takenAt - entry.at;
    let frame: Frame | null = null;
    let taken = false;
    try {
      // An object that ended is asked about from its snapshot: no newer frame of it will come.
      const ended = entry.endedAt !== null || trigger.kind === 'end';
      frame = await freshFrame(ended ? null : entry.triggerFrame);
      if (frame === null) {
        if (!context.signal.aborted) skip('stale');
        return;
      }
      const frameMs = Date.now() - takenAt;
      // The object's latest tracker box, cut from this newest frame; gone since the trigger: nothing to ask about.
      let box: NormalisedBox | null = null;
      let snapshot: Buffer | null = null;
      if (trigger.object !== null && options.image.crop) {
        if (ended && options.scene?.snapshot !== undefined) snapshot = await options.scene.snapshot(trigger.object.id);
        if (snapshot === null) {
          const live = ended ? (entry.last ?? trigger.object) : options.scene?.liveObjects(options.camera).find((o) => o.id === trigger.object!.id);
          if (live === undefined) {
            ledger.skip(frame, 'superseded');
            return skip('gone');
          }
          box = live.box;
        }
      }
      // A budget may have closed while the frame was read: checked again where the request would go out.
      const now = Date.now();
      const late = perWorker.allows(now) ? endpoint.refusal(now) : 'worker-rate';
      if (late !== null) {
        ledger.skip(frame, 'superseded');
        return skip(late);
      }
      endpoint.take(now);
      perWorker.record(now);
      taken = true;
      counts.sent++;
      const picture: Picture & { source: 'frame' | 'snapshot' } =
        snapshot === null
          ? { ...(await framePicture(frame, { box, margin: options.image.margin, size: options.image.size, quality: options.image.quality })), source: 'frame' }
          : { ...(await snapshotPicture(snapshot, options.image)), source: 'snapshot' };
      const prompt = renderPrompt(options.prompt.text, {
        camera: options.camera,
        zone: trigger.zone ?? '',
        label: trigger.object?.label ?? '',
        object_id: trigger.object?.id ?? '',
        time: new Date(frame.wallTime).toISOString(),
        boxes: JSON.stringify((options.scene?.liveObjects(options.camera) ?? []).map((o) => ({ id: o.id, label: o.label, box: o.box.map(round3) }))),
      });
      const sentAt = Date.now();
      const ageAtRequestMs = sentAt - frame.wallTime;
      const base = {
        kind: 'vlm' as const,
        promptName: options.prompt.name,
        prompt: options.prompt.name,
        trigger: { kind: trigger.kind, objectId: trigger.object?.id ?? null, label: trigger.object?.label ?? null, zone: trigger.zone },
        captureTime: frame.wallTime,
        ageAtRequestMs,
        image: { width: picture.width, height: picture.height, region: [...picture.region], source: picture.source },
        timing: { pendingMs, frameMs, pictureMs: sentAt - takenAt - frameMs },
        triggeredAt: entry.at,
        triggerCaptureTime: entry.triggerFrame,
        model: options.model,
      };
      try {
        const answer = await client.ask(prompt, picture.jpeg, { signal: context.signal, timeoutMs: options.timeoutMs });
        const answeredAt = Date.now();
        const ageAtAnswerMs = answeredAt - frame.wallTime;
        const stale = options.budgets.staleAfterMs !== null && ageAtAnswerMs > options.budgets.staleAfterMs;
        counts.answered++;
        if (stale) counts.stale++;
        counts.tokens.prompt += answer.promptTokens ?? 0;
        counts.tokens.completion += answer.completionTokens ?? 0;
        endpoint.spend(answeredAt, answer.promptTokens ?? 0, answer.completionTokens ?? 0);
        ledger.took(frame);
        const output: VlmOutput = {
          ...base,
          answer: answer.json ?? answer.text,
          ageAtAnswerMs,
          stale,
          latencyMs: answeredAt - sentAt,
          tokens: { prompt: answer.promptTokens, completion: answer.completionTokens },
          counts: snapshotCounts(),
        };
        context.emit(frame, output);
      } catch (error) {
        if (context.signal.aborted) return;
        const code = projectCodeOf(error) ?? 'ERR_VLM_SERVER';
        counts.errors++;
        ledger.skip(frame, 'error');
        if (error instanceof VlmError && error.code === 'ERR_VLM_RATE_LIMITED') endpoint.pause(Date.now() + (error.retryAfterMs ?? 1_000));
        const answeredAt = Date.now();
        const output: VlmOutput = {
          ...base,
          error: { code, message: (error as Error).message },
          ageAtAnswerMs: answeredAt - frame.wallTime,
          stale: false,
          latencyMs: answeredAt - sentAt,
          tokens: { prompt: null, completion: null },
          counts: snapshotCounts(),
        };
        context.emit(frame, output);
        if (code === 'ERR_VLM_UNAUTHORIZED' || code === 'ERR_VLM_REJECTED') {
          fatal?.(new WorkerExit('crashed', `${where}: ${code}: ${(error as Error).message}`, { code, cause: error }));
        }
      }
    } catch (error) {
      // The picture could not be made (a box outside the frame, a format it cannot read): that ask only.
      if (context.signal.aborted) return;
      counts.errors++;
      if (frame !== null) ledger.skip(frame, 'error');
      context.log(`${where}: ${projectCodeOf(error) ?? 'ERR_VLM_IMAGE'}: ${(error as Error).message}`);
    } finally {
      if (taken) endpoint.release();
      // The model is free: the next waiting object goes now (synchronously, so a trigger after this answer finds it free).
      inFlight = null;
      pump();
    }
  };

  /** When the model is free: the next waiting entry asked about, or dropped by the budget that refuses it. */
  const pump = (): void => {
    while (inFlight === null && !context.signal.aborted) {
      const entry = waiting.peek();
      if (entry === null) break;
      const now = Date.now();
      const endedMaxAgeMs = options.endedMaxAgeMs ?? null;
      const refused: VlmSkipReason | null =
        entry.endedAt !== null && endedMaxAgeMs !== null && now - entry.endedAt > endedMaxAgeMs
          ? 'ended-late'
          : perWorker.allows(now)
            ? endpoint.refusal(now)
            : 'worker-rate';
      if (refused === 'endpoint-busy') {
        // Another worker's ask holds the endpoint: the entries wait, looked at again shortly.
        retry ??= setTimeout(() => {
          retry = null;
          pump();
        }, 50);
        break;
      }
      waiting.delete(entry);
      if (refused !== null) {
        skip(refused);
        continue;
      }
      figures.waits.record(now - entry.at);
      inFlight = entry;
      void ask(entry);
    }
    settle();
  };

  const fire = (trigger: VlmTrigger): void => {
    if (context.signal.aborted) return;
    counts.triggers++;
    const flying = inFlight;
    if (flying !== null && flying.key === pendingKey(trigger) && flying.trigger.kind === trigger.kind && flying.trigger.zone === trigger.zone)
      return skip('busy');
    const added = waiting.add(trigger, Date.now());
    // One entry per object: a second trigger is merged into it (the better of the two kept, with the first one's time).
    if (added === 'merged') return skip('busy');
    if (added === 'full') return skip('pending-full');
    pump();
  };

  try {
    const { objects, intervalS } = options.triggers;
    if (options.scene !== null) {
      cleanups.push(
        options.scene.onObjectEvent(options.camera, (event) => {
          // An object that ends while it waits: asked about from its snapshot (or dropped when that is too late).
          if (event.type === 'end') waiting.ended(event.after, Date.now());
          const trigger = objects === null ? null : triggerOf(event, objects);
          if (trigger !== null) fire(trigger);
        }),
      );
    }
    if (intervalS !== null) {
      const timer = setInterval(() => fire({ kind: 'interval', object: null, zone: null }), intervalS * 1000);
      cleanups.push(() => clearInterval(timer));
    }
    // Waiting for triggers is not being hung: the subscription's idle clock is told so.
    const touch = setInterval(() => subscription.touch(), options.touchMs ?? 1_000);
    cleanups.push(() => clearInterval(touch));
    const ended = new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (subscription.closed) resolve();
      }, 200);
      cleanups.push(() => {
        clearInterval(poll);
        resolve();
      });
      context.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([ended, failed]);
  } finally {
    for (const cleanup of cleanups) cleanup();
    if (retry !== null) clearTimeout(retry);
    // What still waited is not asked about by this incarnation: counted as skipped so the identity holds.
    for (let n = waiting.clear(); n > 0; n--) skip('stopped');
    settle();
    await subscription.close();
  }
}
