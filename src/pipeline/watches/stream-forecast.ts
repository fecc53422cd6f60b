/**
 * What a camera of several streams would cost to decode, per stream (ADR 0114), for the dry run: the uses the config
 * gives (src/config stream-uses.ts: which stream is decoded all the time and for whom, which only on demand, which
 * choice would be cheaper) with a CPU figure on each, the best there is: the camera's own decoder's CPU per frame
 * when it runs (`measured`), else this machine's running decoders' CPU per megapixel times the stream's size
 * (`learned`), else a few frames decoded by ffmpeg (`probed`, src/capture probeDecodeCost); at the camera's frame
 * rate. One short line says it, and what the cheaper choice would save.
 *
 * Contract: pure (the figures gathered by system-config.ts's forecast); a figure not known is null and said so.
 */
import type { CaptureStats } from '../../capture/index.js';
import type { CameraStreamUses } from '../../config/index.js';

export type DecodeCostFrom = 'measured' | 'learned' | 'probed';

/** A stream's decoding cost as known: CPU per decoded frame (one thread) and its size, with where they come from. */
export interface StreamCost {
  readonly msPerFrame: number | null;
  readonly from: DecodeCostFrom | null;
  readonly width: number | null;
  readonly height: number | null;
}

export interface StreamDecodeForecast {
  readonly stream: string;
  readonly width: number | null;
  readonly height: number | null;
  /** all-the-time: decoded for its readers; on-demand: held, decoded only for crops and snapshots (ADR 0052). */
  readonly decoded: 'all-the-time' | 'on-demand';
  readonly readers: readonly string[];
  readonly msPerFrame: number | null;
  readonly msPerFrameFrom: DecodeCostFrom | null;
  /** Decoding it all the time at the camera's rate, % of one core (for an on-demand stream: what it would cost so). */
  readonly cpuPctAllTheTime: number | null;
}

export interface StreamsForecast {
  readonly fps: number;
  readonly streams: readonly StreamDecodeForecast[];
  /** The streams decoded all the time together, % of one core; null when one of them is not known. */
  readonly cpuPct: number | null;
  /** Workers whose stream follows their model's input size once connected (not known before). */
  readonly bySize: readonly string[];
  /** Choices that would decode less: the change, the stream then decoded only on demand, and what that saves. */
  readonly cheaper: readonly { readonly change: string; readonly stream: string; readonly savesCpuPct: number | null }[];
  /** One line: each stream's cost and the cheaper choice. */
  readonly line: string;
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
/** Figures below this many decoded frames are not learned from (a decoder's first frames cost more: its opening). */
const LEARN_MIN_FRAMES = 20;

/**
 * This machine's decoders' CPU per megapixel of a frame (ms), the median over every running stream decoded enough
 * to tell (the in-process decoder's own figure); null when none is.
 */
export function learnedMsPerMegapixel(captures: readonly (CaptureStats | null | undefined)[]): number | null {
  const per: number[] = [];
  for (const c of captures) {
    const ms = c?.costs.cpuMsPerDecodedFrame ?? null;
    if (c === null || c === undefined || ms === null || c.width === null || c.height === null || c.costs.framesDecoded < LEARN_MIN_FRAMES) continue;
    per.push(ms / ((c.width * c.height) / 1e6));
  }
  if (per.length === 0) return null;
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)]!;
}

/** The uses with a CPU figure on each stream, at `fps` frames a second. */
export function streamsForecast(uses: CameraStreamUses, costs: ReadonlyMap<string, StreamCost>, fps: number): StreamsForecast {
  const streams: StreamDecodeForecast[] = uses.streams.map((s) => {
    const cost = costs.get(s.stream);
    const ms = cost?.msPerFrame ?? null;
    return {
      stream: s.stream,
      width: cost?.width ?? s.width,
      height: cost?.height ?? s.height,
      decoded: s.decoded,
      readers: s.readers,
      msPerFrame: ms === null ? null : round(ms, 2),
      msPerFrameFrom: ms === null ? null : (cost?.from ?? null),
      cpuPctAllTheTime: ms === null ? null : round((ms * fps) / 10, 2),
    };
  });
  const always = streams.filter((s) => s.decoded === 'all-the-time');
  const cpuPct = always.some((s) => s.cpuPctAllTheTime === null)
    ? null
    : round(
        always.reduce((sum, s) => sum + s.cpuPctAllTheTime!, 0),
        2,
      );
  const cheaper = uses.cheaper.map((c) => ({ ...c, savesCpuPct: streams.find((s) => s.stream === c.stream)?.cpuPctAllTheTime ?? null }));
  return { fps, streams, cpuPct, bySize: uses.bySize, cheaper, line: streamsLine(streams, uses.bySize, cheaper) };
}

function streamsLine(streams: readonly StreamDecodeForecast[], bySize: readonly string[], cheaper: StreamsForecast['cheaper']): string {
  const name = (s: StreamDecodeForecast): string => (s.width === null || s.height === null ? s.stream : `${s.stream} ${s.width}×${s.height}`);
  const pct = (s: StreamDecodeForecast): string =>
    s.cpuPctAllTheTime === null ? 'not known' : `${round(s.cpuPctAllTheTime)} % of a core (${s.msPerFrameFrom})`;
  const parts: string[] = [];
  for (const s of streams)
    parts.push(
      s.decoded === 'all-the-time'
        ? `${name(s)} decoded all the time for ${s.readers.join(', ')}: ${pct(s)}`
        : `${name(s)} only on demand (crops, snapshots; all the time it would be ${pct(s)})`,
    );
  if (bySize.length > 0) parts.push(`${bySize.join(', ')} by its model's input size once connected`);
  for (const c of cheaper)
    parts.push(`cheaper: ${c.change}, ${c.stream} then only on demand${c.savesCpuPct === null ? '' : `, saving about ${round(c.savesCpuPct)} % of a core`}`);
  return parts.join('; ');
}
