/**
 * `npm run bench [-- NAME ...] [--impl IMPL]`: runs the named workloads (all by
 * default) for every implementation (or only IMPL), printing JSON Lines on
 * stdout, progress on stderr. Run with --expose-gc so heap figures follow a
 * forced collection. A run that includes a workload running the system in this
 * process (P1, P2, AGE, P3, P4) re-executes itself on the malloc the system is
 * shipped with (BENCH_ALLOCATOR, jemalloc by default: bench/proc.ts), so its
 * figures are what a user's system costs; the yardsticks it starts run on
 * their own malloc.
 */
import { spawn } from 'node:child_process';
import { allocatorOf, benchAllocator, REEXEC_ARENA_VAR, systemEnv } from './proc.js';
import { log } from './stats.js';

const args = process.argv.slice(2);
const implFlag = args.indexOf('--impl');
const implName = implFlag >= 0 ? args.splice(implFlag, 2)[1] : undefined;
/** The supplier implementations W1–W4 compare, loaded only for those workloads. */
const impls = async (): Promise<(typeof import('./supplier/impls.js'))['IMPLS']> =>
  (await import('./supplier/impls.js')).IMPLS.filter((make) => implName === undefined || make().name === implName);

// Each workload's module is imported when it runs: P1, P2, P3, P4 and HOLD measure this process, which must hold the
// system and not every other workload's libraries (MQTT, NATS, gRPC, sharp: 15–20 MB a process when all were imported).
const WORKLOADS: Record<string, () => Promise<void>> = {
  W1: async () => {
    const { w1 } = await import('./supplier/workloads.js');
    for (const impl of await impls()) await w1(impl);
  },
  W2: async () => {
    const { w2 } = await import('./supplier/workloads.js');
    for (const impl of await impls()) await w2(impl);
  },
  W3: async () => {
    const { w3 } = await import('./supplier/workloads.js');
    for (const impl of await impls()) await w3(impl);
  },
  W4: async () => {
    const { w4 } = await import('./supplier/workloads.js');
    for (const impl of await impls()) await w4(impl);
  },
  C1: async () => (await import('./capture/workloads.js')).c1(),
  C2: async () => (await import('./capture/workloads.js')).c2(),
  C3: async () => (await import('./capture/workloads.js')).c3(),
  POOL: async () => (await import('./capture/pool.js')).pool(),
  D1: async () => (await import('./capture/d1.js')).d1(),
  /** The in-process decoder opened, driven and closed at random on an RTSP server killed every second or two (run it under ASan: decoder-churn.ts). */
  'DECODER-CHURN': async () => (await import('./capture/decoder-churn.js')).decoderChurn(),
  /** Conversion at the readers' size against the output size (ADR 0031). */
  SCALE: async () => (await import('./capture/scale.js')).scale(),
  M1: async () => (await import('./ipc/m1.js')).m1(),
  /** M1's zero-copy comparison alone (M1 runs it too). */
  M1ZC: async () => (await import('./ipc/m1.js')).m1ZeroCopy(),
  /** M1 through the Python package's server beside the Node server (issue 35). */
  M1PY: async () => (await import('./ipc/m1py.js')).m1Python(),
  PERSON: async () => (await import('./ipc/person.js')).person(),
  'PERSON-MODELS': async () => (await import('./models/person.js')).personModels(),
  'PERSON-RECALL': async () => (await import('./models/person-recall.js')).personRecall(),
  /** What a fall worker's looks and sweeps find in the shared clips' rooms with nobody in them (ADR 0193). */
  'SWEEP-EMPTY': async () => (await import('./models/sweep-empty.js')).sweepEmpty(),
  YOLO: async () => (await import('./models/yolo.js')).yolo(),
  /** One accelerator, many cameras: the Python server per-frame and batched against the stand-in (python/bench/g1.py; issue 71). */
  G1: async () => (await import('./models/g1.js')).g1(),
  'G1-SYSTEM': async () => (await import('./models/g1-system.js')).g1System(),
  S1: async () => (await import('./workers/s1.js')).s1(),
  P1: async () => (await import('./pipeline/p1.js')).p1(),
  P2: async () => (await import('./pipeline/p1.js')).p1('P2'),
  /** P2's cameras hop by hop (ADR 0041): capture → decoded, converted, delivered, taken, result, p50/p99 at 1, 4, 16 cameras. */
  AGE: async () => (await import('./pipeline/p1.js')).p1('AGE'),
  /** A main stream and a substream per camera, decoded on demand, against the main stream alone (issue 33). */
  P3: async () => (await import('./pipeline/p3.js')).p3(),
  /** A quiet home (issue 44): motion-gated detection against ungated and the careful motion-gated loop, scored against the clips' schedules. */
  P4: async () => (await import('./pipeline/p4.js')).p4(),
  /** What a camera costs while nobody reads it: main and substream held undecoded (ADR 0091); HOLD_TREE measures another checkout beside. */
  HOLD: async () => (await import('./pipeline/hold.js')).hold(),
  /** The built-in example's CPU and memory (EXAMPLE_SCALE=output: frames at the output size, to compare). */
  EXAMPLE: async () => (await import('./pipeline/example.js')).example(),
  /** The example as the CLI runs it, in this checkout or EXAMPLE_TREE's (a before-and-after). */
  'EXAMPLE-CLI': async () => (await import('./pipeline/example.js')).exampleCli(),
  /** The system as the CLI runs it, 16 cameras for an hour: the process tree's memory, fds, threads, zombies and RSS slopes. */
  SOAK: async () => (await import('./pipeline/soak.js')).soak(),
  'SOAK-CHURN': async () => (await import('./pipeline/soak-churn.js')).soakChurn(),
  /** What the first camera's memory is and what each added one costs (issue 45 item 4). */
  'MEM-DIET': async () => (await import('./pipeline/memory-diet.js')).memoryDiet(),
  /** Whether the buffers made per frame in JavaScript (RGB, letterbox, crops, JPEG) fragment malloc, per call against once (issue 45 item 1). */
  'FRAME-BUFFERS': async () => (await import('./pipeline/frame-buffers.js')).frameBuffers(),
  E1: async () => (await import('./mqtt/e1.js')).e1(),
  JPEG: async () => (await import('./http/jpeg.js')).jpegEncoders(),
  H1: async () => (await import('./http/h1.js')).h1(),
  X1: async () => (await import('./cluster/x1.js')).x1(),
  /** The socket against REST (x1.ts), then REST binary, REST JSON and gRPC at concurrency 1, 8, 32. */
  XK: async () => {
    await (await import('./cluster/x1.js')).xk();
    await (await import('./kserve/transports.js')).xkTransports();
  },
  /** The transports alone. */
  'XK-TRANSPORTS': async () => (await import('./kserve/transports.js')).xkTransports(),
  T1: async () => (await import('./objects/t1.js')).t1(),
  /** A vlm worker's own cost per request and its answers' age against a stand-in server answering in 300 ms (issue 34). */
  VLM1: async () => (await import('./workers/vlm1.js')).vlm1(),
  /** Cascades: crops per second and their cost at 16 cameras (issue 34). */
  'C-CROP': async () => (await import('./pipeline/c-crop.js')).cCrop(),
  /** Lines and dwell per tracked object per frame (objects/t2.ts). */
  T2: async () => (await import('./objects/t2.js')).t2(),
  /** What the motion detector costs a frame at 640×360 (issue 44). */
  MOTION: async () => (await import('./motion/motion.js')).motion(),
  /** A person down (issue 72): the UP-Fall clips in ../shared/data/falls through the person model and the fall alerts, falls detected, false alarms, the alert's delay. */
  FALL: async () => (await import('./objects/fall.js')).fall(),
  /** The fall rule over thousands of synthetic views (3D moves through pinhole cameras, a pose network's errors): falls raised, everyday moves raised, where it fails. */
  'FALL-SYNTH': async () => (await import('./objects/fall-synthetic.js')).fallSynthetic(),
  /** FALL's clips again in seconds: their recorded person results (FALL_RECORD) through the tracker and the fall rule. */
  'FALL-REPLAY': async () => (await import('./objects/fall-replay.js')).fallReplay(),
};

