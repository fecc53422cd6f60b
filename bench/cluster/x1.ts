/**
 * X1 cluster failover (WORKLOADS.md): Debian's nats-server and three
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
 * Also XK: the remote-inference overhead: the same model-server process
 * (mock handler) answering the Unix-socket protocol (frame in shared memory)
 * and the KServe v2 REST path (frame bytes in the request body), one client
 * at a time, the same frame: per-request latency of each path and the
 * difference.
 *
 * Fields X1: nodes, cameras, lease_ms, margin_ms, kills, failover_s_p50,
 * failover_s_max, double_owned, coordination_msgs_per_s, node_cpu_pct_idle.
 * Fields XK: width, height, format, requests, unix_ms_p50, unix_ms_p99,
 * http_ms_p50, http_ms_p99, overhead_ms_p50, errors.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BUCKETS, CLAIMS_STREAM, doubleOwned, parseClaim, parseLease, type ClaimRecord } from '../../src/cluster/index.js';
import { ModelClient, type InferenceRequest } from '../../src/ipc/index.js';
import { KServeClient, frameTensor } from '../../src/kserve/index.js';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { emit, log, percentile, round, sleep, sortedCopy } from '../stats.js';
import { CLI, startModelServerWithLine, stopModelServer } from '../ipc/server.js';
import { freePort, lineFrom } from '../../test/helpers/process.js';

const run = promisify(execFile);

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
  const nats = spawnManaged('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-sd', join(dir, 'nats')]);
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
        defaults: { capture: { output: { format: 'gray', width: 64, fps: 2 }, loop: true, decoder: 'ffmpeg' } },
        cameras: Object.fromEntries(cameras.map((c) => [c, { source: clip }])),
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
    const leasesKv = await new Kvm(obs).create(BUCKETS.leases, { history: 1 });
    const leases = async (): Promise<Map<string, string>> => {
      const out = new Map<string, string>();
      for (const camera of cameras) {
        const e = await leasesKv.get(camera);
        if (e !== null && e.operation === 'PUT') out.set(camera, parseLease(e.value).node);
      }
      return out;
    };
    const startNode = async (id: string): Promise<void> => {
      const proc = spawnManaged(process.execPath, [CLI, 'run', configPath, '--view', 'none', '--log-level', 'warn', '--node-id', id, '--capacity', '1'], {
        group: true,
      });
      nodes.set(id, proc);
      proc.child.stdout.resume();
      proc.child.stderr.resume();
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

    const killedAt = new Map<string, number>();
    const failovers: number[] = [];
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
      await startNode(fresh);
      await settled(`the rejoin of ${fresh}`);
    }

    const jsm = await jetstreamManager(obs);
    const info = await jsm.streams.info(CLAIMS_STREAM);
    const records: ClaimRecord[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(CLAIMS_STREAM, { seq }).catch(() => null);
      if (m !== null) records.push(parseClaim(m.data));
    }
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
