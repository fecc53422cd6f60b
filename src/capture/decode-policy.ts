/**
 * What the in-process decoder decodes, chosen from what the camera's readers
 * can use (ADR 0028). Decoding is most of a camera's cost, and a frame no
 * reader can take is decoded for nothing: when every reader takes fewer frames
 * a second than the stream has, non-reference frames (no other frame is
 * predicted from them) need not be decoded; when they take no more than the
 * stream's keyframes, nothing but keyframes does.
 *
 *   all        every frame: a reader reads every frame, or takes nearly as
 *              many as the stream has.
 *   nonref     non-reference frames skipped: the readers take fewer than
 *              NONREF_SHARE of the stream's frames. Where the stream has none
 *              (most cameras' H.264 has no B frames) this decodes every frame
 *              and costs nothing.
 *   keyframes  keyframes only: the readers take no more frames a second than
 *              the measured keyframe rate; or there is no reader and the next
 *              one would wait at most IDLE_KEYFRAME_WAIT_MS for its first frame.
 *   hold       nothing: no reader, and the stream holds its packets since the
 *              last keyframe to decode them on demand (holdUnread: the
 *              streams of a camera with several, ADR 0052). Never configured.
 *
 * Decoding less never makes what a reader takes older (ADR 0065): under
 * `auto`, a mode that skips frames is set aside while a reader's next take is
 * near (modeForNextTake()), so the frame the take finds is the newest one
 * captured, decoded, not skipped: non-reference frames are decoded from
 * TAKE_LEAD_FRAMES frames before a take (nothing refers to them, so decoding
 * can resume at any frame); with keyframes only, the group of pictures the
 * take falls in is decoded from its keyframe (the decoder resumes at a
 * keyframe, or where nothing since the last one was discarded). Both are also
 * decided packet by packet, by presentation time (decodeFromPts()): a call
 * to the decoder reads packets past the picture it answers with (B frames'
 * order, the codec's frame threads). Skipping happens between takes, never
 * across one.
 *
 * Synchronous and pure: chooseDecodeMode() from the inputs; KeyframeClock
 * measures the interval from the keyframes the decoder reports (in every
 * mode: keyframes are always decoded). A configured mode other than auto is
 * used as it is.
 */

export const DECODE_MODES = ['all', 'nonref', 'keyframes'] as const;
export type DecodeMode = (typeof DECODE_MODES)[number];
export type DecodeSetting = 'auto' | DecodeMode;

/** What is decoded now: a mode, or nothing at all while packets are held (ADR 0052). */
export type DecodeNow = DecodeMode | 'hold';

export interface DecodeChoice {
  readonly mode: DecodeNow;
  /** In words, for the camera's stats and the dashboard. */
  readonly reason: string;
}

export interface DecodeInputs {
  readonly setting: DecodeSetting;
  /** The most frames a second a reader can take: Infinity if one reads every frame, 0 without readers. */
  readonly readerFps: number;
  /** The stream's frame rate as the capture delivers it (after its own output fps), or null if unknown. */
  readonly streamFps: number | null;
  /** The measured interval between keyframes, ms, or null until one was measured. */
  readonly keyframeIntervalMs: number | null;
  /** Without readers, decode nothing and hold the packets since the keyframe before the last (auto only). */
  readonly holdUnread?: boolean;
}

/** Readers taking fewer than this share of the stream's frames get non-reference frames skipped. */
export const NONREF_SHARE = 0.75;
/** Without readers, keyframes only if a new reader would wait at most this long for its first frame (the next keyframe). */
export const IDLE_KEYFRAME_WAIT_MS = 2_000;

const fps = (n: number): string => (Number.isFinite(n) ? String(Math.round(n * 100) / 100) : 'every');
const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

