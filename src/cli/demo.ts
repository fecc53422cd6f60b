/**
 * `framesupplier demo`: a synthetic 30 fps camera, five workers of very
 * different speeds and criticalities (one in a worker thread, fed without a
 * copy), and a live terminal view of what each is getting. It shows the
 * product's point: every worker gets the freshest frame it can use, and the
 * figures say who is falling behind.
 */
import { Worker } from 'node:worker_threads';
import { findSampleMedia, StreamCapture, type CaptureStats } from '../capture/index.js';
import { delay, MAX_TIMER_MS, untilAborted } from '../internal/abort.js';
import { FramePool, FrameSupplier, type Criticality, type SupplierStats, type Subscription } from '../supplier/index.js';

/** The demo command's flags (its help page lists each; a test checks it). */
export const DEMO_FLAGS = {
  source: { type: 'string' },
  fps: { type: 'string' },
  duration: { type: 'string' },
  width: { type: 'string' },
  height: { type: 'string' },
} as const;

export interface DemoOptions {
  /**
   * What to capture: any StreamCapture source, 'synthetic' for an in-process
   * generator (no ffmpeg), or undefined for the sample clip when installed
   * (looped at its own rate), else ffmpeg's test pattern.
   */
  readonly source?: string;
  readonly fps: number;
  /** Seconds to run; 0 runs until interrupted. */
  readonly durationS: number;
  readonly width: number;
  /** The test pattern's and the synthetic camera's: other sources are scaled to width, keeping their aspect ratio. */
  readonly height: number;
  readonly out: NodeJS.WriteStream;
  readonly signal?: AbortSignal;
}

interface DemoWorker {
  readonly id: string;
  readonly criticality: Criticality;
  readonly workMs: number;
  readonly maxAgeMs?: number;
}

const IN_PROCESS: readonly DemoWorker[] = [
  { id: 'person-detector', criticality: 'critical', workMs: 20 },
  { id: 'tracker', criticality: 'high', workMs: 45, maxAgeMs: 60 },
  { id: 'sleep-quality', criticality: 'normal', workMs: 150 },
  { id: 'vlm-caption', criticality: 'best-effort', workMs: 1200 },
];

async function runInProcess(sub: Subscription, workMs: number): Promise<void> {
  for await (const _frame of sub) await delay(workMs); // stands in for an I/O-bound inference call
}

export function renderStats(stats: SupplierStats, uptimeS: number, colour: boolean, capture?: CaptureStats): string {
  const bold = (s: string) => (colour ? `\x1b[1m${s}\x1b[0m` : s);
  const warn = (s: string) => (colour ? `\x1b[33m${s}\x1b[0m` : s);
  const lines = [
    bold(`framesupplier demo — stream ${stats.streamId}, ${uptimeS.toFixed(0)} s`),
    `published ${stats.published}   inbox drops ${stats.inboxDrops}   thread copies ${stats.threadCopies}`,
  ];
  if (capture !== undefined) {
    const size = capture.width === null ? '' : ` ${capture.width}x${capture.height} ${capture.format}`;
    lines.push(
      `capture ${capture.source}${size}: ${capture.state === 'streaming' ? capture.state : warn(capture.state)}, ` +
        `${capture.fps.toFixed(1)} fps, restarts ${capture.restarts}` +
        (capture.publishDelayUs === null ? '' : `, publish delay p99 ${capture.publishDelayUs.p99.toFixed(0)} µs`),
    );
    if (capture.lastError !== null && capture.state !== 'streaming') lines.push(warn(`last error ${capture.lastError.code}: ${capture.lastError.message}`));
  }
  lines.push(
    '',
    bold(
      ['worker', 'class', 'fps', 'delivered', 'drops', 'consec', 'stale', 'age ms', 'state']
        .map((h, i) => (i < 2 ? h.padEnd(i === 0 ? 18 : 12) : h.padStart(10)))
        .join(''),
    ),
  );
  for (const w of stats.workers) {
    const state = w.idle ? warn('idle') : w.waiting ? 'waiting' : 'working';
    lines.push(
      [
        w.workerId.padEnd(18),
        w.criticality.padEnd(12),
        w.fps.toFixed(1).padStart(10),
        String(w.delivered).padStart(10),
        String(w.drops).padStart(10),
        String(w.consecutiveDrops).padStart(10),
        String(w.staleSkips).padStart(10),
        (w.lastFrameAgeMs === null ? '-' : w.lastFrameAgeMs.toFixed(1)).padStart(10),
        state.padStart(10),
      ].join(''),
    );
  }
  return lines.join('\n');
}

export async function runDemo(options: DemoOptions): Promise<SupplierStats> {
  const { fps, width, height, out } = options;
  const sample = options.source === undefined ? findSampleMedia() : null;
  const source = options.source ?? (sample !== null ? sample : `lavfi:testsrc2=size=${width}x${height}:rate=${fps}`);
  const synthetic = source === 'synthetic';
  const supplier = new FrameSupplier({ streamId: synthetic ? 'synthetic-cam' : 'cam-1', idleThresholdMs: 5_000 }).start();
  const capture = synthetic
    ? null
    : new StreamCapture({
        source,
        supplier,
        loop: true,
        output: { format: 'rgb24', fps, ...(sample === null && options.source === undefined ? {} : { width }) },
        backoff: { initialMs: 500, maxMs: 5_000 },
      });
  const stop = new AbortController();
  options.signal?.addEventListener('abort', () => stop.abort(), { once: true });

  const loops = IN_PROCESS.map((w) =>
    runInProcess(supplier.subscribe(w.id, { criticality: w.criticality, ...(w.maxAgeMs ? { maxAgeMs: w.maxAgeMs } : {}) }), w.workMs),
  );
  const pose = supplier.subscribeThread('pose-thread', { criticality: 'high' });
  const poseWorker = new Worker(new URL('./demo-pose-thread.js', import.meta.url), {
    workerData: { frames: pose.port, workMs: 80 },
    transferList: [pose.port],
  });

  const started = performance.now();
  const interactive = out.isTTY === true;
  const draw = () => {
    const text = renderStats(supplier.stats(), (performance.now() - started) / 1000, interactive, capture?.stats());
    out.write(interactive ? `\x1b[H\x1b[2J${text}\n` : `${text}\n\n`);
  };
  const view = setInterval(draw, interactive ? 500 : 1000);

  const running = () => !stop.signal.aborted && (options.durationS === 0 || performance.now() - started < options.durationS * 1000);
  if (capture !== null) {
    capture.start();
    await untilAborted(delay(options.durationS === 0 ? MAX_TIMER_MS : options.durationS * 1000, { signal: stop.signal }), stop.signal);
  } else {
    // The synthetic camera: a moving gradient, paced against the clock, in reused shared memory.
    const frameBytes = width * height * 3;
    const pool = new FramePool();
    let n = 0;
    while (running()) {
      const payload = pool.acquire(frameBytes) ?? new Uint8Array(frameBytes);
      payload.fill(n & 0xff, 0, width * 3); // one changing row is enough to make frames distinct
      supplier.publish({ payload, width, height, format: 'rgb24' });
      n++;
      if (!(await untilAborted(delay(Math.max(0, started + (n * 1000) / fps - performance.now()), { signal: stop.signal }), stop.signal))) break;
    }
  }
  clearInterval(view);
  const final = supplier.stats();
  draw();
  await capture?.close();
  void supplier.close();
  await Promise.all(loops);
  await poseWorker.terminate();
  return final;
}
