/**
 * D1 of bench/README.md, demand-driven capture: a 1080p30 H.264
 * file played at its own rate and looped, captured to rgb24 by the native
 * decoder (conversion on demand, ADR 0016) with one worker that holds each
 * frame 500 ms (2 fps), against the same capture with a worker that reads
 * every frame, and against ffmpeg alone converting every frame, alternating
 * in the same run. One more configuration shows keyframesOnly (skip_frame)
 * with the 2 fps worker, and one a worker that declares maxFps 2, so that the
 * decoder's own choice (decode: auto, ADR 0028) can skip what it cannot read. CPU: this process (the decoder's threads are in it),
 * or ffmpeg's from /proc. Beside the worker configurations, in each round, the careful loop (plain-loop.ts) with one
 * camera on the same file: a model thread that holds each frame 500 ms, or takes every frame, or 2 a second
 * (D1_PLAIN=0 leaves it out); its age is capture to the frame in hand (`age_taken`), as D1's.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { StreamCapture } from '../../src/capture/index.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { emit, log, percentile, round, sleep, sortedCopy } from '../stats.js';
import { testClip } from './workloads.js';
import { carefulLoop, ratio } from '../plain-loop.js';

interface Run {
  cpuPct: number;
  ages: number[];
  delivered: number;
  decoded: number;
  converted: number;
  droppedUnconverted: number;
  notDecoded: number;
  mode: string | null;
}

/** CPU seconds of a process (utime + stime), from /proc. */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The capture with one worker that holds each frame holdMs (0: reads every frame), for `seconds` after the first frame. */
async function captureRun(file: string, holdMs: number, seconds: number, keyframesOnly: boolean, maxFps?: number): Promise<Run> {
  const supplier = new FrameSupplier({ streamId: 'd1' }).start();
  const sub = supplier.subscribe('worker', maxFps === undefined ? {} : { maxFps });
  const ages: number[] = [];
  let measuring = false;
  const worker = (async () => {
    for (;;) {
      const frame = await sub.read();
      if (frame === null) return;
      if (measuring) ages.push(performance.now() - frame.captureTime);
      if (holdMs > 0) await sleep(holdMs); // the worker's work: it holds the frame, reads nothing meanwhile
    }
  })();
  const capture = new StreamCapture({ source: file, decoder: 'native', loop: true, keyframesOnly, supplier, output: { format: 'rgb24' } }).start();
  await new Promise<void>((resolve) => capture.once('state', (s) => s === 'streaming' && resolve()));
  await sleep(2_000); // warm-up: the codec's threads started, the pool filled
  const before = capture.stats();
  const deliveredBefore = supplier.stats().workers[0]?.delivered ?? 0;
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  ages.length = 0;
  measuring = true;
  await sleep(seconds * 1000);
  measuring = false;
  const cpu = process.cpuUsage(cpuStart);
  const wall = (performance.now() - wallStart) / 1000;
  const after = capture.stats();
  const delivered = (supplier.stats().workers[0]?.delivered ?? 0) - deliveredBefore;
  await capture.close();
  void supplier.close();
  await worker;
  return {
    cpuPct: ((cpu.user + cpu.system) / 1e6 / wall) * 100,
    ages,
    delivered,
    decoded: after.framesDecoded - before.framesDecoded,
    converted: after.framesConverted - before.framesConverted,
    droppedUnconverted: after.framesDroppedUnconverted - before.framesDroppedUnconverted,
    notDecoded: after.framesSkipped.notDecoded - before.framesSkipped.notDecoded,
    mode: after.decode?.mode ?? null,
  };
}

/**
 * ffmpeg alone at the file's rate converting every frame (`ffmpeg -re -i FILE
 * -f rawvideo -pix_fmt rgb24 -y /dev/null`), or decoding only (`-f null`, no
 * conversion): the floor no converter, lazy or not, can go under.
 */
async function ffmpegRun(file: string, seconds: number, convert: boolean): Promise<number> {
  const output = convert ? ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-y', '/dev/null'] : ['-f', 'null', '-'];
  const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file, '-an', ...output], {
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await sleep(2_000);
  const pid = child.pid!;
  const start = cpuSecondsOf(pid);
  const wallStart = performance.now();
  await sleep(seconds * 1000);
  const cpu = cpuSecondsOf(pid) - start;
  const wall = (performance.now() - wallStart) / 1000;
  child.kill('SIGTERM');
  await exited;
  return (cpu / wall) * 100;
}

