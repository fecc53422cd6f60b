/**
 * What a take found against what the stream had, by frame number (ADR 0065's promise, checked logically): clips
 * whose every frame carries its own number in its pixels, the order the file gives its packets in (ffprobe), and
 * a record of what the real in-process decoder read and handed out (a spy on NativeDecoder.next(): it changes
 * nothing, it notes each answer as the run receives it). With these, each take is judged in frames, not in
 * milliseconds: the frame it found against the frames the stream had captured by the take's slot, which of those
 * the decoder had read by then, and which it skipped.
 *
 * A file played in real time stands for a camera: its frame n is captured at its due time, the moment the run
 * received its first picture plus n's presentation time from it (the run's own pacing). "Read by the slot" is
 * what the run had received from the decoder by then (its answers carry how many packets each read).
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { NativeDecoder, type DecodedFrame } from '../../src/capture/index.js';
import { media } from './fixtures.js';

const run = promisify(execFile);

/** Bits of the frame number, in 16 × 16 blocks along the top of the picture (least significant first). */
const CODE_BITS = 10;
const BLOCK = 16;

/**
 * A 320-pixel H.264 cut of the sample clip whose frames carry their number (0, 1, ... in presentation order) as
 * black and white blocks in the top 16 rows: `encode` is the rest of ffmpeg's output arguments.
 */
export function numberedClip(name: string, seconds: number, fps: number, encode: readonly string[]): Promise<string> {
  const bits = `if(lt(Y\\,${BLOCK})*lt(X\\,${BLOCK * CODE_BITS})\\,255*bitand(floor(N/pow(2\\,floor(X/${BLOCK})))\\,1)\\,lum(X\\,Y))`;
  return media(name, [
    ...['-an', '-t', String(seconds), '-vf', `fps=${fps},scale=320:-2,geq=lum='${bits}':cb='cb(X,Y)':cr='cr(X,Y)'`],
    ...['-c:v', 'libx264', '-preset', 'veryfast', ...encode, '-pix_fmt', 'yuv420p'],
  ]);
}

/** The number a numbered clip's frame carries, from its luma plane (gray, or the Y plane of nv12/yuv420p). */
export function frameNumber(luma: Uint8Array, width: number): number {
  let n = 0;
  for (let bit = 0; bit < CODE_BITS; bit++) if (luma[(BLOCK / 2) * width + bit * BLOCK + BLOCK / 2]! >= 128) n |= 1 << bit;
  return n;
}

/** A file's video packets as the demuxer gives them: each one's frame number (its rank in presentation order). */
export interface PacketOrder {
  /** Frame numbers in decoding order. */
  readonly order: readonly number[];
  /** Presentation time of frame n, ms from frame 0's. */
  readonly ptsMs: readonly number[];
}

export async function packetOrder(path: string): Promise<PacketOrder> {
  const probe = (entries: string): Promise<{ stdout: string }> =>
    run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', entries, '-of', 'csv=p=0', path]);
  const [base] = (await probe('stream=time_base')).stdout.trim().split('\n');
  const [num, den] = base!.split('/').map(Number);
  const pts = (await probe('packet=pts')).stdout
    .trim()
    .split('\n')
    .map((line) => ((Number(line) * num!) / den!) * 1000);
  const sorted = [...pts].sort((a, b) => a - b);
  const rank = new Map(sorted.map((p, n) => [p, n]));
  return { order: pts.map((p) => rank.get(p)!), ptsMs: sorted.map((p) => p - sorted[0]!) };
}

/** One answer of NativeDecoder.next() as the run received it. */
interface Answer {
  readonly at: number;
  readonly picture: DecodedFrame;
}

/**
 * Wraps a prototype's method to watch its calls: `wrap` gets the object, the arguments and the method bound to them,
 * and returns what the call returns (a spy: it calls the method). Returns the function that puts the method back.
 */
export function wrapMethod<T extends object, A extends unknown[], R>(
  proto: T,
  name: keyof T & string,
  wrap: (self: T, args: A, original: (...args: A) => R) => R,
): () => void {
  const original = Reflect.get(proto, name) as (this: T, ...args: A) => R;
  Reflect.set(proto, name, function (this: T, ...args: A): R {
    return wrap(this, args, (...again) => original.apply(this, again));
  });
  return () => void Reflect.set(proto, name, original);
}

/** Records every answer of every NativeDecoder's next() (per decoder) until restored. */
export class DecoderSpy {
  readonly answers = new Map<NativeDecoder, Answer[]>();
  readonly restore: () => void;

