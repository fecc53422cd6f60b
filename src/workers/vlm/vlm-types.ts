/**
 * The vlm worker's types (ADR 0050, 0067, 0072): its options, what it emits
 * (an answer with every picture it carried), its counts. Types only: the
 * worker is vlm-worker.ts.
 */
import type { Privacy } from '../../pictures/index.js';
import type { Frame } from '../../supplier/index.js';
import type { AskStats } from '../kinds.js';
import type { EndpointLimits, VlmSkipReason } from './vlm-budget.js';
import type { VlmApi } from './vlm-client.js';
import type { SampleWindow } from '../../internal/sample-window.js';
import type { VlmObjectTriggers, VlmScene, VlmTriggerKind } from './vlm-triggers.js';

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
  /**
   * Several pictures of one object in one ask (ADR 0072): at most `max` (1: one picture, no crop kept), a crop
   * kept at most every `everyMs` of its life. Default { max: 1, everyMs: 1 000 }.
   */
  readonly frames?: { readonly max: number; readonly everyMs: number };
  /**
   * A camera of several streams: its main stream's picture nearest a capture time (performance.now(), as frames
   * carry it), decoded on demand, with the stream it came from and why not main's (the camera's snapshotFrame()).
   * Absent or null: the frames the worker reads are cut.
   */
  readonly mainPicture?: MainPicture | null;
  /**
   * The camera's privacy (ADR 0139): every picture the worker sends is made with it, its people in private areas
   * hidden (system.cameras.privacy(camera); a library's own frames of no camera: the pictures folder's constant for nothing private).
   */
  readonly privacy: Privacy;
}

/** A picture of the camera nearest a capture time, as a frame, with its stream and why not main's. */
export type MainPicture = (near: number) => Promise<{ readonly frame: Frame; readonly stream: string; readonly fallback: string | null }>;

/** One picture an ask carried (ADR 0072), in the order the model saw them. */
export interface VlmFrameSeen {
  /** Wall-clock capture time of its frame (ms); null: a stored snapshot of unknown time. */
  readonly captureTime: number | null;
  /** Its frame's age when the request went out (ms); null when its capture time is not known. */
  readonly ageAtRequestMs: number | null;
  /** `kept`: a crop cut earlier in the object's life; `frame`: cut for this ask; `snapshot`: the stored best snapshot. */
  readonly source: 'kept' | 'frame' | 'snapshot';
  /** The object's score in it, when known. */
  readonly score: number | null;
  readonly width: number;
  readonly height: number;
  /** The camera's stream whose picture it is; null: the stream the worker reads (several streams, none gave a picture). */
  readonly stream: string | null;
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
  /**
   * A picture asked about had people or private areas hidden (a private camera, ADR 0139): the model did not see
   * them, so its answer says nothing of them (a fall's confirmation is then not judged, ADR 0165). Absent: nothing hidden.
   */
  readonly hidden?: true;
  readonly latencyMs: number;
  readonly tokens: { readonly prompt: number | null; readonly completion: number | null };
  /** The newest picture sent (the only one without `frames.max`): its size, its region of its frame, where it came from. */
  readonly image: {
    readonly width: number;
    readonly height: number;
    readonly region: readonly number[];
    readonly source: 'frame' | 'snapshot' | 'kept';
    /** The camera's stream whose picture was cut (`main` for a camera of one stream); null: the stream the worker reads. */
    readonly stream: string | null;
    /** Why the picture is not the main stream's (several streams), or null. */
    readonly fallback: string | null;
  };
  /** Every picture sent, in the order the model saw them (oldest first; ADR 0072). */
  readonly frames: readonly VlmFrameSeen[];
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

export interface VlmCounts extends AskStats {
  readonly skipped: Readonly<Record<VlmSkipReason, number>>;
  /** Crops kept of objects for asks of several pictures (ADR 0072): objects, crops and JPEG bytes now, crops cut so far. */
  readonly kept: { readonly objects: number; readonly crops: number; readonly bytes: number; readonly cut: number };
}

/** A worker's counts over its life, as it adds to them (read through VlmCounts). */
export interface MutableCounts {
  triggers: number;
  sent: number;
  answered: number;
  stale: number;
  errors: number;
  readonly skipped: Record<VlmSkipReason, number>;
  readonly tokens: { prompt: number; completion: number };
  /** Crops kept for asks of several pictures, cut so far. */
  cut: number;
}

/** What the worker's figures read of its incarnation's pending set, across incarnations. */
export interface PendingStats {
  now: number;
  readonly capacity: number;
  readonly waits: SampleWindow;
  /** The incarnation's kept crops (vlm-frames.ts' ObjectFrames), as counted: objects, crops, JPEG bytes (null between incarnations or without frames.max). */
  frames: { readonly size: number; readonly count: number; readonly bytes: number } | null;
}