export async function d1(seconds = Number(process.env.D1_SECONDS ?? 60), rounds = Number(process.env.D1_ROUNDS ?? 2)): Promise<void> {
  const file = await testClip('testsrc2-1080p30-60s.mp4', '1920x1080', 30, 60);
  const configs = [
    { workerFps: 2, holdMs: 500, keyframesOnly: false },
    { workerFps: 30, holdMs: 0, keyframesOnly: false },
    { workerFps: 2, holdMs: 500, keyframesOnly: true },
    { workerFps: 2, holdMs: 0, keyframesOnly: false, maxFps: 2 },
  ];
  const results = configs.map(() => [] as Run[]);
  // The careful loop beside the configurations it can be: the worker's hold as the model's time, maxFps as its own.
  const loopOf = (c: (typeof configs)[number]): { modelMs: number; maxFps?: number } | null =>
    c.keyframesOnly || process.env.D1_PLAIN === '0' ? null : { modelMs: c.holdMs, ...(c.maxFps === undefined ? {} : { maxFps: c.maxFps }) };
  const loops = configs.map(() => [] as Record<string, unknown>[]);
  const ffmpeg: number[] = [];
  const decodeOnly: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const [i, c] of configs.entries()) {
      const run = await captureRun(file, c.holdMs, seconds, c.keyframesOnly, c.maxFps);
      results[i]!.push(run);
      const loopConfig = loopOf(c);
      if (loopConfig !== null) loops[i]!.push(await carefulLoop({ file, cameras: 1, seconds, warmupS: 2, workload: 'D1', ...loopConfig }));
      log(
        `D1 round ${r + 1}: worker ${c.workerFps} fps${c.keyframesOnly ? ', keyframesOnly' : ''}${c.maxFps === undefined ? '' : `, maxFps ${c.maxFps}`}: cpu ${run.cpuPct.toFixed(1)} %, converted ${run.converted} of ${run.decoded}`,
      );
      if (i === 0) {
        ffmpeg.push(await ffmpegRun(file, seconds, true));
        log(`D1 round ${r + 1}: ffmpeg alone: cpu ${ffmpeg.at(-1)!.toFixed(1)} %`);
      }
      if (i === 1) {
        decodeOnly.push(await ffmpegRun(file, seconds, false));
        log(`D1 round ${r + 1}: ffmpeg decoding only: cpu ${decodeOnly.at(-1)!.toFixed(1)} %`);
      }
    }
  }
  const median = (xs: number[]): number => percentile(sortedCopy(xs), 50);
  const ffmpegCpu = median(ffmpeg);
  for (const [i, c] of configs.entries()) {
    const runs = results[i]!;
    const cpu = median(runs.map((x) => x.cpuPct));
    const sum = (f: (x: Run) => number): number => runs.reduce((n, x) => n + f(x), 0);
    const loopRuns = loops[i]!.filter((x) => typeof x.cpu_pct === 'number');
    const loopMedian = (key: string): number | null =>
      loopRuns.length === 0 ? null : round(median(loopRuns.map((x) => x[key] as number).filter((x) => typeof x === 'number')), 1);
    const ageP99 = round(percentile(sortedCopy(runs.flatMap((x) => x.ages)), 99), 1);
    emit({
      workload: 'D1',
      impl: 'framesupplier',
      worker_fps: c.workerFps,
      keyframes_only: c.keyframesOnly,
      max_fps: c.maxFps ?? null,
      decode_mode: runs[0]?.mode ?? null,
      seconds,
      rounds,
      cpu_pct: round(cpu, 1),
      cpu_pct_ffmpeg: round(ffmpegCpu, 1),
      ratio: round(cpu / ffmpegCpu, 3),
      cpu_pct_ffmpeg_decode_only: round(median(decodeOnly), 1),
      ratio_decode_only: round(median(decodeOnly) / ffmpegCpu, 3),
      age_ms_p50: round(percentile(sortedCopy(runs.flatMap((x) => x.ages)), 50), 1),
      age_ms_p99: round(percentile(sortedCopy(runs.flatMap((x) => x.ages)), 99), 1),
      delivered: sum((x) => x.delivered),
      frames_decoded: sum((x) => x.decoded),
      frames_converted: sum((x) => x.converted),
      frames_dropped_unconverted: sum((x) => x.droppedUnconverted),
      frames_not_decoded: sum((x) => x.notDecoded),
      ...(loops[i]!.length === 0
        ? {}
        : {
            // Medians over the rounds; its age is capture to the frame in the model thread's hand, as D1's read.
            careful_loop: {
              cpu_pct: loopMedian('cpu_pct'),
              age_ms_p50: loopMedian('age_taken_ms_p50'),
              age_ms_p99: loopMedian('age_taken_ms_p99'),
              model_fps: loopMedian('model_fps'),
              runs: loops[i],
            },
            // framesupplier's figure over the careful loop's: below 1 is framesupplier ahead.
            vs_careful_loop: { cpu_pct: ratio(cpu, loopMedian('cpu_pct')), age_ms_p99: ratio(ageP99, loopMedian('age_taken_ms_p99')) },
          }),
    });
  }
}
