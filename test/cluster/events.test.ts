/**
 * Tracked-object events across the cluster (ADR 0033) with real processes:
 * Debian's nats-server and two `framesupplier run --cluster` nodes, each with
 * its own events store and HTTP API, two cameras of a lavfi video with a red
 * square standing still, read by the colour detector (test/objects) with
 * `track` on.
 *
 * - The first node runs both cameras; the second joins and one camera moves
 *   to it by a planned move. The moved camera's track ends on the old node
 *   (an `end`: end_time set, in the old node's store) and a new one, of
 *   another id, starts on the new node.
 * - GET /api/events on either node answers for every camera of the cluster:
 *   both cameras, both of the moved camera's tracks, with every node listed
 *   as answered and none missing; filters (camera) go to every node.
 * - A snapshot is served by either node, whichever stored it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import type { TrackedObject } from '../../src/objects/index.js';
import { eventuallyAsync, freePort, lineFrom } from '../helpers/process.js';
import { leaseOwners, startClusterNode } from './helpers.js';

const DETECTOR = fileURLToPath(new URL('../objects/colour-detector.js', import.meta.url));
const CAMERAS = [`ev0-${process.pid}`, `ev1-${process.pid}`];
const VIDEO = 'lavfi:color=c=black:s=160x120:r=10[bg];color=c=red:s=24x24:r=10[r];[bg][r]overlay=x=60:y=60';
const WAIT = 90_000;

interface Answer {
  readonly events: TrackedObject[];
  readonly nodes: string[];
  readonly missing: { node: string; code: string }[];
}

describe('GET /api/events in cluster mode answers for every camera of the cluster', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `framesupplier-cluster-events-${process.pid}-`));
  let nats: ManagedProcess;
  let observer: NatsConnection;
  const nodes = new Map<string, ManagedProcess>();
  const http = new Map<string, string>();

  const owners = (): Promise<Map<string, string>> => leaseOwners(observer, CAMERAS);
  const until = (check: () => Promise<boolean>, what: string): Promise<void> => eventuallyAsync(check, what, WAIT);
  const events = async (node: string, query = ''): Promise<Answer> => {
    const response = await fetch(`${http.get(node)!}/api/events${query}`);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as Answer;
  };

  const startNode = async (id: string, natsPort: number): Promise<void> => {
    const port = await freePort();
    const config = join(dir, `${id}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        shmDir: `/dev/shm/framesupplier-cluster-events-${process.pid}-${id}`,
        cluster: { servers: [`nats://127.0.0.1:${natsPort}`], leaseMs: 4_000, marginMs: 1_000, settleMs: 4_000 },
        // Each node its own store: a camera's history is on each node that ran it.
        events: { database: join(dir, `${id}.db`) },
        cameras: Object.fromEntries(
          CAMERAS.map((c) => [
            c,
            {
              source: VIDEO,
              capture: { output: { format: 'rgb24' } },
              workers: [{ id: 'colours', module: DETECTOR, maxFps: 4, track: { confirmHits: 2 } }],
            },
          ]),
        ),
      }),
    );
    await startClusterNode(nodes, config, id, { args: ['--http', `127.0.0.1:${port}`] });
    http.set(id, `http://127.0.0.1:${port}`);
  };

  let natsPort: number;
  before(async () => {
    natsPort = await freePort();
    nats = spawnManaged('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', join(dir, 'nats')]);
    await lineFrom(nats, /Server is ready/);
    observer = await connect({ servers: `nats://127.0.0.1:${natsPort}`, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  });

  after(async () => {
    for (const proc of nodes.values()) await proc.stop(5_000);
    await observer?.close().catch(() => undefined);
    await nats?.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
    for (const id of nodes.keys()) rmSync(`/dev/shm/framesupplier-cluster-events-${process.pid}-${id}`, { recursive: true, force: true });
  });

  it('a moved camera ends its track on the old node and starts a new one on the new; either node lists both cameras and both tracks', async () => {
    await startNode('e1', natsPort);
    await until(async () => [...(await owners()).values()].filter((n) => n === 'e1').length === 2, 'e1 owns both cameras');
    await until(async () => {
      const { events: list } = await events('e1');
      return CAMERAS.every((c) => list.some((e) => e.camera === c && e.end_time === null));
    }, 'a track on each camera on e1');

    await startNode('e2', natsPort);
    await until(async () => [...(await owners()).values()].filter((n) => n === 'e2').length === 1, 'one camera moved to e2');
    const moved = [...(await owners())].find(([, n]) => n === 'e2')![0];
    const stayed = CAMERAS.find((c) => c !== moved)!;

    // The move, as each node's own history has it: e2 answers for e1's store too, and e1 for e2's.
    const complete = (a: Answer): boolean => {
      const ofMoved = a.events.filter((e) => e.camera === moved && e.label === 'red');
      return ofMoved.some((e) => e.end_time !== null) && ofMoved.some((e) => e.end_time === null) && a.events.some((e) => e.camera === stayed);
    };
    let answers: [Answer, Answer] | null = null;
    await until(async () => {
      answers = [await events('e1'), await events('e2')];
      return answers.every(complete);
    }, "the moved camera's ended track (e1) and new track (e2) on both nodes' API");
    for (const a of answers!) {
      assert.deepEqual(a.nodes, ['e1', 'e2']);
      assert.deepEqual(a.missing, []);
      const ofMoved = a.events.filter((e) => e.camera === moved);
      const ended = ofMoved.find((e) => e.end_time !== null)!;
      const open = ofMoved.find((e) => e.end_time === null)!;
      assert.notEqual(ended.id, open.id, 'a new track, not the old one continued');
      assert.ok(open.start_time >= ended.start_time);
      // Newest first across nodes.
      const starts = a.events.map((e) => e.start_time);
      assert.deepEqual(
        starts,
        [...starts].sort((x, y) => y - x),
      );
      assert.ok(
        a.events.some((e) => e.camera === stayed && e.end_time === null),
        'the camera that stayed keeps its track on e1',
      );
    }
    // Which node holds which: the ended track is e1's (asked alone through a camera filter on e2, it still comes).
    const filtered = await events('e2', `?camera=${moved}`);
    assert.ok(filtered.events.length >= 2 && filtered.events.every((e) => e.camera === moved));
    assert.equal((await events('e1', '?limit=1')).events.length, 1);
  });

  it("serves a tracked object's snapshot from whichever node stored it", async () => {
    const answer = await events('e1');
    const withSnapshot = answer.events.filter((e) => e.has_snapshot);
    assert.ok(withSnapshot.length > 0, 'some event has a snapshot');
    for (const e of withSnapshot)
      for (const node of ['e1', 'e2']) {
        const response = await fetch(`${http.get(node)!}/api/events/${e.id}/snapshot.jpg`);
        assert.equal(response.status, 200, `${node}: ${e.id}`);
        const jpeg = Buffer.from(await response.arrayBuffer());
        assert.equal(jpeg[0], 0xff);
        assert.equal(jpeg[1], 0xd8);
      }
    assert.equal((await fetch(`${http.get('e2')!}/api/events/1.000000-nosuch/snapshot.jpg`)).status, 404);
  });
});
