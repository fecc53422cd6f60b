/**
 * The fall clips of ../shared/data/falls as one list, whatever their source: UP-Fall's labels.csv (frames, 18 fps,
 * 640 × 480) and GMDCSA-24's gmdcsa24/labels.csv (seconds; 30 fps by day, 15 at night; 640 × 480 or 1280 × 720),
 * each clip with its size, rate and length read by ffprobe, and its times in seconds. FALL and PERSON-RECALL read
 * them from where they are; nothing is copied.
 *
 * What each frame shows (frameState): `lying` (down on the floor, a mattress or a bed, from the labelled down time
 * of a fall, or a whole clip of lying), `sitting_low` (down but sitting up: UP-Fall's falls into an empty chair
 * end sitting on the floor; GMDCSA S2 adl 23 eats with legs folded on a bed), `sitting` (on a chair or a bed's
 * edge), `falling` (between the fall's start and the person down), `upright` (standing, walking, jumping, bending,
 * and everything before a fall starts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emit, log } from '../stats.js';

/** dist/bench/objects → the checkout's parent. */
export const DEFAULT_FALL_DATA = fileURLToPath(new URL('../../../../shared/data/falls/', import.meta.url));

/**
 * The fall clips' folder for `workload` (FALL_DATA, else beside the checkout), or null when no clips are there (a
 * fresh clone has none): then it says so, once in the log and once as the workload's `missing` line, and runs nothing.
 */
export function fallDataOf(workload: string): string | null {
  const dir = process.env.FALL_DATA ?? DEFAULT_FALL_DATA;
  if (existsSync(join(dir, 'labels.csv'))) return dir;
  log(`${workload}: no clips at ${dir} (they live beside the checkout, in ../shared/data/falls, and never in it): nothing run`);
  emit({ workload, impl: 'framesupplier', missing: dir });
  return null;
}

export type ClipSource = 'UP-Fall' | 'GMDCSA-24';
export type FrameState = 'lying' | 'sitting_low' | 'sitting' | 'falling' | 'upright';

export interface FallClip {
  /** Its path under the data folder, as its labels name it. */
  readonly file: string;
  readonly source: ClipSource;
  /** What it shows: UP-Fall's activity, or GMDCSA's notes. */
  readonly activity: string;
  /** The kind of fall or movement, for per-type figures: UP-Fall's activity, GMDCSA's `fall` or `everyday`, with `night`. */
  readonly type: string;
  readonly isFall: boolean;
  /** Seconds from the clip's start (null for a clip without a fall). */
  readonly fallStartS: number | null;
  readonly downS: number | null;
  readonly night: boolean;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly frames: number;
  /** How the person ends: on a bed (GMDCSA S2 fall 14), not the floor. */
  readonly ontoBed: boolean;
}

/** A CSV of the labels: rows of cells by column name (line ends LF or CRLF). */
function csv(path: string): Record<string, string>[] {
  const [header, ...rows] = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const columns = header!.split(',').map((c) => c.trim());
  return rows.map((row) => {
    const cells = row.split(',').map((c) => c.trim());
    return Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? '']));
  });
}

const numberOr = (cell: string | undefined): number | null => (cell === undefined || cell === '' ? null : Number(cell));

/** A clip's width, height, rate and frame count, by ffprobe. */
function probe(path: string): { width: number; height: number; fps: number; frames: number } {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=width,height,r_frame_rate,nb_read_packets', '-of', 'csv=p=0', path],
    { encoding: 'utf8' },
  ).trim();
  const [width, height, rate, frames] = out.split(',');
  const [n, d] = rate!.split('/').map(Number);
  return { width: Number(width), height: Number(height), fps: n! / (d ?? 1), frames: Number(frames) };
}

/** Every clip of `dir` (UP-Fall's labels.csv, then gmdcsa24/labels.csv where it is); `probeClip` reads a GMDCSA clip's size and rate. */
export function fallClips(dir: string, probeClip: typeof probe = probe): FallClip[] {
  const out: FallClip[] = [];
  for (const row of csv(join(dir, 'labels.csv'))) {
    const [n, d] = (row.fps ?? '18/1').split('/').map(Number);
    const fps = n! / (d ?? 1);
    const start = numberOr(row.fall_start_frame);
    const down = numberOr(row.person_down_frame);
    out.push({
      file: row.file!,
      source: 'UP-Fall',
      activity: row.activity!,
      type: row.activity!,
      isFall: row.is_fall === '1',
      fallStartS: start === null ? null : start / fps,
      downS: down === null ? null : down / fps,
      night: false,
      width: 640,
      height: 480,
      fps,
      frames: Number(row.frames),
      ontoBed: false,
    });
  }
  const gmdcsa = join(dir, 'gmdcsa24', 'labels.csv');
  if (existsSync(gmdcsa)) {
    for (const row of csv(gmdcsa)) {
      const notes = row.notes ?? '';
      const night = notes.startsWith('night');
      const isFall = row.is_fall === '1';
      out.push({
        file: row.clip!,
        source: 'GMDCSA-24',
        activity: notes,
        type: `${isFall ? 'fall' : 'everyday'}${night ? ', night' : ', day'}`,
        isFall,
        fallStartS: numberOr(row.fall_start_s),
        downS: numberOr(row.person_down_s),
        night,
        ...probeClip(join(dir, row.clip!)),
        ontoBed: /ONTO THE BED/i.test(notes),
      });
    }
  }
  return out;
}

/** What the clip shows at `t` seconds from its start (see the module's header). */
export function frameState(clip: FallClip, t: number): FrameState {
  if (/lying on a mattress the whole clip/.test(clip.activity)) return 'lying';
  if (/seated on a chair the whole clip|sitting on bed|^seated/.test(clip.activity)) return 'sitting';
  if (/legs folded/.test(clip.activity)) return 'sitting_low';
  if (clip.fallStartS === null || clip.downS === null || !clip.isFall) return 'upright';
  if (t >= clip.downS) return /empty chair/.test(clip.activity) ? 'sitting_low' : 'lying';
  if (t >= clip.fallStartS) return 'falling';
  return /from chair/.test(clip.activity) ? 'sitting' : 'upright';
}
