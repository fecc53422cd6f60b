/**
 * A crash leaves nothing open for ever (issue 41, item 13), with real
 * components: `framesupplier run` (a child process) with an events store, a
 * lavfi video (320×240, 10 fps) of three squares standing in view (red,
 * green, blue) and the colour detector module with `track`; killed with
 * SIGKILL while the three are tracked; then started again with mosquitto.
 *
 * Expected: the kill leaves the three events open in the store (end_time
 * null); the next start ends them before its cameras run, at their last
 * sighting the store knew (their stored `frame_time`), with `end_reason:
 * 'restart'`: on MQTT `events` (Frigate's `end`), in the store and from GET
 * /api/events. The second run's own objects are new ids, and it ends them
 * when stopped cleanly: nothing is left open.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { EventStore, type TrackedObject } from '../../src/objects/index.js';
import { Mosquitto, Recorder } from '../helpers/mosquitto.js';
import { eventuallyAsync, removeRuntimeDirs } from '../helpers/process.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const DETECTOR = fileURLToPath(new URL('./colour-detector.js', import.meta.url));
const PREFIX = `restart-ends-${process.pid}`;
const TOKEN = 'restart-ends-token-0123456789abcdef';
const VIDEO =
  'lavfi:color=c=black:s=320x240:r=10[bg];color=c=red:s=32x32:r=10[r];color=c=lime:s=32x32:r=10[g];color=c=blue:s=32x32:r=10[b];' +
  '[bg][r]overlay=x=30:y=30[t1];[t1][g]overlay=x=140:y=110[t2];[t2][b]overlay=x=250:y=180';

interface Run {
  readonly child: ChildProcess;
  readonly base: string;
  output(): string;
}

/** Starts `framesupplier run` on a config; resolves with the dashboard's address once it prints it. */
function startRun(config: string): Promise<Run> {
  const child = spawn(process.execPath, [MAIN, 'run', config, '--view', 'none'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-20_000)));
  return new Promise<Run>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (m !== null) resolve({ child, base: m[1]!, output: () => output });
    });
    child.once('exit', (code, signal) => reject(new Error(`run ended (${code ?? signal}) before printing the dashboard's address:\n${output}`)));
  });
}

async function apiEvents(run: Run): Promise<TrackedObject[]> {
  const response = await fetch(new URL('/api/events?camera=gate&limit=100', run.base), { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(response.status, 200);
  return ((await response.json()) as { events: TrackedObject[] }).events;
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function storedEvents(database: string): Promise<TrackedObject[]> {
  const store = new EventStore({ database });
  await store.start();
  try {
    return store.query({ camera: 'gate', limit: 1000 });
  } finally {
    await store.close();
  }
}

describe('objects a killed run left open are ended by the next start', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-restart-ends-'));
  const database = join(dir, 'events.db');
  const runs: Run[] = [];
  let broker: Mosquitto | null = null;
  after(async () => {
    for (const run of runs) {
      if (run.child.exitCode !== null || run.child.signalCode !== null) continue;
      const gone = exited(run.child);
      run.child.kill('SIGKILL');
      await gone;
    }
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(`/dev/shm/fs-restart-ends-${process.pid}`, { recursive: true, force: true }); // the store directory the config named
  });

  it('kill -9 while three objects are tracked; the next start ends them (end_reason restart) in the store, the API and on MQTT', async () => {
    const lines = (mqtt: string[]): string =>
      [
        `shmDir: /dev/shm/fs-restart-ends-${process.pid}`,
        `http: { host: 127.0.0.1, port: 0, token: ${TOKEN} }`,
        `events: { database: '${database}' }`,
        ...mqtt,
        'cameras:',
        '  gate:',
        `    source: "${VIDEO}"`,
        '    capture: { output: { format: rgb24 } }',
        `    workers: [{ id: colours, module: '${DETECTOR}', maxFps: 4, track: { confirmHits: 2 } }]`,
        '',
      ].join('\n');
    const first = join(dir, 'first.yaml');
    writeFileSync(first, lines([]));

    // 1. A run tracks the three squares, and is killed.
    const killed = await startRun(first);
    runs.push(killed);
    let open: TrackedObject[] = [];
    await eventuallyAsync(
      async () => {
        open = (await apiEvents(killed)).filter((e) => e.end_time === null);
        return open.length === 3;
      },
      'three open events in the store (GET /api/events)',
      60_000,
    );
    const gone = exited(killed.child);
    killed.child.kill('SIGKILL');
    assert.deepEqual(await gone, { code: null, signal: 'SIGKILL' });
    removeRuntimeDirs(killed.child.pid!);
    const left = (await storedEvents(database)).filter((e) => e.end_time === null);
    assert.deepEqual(left.map((e) => e.label).sort(), ['blue', 'green', 'red'], 'the kill left the three open in the store');
    const leftById = new Map(left.map((e) => [e.id, e]));

    // 2. Started again, with a broker: the three are ended at their last known sighting, marked restart.
    broker = await Mosquitto.start();
    const recorder = await Recorder.connect(broker.url, [`${PREFIX}/events`]);
    try {
      const second = join(dir, 'second.yaml');
      writeFileSync(second, lines([`mqtt: { url: '${broker.url}', topicPrefix: ${PREFIX}, discovery: { enabled: false } }`]));
      const next = await startRun(second);
      runs.push(next);
      const ends = new Map<string, { before: TrackedObject; after: TrackedObject }>();
      await recorder.waitFor(
        (m) => {
          const e = JSON.parse(m.payload) as { type?: string; before?: TrackedObject; after?: TrackedObject };
          if (e.type === 'end' && e.after !== undefined && leftById.has(e.after.id)) ends.set(e.after.id, { before: e.before!, after: e.after });
          return ends.size === 3;
        },
        'the three ends on MQTT',
        { timeoutMs: 60_000 },
      );
      for (const [id, { before, after: ended }] of ends) {
        const stored = leftById.get(id)!;
        assert.equal(ended.end_reason, 'restart');
        assert.equal(ended.end_time, stored.frame_time, 'ended at its last sighting the store knew');
        assert.equal(ended.frame_time, stored.frame_time);
        assert.deepEqual(ended.current_zones, []);
        assert.deepEqual([before.id, before.end_time, before.frame_time], [id, null, stored.frame_time]);
        assert.ok(ended.frame_age_ms > 0);
      }

      // the store has them ended (the API reads it), and the second run's own objects are other ids
      const listed = await apiEvents(next);
      for (const id of leftById.keys()) {
        const row = listed.find((e) => e.id === id);
        assert.equal(row?.end_reason, 'restart', `event ${id} in GET /api/events`);
        assert.equal(row.end_time, leftById.get(id)!.frame_time);
      }

      // 3. A clean stop ends the second run's own objects (the tracker's ends: no end_reason); nothing stays open.
      await eventuallyAsync(
        async () => (await apiEvents(next)).some((e) => e.end_time === null && !leftById.has(e.id)),
        "the second run's own objects tracked",
        60_000,
      );
      const stopped = exited(next.child);
      next.child.kill('SIGTERM');
      assert.deepEqual(await stopped, { code: 0, signal: null }, next.output().slice(-2000));
      const all = await storedEvents(database);
      assert.deepEqual(
        all.filter((e) => e.end_time === null),
        [],
        'nothing left open',
      );
      assert.deepEqual(
        all
          .filter((e) => e.end_reason === 'restart')
          .map((e) => e.id)
          .sort(),
        [...leftById.keys()].sort(),
      );
    } finally {
      await recorder.close();
    }
  });
});
