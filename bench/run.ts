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
import { IMPLS as ALL_IMPLS } from './supplier/impls.js';
import { w1, w2, w3, w4 } from './supplier/workloads.js';
import { log } from './stats.js';
import { c1, c2, c3 } from './capture/workloads.js';
import { pool } from './capture/pool.js';
import { d1 } from './capture/d1.js';
import { scale } from './capture/scale.js';
import { m1, m1ZeroCopy } from './ipc/m1.js';
import { m1Python } from './ipc/m1py.js';
import { person } from './ipc/person.js';
import { personModels } from './models/person.js';
import { yolo } from './models/yolo.js';
import { s1 } from './workers/s1.js';
import { p1 } from './pipeline/p1.js';
import { p3 } from './pipeline/p3.js';
import { p4 } from './pipeline/p4.js';
import { example, exampleCli } from './pipeline/example.js';
import { soak } from './pipeline/soak.js';
import { soakChurn } from './pipeline/soak-churn.js';
import { memoryDiet } from './pipeline/memory-diet.js';
import { hold } from './pipeline/hold.js';
import { frameBuffers } from './pipeline/frame-buffers.js';
import { e1 } from './mqtt/e1.js';
import { jpegEncoders } from './http/jpeg.js';
import { h1 } from './http/h1.js';
import { x1, xk } from './cluster/x1.js';
import { xkTransports } from './kserve/transports.js';
import { t1 } from './objects/t1.js';
import { vlm1 } from './workers/vlm1.js';
import { cCrop } from './pipeline/c-crop.js';
import { t2 } from './objects/t2.js';
import { motion } from './motion/motion.js';

const args = process.argv.slice(2);
const implFlag = args.indexOf('--impl');
const implName = implFlag >= 0 ? args.splice(implFlag, 2)[1] : undefined;
const IMPLS = ALL_IMPLS.filter((make) => implName === undefined || make().name === implName);

const WORKLOADS: Record<string, () => Promise<void>> = {
  W1: async () => {
    for (const impl of IMPLS) await w1(impl);
  },
  W2: async () => {
    for (const impl of IMPLS) await w2(impl);
  },
  W3: async () => {
    for (const impl of IMPLS) await w3(impl);
  },
  W4: async () => {
    for (const impl of IMPLS) await w4(impl);
  },
  C1: () => c1(),
  C2: () => c2(),
  C3: () => c3(),
  POOL: () => pool(),
  D1: () => d1(),
  /** Conversion at the readers' size against the output size (ADR 0031). */
  SCALE: () => scale(),
  M1: () => m1(),
  /** M1's zero-copy comparison alone (M1 runs it too). */
  M1ZC: () => m1ZeroCopy(),
  /** M1 through the Python package's server beside the Node server (issue 35). */
  M1PY: () => m1Python(),
  PERSON: () => person(),
  'PERSON-MODELS': () => personModels(),
  YOLO: () => yolo(),
  S1: () => s1(),
  P1: () => p1(),
  P2: () => p1('P2'),
  /** P2's cameras hop by hop (ADR 0041): capture → decoded, converted, delivered, taken, result, p50/p99 at 1, 4, 16 cameras. */
  AGE: () => p1('AGE'),
  /** A main stream and a substream per camera, decoded on demand, against the main stream alone (issue 33). */
  P3: () => p3(),
  /** A quiet home (issue 44): motion-gated detection against ungated and the careful motion-gated loop, scored against the clips' schedules. */
  P4: () => p4(),
  /** What a camera costs while nobody reads it: main and substream held undecoded (ADR 0091); HOLD_TREE measures another checkout beside. */
  HOLD: () => hold(),
  /** The built-in example's CPU and memory (EXAMPLE_SCALE=output: frames at the output size, to compare). */
  EXAMPLE: () => example(),
  /** The example as the CLI runs it, in this checkout or EXAMPLE_TREE's (a before-and-after). */
  'EXAMPLE-CLI': () => exampleCli(),
  /** The system as the CLI runs it, 16 cameras for an hour: the process tree's memory, fds, threads, zombies and RSS slopes. */
  SOAK: () => soak(),
  'SOAK-CHURN': () => soakChurn(),
  /** What the first camera's memory is and what each added one costs (issue 45 item 4). */
  'MEM-DIET': () => memoryDiet(),
  /** Whether the buffers made per frame in JavaScript (RGB, letterbox, crops, JPEG) fragment malloc, per call against once (issue 45 item 1). */
  'FRAME-BUFFERS': () => frameBuffers(),
  E1: () => e1(),
  JPEG: () => jpegEncoders(),
  H1: () => h1(),
  X1: () => x1(),
  /** The socket against REST (x1.ts), then REST binary, REST JSON and gRPC at concurrency 1, 8, 32. */
  XK: async () => {
    await xk();
    await xkTransports();
  },
  /** The transports alone. */
  'XK-TRANSPORTS': () => xkTransports(),
  T1: () => t1(),
  /** A vlm worker's own cost per request and its answers' age against a stand-in server answering in 300 ms (issue 34). */
  VLM1: () => vlm1(),
  /** Cascades: crops per second and their cost at 16 cameras (issue 34). */
  'C-CROP': () => cCrop(),
  /** Lines and dwell per tracked object per frame (objects/t2.ts). */
  T2: () => t2(),
  /** What the motion detector costs a frame at 640×360 (issue 44). */
  MOTION: () => motion(),
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
