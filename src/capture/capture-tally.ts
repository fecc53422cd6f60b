/**
 * A capture's figures, kept across its decoder runs: frames decoded,
 * converted, published and skipped, the stream's received rate, what
 * decoding cost (ADR 0052), the publish delay, the ages at the camera's hops
 * (ADR 0041), restarts and ffmpeg's last stderr lines.
 *
 * Contract: a run's own counts are added while it is open and folded in
 * when it ends (runEnded), so nothing is counted twice or lost across a
 * restart; the stderr lines it is given are already redacted.
 */
import { performance } from 'node:perf_hooks';
import { HopAge, RateWindow } from '../supplier/index.js';
import type { CaptureStats, StreamCosts } from './capture-options.js';
import { NO_COSTS, type DecoderRun, type RunCosts } from './decoder-run.js';

const STDERR_LINES = 20;
const DELAY_SAMPLES = 512;

type TalliedStats = Pick<
  CaptureStats,
  | 'framesDecoded'
  | 'framesConverted'
  | 'framesDroppedUnconverted'
  | 'framesSkipped'
  | 'framesPublished'
  | 'pictureChanges'
  | 'fps'
  | 'restarts'
  | 'stderrTail'
  | 'publishDelayUs'
  | 'hops'
  | 'costs'
>;

export class CaptureTally {
  readonly #native: boolean;
  readonly #packetBufferLimit: number;
  #framesDecoded = 0;
  #framesConverted = 0;
  /** Dropped unconverted by decoders already closed; the open one's count is added in stats(). */
  #droppedUnconverted = 0;
  /** Skipped on purpose by runs already over (a looping file's, a restarted source's). */
  #skippedClosed = { notDecoded: 0, decimated: 0 };
  #framesPublished = 0;
  /** Published frames whose picture differed from the one before (picture-digest.ts), and the last one's digest. */
  #pictureChanges = 0;
  #lastDigest: number | null = null;
  /** Costs of runs already over; the open one's are added in stats(). */
  #costsClosed: RunCosts = NO_COSTS;
  #snapshots = 0;
  #restarts = 0;
  #launches = 0;
  #stderrTail: string[] = [];
  readonly #rate = new RateWindow(5_000);
  /** Pictures decoded and packets held: the stream's rate whether it is decoded or not. */
  readonly #received = new RateWindow(5_000);
  readonly #delaysUs = new Float64Array(DELAY_SAMPLES);
  #delayCount = 0;
  readonly #decodedAge = new HopAge();
  readonly #convertedAge = new HopAge();

  /** native: decoded in process (conversions counted apart); packetBufferLimit: the bound on held packets (0: none held). */
  constructor(options: { native: boolean; packetBufferLimit: number }) {
    this.#native = options.native;
    this.#packetBufferLimit = options.packetBufferLimit;
  }

  /** A decoder run is launched: every one after the first is a restart. */
  launched(): void {
    if (this.#launches++ > 0) this.#restarts++;
  }

  /** A frame came out of the decoder at `at`. */
  decoded(at: number): void {
    this.#framesDecoded++;
    this.#rate.record(at);
    this.#received.record(at);
  }

  /** A packet was held, nothing decoded (holdUnread). */
  held(at: number): void {
    this.#received.record(at);
  }

  converted(): void {
    this.#framesConverted++;
  }

  snapshot(): void {
    this.#snapshots++;
  }

  /** A frame the supplier took: its pixels existed since readyAt; digest, its picture's (pictureDigest). */
  published(readyAt: number, captureTime: number, decodedTime: number, digest: number): void {
    this.#framesPublished++;
    if (digest !== this.#lastDigest) this.#pictureChanges++;
    this.#lastDigest = digest;
    const now = performance.now();
    this.#delaysUs[this.#delayCount++ % DELAY_SAMPLES] = (now - readyAt) * 1000;
    this.#decodedAge.record(decodedTime - captureTime);
    this.#convertedAge.record(now - captureTime);
  }

  /** One of ffmpeg's stderr lines, redacted: the last few are kept, each cut at 500 characters. */
  stderrLine(redacted: string): void {
    this.#stderrTail.push(redacted.length > 500 ? `${redacted.slice(0, 500)}…` : redacted);
    if (this.#stderrTail.length > STDERR_LINES) this.#stderrTail.shift();
  }

  /** A run ended: its own counts become the closed runs'. */
  runEnded(run: DecoderRun): void {
    this.#droppedUnconverted += run.droppedUnconverted;
    const costs = run.costs;
    this.#costsClosed = {
      packets: this.#costsClosed.packets + costs.packets,
      burstFrames: this.#costsClosed.burstFrames + costs.burstFrames,
      cpuMs: this.#costsClosed.cpuMs + costs.cpuMs,
      heldBytes: 0,
    };
    this.#skippedClosed = {
      notDecoded: this.#skippedClosed.notDecoded + run.skipped.notDecoded,
      decimated: this.#skippedClosed.decimated + run.skipped.decimated,
    };
  }

  /** The figures now, the open run's (if any) added. */
  stats(open: DecoderRun | null): TalliedStats {
    let publishDelayUs: CaptureStats['publishDelayUs'] = null;
    const n = Math.min(this.#delayCount, DELAY_SAMPLES);
    if (n > 0) {
      const sorted = this.#delaysUs.slice(0, n).sort();
      publishDelayUs = { p50: sorted[Math.ceil(n * 0.5) - 1]!, p99: sorted[Math.ceil(n * 0.99) - 1]! };
    }
    return {
      framesDecoded: this.#framesDecoded,
      framesConverted: this.#native ? this.#framesConverted : this.#framesDecoded,
      framesDroppedUnconverted: this.#droppedUnconverted + (open?.droppedUnconverted ?? 0),
      framesSkipped: {
        notDecoded: this.#skippedClosed.notDecoded + (open?.skipped.notDecoded ?? 0),
        decimated: this.#skippedClosed.decimated + (open?.skipped.decimated ?? 0),
      },
      framesPublished: this.#framesPublished,
      pictureChanges: this.#pictureChanges,
      fps: this.#rate.rate(performance.now()),
      restarts: this.#restarts,
      stderrTail: [...this.#stderrTail],
      publishDelayUs,
      hops: { decoded: this.#decodedAge.stats(), converted: this.#convertedAge.stats() },
      costs: this.#costs(open),
    };
  }

  #costs(run: DecoderRun | null): StreamCosts {
    const open = run?.costs ?? NO_COSTS;
    const closed = this.#costsClosed;
    const burstFrames = closed.burstFrames + open.burstFrames;
    const framesDecoded = this.#framesDecoded + burstFrames;
    const cpuMs = closed.cpuMs + open.cpuMs;
    return {
      framesReceived: this.#native ? closed.packets + open.packets : this.#framesDecoded,
      receivedFps: this.#received.rate(performance.now()),
      framesDecoded,
      framesConverted: this.#native ? this.#framesConverted : this.#framesDecoded,
      framesUsed: this.#framesPublished,
      cpuMsPerDecodedFrame: this.#native && framesDecoded > 0 ? cpuMs / framesDecoded : null,
      packetBufferBytes: open.heldBytes,
      packetBufferLimitBytes: this.#packetBufferLimit,
      snapshots: this.#snapshots,
      burstFrames,
    };
  }
}
