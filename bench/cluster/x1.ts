/**
 * X1 cluster failover (bench/README.md): Debian's nats-server and three
 * `framesupplier run --cluster` nodes (capacity 1 each) on one machine,
 * twelve file cameras. Five times: kill -9 one node, time until every camera
 * it held streams again on another node (the camera-state events the nodes
 * publish on NATS), then start a fresh node in its place and wait until the
 * shares are even again. Cameras ever owned twice beyond the margin come from
 * the claims log (doubleOwned). Steady-state coordination cost per node: the
 * messages its NATS connection exchanged (the server's /connz) and the CPU of
 * the node's own process (not its ffmpeg children) over a quiet window.
 * Lease and margin are the product's defaults unless given.
 *
 * Each rejoin moves cameras to the fresh node by planned moves (make-before-
 * break, ADR 0027). Every camera has a motion worker (a result a frame, 5 fps)
 * and the observer reads the results subjects: a planned move's dark time is
 * the gap between the old owner's last result and the new owner's first,
 * beyond one frame interval; a result of the old owner after the new owner's
 * first is a duplicate. Then one stall: SIGSTOP of a node for lease + margin
 * + 5 s, SIGCONT, and the results its cameras' new owners started before it
 * woke that it emitted after (late results; fencing makes them 0). Then the
 * JetStream store lost: nats-server stopped, its store deleted, started
 * again: the time until every camera's results flow again and until every
 * lease is back, the owners that changed and the stops in the claims log.
 *
 * Also XK: the remote-inference overhead: the same model-server process
 * (mock handler) answering the Unix-socket protocol (frame in shared memory)
 * and the KServe v2 REST path (frame bytes in the request body), one client
 * at a time, the same frame: per-request latency of each path and the
 * difference.
 *
 * Fields X1: nodes, cameras, lease_ms, margin_ms, kills, failover_s_p50,
 * failover_s_max, double_owned, coordination_msgs_per_s, node_cpu_pct_idle,
 * planned_moves, dark_s_p50, dark_s_max (beyond a frame interval),
 * duplicate_results, stall_s, stall_late_results, stall_double_owned,
 * store_loss_results_back_s, store_loss_leases_back_s,
 * store_loss_owner_changes, store_loss_stops.
 * Fields XK: width, height, format, requests, unix_ms_p50, unix_ms_p99,
 * http_ms_p50, http_ms_p99, overhead_ms_p50, errors.
 */
import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BUCKETS, doubleOwned, type ClaimRecord } from '../../src/cluster/index.js';
import { ModelClient, type InferenceRequest } from '../../src/ipc/index.js';
import { KServeClient, frameTensor } from '../../src/kserve/index.js';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { emit, log, percentile, round, sleep, sortedCopy } from '../stats.js';
import { CLI, startModelServerWithLine, stopModelServer } from '../ipc/server.js';
import { freePort, lineFrom } from '../../test/helpers/process.js';
import { leaseOwners, readClaims } from '../../test/cluster/helpers.js';

