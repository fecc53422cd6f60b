/**
 * Workloads W1–W4 of bench/README.md, run against any BenchImpl.
 * Each returns the JSON objects the definition names.
 */
import { performance } from 'node:perf_hooks';
import type { FrameInput } from '../../src/supplier/index.js';
import { emit, forceGc, log, nextMacrotask, percentile, round, sleep, sortedCopy } from '../stats.js';
import type { BenchImpl, BenchReader } from './impls.js';

/** Keeps a reader in its read loop; `onFrame` may be async work. Resolves at end of stream. */
async function readLoop(reader: BenchReader, onFrame?: (f: { captureTime: number }) => unknown): Promise<void> {
  for (;;) {
    const frame = await reader.read();
    if (frame === null) return;
    if (onFrame !== undefined) await onFrame(frame);
  }
}

/** The cost of reading the timer itself, subtracted from W1's per-call figures. */
function timerOverheadNs(): number {
  const samples = new Float64Array(20_000);
  for (let i = 0; i < samples.length; i++) {
    const t0 = process.hrtime.bigint();
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  return percentile(samples.sort(), 50);
}

/**
 * W1 publish-cost. One preallocated 100 KiB frame, published 200 000 times.
 * Between two publishes the publisher yields one event-loop turn, so the
 * subscribers really run their read loops (as they would behind a camera);
 * only the publish() call itself is timed.
 */
export async function w1(makeImpl: () => BenchImpl, publishes = 200_000): Promise<void> {
  const overhead = timerOverheadNs();
  for (const subscribers of [1, 8, 64, 256]) {
    const impl = makeImpl();
    const readers = Array.from({ length: subscribers }, (_, i) => impl.subscribe(`w${i}`));
    const loops = readers.map((r) => readLoop(r));
    const frame: FrameInput = { payload: new Uint8Array(100 * 1024), width: 100 * 1024, height: 1, format: 'gray', captureTime: 0 };
    // Untimed warm-up, so the figures are of optimised code, not of the first calls.
    for (let i = 0; i < 20_000; i++) {
      impl.publish(frame);
      await nextMacrotask();
    }
    const samples = new Float64Array(publishes);
    for (let i = 0; i < publishes; i++) {
      const t0 = process.hrtime.bigint();
      impl.publish(frame);
      samples[i] = Number(process.hrtime.bigint() - t0) - overhead;
      await nextMacrotask();
    }
    for (const r of readers) r.close();
    impl.stop();
    await Promise.all(loops);
    let sum = 0;
    for (const s of samples) sum += s;
    const sorted = samples.sort();
    emit({
      workload: 'W1',
      impl: impl.name,
      subscribers,
      publishes,
      publish_ns_p50: round(percentile(sorted, 50), 1),
      publish_ns_p99: round(percentile(sorted, 99), 1),
      publish_ns_mean: round(sum / publishes, 1),
      timer_overhead_ns: overhead,
    });
  }
}

/** W2 wake-latency: frames every 1 ms for 5 s to N subscribers blocked in read. */
export async function w2(makeImpl: () => BenchImpl, durationMs = 5_000): Promise<void> {
  for (const subscribers of [1, 8, 64, 256]) {
    const impl = makeImpl();
    const readers = Array.from({ length: subscribers }, (_, i) => impl.subscribe(`w${i}`));
    const wakes: number[] = [];
    let delivered = 0;
    const loops = readers.map((r) =>
      readLoop(r, (f) => {
        wakes.push((performance.now() - f.captureTime) * 1000);
        delivered++;
      }),
    );
    const payload = new Uint8Array(1024);
    let frames = 0;
    const start = performance.now();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (performance.now() - start >= durationMs) {
          clearInterval(timer);
          resolve();
          return;
        }
        frames++;
        impl.publish({ payload, width: 1024, height: 1, format: 'gray', captureTime: performance.now() });
      }, 1);
    });
    await nextMacrotask();
    const dropped = readers.reduce((n, r) => n + r.dropped(), 0);
    for (const r of readers) r.close();
    impl.stop();
    await Promise.all(loops);
    const sorted = sortedCopy(wakes);
    emit({
      workload: 'W2',
      impl: impl.name,
      subscribers,
      frames,
      wake_us_p50: round(percentile(sorted, 50), 1),
      wake_us_p99: round(percentile(sorted, 99), 1),
      wake_us_max: round(percentile(sorted, 100), 1),
      delivered,
      dropped,
    });
  }
}

