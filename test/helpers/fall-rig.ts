/**
 * A fall worker's alerts driven by scripted people (test/helpers/poses.ts) on clocks of the test's own: the tracker
 * (CameraObjects) and FallAlerts as the system wires them, 10 frames a second, each frame handled `lag` ms after
 * capture, a tick after each. The wall clock and the monotonic one (capture times' clock) move together unless a
 * test steps one; `others(time)` adds people (a carer) to a frame.
 */
import type { FallEvent } from '../../src/care/index.js';
import { CameraObjects, type Detection } from '../../src/objects/index.js';
import { FallAlerts } from '../../src/pipeline/watches/falls.js';
import type { EventOf, SystemEvent } from '../../src/pipeline/index.js';
import type { FallProfile } from '../../src/pipeline/base/worker-profile.js';
import { sequence, STANDING, type Step } from './poses.js';

export const WALL = 1_700_000_000_000;
export const FALLS: FallProfile = {
  fallSeconds: 2,
  drop: 0.45,
  confirmSeconds: 1,
  downSeconds: 60,
  upSeconds: 2,
  beds: [],
  repeatSeconds: 10,
  expirySeconds: 3600,
  escalate: [],
};

export interface FallRigOptions {
  readonly lag?: number;
  readonly falls?: Partial<FallProfile>;
  /** Whether the room is single-occupancy. Default false. */
  readonly single?: boolean;
}

export interface FallRig {
  readonly alerts: FallAlerts;
  /** Each fall event, with the ids of the alerts held (`alerts()`) as a listener reading them on that event sees them. */
  readonly events: { event: FallEvent; snapshot: unknown; held: string[] }[];
  readonly notices: EventOf<'fall-notify'>[];
  /** Plays a movement's frames from `from` ms, then `goneMs` of frames with nobody (but the others). */
  play(steps: readonly Step[], options?: { from?: number; goneMs?: number; others?: (time: number) => Detection[] }): void;
  /** Both clocks on by `ms`, then a tick. */
  advance(ms: number): void;
  /** The wall clock, and the monotonic one (capture times are on it). */
  clock: number;
  mono: number;
}

export function fallRig(options: FallRigOptions = {}): FallRig {
  const lag = options.lag ?? 150;
  const falls: FallProfile = { ...FALLS, ...options.falls };
  const events: { event: FallEvent; snapshot: unknown; held: string[] }[] = [];
  const notices: EventOf<'fall-notify'>[] = [];
  const objects = new CameraObjects({ camera: 'room', worker: 'people', tracker: { highScore: 0.15, matchLastSeen: true } });
  const r: FallRig = {
    clock: WALL,
    mono: 0,
    events,
    notices,
    advance(ms: number): void {
      r.clock += ms;
      r.mono += ms;
      r.alerts.tick();
    },
    alerts: new FallAlerts({
      emit: (e: SystemEvent) => {
        if (e.type === 'fall') events.push({ event: e.event, snapshot: e.snapshot, held: r.alerts.alerts().map((a) => a.id) });
        if (e.type === 'fall-notify') notices.push(e);
      },
      now: () => r.clock,
      mono: () => r.mono,
      singleOccupancy: () => options.single === true,
    }),
    play(steps, o = {}): void {
      const from = o.from ?? 0;
      const frames = sequence(STANDING, steps, 10).map((f) => ({
        time: from + f.time,
        detections: [{ label: 'person', score: 0.8, box: f.box, keypoints: f.keypoints }] as Detection[],
      }));
      const last = frames.at(-1)!.time;
      for (let t = last + 100; t <= last + (o.goneMs ?? 0); t += 100) frames.push({ time: t, detections: [] });
      for (const f of frames) {
        const detections = [...f.detections, ...(o.others?.(f.time) ?? [])];
        r.clock = WALL + f.time + lag;
        r.mono = f.time + lag;
        const out = objects.update({ time: f.time, wallTime: WALL + f.time, now: r.clock, detections, aspect: 4 / 3 });
        r.alerts.onFrame({
          camera: 'room',
          worker: 'people',
          falls,
          time: f.time,
          wallTime: WALL + f.time,
          now: r.clock,
          people: out.people,
          ended: out.events.filter((e) => e.type === 'end').map((e) => e.after.id),
        });
        r.alerts.tick();
      }
    },
  };
  return r;
}
