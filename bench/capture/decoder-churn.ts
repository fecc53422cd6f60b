/**
 * DECODER-CHURN: the in-process decoder's lifecycle driven at random, to find a fault before a box that never
 * restarts does (the system that died under SOAK-CHURN without a word, 2026-11-27). DECODER_CHURN_LANES (8) lanes
 * each open a decoder again and again, on a real RTSP server (GStreamer, test/capture/rtsp_server.py) killed every
 * 0.8–2.2 s and started again up to 0.6 s later, or on a file; some opens are aborted, and while open each lane
 * calls next() (every discard mode, a skip far ahead), present(), convert() (at the output size and smaller),
 * holdMany() with yieldHold(), aim(), decodeFrom() and interrupt() at random, then closes the decoder at a random
 * moment: with a call or a conversion still running, or not at all (a tenth of the idle ones are dropped for the
 * garbage collector to finalise, with a forced collection now and then). A call unanswered for 5 s has its decoder
 * interrupted, as the system's stall watch does. DECODER_CHURN_SECONDS (600) long.
 *
 * What it proves is that nothing faults; its line counts what was exercised. Run it under AddressSanitizer for a
 * use after free or a double free that has not crashed yet: the addon built with `-fsanitize=address` (`CFLAGS=
 * "-fsanitize=address -fno-omit-frame-pointer -g" LDFLAGS=-fsanitize=address npm run build:native -- --nodedir=/usr`
 * in a worktree), and Node started with `LD_PRELOAD=$(gcc -print-file-name=libasan.so)
 * ASAN_OPTIONS=detect_leaks=0:log_path=DIR/asan BENCH_ALLOCATOR=glibc` (ASan's malloc, which libav's allocations
 * go through too); a report lands in DIR (docs/benchmarks/notebook-2026-11-22-to-28.md, "The silent death").
 */
import { performance } from 'node:perf_hooks';
import { NativeDecoder, type ConvertSize, type Discard, type NativeFormat } from '../../src/capture/native-decoder.js';
import { RtspServer } from '../../test/capture/fixtures.js';
import { smallH264Clip } from '../../test/pipeline/helpers.js';
import { emit, log, sleep } from '../stats.js';

const FORMATS: readonly NativeFormat[] = ['nv12', 'gray', 'rgb24', 'yuv420p'];
const DISCARDS: readonly Discard[] = ['none', 'nonref', 'nonkey', 'hold'];
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const upTo = (n: number): number => Math.floor(Math.random() * n);
const chance = (p: number): boolean => Math.random() < p;
/** A call unanswered this long has its decoder interrupted (the system's stall watch does so for a silent source). */
const STALL_MS = 5_000;

export async function decoderChurn(): Promise<void> {
  const seconds = Number(process.env.DECODER_CHURN_SECONDS ?? 600);
  const lanes = Number(process.env.DECODER_CHURN_LANES ?? 8);
  const clip = await smallH264Clip();
  const rtsp = await new RtspServer(clip).start();
  const counts = { opens: 0, opened: 0, aborted_or_failed: 0, calls: 0, closed_busy: 0, dropped_unclosed: 0, rtsp_kills: 0, call_errors: 0 };
  const endAt = performance.now() + seconds * 1000;
  const over = (): boolean => performance.now() >= endAt;
  log(`DECODER-CHURN: ${lanes} lanes for ${seconds} s on ${rtsp.url} and ${clip}`);

  const server = (async () => {
    while (!over()) {
      await sleep(800 + upTo(1400));
      await rtsp.kill();
      counts.rtsp_kills++;
      await sleep(upTo(600));
      await rtsp.start();
    }
  })();

  const lane = async (): Promise<void> => {
    while (!over()) {
      const abort = new AbortController();
      const live = chance(0.7);
      if (chance(0.2)) setTimeout(() => abort.abort(new Error('aborted by the bench')), upTo(300));
      let open: NativeDecoder;
      counts.opens++;
      try {
        open = await NativeDecoder.open(live ? rtsp.url : clip, {
          format: pick(FORMATS),
          heldBytes: chance(0.5) ? 4 << 20 : 0,
          threads: upTo(3),
          signal: abort.signal,
          avOptions: live ? { timeout: '2000000', rtsp_transport: chance(0.5) ? 'tcp' : 'udp' } : {},
        });
      } catch {
        counts.aborted_or_failed++;
        await sleep(upTo(100));
        continue;
      }
      counts.opened++;
      // The system's stall watch, as a camera's has it: a source silent this long has its blocking read given up (a
      // stream over UDP whose server died waits for packets forever), and at the end every decoder is.
      const watch = setInterval(() => {
        if (over() || performance.now() - lastAnswer > STALL_MS) open.interrupt();
      }, 500);
      let lastAnswer = performance.now();
      const until = performance.now() + upTo(2500);
      const running: Promise<unknown>[] = [];
      let converting: Promise<unknown> | null = null;
      try {
        while (!over() && performance.now() < until) {
          counts.calls++;
          const op = upTo(10);
          if (op < 4) {
            const call = open.next(chance(0.2) ? 1e9 : -1, pick(DISCARDS));
            if (chance(0.15)) {
              running.push(call.catch(() => null)); // closed with this call running
              break;
            }
            const picture = await call;
            lastAnswer = performance.now();
            if (picture === null) break;
            if (!picture.held) open.present();
          } else if (op < 6 && converting === null) {
            const size: ConvertSize | null = chance(0.3) ? { width: 320, height: 180 } : null;
            converting = open
              .convert(new Uint8Array(open.frameBytes), size)
              .catch(() => null)
              .finally(() => (converting = null));
            if (chance(0.2)) break; // closed with the conversion running
          } else if (op === 6 && open.holdsMany) {
            const call = open.holdMany({ maxPackets: 1 + upTo(50), untilMs: performance.now() + upTo(400), pace: null });
            if (chance(0.3)) setTimeout(() => open.yieldHold(), upTo(50));
            if (chance(0.15)) {
              running.push(call.catch(() => null));
              break;
            }
            await call.catch(() => null);
            lastAnswer = performance.now();
          } else if (op === 7) open.aim(upTo(5000));
          else if (op === 8) open.decodeFrom(upTo(5000));
          else if (op === 9 && chance(0.1)) open.interrupt();
        }
      } catch {
        counts.call_errors++; // a call refused (busy, no picture): the bench's own sequence, not a fault
      }
      if (running.length > 0 || converting !== null) counts.closed_busy++;
      if (chance(0.1)) abort.abort(new Error('aborted after the open'));
      if (running.length === 0 && converting === null && chance(0.1)) {
        counts.dropped_unclosed++; // never closed: the handle goes with this turn's scope, for the collector's finaliser
        if (chance(0.3)) (globalThis as { gc?: () => void }).gc?.();
      } else open.close();
      await Promise.all(running);
      if (converting !== null) await converting;
      clearInterval(watch);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  await server;
  await rtsp.kill();
  emit({ workload: 'DECODER-CHURN', lanes, seconds, ...counts, faults: 0 });
}
