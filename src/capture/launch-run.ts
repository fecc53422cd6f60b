/**
 * The runner: which decoder run a capture launches and with what, an ffmpeg
 * child process (ffmpeg-run.ts) or libav* in this process (native-run.ts),
 * both behind one interface (decoder-run.ts), and what an ffmpeg run decodes.
 *
 * Contract: a run reports nothing from within its constructor, so the host
 * it is given may name what the capture makes after it (its watch).
 */
import type { DemandSignal, FrameSupplier } from '../supplier/index.js';
import type { CaptureSettings } from './capture-options.js';
import { decodeState, type DecoderRun, type DecodeState, type RunHost } from './decoder-run.js';
import { FfmpegRun } from './ffmpeg-run.js';
import type { PayloadAllocator } from './frame-parser.js';
import { NativeRun } from './native-run.js';
import type { ResolvedSource } from './source.js';

export interface RunNeeds {
  readonly settings: CaptureSettings;
  readonly source: ResolvedSource;
  readonly supplier: FrameSupplier;
  /** The ffmpeg binary found at start() (ffmpeg runs). */
  readonly ffmpeg: string | null;
  readonly allocate: PayloadAllocator;
  /** The supplier's on-demand side (native runs), or null: convert every picture. */
  readonly demand: DemandSignal | null;
  /** The native decoder's threads as the capture has them now (its setting, or the system's advice since). */
  readonly decoderThreads: () => number;
}

export function launchRun(needs: RunNeeds, host: RunHost): DecoderRun {
  const { settings, source } = needs;
  if (settings.native)
    return new NativeRun({
      source,
      connectTimeoutMs: settings.connectTimeoutMs,
      stallTimeoutMs: settings.stallTimeoutMs,
      allocate: needs.allocate,
      demand: needs.demand,
      supplier: needs.supplier,
      loop: settings.loop,
      threads: needs.decoderThreads,
      holdUnread: settings.holdUnread,
      heldBytes: settings.packetBufferBytes,
      host,
    });
  return new FfmpegRun({ ffmpeg: needs.ffmpeg!, source, allocate: needs.allocate, killTimeoutMs: settings.killTimeoutMs, host });
}

/** What an ffmpeg process decodes: what it was started with, since a mode chosen from the readers would need a restart for each change. */
export function ffmpegDecodeState(source: ResolvedSource, readerFps: number): DecodeState {
  const setting = source.native.decode;
  return decodeState(
    {
      mode: setting === 'auto' ? 'all' : setting,
      reason: setting === 'auto' ? 'the ffmpeg decoder decodes every frame (auto chooses with the in-process decoder)' : 'as configured',
    },
    null,
    readerFps,
  );
}