  constructor() {
    const answers = this.answers;
    this.restore = wrapMethod<NativeDecoder, Parameters<NativeDecoder['next']>, ReturnType<NativeDecoder['next']>>(
      NativeDecoder.prototype,
      'next',
      (decoder, args, next) => {
        const answer = next(...args);
        // Registered before the run's own await: noted as the run receives it, in the same turn.
        answer.then(
          (picture) => {
            if (picture === null) return;
            let list = answers.get(decoder);
            if (list === undefined) answers.set(decoder, (list = []));
            list.push({ at: performance.now(), picture });
          },
          () => undefined,
        );
        return answer;
      },
    );
  }

  /** Forgets what was recorded (a new case begins). */
  clear(): void {
    this.answers.clear();
  }
}

/** A take: its slot (when the reader's turn came, on performance.now()'s clock) and the number of the frame it found. */
export interface Take {
  readonly slot: number;
  readonly frame: number;
}

export interface TakeVerdict {
  readonly slot: number;
  readonly frame: number;
  /** The newest frame due (captured) by the slot. */
  readonly newestDue: number;
  /** The newest frame due by the slot whose packet the decoder had read by then. */
  readonly newestRead: number;
  /** The decoder's last picture before the slot came out after its due time: it was behind the file's clock. */
  readonly behind: boolean;
  /** Why this take broke the promise; null if it kept it. */
  readonly broken: string | null;
}

/**
 * Judges each take against the decoder's record (one decoder: the clip played once).
 *
 * A take keeps the promise when no frame more than one newer than the one it found had, by its slot, been
 * captured and read by the decoder and then skipped (never decoded) or decoded and handed over; and when no frame
 * captured from its slot on, more than one older than the one it found, was skipped (a take left waiting past
 * its slot by frames not decoded for it). The one exception, logically the decoder's clock and not its choice: a
 * decoder behind the file's clock at the slot (its last picture came out after that picture's due time) has not
 * decoded the frames due since, skipped or not; a frame it skipped then is not charged to the take.
 */
export function judgeTakes(clip: PacketOrder, answers: readonly Answer[], takes: readonly Take[]): TakeVerdict[] {
  const pictures = answers.filter((a) => !a.picture.held && a.picture.ptsMs >= 0);
  const first = pictures[0];
  if (first === undefined) throw new Error('the decoder handed out no picture');
  const numberOf = (ptsMs: number): number => {
    const from0 = ptsMs - first.picture.ptsMs + clip.ptsMs[0]!;
    let best = 0;
    for (let n = 1; n < clip.ptsMs.length; n++) if (Math.abs(clip.ptsMs[n]! - from0) < Math.abs(clip.ptsMs[best]! - from0)) best = n;
    return best;
  };
  const firstNumber = numberOf(first.picture.ptsMs);
  const dueAt = (n: number): number => first.at + clip.ptsMs[n]! - clip.ptsMs[firstNumber]!;
  const outAt = new Map<number, number>();
  for (const a of pictures) outAt.set(numberOf(a.picture.ptsMs), a.at);
  // Pictures come out in presentation order: a frame before the newest one out that never came out was skipped.
  const newestOut = Math.max(...outAt.keys());
  const skipped = (n: number): boolean => n < newestOut && !outAt.has(n);
  return takes.map((take) => {
    let packets = 0;
    let last: Answer | null = null;
    for (const a of answers) {
      if (a.at > take.slot) break;
      packets += a.picture.packets;
      if (!a.picture.held) last = a;
    }
    const read = clip.order.slice(0, packets);
    const behind = last !== null && last.at > dueAt(numberOf(last.picture.ptsMs)) + 1;
    let newestDue = -1;
    for (let n = 0; n < clip.ptsMs.length && dueAt(n) <= take.slot; n++) newestDue = n;
    const dueRead = read.filter((n) => dueAt(n) <= take.slot);
    const newestRead = dueRead.length === 0 ? -1 : Math.max(...dueRead);
    const problems: string[] = [];
    for (const n of dueRead) {
      if (n <= take.frame + 1) continue;
      const out = outAt.get(n);
      if (out !== undefined && out <= take.slot) problems.push(`frame ${n} was decoded before the slot and not taken`);
      else if (skipped(n) && !behind) problems.push(`frame ${n}, captured and read before the slot, was skipped`);
    }
    for (let n = 0; n < take.frame - 1; n++) {
      if (dueAt(n) >= take.slot && skipped(n)) problems.push(`frame ${n}, captured after the slot, was skipped: the take waited for frame ${take.frame}`);
    }
    return { slot: take.slot, frame: take.frame, newestDue, newestRead, behind, broken: problems.length === 0 ? null : problems.join('; ') };
  });
}

/** One line per take, for an assertion's message. */
export function describeTakes(verdicts: readonly TakeVerdict[]): string {
  return verdicts
    .map(
      (v) =>
        `took ${v.frame}, newest captured ${v.newestDue}, read ${v.newestRead}${v.behind ? ' (decoder behind)' : ''}${v.broken === null ? '' : `: ${v.broken}`}`,
    )
    .join('\n');
}
