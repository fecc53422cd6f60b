/**
 * The vlm worker kind (ADR 0050): asks a vision-language model about the
 * camera's freshest pixels when something happens, and emits its answer.
 *
 * When it asks: on the objects layer's events of its camera (a `new` object
 * of given labels, entering a zone, loitering, `end`) and/or every
 * `intervalS`. What it asks about: the newest frame, read from its
 * subscription when the ask is admitted (never a queued one), whole or as
 * the crop of the object's latest tracker box in that frame (`end`: the
 * object's stored best snapshot when the scene has one).
 *
 * Budgets, each ask over one skipped and counted by reason, never queued:
 * one ask of this worker at a time (`busy`); requests per minute of this
 * worker and of its endpoint, requests at once and a 429's Retry-After of its
 * endpoint (vlm-budget.ts); a frame older than `maxAgeMs` when the request
 * would go out is replaced by the next one, and skipped (`stale`) when none
 * comes within that budget; an answer that arrives later than
 * `staleAfterMs` after capture is emitted marked `stale: true`. No picture is
 * encoded for an ask a budget refuses.
 *
 * Accounting (ADR 0040): every frame read is taken (answered) or skipped
 * (stale, an error answer, superseded by a budget, unanswered at stop);
 * frames it never reads are the mailbox's drops, by design for a
 * best-effort worker. The skip counts by reason ride on every result.
 *
 * Failures: 401/403 and any other refusal of the request as configured
 * (ERR_VLM_UNAUTHORIZED, ERR_VLM_REJECTED) stop the incarnation with that
 * code; a 5xx, a hang (ERR_VLM_TIMEOUT), a 429 or a bad answer is an error
 * result for that ask, and the next trigger tries again. A dead or slow
 * endpoint holds only this worker's one ask: nothing else waits on it.
 */
import { projectCodeOf } from '../internal/errors.js';
import { linkedSignal } from '../internal/abort.js';
import type { Frame, FrameSource } from '../supplier/index.js';
import { nextFrame, WorkerExit, type AskFigures, type WorkerContext, type WorkerKind } from './kinds.js';
import { MinuteWindow, VLM_SKIP_REASONS, vlmEndpoint, type EndpointLimits, type VlmSkipReason } from './vlm-budget.js';
import { VlmClient, type VlmApi } from './vlm-client.js';
import { VlmError } from './vlm-errors.js';
import type { NormalisedBox, Picture } from '../pictures/index.js';
import { framePicture, snapshotPicture } from './vlm-image.js';

export type VlmTriggerKind = 'new' | 'zone' | 'loitering' | 'end' | 'interval';

/** A tracked object as the scene shows it (the objects layer's TrackedObject, the fields this kind reads). */
export interface VlmObject {
  readonly id: string;
  readonly label: string;
  readonly box: NormalisedBox;
  readonly worker: string;
  readonly current_zones: readonly string[];
  readonly loitering_zones: readonly string[];
  /** Epoch seconds of the frame its box is from (the tracker's objects have it). */
  readonly frame_time?: number;
}

export interface VlmObjectEvent {
  readonly type: 'new' | 'update' | 'end';
  readonly before: VlmObject;
  readonly after: VlmObject;
}

/** What the pipeline lets a vlm worker see of its camera's objects. */
export interface VlmScene {
  /** Calls `listener` with each tracked-object event of `camera`; returns the unsubscribe. */
  onObjectEvent(camera: string, listener: (event: VlmObjectEvent) => void): () => void;
  /** The objects alive now on `camera`, each with its latest tracker box. */
  liveObjects(camera: string): readonly VlmObject[];
  /** An ended object's stored best snapshot (JPEG), where events are stored; null otherwise. */
  snapshot?(id: string): Promise<Buffer | null>;
}

export interface VlmObjectTriggers {
  /** Only objects of this worker's detections. Default: any tracking worker of the camera. */
  readonly of?: string;
  /** Only these labels. Default: every label. */
  readonly labels?: readonly string[];
  readonly on: readonly Exclude<VlmTriggerKind, 'interval'>[];
  /** zone and loitering: only these zones. Default: every zone. */
  readonly zones?: readonly string[];
}

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
}

export interface VlmTrigger {
  readonly kind: VlmTriggerKind;
  readonly object: VlmObject | null;
  /** zone and loitering: the zone entered. */
  readonly zone: string | null;
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
  readonly model: string;
  /** The worker's asks so far (every incarnation): sent, answered, stale answers, and skipped by reason. */
  readonly counts: VlmCounts;
}

export interface VlmCounts extends AskFigures {
  readonly skipped: Readonly<Record<VlmSkipReason, number>>;
}