const run = promisify(execFile);
/** The cameras' frame rate (a motion result each frame): dark time is counted beyond one interval. */
const FPS = 5;

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`X1: timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** utime + stime of one process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // CLK_TCK is 100 on Linux
}

export interface X1Options {
  readonly kills?: number;
  readonly leaseMs?: number;
  readonly marginMs?: number;
  readonly steadyWindowMs?: number;
}

export async function x1(options: X1Options = {}): Promise<void> {
  const kills = options.kills ?? 5;
  const leaseMs = options.leaseMs ?? 6_000;
  const marginMs = options.marginMs ?? 1_000;
  const windowMs = options.steadyWindowMs ?? 20_000;
  const cameras = Array.from({ length: 12 }, (_, i) => `x1c${i}-${process.pid}`);
  const dir = mkdtempSync(join(tmpdir(), `fs-x1-${process.pid}-`));
  const shmDir = `/dev/shm/fs-x1-${process.pid}`;
  const clip = join(dir, 'clip.mp4');
  await run('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=384x288:rate=10',
    '-t',
    '10',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    '10',
    '-pix_fmt',
    'yuv420p',
    clip,
  ]);
  const port = await freePort();
  const monitor = await freePort();
  let nats = spawnManaged('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-sd', join(dir, 'nats')]);
  const nodes = new Map<string, ManagedProcess>();
  let observer: NatsConnection | null = null;
  try {
    await lineFrom(nats, /Server is ready/);
    const configPath = join(dir, 'cluster.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        shmDir,
        cluster: { servers: [`nats://127.0.0.1:${port}`], leaseMs, marginMs },
        defaults: { capture: { output: { format: 'gray', width: 64, fps: FPS }, loop: true, decoder: 'ffmpeg' } },
        cameras: Object.fromEntries(cameras.map((c) => [c, { source: clip, workers: [{ id: 'motion', module: 'builtin:motion' }] }])),
      }),
    );
    const obs = await connect({ servers: `nats://127.0.0.1:${port}`, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    observer = obs;
    /** Camera → the node of its last 'streaming' event, and when it arrived. */
    const streaming = new Map<string, { node: string; at: number }>();
    obs.subscribe('framesupplier.*.events', {
      callback: (_e, m) => {
        try {
          const event = JSON.parse(m.string()) as { type?: string; camera?: string; state?: string; node?: string };
          if (event.type === 'camera-state' && event.state === 'streaming' && typeof event.camera === 'string' && typeof event.node === 'string') {
            streaming.set(event.camera, { node: event.node, at: performance.now() });
          }
        } catch {
          // not ours
        }
      },
    });
    /** Camera → every result: its node, when the node emitted it (wall), when it arrived (monotonic). */
    const results = new Map<string, { node: string; at: number; got: number }[]>(cameras.map((c) => [c, []]));
    obs.subscribe('framesupplier.*.results', {
      callback: (_e, m) => {
        try {
          const r = JSON.parse(m.string()) as { camera?: string; node?: string; at?: number };
          if (typeof r.camera === 'string' && typeof r.node === 'string' && typeof r.at === 'number')
            results.get(r.camera)?.push({ node: r.node, at: r.at, got: performance.now() });
        } catch {
          // not ours
        }
      },
    });
    // Made here if no node has yet, so that reading it never waits for the first node.
    await new Kvm(obs).create(BUCKETS.leases, { history: 1 });
    const leases = (): Promise<Map<string, string>> => leaseOwners(obs, cameras);
    const startNode = async (id: string): Promise<void> => {
      const proc = spawnManaged(process.execPath, [CLI, 'run', configPath, '--view', 'none', '--log-level', 'warn', '--node-id', id, '--capacity', '1'], {
        group: true,
      });
      nodes.set(id, proc);
      proc.child.stdout.resume();
      // X1_LOGS=DIR keeps each node's log (warn and up) for a look after the run.
      if (process.env.X1_LOGS !== undefined) proc.child.stderr.pipe(createWriteStream(join(process.env.X1_LOGS, `${id}.log`)));
      else proc.child.stderr.resume();
      await until(async () => {
        const r = await fetch(`http://127.0.0.1:${monitor}/connz`).then((res) => res.json() as Promise<{ connections?: { name?: string }[] }>);
        return (r.connections ?? []).some((c) => c.name === `framesupplier-${id}`);
      }, `node ${id} to connect`);
    };
    /** Every live node holds cameras/3 leases and every camera streams on its lease holder. */
    const settled = async (what: string): Promise<Map<string, string>> => {
      let owners = new Map<string, string>();
      await until(
        async () => {
          owners = await leases();
          const per = new Map<string, number>();
          for (const n of owners.values()) per.set(n, (per.get(n) ?? 0) + 1);
          return (
            owners.size === cameras.length &&
            per.size === nodes.size &&
            [...per].every(([n, k]) => nodes.has(n) && k === cameras.length / nodes.size) &&
            cameras.every((c) => streaming.get(c)?.node === owners.get(c))
          );
        },
        what,
        180_000,
      );
      return owners;
    };

    const ids = ['n1', 'n2', 'n3'];
    await Promise.all(ids.map(startNode));
    await settled('the initial spread');
    log('X1: spread settled');

    // Steady state: messages per node from the server's view, CPU of each node process.
    const connz = async (): Promise<Map<string, number>> => {
      const r = (await fetch(`http://127.0.0.1:${monitor}/connz`).then((res) => res.json())) as {
        connections?: { name?: string; in_msgs?: number; out_msgs?: number }[];
      };
      return new Map(
        (r.connections ?? []).filter((c) => c.name?.startsWith('framesupplier-') === true).map((c) => [c.name!, (c.in_msgs ?? 0) + (c.out_msgs ?? 0)]),
      );
    };
    const m0 = await connz();
    const c0 = new Map([...nodes].map(([id, p]) => [id, cpuSeconds(p.pid!)]));
    const t0 = performance.now();
    await sleep(windowMs);
    const seconds = (performance.now() - t0) / 1000;
    const m1 = await connz();
    const msgs = [...nodes.keys()].map((id) => ((m1.get(`framesupplier-${id}`) ?? 0) - (m0.get(`framesupplier-${id}`) ?? 0)) / seconds);
    const cpu = [...nodes].map(([id, p]) => ((cpuSeconds(p.pid!) - c0.get(id)!) / seconds) * 100);

    const claimsLog = (): Promise<ClaimRecord[]> => readClaims(obs);
    const killedAt = new Map<string, number>();
    const failovers: number[] = [];
    const darks: number[] = [];
    let duplicates = 0;
    /** The planned moves to `node` since `since` (monotonic): for each camera whose results moved to it, dark time and duplicates. */
    const movesTo = (node: string, since: number): void => {
      for (const camera of cameras) {
        const list = results.get(camera)!.filter((r) => r.got >= since);
        const first = list.findIndex((r) => r.node === node);
        if (first <= 0) continue;
        const last = list[first - 1]!;
        darks.push(Math.max(0, (list[first]!.got - last.got) / 1000 - 1 / FPS));
        duplicates += list.slice(first).filter((r) => r.node === last.node).length;
      }
    };
    let generation = 0;
    for (let k = 0; k < kills; k++) {
      const victim = [...nodes.keys()][k % nodes.size]!;
      const before = await leases();
      const orphans = cameras.filter((c) => before.get(c) === victim);
      const proc = nodes.get(victim)!;
      const killed = performance.now();
      killedAt.set(victim, Date.now());
      process.kill(proc.pid!, 'SIGKILL');
      await proc.exited;
      nodes.delete(victim);
      await until(
        () =>
          orphans.every((c) => {
            const s = streaming.get(c);
            return s !== undefined && s.node !== victim && s.at > killed;
          }),
        `failover of ${victim}'s cameras`,
        180_000,
      );
      const failover = (Math.max(...orphans.map((c) => streaming.get(c)!.at)) - killed) / 1000;
      failovers.push(failover);
      log(`X1: kill ${k + 1}: ${orphans.length} cameras of ${victim} streaming elsewhere after ${failover.toFixed(2)} s`);
      const fresh = `${victim.replace(/-r\d+$/, '')}-r${++generation}`;
      const joining = performance.now();
      await startNode(fresh);
      await settled(`the rejoin of ${fresh}`);
      movesTo(fresh, joining);
    }
    log(`X1: ${darks.length} planned moves, dark ${darks.map((d) => d.toFixed(2)).join(' ')} s beyond a frame interval`);

    // A stall: SIGSTOP past lease + margin, so that the others take its cameras, then SIGCONT.
    const stallMs = leaseMs + marginMs + 5_000;
    const sleeper = [...nodes.keys()][0]!;
    const ownersNow = await leases();
    const sleeperCameras = cameras.filter((c) => ownersNow.get(c) === sleeper);
    const stalled = Date.now();
    process.kill(nodes.get(sleeper)!.pid!, 'SIGSTOP');
    await sleep(stallMs);
    process.kill(nodes.get(sleeper)!.pid!, 'SIGCONT');
    await settled('the shares after the stall');
    const afterStall = await claimsLog();
    let lateResults = 0;
    for (const camera of sleeperCameras) {
      const taken = afterStall.find((r) => r.camera === camera && r.action === 'start' && r.node !== sleeper && r.at >= stalled);
      if (taken !== undefined) lateResults += results.get(camera)!.filter((r) => r.node === sleeper && r.at >= taken.at).length;
    }
    // Over the whole log, killed nodes' claims ending at their kill: the stall's own overlaps are what is new.
    const stallDoubled = doubleOwned(
      afterStall.filter((r) => cameras.includes(r.camera)),
      marginMs,
      (node) => killedAt.get(node),
    );
    log(`X1: stall of ${sleeper} for ${stallMs} ms: ${lateResults} late results, ${stallDoubled.length} cameras owned twice`);

    // The JetStream store lost: nats-server stopped, its store deleted, started again.
    const claimsBeforeLoss = await claimsLog();
    const ownersBeforeLoss = await leases();
    await nats.stop(5_000);
    rmSync(join(dir, 'nats'), { recursive: true, force: true });
    nats = spawnManaged('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-sd', join(dir, 'nats')]);
    await lineFrom(nats, /Server is ready/);
    const restarted = performance.now();
    const restartedWall = Date.now();
    await until(() => cameras.every((c) => results.get(c)!.some((r) => r.got > restarted)), 'results after the store loss', 180_000);
    const resultsBack = (performance.now() - restarted) / 1000;
    let ownersAfterLoss = new Map<string, string>();
    await until(
      async () => {
        // The bucket may not be back yet: not yet.
        const owners = await leaseOwners(obs, cameras).catch(() => null);
        if (owners === null) return false;
        ownersAfterLoss = owners;
        return owners.size === cameras.length;
      },
      'every lease back after the store loss',
      180_000,
    );
    const leasesBack = (performance.now() - restarted) / 1000;
    const ownerChanges = cameras.filter((c) => ownersAfterLoss.get(c) !== ownersBeforeLoss.get(c)).length;
    const lossStops = (await claimsLog()).filter((r) => r.action === 'stop' && r.at >= restartedWall && cameras.includes(r.camera)).length;
    log(
      `X1: store loss: results back after ${resultsBack.toFixed(2)} s, leases after ${leasesBack.toFixed(2)} s, ${ownerChanges} owners changed, ${lossStops} stops`,
    );

    const records = claimsBeforeLoss;
    const doubled = doubleOwned(
      records.filter((r) => cameras.includes(r.camera)),
      marginMs,
      (node) => killedAt.get(node),
    );
    const sorted = sortedCopy(failovers);
    emit({
      workload: 'X1',
      impl: 'framesupplier',
      nodes: 3,
      cameras: cameras.length,
      lease_ms: leaseMs,
      margin_ms: marginMs,
      kills,
      failover_s_p50: round(percentile(sorted, 50), 2),
      failover_s_max: round(sorted[sorted.length - 1] ?? Number.NaN, 2),
      double_owned: doubled.length,
      coordination_msgs_per_s: round(msgs.reduce((a, b) => a + b, 0) / msgs.length, 1),
      coordination_msgs_per_s_by_node: msgs.map((m) => round(m, 1)),
      node_cpu_pct_idle: round(cpu.reduce((a, b) => a + b, 0) / cpu.length, 2),
      node_cpu_pct_by_node: cpu.map((c) => round(c, 2)),
      fps: FPS,
      planned_moves: darks.length,
      dark_s_p50: round(percentile(sortedCopy(darks), 50), 3),
      dark_s_max: round(Math.max(...darks), 3),
      duplicate_results: duplicates,
      stall_s: stallMs / 1000,
      stall_late_results: lateResults,
      stall_double_owned: stallDoubled.length,
      store_loss_results_back_s: round(resultsBack, 2),
      store_loss_leases_back_s: round(leasesBack, 2),
      store_loss_owner_changes: ownerChanges,
      store_loss_stops: lossStops,
    });
  } finally {
    for (const proc of nodes.values()) await proc.stop(5_000);
    await observer?.close().catch(() => undefined);
    await nats.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
    rmSync(shmDir, { recursive: true, force: true });
  }
}

