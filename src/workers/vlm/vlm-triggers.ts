/**
 * What makes a vlm worker ask (ADR 0050): the objects layer's events as a
 * vlm worker sees them through its narrow scene, the trigger each event makes
 * for a worker's settings, and the prompt template filled in.
 *
 * Contract: triggerOf() is pure (an event and settings in, a trigger or null
 * out); renderPrompt() leaves names it does not know as written.
 */
import type { NormalisedBox } from '../../pictures/index.js';

export type VlmTriggerKind = 'new' | 'zone' | 'loitering' | 'end' | 'fall' | 'interval';

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
  /** Its detection's score in that frame (the tracker's objects have it). */
  readonly score?: number;
  /** Its stored snapshot's picture, once one is saved: its stream and capture time (epoch seconds). */
  readonly snapshot?: { readonly stream: string; readonly frame_time: number } | null;
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
  /** Calls `listener` with the person of each fall or person-down alert raised on `camera` (ADR 0132); returns the unsubscribe. */
  onFall?(camera: string, listener: (person: VlmObject) => void): () => void;
}

export interface VlmObjectTriggers {
  /** Only objects of this worker's detections. Default: any tracking worker of the camera. */
  readonly of?: string;
  /** Only these labels. Default: every label. */
  readonly labels?: readonly string[];
  /** fall: a fall or person-down alert raised about a person (not an object event: the scene's onFall). */
  readonly on: readonly Exclude<VlmTriggerKind, 'interval'>[];
  /** zone and loitering: only these zones. Default: every zone. */
  readonly zones?: readonly string[];
}

export interface VlmTrigger {
  readonly kind: VlmTriggerKind;
  readonly object: VlmObject | null;
  /** zone and loitering: the zone entered. */
  readonly zone: string | null;
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

/**
 * {{camera}}, {{zone}}, {{label}}, {{object_id}}, {{time}} (ISO), {{boxes}} (the live objects: label and box), {{frames}} (how many
 * pictures the request carries); unknown names stay as written.
 */
export function renderPrompt(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (whole, name: string) => values[name] ?? whole);
}
