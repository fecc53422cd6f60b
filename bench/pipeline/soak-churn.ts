/**
 * SOAK-CHURN (issue 45 item 3, ADR 0068): in an hour what a month does to the system's memory. The system runs
 * as a user runs it (`framesupplier run <generated config> --view none`, a child process, the HTTP API, MQTT and
 * the events store on) while the bench makes happen, again and again, the events a month brings:
 *
 * - reconnects: SOAK_CHURN_RTSP_CAMERAS (4) cameras read a real RTSP server (GStreamer, test/capture/rtsp_server.py)
 *   that is killed every SOAK_CHURN_RTSP_S (6) seconds and started again a second later on the same port;
 * - model restarts: the shared model server (the mock, P2's) killed (SIGKILL) every SOAK_CHURN_MODEL_S (60);
 * - config changes: a camera added and the one added before removed every SOAK_CHURN_CAMERA_S (10), and a
 *   camera's areas (a zone and a line) changed every SOAK_CHURN_AREAS_S (5), all through the HTTP API;
 * - MQTT reconnects: the broker (Debian's mosquitto) stopped and started again every SOAK_CHURN_MQTT_S (60);
 * - dashboard sockets: /api/ws opened, read and closed every SOAK_CHURN_SOCKET_S (5);
 * - the events store pruning: events kept for 20 s, pruned every minute (the store's own period).
 *
 * Beside those, SOAK_CHURN_CAMERAS (4) cameras of P2's clip looped, as SOAK runs them. Every SOAK_CHURN_INTERVAL_S
 * (15) it samples the process tree from /proc (RSS, the system's by kind: anonymous, file, shared; fds, threads,
 * processes, zombies), the system's stats().memory (JS heap used and held, malloc, jemalloc's resident bytes by
 * kind) and the events' counts. The figures, after SOAK_CHURN_WARMUP_S (600: V8's held heap and jemalloc's resident
 * pages take about ten minutes of this churn to reach their working size, 2026-11-27): each memory figure's
 * least-squares slope against each event's count (per thousand events, with its standard error) and against time.
 * The events happen together, so each slope charges all the growth to that one event: an upper bound of its cost.
 * SOAK_CHURN_SECONDS (3600) long. A period longer than the run switches its event off (to give a growth its owner).
 * SOAK_CHURN_HEAP_SNAPSHOTS (seconds from the start, comma-separated): heap snapshots of the system process, the
 * first compared with the last by kind and holder, as SOAK's (SOAK_HEAP_DIR keeps them).
 * The system runs on BENCH_ALLOCATOR's malloc (jemalloc by default, as shipped: bench/proc.ts); every line names
 * the one its process has (`system_allocator`, from its memory maps, and `malloc`, its stats' own word), and the
 * summary the environment it was given (`malloc_env`: MALLOC_ARENA_MAX, LD_PRELOAD, MALLOC_CONF).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { SystemStats } from '../../src/pipeline/index.js';
import { RtspServer } from '../../test/capture/fixtures.js';
import { Mosquitto } from '../../test/helpers/mosquitto.js';
import { smallH264Clip } from '../../test/pipeline/helpers.js';
import { diff, diffRecord, summarize, takeHeapSnapshot } from '../heap-diff.js';
import { allocatorOf, dashboardUrl, sampleTree, startSystemRun, systemEnv } from '../proc.js';
import { emit, log, round, sleep } from '../stats.js';
import { cameraClip, P2_MODEL } from './p1.js';

const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url));
const MB = 2 ** 20;
const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

/** Least-squares slope of y on x and its standard error; NaN under three points or with x constant. */
export function fit(xs: readonly number[], ys: readonly number[]): { slope: number; stderr: number } {
  const n = Math.min(xs.length, ys.length);
  if (n < 3) return { slope: Number.NaN, stderr: Number.NaN };
  const mx = xs.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const my = ys.slice(0, n).reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  if (sxx === 0) return { slope: Number.NaN, stderr: Number.NaN };
  const slope = sxy / sxx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - my - slope * (xs[i]! - mx)) ** 2;
  return { slope, stderr: Math.sqrt(sse / (n - 2) / sxx) };
}

function fileCamera(source: string): Record<string, unknown> {
  return {
    source,
    capture: { loop: true, output: { format: 'nv12' } },
    workers: [
      { id: 'model', model: 'shared', maxFps: 2, track: true },
      { id: 'motion', module: 'builtin:motion', readSize: 'any' },
    ],
  };
}

