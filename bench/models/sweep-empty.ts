/**
 * SWEEP-EMPTY: what a fall worker's looks find in a room with nobody in it (ADR 0193). The sweep (ADR 0189) cuts
 * squares of the floor and asks the look's pose network (MoveNet Thunder, ADR 0187) whether a person is on them; a
 * square of an empty room that it takes for a person becomes a tracked person only the looks see, and one read lying
 * a minute is a `down` alarm in an empty room. PERSON-RECALL measured the look on squares beside a person (decoys);
 * this plays whole empty rooms as the worker would, for as long as its sweeps run.
 *
 * The empty rooms are the shared clips' own: each room's background is the per-pixel median of frames spread over its
 * clips (a person who moves about is in any one place in few of them), checked empty by the whole-frame model. Each
 * room is played at 5 frames a second through the shipped parts (person-recall-worker.ts: MultiPose 448 on the whole
 * frame, the look's squares answered by Thunder, the tracker, FallWatch and LookFor), each frame the background with
 * its own sensor noise (a Gaussian of SENSOR_NOISE levels): `start`, the camera's start in the empty room (its sweep,
 * one round of tiles); then a clip of the room with its person, cut off while they are in the picture (as someone
 * leaving by a door inside it, or lost by the model); then `after`, the empty room again (the sweep after a loss).
 * Counted in the empty phases: the sweep's squares, the other looks (at a lost person, or again at a square's find),
 * the frames where anyone was found, the tracks that began there (phantoms), and what the fall rule raised.
 *
 * Frames are never written anywhere: the clips stay where they are (their terms), the backgrounds live in memory.
 * `FALL_DATA` (default ../shared/data/falls), `SWEEP_EMPTY_ROOMS` (names, comma-separated), `SWEEP_EMPTY_START_S`,
 * `SWEEP_EMPTY_AFTER_S` (seconds of each empty phase), `SWEEP_EMPTY_TRACE=1` (each false find on stderr).
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LookPose } from '../../src/models/person/look-pose.js';
import { PersonModel, type PersonDetection } from '../../src/models/person/person-model.js';
import { fallDataOf, fallClips, type FallClip } from '../objects/fall-clips.js';
import { emit, log, round } from '../stats.js';
import { WorkerPlay } from './person-recall-worker.js';

const run = promisify(execFile);
const FPS = 5;
const LOOK_SIDE = 448;
/** The sensor's noise on each frame (a Gaussian's standard deviation, in levels of 255). */
const SENSOR_NOISE = 2.5;
/** Frames spread over a room's clips for its median background (odd: one middle value). */
const BACKGROUND_FRAMES = 41;
/** The whole-frame model's least score for a person (the care worker's). */
const FOUND_SCORE = 0.3;

interface Room {
  readonly name: string;
  /** Its clips (a part of their file names): the background's frames. */
  readonly clips: readonly string[];
  /** The clip played with its person between the empty phases, cut after `cutS` seconds. */
  readonly visit: string;
  readonly cutS: number;
}

const ROOMS: readonly Room[] = [
  { name: 'UP-Fall lab', clips: ['upfall_S1_A06_T1'], visit: 'upfall_S1_A06_T1', cutS: 8 },
  { name: 'GMDCSA-24 home 1 (day)', clips: ['gmdcsa24_S1_'], visit: 'gmdcsa24_S1_adl_10', cutS: 3.5 },
  { name: 'GMDCSA-24 home 2 (night)', clips: ['gmdcsa24_S2_'], visit: 'gmdcsa24_S2_adl_26', cutS: 6 },
];

/** Frames of a clip as rgb24, `every` n-th from its start, up to `limitS` seconds. */
async function decode(dir: string, clip: FallClip, every: number, limitS = Number.POSITIVE_INFINITY): Promise<Uint8Array[]> {
  const args = ['-v', 'error', '-i', join(dir, clip.file), '-vf', `select='not(mod(n\\,${every}))'`, '-fps_mode', 'passthrough'];
  if (Number.isFinite(limitS)) args.push('-t', String(limitS));
  const { stdout } = await run('ffmpeg', [...args, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024 });
  const bytes = clip.width * clip.height * 3;
  const frames: Uint8Array[] = [];
  for (let i = 0; i + bytes <= stdout.byteLength; i += bytes) frames.push(new Uint8Array(stdout.buffer, stdout.byteOffset + i, bytes));
  return frames;
}

