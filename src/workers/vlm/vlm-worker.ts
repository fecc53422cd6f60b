/**
 * Long file: one ask's way (trigger, pending set, budgets, picture, answer, accounting) shares the incarnation's state, so it stays together.
 * The vlm worker kind (ADR 0050, 0067): asks a vision-language model about
 * the camera's freshest pixels when something happens, and emits its answer.
 *
 * When it asks: on the objects layer's events of its camera (a `new` object
 * of given labels, entering a zone, loitering, `end`), on a fall or
 * person-down alert about a person (`fall`, first of all: ADR 0132) and/or
 * every `intervalS`. Frames are never queued; objects wait (ADR 0067): a trigger
 * puts its object in a bounded pending set (one entry per object, `interval`
 * one more), and when the model is free the worker takes the entry of the
 * best priority (zone and loitering, then new, then end, then interval),
 * oldest trigger first, and only then reads the newest frame (one captured
 * after the trigger's) and cuts the object's latest tracker box from it. An
 * object that ended while it waited is asked about from its stored best
 * snapshot (`end` too), or dropped (`ended-late`) once it ended longer ago
 * than the worker's maxAgeMs.
 *
 * Several pictures of one object (ADR 0072, `frames.max` above 1): crops of
 * the objects it may describe are kept over their lives (vlm-frames.ts,
 * bounded), and an ask sends up to `max` in one message, oldest first: the
 * kept crops, then the freshest (alive), or only the kept ones (ended; its
 * snapshot when none). The answer's `frames` lists each picture sent. A
 * camera of several streams (ADR 0053) has its crops cut from its main
 * stream's picture nearest the frame read (`mainPicture`, decoded on demand).
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
import { projectCodeOf } from '../../internal/errors.js';
import { linkedSignal } from '../../internal/abort.js';
import type { Frame, FrameSource } from '../../supplier/index.js';
import { nextFrame, WorkerExit, type WorkerContext, type WorkerKind } from '../kinds.js';
import { MinuteWindow, VLM_SKIP_REASONS, vlmEndpoint, vlmEndpointKey, type VlmSkipReason } from './vlm-budget.js';
import { SampleWindow } from '../../internal/sample-window.js';
import { maskCredentials } from '../../internal/redact.js';
import { warmHttpClient } from '../../internal/http-warm.js';
import { VlmClient } from './vlm-client.js';
import { VlmError } from './vlm-errors.js';
import { loadSharp, type NormalisedBox } from '../../pictures/index.js';
import { cutShown, seenOf, snapshotShown, type Shown } from './vlm-image.js';
import { DEFAULT_VLM_PENDING, PendingObjects, pendingKey, type PendingAsk } from './vlm-pending.js';
import { CropKeeper, ObjectFrames } from './vlm-frames.js';
import type { MutableCounts, PendingStats, VlmCounts, VlmOutput, VlmWorkerOptions } from './vlm-types.js';
import { renderPrompt, triggerOf, type VlmTrigger } from './vlm-triggers.js';

export { renderPrompt, triggerOf } from './vlm-triggers.js';
export { DEFAULT_VLM_PENDING } from './vlm-pending.js';
export type { VlmObject, VlmObjectEvent, VlmObjectTriggers, VlmScene, VlmTrigger, VlmTriggerKind } from './vlm-triggers.js';
export { chooseFrames, ObjectFrames, type KeptFrame } from './vlm-frames.js';

export type { MainPicture, VlmCounts, VlmFrameSeen, VlmOutput, VlmWorkerOptions } from './vlm-types.js';

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/** A vlm worker kind, with its asks counted over its life (every incarnation). */
export interface VlmWorkerKind extends WorkerKind {
  counts(): VlmCounts;
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
    cut: 0,
  };
  const pending: PendingStats = {
    now: 0,
    capacity: Math.max(1, options.pending ?? DEFAULT_VLM_PENDING),
    waits: new SampleWindow(512),
    frames: null,
  };
  const figures = (): VlmCounts => ({
    triggers: counts.triggers,
    sent: counts.sent,
    answered: counts.answered,
    stale: counts.stale,
    errors: counts.errors,
    skipped: { ...counts.skipped },
    kept: { objects: pending.frames?.size ?? 0, crops: pending.frames?.count ?? 0, bytes: pending.frames?.bytes ?? 0, cut: counts.cut },
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
  figures: PendingStats,
  snapshotCounts: () => VlmCounts,
): Promise<void> {
  const subscription: FrameSource = context.subscribe();
  // Every ask encodes a picture and makes an HTTP request: sharp (some 70 ms to load) and Node's HTTP client (its
  // parser compiled on a first connection, 20–40 ms) are made ready now, not on the first ask (once a process).
  void loadSharp().catch(() => undefined);
  void warmHttpClient();
  const ledger = context.modelLedger();
  const perWorker = new MinuteWindow(options.budgets.perMinute);
  const waiting = new PendingObjects(figures.capacity);
  const maxFrames = Math.max(1, Math.floor(options.frames?.max ?? 1));
  // Crops kept only to send several pictures, of as many objects as may wait.
  const kept = maxFrames > 1 ? new ObjectFrames({ max: maxFrames, everyMs: options.frames?.everyMs ?? 1_000, objects: figures.capacity }) : null;
  figures.frames = kept;
  let keeper: CropKeeper | null = null;
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

  // One read of the subscription at a time: an ask's and a pass keeping crops take turns.
  let reader: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(read: () => Promise<T>): Promise<T> => {
    const run = reader.then(read, read);
    reader = run.catch(() => undefined);
    return run;
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
      frame = await exclusive(() => freshFrame(ended ? null : entry.triggerFrame));
      if (frame === null) {
        if (!context.signal.aborted) skip('stale');
        return;
      }
      const frameMs = Date.now() - takenAt;
      // Crops kept over its life (ADR 0072): an ended object's are all it is asked about; a live one's go before its freshest.
      const earlier = kept === null || trigger.object === null ? [] : kept.choose(trigger.object.id, ended ? maxFrames : maxFrames - 1);
      const fromKept = ended && earlier.length > 0;
      // The object's latest tracker box, cut from this newest frame; gone since the trigger: nothing to ask about.
      let box: NormalisedBox | null = null;
      let score: number | null = null;
      let snapshot: Buffer | null = null;
      if (trigger.object !== null && options.image.crop && !fromKept) {
        if (ended && options.scene?.snapshot !== undefined) snapshot = await options.scene.snapshot(trigger.object.id);
        if (snapshot === null) {
          const live = ended ? (entry.last ?? trigger.object) : options.scene?.liveObjects(options.camera).find((o) => o.id === trigger.object!.id);
          if (live === undefined) {
            ledger.skip(frame, 'superseded');
            return skip('gone');
          }
          box = live.box;
          score = live.score ?? null;
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
      const pictures: Shown[] = earlier.map((k) => ({ ...k, source: 'kept', fallback: null }));
      if (!fromKept)
        pictures.push(
          snapshot === null
            ? await cutShown(frame, { box, score }, options.image, options.mainPicture ?? null, options.privacy)
            : await snapshotShown(snapshot, entry.last?.snapshot ?? trigger.object?.snapshot ?? null, options.image),
        );
      const prompt = renderPrompt(options.prompt.text, {
        camera: options.camera,
        zone: trigger.zone ?? '',
        label: trigger.object?.label ?? '',
        object_id: trigger.object?.id ?? '',
        time: new Date(frame.wallTime).toISOString(),
        boxes: JSON.stringify((options.scene?.liveObjects(options.camera) ?? []).map((o) => ({ id: o.id, label: o.label, box: o.box.map(round3) }))),
        frames: String(pictures.length),
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
        ...seenOf(pictures, sentAt),
        // A stored snapshot or a kept crop of a private camera was made with its people hidden, as a frame's is.
        ...(pictures.some((p) => p.hidden === true || (p.source !== 'frame' && options.privacy.rule !== null)) ? { hidden: true as const } : {}),
        timing: { pendingMs, frameMs, pictureMs: sentAt - takenAt - frameMs },
        triggeredAt: entry.at,
        triggerCaptureTime: entry.triggerFrame,
        model: options.model,
      };
      try {
        const answer = await client.ask(
          prompt,
          pictures.map((p) => p.jpeg),
          { signal: context.signal, timeoutMs: options.timeoutMs },
        );
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
      // An object gone (ended, or no longer live) with no other ask waiting: its kept crops go.
      const id = trigger.object?.id;
      if (kept !== null && id !== undefined && !waiting.has(id)) {
        if (entry.endedAt !== null || trigger.kind === 'end' || !(options.scene?.liveObjects(options.camera).some((o) => o.id === id) ?? false)) kept.drop(id);
      }
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
        if (entry.endedAt !== null) kept?.drop(entry.key);
        continue;
      }
      figures.waits.record(now - entry.at);
      inFlight = entry;
      void ask(entry);
    }
    settle();
  };

  if (kept !== null) {
    keeper = new CropKeeper({
      frames: kept,
      camera: options.camera,
      scene: options.scene,
      triggers: options.triggers.objects,
      image: options.image,
      mainPicture: options.mainPicture ?? null,
      privacy: options.privacy,
      // A frame of its own, in turn with the asks' reads; not asked about itself: its crops go with a later ask.
      read: (use) =>
        exclusive(async () => {
          const frame = await freshFrame(null);
          if (frame === null) return;
          try {
            await use(frame);
          } finally {
            ledger.skip(frame, 'superseded');
          }
        }),
      described: (id) => waiting.has(id) || inFlight?.key === id,
      cut: () => counts.cut++,
      log: (line) => context.log(`${where}: ${line}`),
      signal: context.signal,
    });
  }

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
          keeper?.follow(event);
        }),
      );
      // A person down (ADR 0132): its answer is the alert's confirmation, added to it when it comes.
      if (objects !== null && objects.on.includes('fall') && options.scene.onFall !== undefined)
        cleanups.push(
          options.scene.onFall(options.camera, (person) => {
            if (objects.of !== undefined && person.worker !== objects.of) return;
            if (objects.labels !== undefined && !objects.labels.includes(person.label)) return;
            fire({ kind: 'fall', object: person, zone: null });
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
    kept?.clear();
    figures.frames = null;
    settle();
    await subscription.close();
  }
}