export async function soakChurn(): Promise<void> {
  const seconds = env('SOAK_CHURN_SECONDS', 3600);
  const intervalS = env('SOAK_CHURN_INTERVAL_S', 15);
  const warmupS = env('SOAK_CHURN_WARMUP_S', 600);
  const fileCameras = env('SOAK_CHURN_CAMERAS', 4);
  const rtspCameras = env('SOAK_CHURN_RTSP_CAMERAS', 4);
  const period = {
    rtsp: env('SOAK_CHURN_RTSP_S', 6),
    model: env('SOAK_CHURN_MODEL_S', 60),
    camera: env('SOAK_CHURN_CAMERA_S', 10),
    areas: env('SOAK_CHURN_AREAS_S', 5),
    mqtt: env('SOAK_CHURN_MQTT_S', 60),
    socket: env('SOAK_CHURN_SOCKET_S', 5),
  };
  const tree = process.env.SOAK_TREE ?? CHECKOUT;
  const [clip, small] = await Promise.all([cameraClip(), smallH264Clip()]);
  const dir = mkdtempSync(join(tmpdir(), 'framesupplier-soak-churn-'));
  const rtsp = await new RtspServer(small).start();
  const broker = await Mosquitto.start();
  const rtspIds = Array.from({ length: rtspCameras }, (_, i) => `rtsp_${i}`);
  const config = {
    version: 1,
    logLevel: 'warn',
    shmDir: `/dev/shm/framesupplier-soak-churn-${process.pid}`,
    models: { shared: { ...P2_MODEL, restart: { initialMs: 200, maxMs: 2_000 } } },
    http: { host: '127.0.0.1', port: 0 },
    mqtt: { url: broker.url, reconnect: { initialMs: 200, maxMs: 2_000 } },
    events: { database: join(dir, 'events.db'), maxAgeDays: 20 / 86_400, maxSizeMb: 16 },
    cameras: {
      ...Object.fromEntries(Array.from({ length: fileCameras }, (_, i) => [`cam_${i}`, fileCamera(clip)])),
      ...Object.fromEntries(
        rtspIds.map((id) => [
          id,
          {
            source: rtsp.url,
            capture: { stallTimeoutMs: 2_000, connectTimeoutMs: 3_000, backoff: { initialMs: 200, maxMs: 1_000 } },
            workers: [
              { id: 'model', model: 'shared', maxFps: 2, track: true },
              { id: 'motion', module: 'builtin:motion', readSize: 'any' },
            ],
          },
        ]),
      ),
    },
  };
  const configPath = join(dir, 'churn.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const token = randomBytes(24).toString('hex');
  const snapshots: string[] = [];
  const { child, exited, root, snapshotsAt, heapDir } = startSystemRun({ tree, configPath, token, stateDir: dir, snapshotsEnv: 'SOAK_CHURN_HEAP_SNAPSHOTS' });
  const stop = new AbortController();
  const loops: Promise<void>[] = [];
  try {
    const url = await dashboardUrl(child, `the system in ${tree}`);
    const systemAllocator = allocatorOf(root);
    const api = async (method: string, path: string, body?: unknown): Promise<unknown> => {
      const res = await fetch(new URL(path, url), {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text === '' ? null : JSON.parse(text);
    };
    const stats = async (): Promise<SystemStats> => (await api('GET', '/api/stats')) as SystemStats;

    // What the bench made happen, counted as it happened (done, not asked).
    const counts = { rtspKills: 0, modelKills: 0, camerasAdded: 0, camerasRemoved: 0, areaChanges: 0, brokerRestarts: 0, sockets: 0, failures: 0 };
    const every = (s: number, what: string, act: () => Promise<void>): void => {
      loops.push(
        (async () => {
          while (!stop.signal.aborted) {
            // Abortable: a long period (an event switched off) must not hold the bench's end.
            await delay(s * 1000, undefined, { signal: stop.signal }).catch(() => undefined);
            if (stop.signal.aborted) return;
            try {
              await act();
            } catch (error) {
              counts.failures++;
              log(`SOAK-CHURN: ${what}: ${(error as Error).message}`);
            }
          }
        })(),
      );
    };
    every(period.rtsp, 'rtsp restart', async () => {
      await rtsp.kill();
      counts.rtspKills++;
      await sleep(1_000);
      await rtsp.start();
    });
    every(period.model, 'model kill', async () => {
      const pid = (await stats()).models.shared?.pid;
      if (pid == null) return;
      process.kill(pid, 'SIGKILL');
      counts.modelKills++;
    });
    let added = 0;
    every(period.camera, 'camera add/remove', async () => {
      await api('POST', `/api/cameras/churn_${added}`, fileCamera(clip));
      counts.camerasAdded++;
      if (added > 0) {
        await api('DELETE', `/api/cameras/churn_${added - 1}`);
        counts.camerasRemoved++;
      }
      added++;
    });
    every(period.areas, 'areas', async () => {
      const x = 0.1 + (counts.areaChanges % 10) / 20;
      await api('PUT', '/api/cameras/cam_0/areas', {
        zones: {
          door: {
            polygon: [
              [x, 0.1],
              [x + 0.3, 0.1],
              [x + 0.3, 0.6],
              [x, 0.6],
            ],
          },
        },
        lines: {
          gate: {
            points: [
              [x, 0.8],
              [x + 0.3, 0.8],
            ],
          },
        },
      });
      counts.areaChanges++;
    });
    every(period.mqtt, 'broker restart', async () => {
      await broker.stop();
      counts.brokerRestarts++;
      await sleep(1_000);
      await broker.start();
    });
    every(period.socket, 'dashboard socket', async () => {
      const ws = new WebSocket(new URL('/api/ws', url.replace(/^http/, 'ws')));
      try {
        // Settles on the first message, an error, a close before any message, the bench's stop, or 10 s of nothing:
        // waiting for the message alone held the bench's end for good once a socket was closed without one.
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => done(new Error('the dashboard socket sent nothing in 10 s')), 10_000);
          const onStop = (): void => done(new Error('stopped'));
          function done(error?: Error): void {
            clearTimeout(timer);
            stop.signal.removeEventListener('abort', onStop);
            if (error === undefined) resolve();
            else reject(error);
          }
          ws.addEventListener('message', () => done(), { once: true });
          ws.addEventListener('error', () => done(new Error('the dashboard socket failed')), { once: true });
          ws.addEventListener('close', (e) => done(new Error(`the dashboard socket closed (${e.code}) before a message`)), { once: true });
          stop.signal.addEventListener('abort', onStop, { once: true });
        });
        await sleep(1_000);
      } finally {
        ws.close();
      }
      counts.sockets++;
    });

    log(`SOAK-CHURN: ${fileCameras}+${rtspCameras} cameras for ${seconds} s, a sample every ${intervalS} s; API at ${url}`);
    const t0 = performance.now();
    type Series = Record<string, number[]>;
    const series: Series = {};
    const push = (key: string, v: number): void => void (series[key] ??= []).push(v);
    let zombiesMax = 0;
    let lastSample: Record<string, unknown> = {};
    const ended = (): Error | null =>
      child.exitCode !== null || child.signalCode !== null ? new Error(`the system exited (code ${child.exitCode}, signal ${child.signalCode})`) : null;
    for (let i = 0; ; i++) {
      const wait = t0 + i * intervalS * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
      const gone = ended();
      if (gone !== null) throw gone;
      const tS = (performance.now() - t0) / 1000;
      let s: SystemStats;
      try {
        s = await stats();
      } catch (error) {
        // The API gone: how the system ended, if it did (a signal is a native crash or a kill), rather than a refused fetch.
        if (child.exitCode === null && child.signalCode === null) await Promise.race([once(child, 'exit'), delay(5_000)]);
        throw ended() ?? error;
      }
      const procs = sampleTree(root);
      const zombies = procs.filter((p) => p.state === 'Z').length;
      zombiesMax = Math.max(zombiesMax, zombies);
      const reconnects = rtspIds.reduce((n, id) => n + (s.cameras[id]?.capture?.restarts ?? 0), 0);
      const system = procs.find((p) => p.pid === root);
      const sample = {
        t_s: round(tS, 1),
        tree_rss_mb: round(procs.reduce((n, p) => n + p.rssBytes, 0) / MB, 1),
        system_rss_mb: round((system?.rssBytes ?? 0) / MB, 1),
        // Where the system's RSS is: anonymous (malloc, V8's heap, thread stacks), file-backed (code), shared (frame stores).
        system_anon_mb: round((system?.anonBytes ?? 0) / MB, 1),
        system_file_mb: round((system?.fileBytes ?? 0) / MB, 1),
        system_shmem_mb: round((system?.shmemBytes ?? 0) / MB, 1),
        heap_used_mb: round(s.memory.heapUsed / MB, 1),
        // What V8 holds from the system for its heap, used or not (a growth here and not in heap_used is V8's own).
        heap_total_mb: round(s.memory.heap.totalBytes / MB, 1),
        malloc_in_use_mb: round((s.memory.malloc?.inUseBytes ?? 0) / MB, 1),
        malloc_arena_mb: round((s.memory.malloc?.arenaBytes ?? 0) / MB, 1),
        // jemalloc's resident bytes by kind: active (allocated and its slabs' free room), dirty and muzzy (freed, kept), metadata.
        malloc_active_mb: round((s.memory.malloc?.jemalloc?.activeBytes ?? 0) / MB, 1),
        malloc_dirty_mb: round((s.memory.malloc?.jemalloc?.dirtyBytes ?? 0) / MB, 1),
        malloc_muzzy_mb: round((s.memory.malloc?.jemalloc?.muzzyBytes ?? 0) / MB, 1),
        malloc_metadata_mb: round((s.memory.malloc?.jemalloc?.metadataBytes ?? 0) / MB, 1),
        fds: procs.reduce((n, p) => n + p.fds, 0),
        threads: procs.reduce((n, p) => n + p.threads, 0),
        processes: procs.length,
        zombies,
        // The events, as the system counted them where it can (reconnects, model restarts, MQTT reconnects).
        reconnects,
        model_restarts: s.models.shared?.restarts ?? 0,
        config_changes: counts.camerasAdded + counts.camerasRemoved + counts.areaChanges,
        broker_restarts: counts.brokerRestarts,
        sockets: counts.sockets,
        rtsp_kills: counts.rtspKills,
        model_kills: counts.modelKills,
        cameras: Object.keys(s.cameras).length,
        streaming: Object.values(s.cameras).filter((c) => c.state === 'streaming').length,
        failures: counts.failures,
        loadavg_1m: round(loadavg()[0]!, 2),
      };
      lastSample = sample;
      emit({ workload: 'SOAK-CHURN', ...sample, system_allocator: systemAllocator, malloc: s.memory.malloc?.allocator ?? null });
      if (snapshots.length < snapshotsAt.length && tS >= snapshotsAt[snapshots.length]!) {
        snapshots.push(await takeHeapSnapshot(root, heapDir, stats));
        emit({ workload: 'SOAK-CHURN', heap_snapshot: snapshots.at(-1), t_s: round(tS, 1) });
      }
      if (tS >= warmupS) for (const [key, v] of Object.entries(sample)) push(key, v);
      if (tS >= seconds) break;
    }
    const figures = [
      'tree_rss_mb',
      'system_rss_mb',
      'system_anon_mb',
      'system_file_mb',
      'system_shmem_mb',
      'heap_used_mb',
      'heap_total_mb',
      'malloc_in_use_mb',
      'malloc_arena_mb',
      'malloc_active_mb',
      'malloc_dirty_mb',
      'malloc_muzzy_mb',
      'malloc_metadata_mb',
      'fds',
      'threads',
      'processes',
    ];
    const events = ['reconnects', 'model_restarts', 'config_changes', 'broker_restarts', 'sockets'];
    const perThousand: Record<string, Record<string, { slope: number; stderr: number; events: number }>> = {};
    const perHour: Record<string, { slope: number; stderr: number }> = {};
    for (const figure of figures) {
      const ys = series[figure] ?? [];
      const t = fit(series.t_s ?? [], ys);
      perHour[figure] = { slope: round(t.slope * 3600, 2), stderr: round(t.stderr * 3600, 2) };
      perThousand[figure] = {};
      for (const event of events) {
        const xs = series[event] ?? [];
        const f = fit(xs, ys);
        perThousand[figure][event] = { slope: round(f.slope * 1000, 2), stderr: round(f.stderr * 1000, 2), events: (xs.at(-1) ?? 0) - (xs[0] ?? 0) };
      }
    }
    emit({
      workload: 'SOAK-CHURN',
      summary: true,
      seconds,
      interval_s: intervalS,
      warmup_s: warmupS,
      cameras: fileCameras,
      rtsp_cameras: rtspCameras,
      periods_s: period,
      samples_after_warmup: series.t_s?.length ?? 0,
      // Each figure (MB, or a count) per thousand of each event over the run after warm-up, ± its standard error.
      per_thousand: perThousand,
      per_hour: perHour,
      zombies_max: zombiesMax,
      system_allocator: systemAllocator,
      malloc_env: {
        MALLOC_ARENA_MAX: systemEnv().MALLOC_ARENA_MAX ?? null,
        LD_PRELOAD: systemEnv().LD_PRELOAD ?? null,
        MALLOC_CONF: systemEnv().MALLOC_CONF ?? null,
        GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? null,
      },
      last: lastSample,
    });
    if (snapshots.length >= 2)
      emit({
        workload: 'SOAK-CHURN',
        system_allocator: systemAllocator,
        heap_diff: diffRecord(diff(summarize(snapshots[0]!), summarize(snapshots.at(-1)!))),
        snapshots,
      });
  } finally {
    stop.abort();
    await Promise.allSettled(loops);
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await rtsp.kill();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