export function chooseDecodeMode(i: DecodeInputs): DecodeChoice {
  if (i.setting !== 'auto') return { mode: i.setting, reason: 'as configured' };
  const key = i.keyframeIntervalMs;
  if (i.readerFps <= 0) {
    if (i.holdUnread === true) return { mode: 'hold', reason: 'no reader; packets since the keyframe before the last held, decoded when asked' };
    if (key !== null && key <= IDLE_KEYFRAME_WAIT_MS) return { mode: 'keyframes', reason: `no reader; a keyframe every ${seconds(key)}` };
    return { mode: 'nonref', reason: key === null ? 'no reader; keyframe interval not yet measured' : `no reader; keyframes ${seconds(key)} apart` };
  }
  if (key !== null && i.readerFps <= 1000 / key + 1e-9) {
    return { mode: 'keyframes', reason: `readers take ≤ ${fps(i.readerFps)} fps; a keyframe every ${seconds(key)}` };
  }
  if (i.streamFps !== null && i.readerFps < i.streamFps * NONREF_SHARE) {
    return { mode: 'nonref', reason: `readers take ≤ ${fps(i.readerFps)} of the stream's ${fps(i.streamFps)} fps` };
  }
  if (!Number.isFinite(i.readerFps)) return { mode: 'all', reason: 'a reader reads every frame' };
  return { mode: 'all', reason: `readers take ${fps(i.readerFps)} fps${i.streamFps === null ? '' : ` of the stream's ${fps(i.streamFps)}`}` };
}

/** Non-reference frames are decoded from this many frame intervals before a reader's take. */
export const TAKE_LEAD_FRAMES = 2;

export interface TakeInputs {
  /** The policy's mode (chooseDecodeMode()). */
  readonly mode: DecodeNow;
  /** Time until a reader takes a frame: 0 if one may take one now, Infinity without readers. */
  readonly nextTakeInMs: number;
  /** The stream's frame interval, ms, or null if unknown. */
  readonly frameIntervalMs: number | null;
  /** The measured keyframe interval, ms, or null until measured. */
  readonly keyframeIntervalMs: number | null;
}

/**
 * The mode for the next picture under `auto`: the policy's, or `all` while a reader's take is near enough that a
 * frame skipped now is one it would take (or one the frame it takes refers to).
 */
export function modeForNextTake(i: TakeInputs): DecodeNow {
  if (i.mode !== 'nonref' && i.mode !== 'keyframes') return i.mode;
  const frame = i.frameIntervalMs ?? 100;
  if (i.mode === 'nonref') return i.nextTakeInMs <= TAKE_LEAD_FRAMES * frame ? 'all' : 'nonref';
  // Asked just after a keyframe: a take before the next keyframe (one interval on, a frame's slack) needs this group.
  const key = i.keyframeIntervalMs;
  if (key === null) return 'all';
  return i.nextTakeInMs <= key + frame ? 'all' : 'keyframes';
}

export interface DecodeFromInputs {
  /** What is skipped: non-reference frames, or all but keyframes (the packets of the take's group are then decoded). */
  readonly mode: 'nonref' | 'keyframes';
  /** Time until a reader takes a frame (nextTakeInMs of TakeInputs). */
  readonly nextTakeInMs: number;
  /** The stream's frame interval, ms, or null if unknown. */
  readonly frameIntervalMs: number | null;
  /** The measured keyframe interval, ms, or null until measured (keyframes: every packet is decoded until it is). */
  readonly keyframeIntervalMs: number | null;
  /** The last picture decoded: its presentation time and its capture time (on the clock of `now`). */
  readonly last: { readonly ptsMs: number; readonly captureTime: number } | null;
  readonly now: number;
}

/**
 * Skipping, the presentation time from which the packets are decoded again (-1: none), the reader's next take
 * mapped onto the stream's time by the last picture: non-reference frames captured from TAKE_LEAD_FRAMES intervals
 * before it; with keyframes only, every packet from a keyframe interval and a frame before it, so the keyframe the
 * take's group starts with is decoded with what follows it (the decoder resumes at that keyframe). modeForNextTake()
 * decodes everything once the take is near; this covers what a decision per call cannot: a call reads packets past
 * the picture it answers with (a picture asked for while skipping non-reference frames comes out several frames
 * ahead, the frames shown between in packets after it; the codec's frame threads hold a packet each, so the call
 * that answers with a keyframe has read the packets after it), and they are discarded as that call was told.
 */
export function decodeFromPts(i: DecodeFromInputs): number {
  if (i.last === null || i.last.ptsMs < 0 || !Number.isFinite(i.nextTakeInMs)) return -1;
  const frame = i.frameIntervalMs ?? 100;
  if (i.mode === 'keyframes' && i.keyframeIntervalMs === null) return 0;
  const lead = i.mode === 'keyframes' ? i.keyframeIntervalMs! + frame : TAKE_LEAD_FRAMES * frame;
  const from = i.last.ptsMs + (i.now + i.nextTakeInMs - lead - i.last.captureTime);
  return Math.max(0, from);
}

/** The interval between keyframes, from the presentation times of the keyframes decoded: the median of the last few. */
export class KeyframeClock {
  #last: number | null = null;
  readonly #intervals: number[] = [];

  /** A keyframe's presentation time (ms); -1 (none) and repeats are ignored; an earlier one (a file looping) starts over. */
  observe(ptsMs: number): void {
    if (!(ptsMs >= 0) || ptsMs === this.#last) return;
    if (this.#last !== null && ptsMs > this.#last) {
      this.#intervals.push(ptsMs - this.#last);
      if (this.#intervals.length > 8) this.#intervals.shift();
    }
    this.#last = ptsMs;
  }

  get intervalMs(): number | null {
    if (this.#intervals.length === 0) return null;
    const sorted = [...this.#intervals].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  }
}
