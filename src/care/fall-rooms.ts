/**
 * Single-occupancy rooms for the fall alerts (ADR 0158): per camera and fall worker, the people its tracker holds
 * (added at each sighting, gone when the tracker ends the track, which it does on misses, never on stillness) go
 * through the room's Occupancy rule on capture time; the room's state and the minutes it has spent assisted are
 * the figures (stats().falls.rooms).
 *
 * Contract: only a camera the lookup says is single-occupancy is judged; its state is `alone` until the rule says
 * otherwise; a worker forgotten (stopped, its camera replaced or removed) takes its room's state with it, and its
 * assisted time is kept in the camera's total.
 */
import { Occupancy, type RoomState } from './occupancy.js';

/** A single-occupancy room's figures. */
export interface RoomStats {
  readonly state: RoomState;
  /** People tracked by its fall worker at the latest frame. */
  readonly people: number;
  /** Time spent assisted since start (seconds). */
  readonly assistedSeconds: number;
}

interface Room {
  readonly camera: string;
  readonly occupancy: Occupancy;
  readonly people: Set<string>;
}

const key = (camera: string, worker: string): string => `${camera}\u0000${worker}`;

export class FallRooms {
  readonly #single: (camera: string) => boolean;
  readonly #rooms = new Map<string, Room>();
  /** Assisted ms of rooms forgotten, by camera. */
  readonly #past = new Map<string, number>();

  constructor(singleOccupancy: (camera: string) => boolean) {
    this.#single = singleOccupancy;
  }

  /** One frame (or tick) of a fall worker: who it saw, whose tracks ended. Returns the room's change, or null (none, or not single-occupancy). */
  observe(camera: string, worker: string, time: number, seen: readonly string[], ended: readonly string[]): RoomState | null {
    const k = key(camera, worker);
    let room = this.#rooms.get(k);
    if (room === undefined) {
      if (!this.#single(camera)) return null;
      this.#rooms.set(k, (room = { camera, occupancy: new Occupancy(), people: new Set() }));
    }
    for (const id of seen) room.people.add(id);
    for (const id of ended) room.people.delete(id);
    return room.occupancy.update(time, room.people.size);
  }

  /** Whether a camera's room is assisted now (any of its fall workers says so). */
  assisted(camera: string): boolean {
    for (const room of this.#rooms.values()) if (room.camera === camera && room.occupancy.state === 'assisted') return true;
    return false;
  }

  /** A worker stopped or its camera went (worker null: every worker of it). */
  forget(camera: string, worker: string | null): void {
    for (const [k, room] of this.#rooms) {
      if (room.camera !== camera || (worker !== null && k !== key(camera, worker))) continue;
      this.#past.set(camera, (this.#past.get(camera) ?? 0) + room.occupancy.assistedMs);
      this.#rooms.delete(k);
    }
  }

  /** Each single-occupancy room's figures, by camera (a camera with two fall workers: assisted if either says so, its people the most either counts). */
  stats(): Record<string, RoomStats> {
    const out: Record<string, RoomStats> = {};
    const ms = new Map(this.#past);
    for (const room of this.#rooms.values()) {
      ms.set(room.camera, (ms.get(room.camera) ?? 0) + room.occupancy.assistedMs);
      const before = out[room.camera];
      out[room.camera] = {
        state: before?.state === 'assisted' || room.occupancy.state === 'assisted' ? 'assisted' : 'alone',
        people: Math.max(before?.people ?? 0, room.occupancy.people),
        assistedSeconds: 0,
      };
    }
    for (const [camera, total] of ms) out[camera] = { ...(out[camera] ?? { state: 'alone', people: 0 }), assistedSeconds: Math.round(total / 100) / 10 };
    return out;
  }
}