const requested = args.map((name) => name.toUpperCase());
// SOAK and SOAK-CHURN take an hour, FRAME-BUFFERS a quarter of one (a diagnosis): run only when named.
const ONLY_NAMED = new Set(['SOAK', 'SOAK-CHURN', 'FRAME-BUFFERS']);
const names = requested.length > 0 ? requested : Object.keys(WORKLOADS).filter((name) => !ONLY_NAMED.has(name));

// The workloads whose system runs in this process: on glibc they would measure a malloc users are not given.
const SYSTEM_IN_PROCESS = new Set(['P1', 'P2', 'AGE', 'P3', 'P4', 'HOLD']);
if (names.some((name) => SYSTEM_IN_PROCESS.has(name)) && benchAllocator().allocator === 'jemalloc' && allocatorOf('self') === 'glibc') {
  log('re-running on jemalloc (the system in this process; BENCH_ALLOCATOR=glibc to keep glibc)');
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: systemEnv({ [REEXEC_ARENA_VAR]: process.env.MALLOC_ARENA_MAX ?? '' }),
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  const code = await new Promise<number>((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal === null ? 1 : 128))));
  process.exit(code);
}
for (const name of names) {
  const run = WORKLOADS[name];
  if (run === undefined) {
    log(`unknown workload ${name}; known: ${Object.keys(WORKLOADS).join(', ')}`);
    process.exitCode = 2;
    continue;
  }
  log(`running ${name}`);
  await run();
}
