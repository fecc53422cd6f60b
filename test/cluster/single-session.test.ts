/**
 * A planned move of a camera that allows one session at a time (as many RTSP
 * and HTTP cameras do): a real MJPEG camera over HTTP that answers a second
 * viewer with 503, two `framesupplier run --cluster` nodes on a real
 * nats-server. The joining node's standby cannot open the camera, so the
 * move falls back to break-before-make: the owner closes its session, passes
 * the lease, and the new owner opens the camera at once. The claims log says
 * so, and the camera streams on the new owner.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { doubleOwned, type ClaimRecord } from '../../src/cluster/index.js';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { VTEST } from '../helpers/media.js';
import { eventuallyAsync, freePort, lineFrom } from '../helpers/process.js';
import { leaseOwners, readClaims, startClusterNode } from './helpers.js';
import { smallH264Clip } from '../pipeline/helpers.js';

const SINGLE = `z-single-${process.pid}`; // sorted last: the camera the owner offers first
const OTHER = `a-file-${process.pid}`;
const LEASE_MS = 4_000;
const MARGIN_MS = 1_000;

describe('a planned move of a single-session camera falls back to break-before-make', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `framesupplier-single-${process.pid}-`));
  let nats: ManagedProcess;
  let observer: NatsConnection;
  let camera: Server;
  let viewer: ChildProcess | null = null;
  let refusals = 0;
  const nodes = new Map<string, ManagedProcess>();
  let configPath: string;
  /** Results per node of the single-session camera. */
  const resultsBy = new Map<string, number>();

  before(async () => {
    // One viewer at a time: a second gets 503 while the first is connected.
    camera = createServer((req, res) => {
      if (viewer !== null) {
        refusals++;
        res.writeHead(503).end('one session at a time');
        return;
      }
      const encoder = spawn(
        'ffmpeg',
        [
          '-hide_banner',
          '-loglevel',
          'error',
          '-nostdin',
          '-re',
          '-stream_loop',
          '-1',
          '-i',
          VTEST,
          '-an',
          '-vf',
          'scale=160:-2',
          '-q:v',
          '8',
          '-f',
          'mpjpeg',
          'pipe:1',
        ],
        {
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      viewer = encoder;
      res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace;boundary=ffmpeg' });
      encoder.stdout.pipe(res);
      res.on('close', () => {
        encoder.kill('SIGKILL');
        if (viewer === encoder) viewer = null;
      });
    });
    await new Promise<void>((resolve) => camera.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(camera.address() as { port: number }).port}/mjpeg`;
    const port = await freePort();
    nats = spawnManaged('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'nats')]);
    await lineFrom(nats, /Server is ready/);
    configPath = join(dir, 'cluster.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        shmDir: `/dev/shm/framesupplier-single-test-${process.pid}`,
        cluster: { servers: [`nats://127.0.0.1:${port}`], leaseMs: LEASE_MS, marginMs: MARGIN_MS, settleMs: 3_000 },
        defaults: { capture: { output: { format: 'gray', width: 64, fps: 5 }, backoff: { initialMs: 500, maxMs: 2_000 } } },
        cameras: {
          [SINGLE]: { source: url, capture: { inputFormat: 'mpjpeg' }, workers: [{ id: 'motion', module: 'builtin:motion' }] },
          [OTHER]: { source: await smallH264Clip(), capture: { loop: true, decoder: 'ffmpeg' } },
        },
      }),
    );
    observer = await connect({ servers: `nats://127.0.0.1:${port}` });
    observer.subscribe(`framesupplier.${SINGLE}.results`, {
      callback: (_e, m) => {
        const node = (JSON.parse(m.string()) as { node: string }).node;
        resultsBy.set(node, (resultsBy.get(node) ?? 0) + 1);
      },
    });
  });

  after(async () => {
    for (const proc of nodes.values()) await proc.stop(5_000);
    await observer?.close().catch(() => undefined);
    await nats?.stop(5_000);
    camera?.closeAllConnections();
    await new Promise((r) => camera?.close(r));
    rmSync(dir, { recursive: true, force: true });
    rmSync(`/dev/shm/framesupplier-single-test-${process.pid}`, { recursive: true, force: true });
  });

  const startNode = async (id: string): Promise<void> => void (await startClusterNode(nodes, configPath, id));
  const owner = async (): Promise<string | null> => (await leaseOwners(observer, [SINGLE])).get(SINGLE) ?? null;
  const claims = async (): Promise<ClaimRecord[]> => (await readClaims(observer)).filter((r) => r.camera === SINGLE);
  const polled = (check: () => Promise<boolean>, what: string): Promise<void> => eventuallyAsync(check, what, 120_000);

  it('the standby is refused a second session; the owner closes its session first; the new owner streams', async () => {
    await startNode('s1');
    await polled(async () => (await owner()) === 's1' && (resultsBy.get('s1') ?? 0) > 0, 's1 streams the single-session camera');
    await startNode('s2');
    await polled(async () => (await owner()) === 's2' && (resultsBy.get('s2') ?? 0) > 0, 'the camera moved to s2 and streams there');
    assert.ok(refusals >= 1, 'the standby was refused a second session');
    const records = await claims();
    const start = records.find((r) => r.node === 's2' && r.action === 'start')!;
    const stop = records.find((r) => r.node === 's1' && r.action === 'stop')!;
    assert.ok(records.some((r) => r.node === 's2' && r.action === 'standby'));
    assert.match(start.reason, /break-before-make/);
    assert.match(stop.reason, /planned move to s2 \(break-before-make\)/);
    assert.ok(stop.at <= start.at);
    assert.deepEqual(doubleOwned(records, MARGIN_MS), []);
  });
});