/** The per-byte median of frames of one size. */
function medianOf(frames: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames[0]!.length);
  const column = new Uint8Array(frames.length);
  const mid = frames.length >> 1;
  for (let i = 0; i < out.length; i++) {
    for (let f = 0; f < frames.length; f++) column[f] = frames[f]![i]!;
    column.sort();
    out[i] = column[mid]!;
  }
  return out;
}

/** A seeded source of Gaussian noise (xorshift32 and Box-Muller): the same frames on every run. */
function noiseFrames(length: number, count: number, sigma: number): Int8Array[] {
  let state = 0x9e3779b9;
  const uniform = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 4294967296;
  };
  return Array.from({ length: count }, () => {
    const noise = new Int8Array(length);
    for (let i = 0; i < length; i++) {
      const g = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
      noise[i] = Math.max(-127, Math.min(127, Math.round(g * sigma)));
    }
    return noise;
  });
}

function noisy(background: Uint8Array, noise: Int8Array, into: Uint8Array): Uint8Array {
  for (let i = 0; i < background.length; i++) into[i] = Math.max(0, Math.min(255, background[i]! + noise[i]!));
  return into;
}

interface Phase {
  seconds: number;
  frames: number;
  sweepTiles: number;
  /** Looks besides the sweep's squares: at a lost person, or again at a person a square found. */
  looks: number;
  lookCalls: number;
  framesWithPeople: number;
  phantomTracks: Set<string>;
  /** The postures the fall rule was given for the tracked people, sightings each. */
  postures: Record<string, number>;
  raised: string[];
}

const newPhase = (): Phase => ({
  seconds: 0,
  frames: 0,
  sweepTiles: 0,
  looks: 0,
  lookCalls: 0,
  framesWithPeople: 0,
  phantomTracks: new Set(),
  postures: {},
  raised: [],
});
const phaseLine = (p: Phase): Record<string, unknown> => ({
  seconds: round(p.seconds, 1),
  frames: p.frames,
  sweep_tiles: p.sweepTiles,
  looks: p.looks,
  look_calls: p.lookCalls,
  frames_with_anyone: p.framesWithPeople,
  phantom_tracks: p.phantomTracks.size,
  tracked_postures: p.postures,
  raised: p.raised,
});