/** W3 freshness: 30 fps for 10 s, subscribers doing 5, 50, 200 and 1000 ms of non-blocking work. */
export async function w3(makeImpl: () => BenchImpl, durationMs = 10_000): Promise<void> {
  const impl = makeImpl();
  const works = [5, 50, 200, 1000];
  const ages = works.map(() => [] as number[]);
  const readers = works.map((w) => impl.subscribe(`work-${w}ms`));
  const loops = readers.map((r, i) =>
    readLoop(r, async (f) => {
      ages[i]!.push(performance.now() - f.captureTime);
      await sleep(works[i]!);
    }),
  );
  const payload = new Uint8Array(640 * 480 * 3);
  const start = performance.now();
  let n = 0;
  // Paced against the clock, not by accumulating timer delays.
  while (performance.now() - start < durationMs) {
    impl.publish({ payload, width: 640, height: 480, format: 'rgb24', captureTime: performance.now() });
    n++;
    await sleep(Math.max(0, start + n * (1000 / 30) - performance.now()));
  }
  const dropped = readers.map((r) => r.dropped());
  for (const r of readers) r.close();
  impl.stop();
  await Promise.all(loops);
  works.forEach((work, i) => {
    const sorted = sortedCopy(ages[i]!);
    emit({
      workload: 'W3',
      impl: impl.name,
      work_ms: work,
      published: n,
      processed: sorted.length,
      dropped: dropped[i],
      age_ms_p50: round(percentile(sorted, 50), 2),
      age_ms_p99: round(percentile(sorted, 99), 2),
      age_ms_max: round(percentile(sorted, 100), 2),
      // Steadiness: p99 of the last third of the run against the first third.
      age_ms_p99_first_third: round(percentile(sortedCopy(ages[i]!.slice(0, Math.ceil(sorted.length / 3))), 99), 2),
      age_ms_p99_last_third: round(percentile(sortedCopy(ages[i]!.slice(-Math.ceil(sorted.length / 3))), 99), 2),
    });
  });
}

/**
 * W4 churn: 1 kHz publishing while 1 000 tasks subscribe, read 1–3 frames and
 * unsubscribe, 100 000 cycles in all, paced to span about 10 s. Publishing goes
 * on until the last task is done, so no read waits for a frame that never
 * comes. One cycle in four is ended by someone else while its read is pending:
 * that read must end, not hang.
 */
export async function w4(makeImpl: () => BenchImpl, durationMs = 10_000, totalCycles = 100_000): Promise<void> {
  const impl = makeImpl();
  forceGc();
  const heapStart = process.memoryUsage().heapUsed;
  const tasks = 1_000;
  const cyclesPerTask = totalCycles / tasks;
  const pauseMaxMs = (2 * durationMs) / cyclesPerTask - 2;
  let cycles = 0;
  const orphanedReads = new Set<Promise<unknown>>();
  let running = true;
  const payload = new Uint8Array(1024);
  const start = performance.now();
  const publisher = (async () => {
    let n = 0;
    while (running) {
      impl.publish({ payload, width: 1024, height: 1, format: 'gray', captureTime: performance.now() });
      n++;
      await sleep(Math.max(0, start + n - performance.now()));
    }
  })();
  let nextId = 0;
  const task = async (): Promise<void> => {
    for (let c = 0; c < cyclesPerTask; c++) {
      const reader = impl.subscribe(`t${nextId++}`);
      const reads = 1 + Math.floor(Math.random() * 3);
      const endedByOther = Math.random() < 0.25;
      for (let r = 0; r < reads; r++) {
        const pending = reader.read();
        if (endedByOther && r === reads - 1) {
          // Unsubscribed while blocked: track the read until it settles.
          const tracked = pending.finally(() => orphanedReads.delete(tracked));
          orphanedReads.add(tracked);
          reader.close();
          await tracked;
        } else if ((await pending) === null) break;
      }
      reader.close();
      cycles++;
      await sleep(Math.random() * pauseMaxMs);
    }
  };
  await Promise.all(Array.from({ length: tasks }, task));
  running = false;
  await publisher;
  impl.stop();
  // Reads that were ended must have settled; give them a few turns, no more.
  for (let i = 0; i < 5; i++) await nextMacrotask();
  const hung = orphanedReads.size;
  forceGc();
  const heapEnd = process.memoryUsage().heapUsed;
  emit({
    workload: 'W4',
    impl: impl.name,
    cycles,
    hung_readers: hung,
    heap_growth_mb: round((heapEnd - heapStart) / 2 ** 20, 2),
    duration_s: round((performance.now() - start) / 1000, 1),
  });
  log(`W4 ${impl.name}: ${cycles} cycles`);
}