/** XK: Unix socket + shared memory against KServe v2 REST, same server process, mock handler. */
export async function xk(total = 2_000, warmup = 200): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `fs-xk-${process.pid}-`));
  const shmDir = join(dir, 'shm');
  const socketPath = join(dir, 'mock.sock');
  const { server, line } = await startModelServerWithLine(['--handler', 'mock', '--socket', socketPath, '--shm-dir', shmDir, '--http', '127.0.0.1:0']);
  try {
    for (const [width, height] of [
      [768, 576],
      [1920, 1080],
    ] as const) {
      const raw = join(dir, `frame-${width}.nv12`);
      const bytes = Buffer.alloc((width * height * 3) / 2, 128);
      writeFileSync(raw, bytes);
      const camera = `camera_${width}`;
      const { stdout } = await run(process.execPath, [
        CLI,
        'shm',
        'write',
        '--camera',
        camera,
        '--input',
        raw,
        '--width',
        String(width),
        '--height',
        String(height),
        '--format',
        'NV12',
        '--shm-dir',
        shmDir,
      ]);
      const ref = JSON.parse(stdout) as Pick<InferenceRequest, 'frame_reference' | 'frame_metadata'>;
      const unix = new ModelClient({ socketPath, mode: 'persistent', timeoutMs: 30_000 });
      const http = new KServeClient({ url: `http://${String(line.http)}`, model: 'mock', timeoutMs: 30_000 });
      const input = frameTensor({ data: bytes, width, height, format: 'NV12' });
      let errors = 0;
      const time = async (call: () => Promise<unknown>, n: number): Promise<Float64Array> => {
        const out: number[] = [];
        for (let i = 0; i < n; i++) {
          const t = performance.now();
          try {
            await call();
          } catch {
            errors++;
          }
          out.push(performance.now() - t);
        }
        return sortedCopy(out);
      };
      const unixCall = async (): Promise<void> => {
        const r = await unix.request({ ...ref, camera_id: camera, model_id: 'mock', timestamp: Date.now() / 1000 });
        if (r.error !== null) throw new Error(r.error.code);
      };
      const httpCall = (): Promise<unknown> => http.infer({ inputs: [input], parameters: { camera_id: camera } });
      await time(unixCall, warmup);
      await time(httpCall, warmup);
      errors = 0;
      // Interleaved in blocks so load from other work on the machine falls on both paths alike.
      const u: number[] = [];
      const h: number[] = [];
      for (let b = 0; b < 10; b++) {
        u.push(...(await time(unixCall, total / 10)));
        h.push(...(await time(httpCall, total / 10)));
      }
      unix.close();
      http.close();
      const us = sortedCopy(u);
      const hs = sortedCopy(h);
      emit({
        workload: 'XK',
        impl: 'framesupplier',
        handler: 'mock',
        width,
        height,
        format: 'NV12',
        requests: total,
        unix_ms_p50: round(percentile(us, 50)),
        unix_ms_p99: round(percentile(us, 99)),
        http_ms_p50: round(percentile(hs, 50)),
        http_ms_p99: round(percentile(hs, 99)),
        overhead_ms_p50: round(percentile(hs, 50) - percentile(us, 50)),
        errors,
      });
    }
  } finally {
    await stopModelServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
}