/** The trigger an object event makes for these settings, or null (the first of new, zone, loitering, end that applies). */
export function triggerOf(event: VlmObjectEvent, settings: VlmObjectTriggers): VlmTrigger | null {
  const o = event.after;
  if (settings.of !== undefined && o.worker !== settings.of) return null;
  if (settings.labels !== undefined && !settings.labels.includes(o.label)) return null;
  const zoneOk = (z: string): boolean => settings.zones === undefined || settings.zones.includes(z);
  for (const kind of settings.on) {
    if (kind === 'new' && event.type === 'new') return { kind, object: o, zone: null };
    if (kind === 'end' && event.type === 'end') return { kind, object: o, zone: null };
    if (kind === 'zone' && event.type !== 'end') {
      const before = event.type === 'new' ? [] : event.before.current_zones;
      const entered = o.current_zones.find((z) => !before.includes(z) && zoneOk(z));
      if (entered !== undefined) return { kind, object: o, zone: entered };
    }
    if (kind === 'loitering' && event.type !== 'end') {
      const before = event.type === 'new' ? [] : event.before.loitering_zones;
      const zone = o.loitering_zones.find((z) => !before.includes(z) && zoneOk(z));
      if (zone !== undefined) return { kind, object: o, zone };
    }
  }
  return null;
}

/** {{camera}}, {{zone}}, {{label}}, {{object_id}}, {{time}} (ISO), {{boxes}} (the live objects: label and box); unknown names stay as written. */
export function renderPrompt(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (whole, name: string) => values[name] ?? whole);
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
  const endpoint = vlmEndpoint(`${client.endpoint}\u0000${options.model}`, options.budgets.endpoint);
  const counts: MutableCounts = {
    triggers: 0,
    sent: 0,
    answered: 0,
    stale: 0,
    errors: 0,
    skipped: Object.fromEntries(VLM_SKIP_REASONS.map((r) => [r, 0])) as Record<VlmSkipReason, number>,
  };
  return {
    kind: 'vlm',
    run: (context) => runIncarnation(context, options, client, endpoint, counts),
    counts: () => ({ ...counts, skipped: { ...counts.skipped } }),
    asks: () => ({ ...counts, skipped: { ...counts.skipped } }),
  };
}

async function runIncarnation(
  context: WorkerContext,
  options: VlmWorkerOptions,
  client: VlmClient,
  endpoint: ReturnType<typeof vlmEndpoint>,
  counts: MutableCounts,
): Promise<void> {
  const subscription: FrameSource = context.subscribe();
  const ledger = context.modelLedger();
  const perWorker = new MinuteWindow(options.budgets.perMinute);
  const snapshotCounts = (): VlmCounts => ({ ...counts, skipped: { ...counts.skipped } });
  let busy = false;
  let fatal: ((error: WorkerExit) => void) | null = null;
  const failed = new Promise<never>((_, reject) => (fatal = reject));
  failed.catch(() => undefined);
  const cleanups: (() => void)[] = [];
  const where = `vlm ${options.api} ${options.model} at ${client.endpoint}`;

  const skip = (reason: VlmSkipReason): void => {
    counts.skipped[reason]++;
  };

  /** The newest frame no older than the age budget: the mailbox's, or the next ones while it is too old; null when none comes in time. */
  const freshFrame = async (): Promise<Frame | null> => {
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
      if (Date.now() - frame.wallTime <= options.budgets.maxAgeMs) return frame;
      ledger.skip(frame, 'stale');
      if (Date.now() >= deadline) return null;
    }
  };

  const ask = async (trigger: VlmTrigger): Promise<void> => {
    counts.triggers++;
    if (busy) return skip('busy');
    if (!perWorker.allows(Date.now())) return skip('worker-rate');
    const refused = endpoint.refusal(Date.now());
    if (refused !== null) return skip(refused);
    busy = true;
    let frame: Frame | null = null;
    let taken = false;
    try {
      frame = await freshFrame();
      if (frame === null) {
        if (!context.signal.aborted) skip('stale');
        return;
      }
      // The object's latest tracker box, cut from this newest frame; gone since the trigger: nothing to ask about.
      let box: NormalisedBox | null = null;
      let snapshot: Buffer | null = null;
      if (trigger.object !== null && options.image.crop) {
        if (trigger.kind === 'end' && options.scene?.snapshot !== undefined) snapshot = await options.scene.snapshot(trigger.object.id);
        if (snapshot === null) {
          const live = trigger.kind === 'end' ? trigger.object : options.scene?.liveObjects(options.camera).find((o) => o.id === trigger.object!.id);
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
        model: options.model,
      };
      try {
        const answer = await client.ask(prompt, picture.jpeg, { signal: context.signal, timeoutMs: options.timeoutMs });
        const answeredAt = Date.now();
        const ageAtAnswerMs = answeredAt - frame.wallTime;
        const stale = options.budgets.staleAfterMs !== null && ageAtAnswerMs > options.budgets.staleAfterMs;
        counts.answered++;
        if (stale) counts.stale++;
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
      busy = false;
    }
  };

  const fire = (trigger: VlmTrigger): void => {
    if (context.signal.aborted) return;
    void ask(trigger);
  };

  try {
    const { objects, intervalS } = options.triggers;
    if (objects !== null && options.scene !== null) {
      cleanups.push(
        options.scene.onObjectEvent(options.camera, (event) => {
          const trigger = triggerOf(event, objects);
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
    await subscription.close();
  }
}