export async function sweepEmpty(): Promise<void> {
  const dir = fallDataOf('SWEEP-EMPTY');
  if (dir === null) return;
  const only = process.env.SWEEP_EMPTY_ROOMS?.split(',');
  const trace = process.env.SWEEP_EMPTY_TRACE === '1';
  const startS = Number(process.env.SWEEP_EMPTY_START_S ?? 75);
  const afterS = Number(process.env.SWEEP_EMPTY_AFTER_S ?? 90);
  const clips = fallClips(dir);
  const load0 = round(loadavg()[0]!, 2);
  const model = new PersonModel({ intraOpThreads: 1 });
  await model.load();
  const pose = await LookPose.open({ network: 'thunder', intraOpThreads: 1 });
  const totals = { start: newPhase(), after: newPhase() };
  let rooms = 0;
  const t0 = performance.now();
  for (const room of ROOMS.filter((r) => only === undefined || only.some((o) => r.name.includes(o)))) {
    const own = clips.filter((c) => room.clips.some((part) => c.file.includes(part)));
    const visit = own.find((c) => c.file.includes(room.visit));
    if (own.length === 0 || visit === undefined) {
      log(`SWEEP-EMPTY ${room.name}: its clips are not at ${dir}: skipped`);
      continue;
    }
    const { width, height } = visit;
    // The background: frames spread evenly over the room's clips (of the visit's size: one camera).
    const same = own.filter((c) => c.width === width && c.height === height);
    const totalFrames = same.reduce((n, c) => n + c.frames, 0);
    const pool: Uint8Array[] = [];
    for (const c of same) {
      const take = Math.max(1, Math.round((BACKGROUND_FRAMES * c.frames) / totalFrames));
      const all = await decode(dir, c, Math.max(1, Math.floor(c.frames / take)));
      pool.push(...all.slice(0, take));
    }
    const picked = pool.length % 2 === 1 ? pool : pool.slice(1);
    const background = medianOf(picked);
    const ghosts = (await model.detect(background, width, height)).filter((d) => d.confidence >= FOUND_SCORE);
    log(`SWEEP-EMPTY ${room.name}: background from ${picked.length} frames of ${same.length} clips; whole frame finds ${ghosts.length} there`);
    const noise = noiseFrames(background.length, 8, SENSOR_NOISE);
    const scratch = new Uint8Array(background.length);
    const player = new WorkerPlay('inside+sweep', pose, LOOK_SIDE);
    const phases = { start: newPhase(), after: newPhase() };
    let time = 0;
    let frameIndex = 0;
    const step = async (rgb: Uint8Array, phase: Phase | null, known: Set<string>): Promise<void> => {
      const whole: PersonDetection[] = (await model.detect(rgb, width, height)).filter((d) => d.confidence >= FOUND_SCORE);
      const played = await player.frame(rgb, width, height, time, whole);
      time += 1000 / FPS;
      frameIndex++;
      if (phase === null) {
        for (const id of played.tracked) known.add(id);
        return;
      }
      phase.frames++;
      phase.seconds += 1 / FPS;
      if (played.looked === 'sweep') phase.sweepTiles++;
      if (played.looked === 'look') phase.looks++;
      phase.lookCalls += played.calls;
      if (played.people.length > 0) phase.framesWithPeople++;
      for (const id of played.tracked) if (!known.has(id)) phase.phantomTracks.add(id);
      for (const p of played.postures) phase.postures[p] = (phase.postures[p] ?? 0) + 1;
      if (trace && played.people.length > 0)
        log(
          `SWEEP-EMPTY ${round(time / 1000 - 0.2, 1)} s ${played.looked ?? 'whole'}: ${played.people.map((d) => `${d.bbox.map((v) => round(v, 2)).join(',')} ${round(d.confidence, 2)}`).join('; ')} tracked ${played.postures.join(',')}`,
        );
      phase.raised.push(...played.raised.map((r) => `${r.kind} at ${round(time / 1000 - 0.2, 1)} s`));
    };
    const known = new Set<string>();
    for (let i = 0; i < startS * FPS; i++) await step(noisy(background, noise[frameIndex % noise.length]!, scratch), phases.start, known);
    // The visit: its person tracked here are no phantoms, nor their track after the cut.
    const visitFrames = await decode(dir, visit, Math.max(1, Math.round(visit.fps / FPS)), room.cutS);
    for (const rgb of visitFrames) await step(rgb, null, known);
    for (let i = 0; i < afterS * FPS; i++) await step(noisy(background, noise[frameIndex % noise.length]!, scratch), phases.after, known);
    emit({
      workload: 'SWEEP-EMPTY',
      impl: 'framesupplier',
      part: 'room',
      room: room.name,
      size: `${width}x${height}`,
      background_frames: picked.length,
      background_people: ghosts.map((d) => round(d.confidence, 2)),
      visit: visit.file,
      visit_frames: visitFrames.length,
      start: phaseLine(phases.start),
      after: phaseLine(phases.after),
    });
    for (const key of ['start', 'after'] as const) {
      const [t, p] = [totals[key], phases[key]];
      t.seconds += p.seconds;
      t.frames += p.frames;
      t.sweepTiles += p.sweepTiles;
      t.looks += p.looks;
      t.lookCalls += p.lookCalls;
      t.framesWithPeople += p.framesWithPeople;
      for (const id of p.phantomTracks) t.phantomTracks.add(`${room.name}/${id}`);
      for (const [posture, n] of Object.entries(p.postures)) t.postures[posture] = (t.postures[posture] ?? 0) + n;
      t.raised.push(...p.raised.map((r) => `${room.name}: ${r}`));
    }
    rooms++;
  }
  await model.close();
  await pose.close();
  emit({
    workload: 'SWEEP-EMPTY',
    impl: 'framesupplier',
    rooms,
    fps: FPS,
    sensor_noise: SENSOR_NOISE,
    start: phaseLine(totals.start),
    after: phaseLine(totals.after),
    seconds: round((performance.now() - t0) / 1000, 1),
    load_1m: [load0, round(loadavg()[0]!, 2)],
  });
}
