/**
 * Helpers for the system tests: wait on the system's events, find a process's
 * descendants in /proc, and media made from Debian's vtest.avi (opencv-doc,
 * installed by scripts/setup.sh; never ../shared).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VTEST } from '../helpers/media.js';
import { parseConfig } from '../../src/config/index.js';
import type { EventOf, FreshnessObjective, ResolvedConfig, SystemEventType, VisionSystem, WorkerProfile } from '../../src/pipeline/index.js';

const run = promisify(execFile);

/** OpenCV's pedestrian clip (768×576, 10 fps, 795 frames), wherever the tests' one finder found it. */
export function vtest(): string {
  return VTEST;
}

/** vtest.avi as an H.264 MP4 (384×288 unless said, a keyframe a second): for the RTSP server and as a second file. Made once per machine. */
export async function smallH264Clip(width = 384, height = 288): Promise<string> {
  const dir = join(tmpdir(), 'framesupplier-test-media');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, width === 384 ? 'vtest-384-h264.mp4' : `vtest-${width}x${height}-h264.mp4`);
  if (!existsSync(path)) {
    const partial = `${path}.${process.pid}.partial.mp4`;
    await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-i',
      vtest(),
      '-an',
      '-vf',
      `scale=${width}:${height}`,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-g',
      '10',
      '-pix_fmt',
      'yuv420p',
      partial,
    ]);
    renameSync(partial, path);
  }
  return path;
}

/**
 * A config as a file would have it (JSON is YAML), validated and resolved by
 * src/config: what a VisionSystem takes, defaults and all, so a test's
 * config is the shape a real one has.
 */
export function resolvedConfig(file: unknown): ResolvedConfig {
  return parseConfig(JSON.stringify(file), { env: {}, fileName: 'test config' });
}

/** The first event of this type that `match` accepts (registered now, so call it before causing the event). */
export function nextEvent<T extends SystemEventType>(system: VisionSystem, type: T, match: (event: EventOf<T>) => boolean = () => true): Promise<EventOf<T>> {
  return new Promise((resolve) => {
    const listener = (event: EventOf<T>): void => {
      if (!match(event)) return;
      system.off(type, listener);
      resolve(event);
    };
    system.on(type, listener);
  });
}

/** Resolves with the next n results of a camera's worker. */
export function nextResults(system: VisionSystem, camera: string, worker: string, n = 1): Promise<EventOf<'result'>[]> {
  const got: EventOf<'result'>[] = [];
  return new Promise((resolve) => {
    const listener = (event: EventOf<'result'>): void => {
      if (event.camera !== camera || event.worker !== worker) return;
      got.push(event);
      if (got.length < n) return;
      system.off('result', listener);
      resolve(got);
    };
    system.on('result', listener);
  });
}

function parentOf(pid: number): { ppid: number; zombie: boolean } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const m = /\) (\S) (\d+)/.exec(stat);
    return m === null ? null : { ppid: Number(m[2]), zombie: m[1] === 'Z' };
  } catch {
    return null;
  }
}

/** Every living (non-zombie) descendant of a process. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = parentOf(Number(entry));
    if (info === null || info.zombie) continue;
    const list = children.get(info.ppid) ?? [];
    list.push(Number(entry));
    children.set(info.ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    for (const child of children.get(stack.pop()!) ?? []) {
      out.push(child);
      stack.push(child);
    }
  }
  return out;
}

/** A process's command line, joined by spaces ('' once it is gone). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

export { alive, eventually } from '../helpers/process.js';

/** A camera worker's profile as the objective watch's tests give it: its camera, id and objective, a model worker of no model. */
export function watchedProfile(camera: string, id: string, objective: FreshnessObjective): WorkerProfile {
  return {
    camera,
    id,
    shared: false,
    cameras: [camera],
    kind: 'model',
    model: null,
    ageBudgetMs: objective.maxAgeMs,
    tracksObjects: false,
    track: null,
    recheckSeconds: null,
    readSize: null,
    care: null,
    objective,
  };
}
