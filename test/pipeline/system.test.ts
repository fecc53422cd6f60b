/**
 * VisionSystem with real parts: three cameras (two files and a real RTSP
 * server), a model server (the mock handler, as a real child process) shared
 * by all of them, a Python subprocess worker, a module in a worker thread, and
 * a shared worker fed by two cameras. One system goes through the scenarios in
 * order; every wait is on an event or a process fact.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem, type EventOf, type SystemEvent } from '../../src/pipeline/index.js';
import { FrameSupplierError } from '../../src/supplier/index.js';
import { RtspServer } from '../capture/fixtures.js';
import { alive, commandLine, descendants, eventually, nextEvent, nextResults, resolvedConfig, smallH264Clip, vtest } from './helpers.js';

const PYTHON_WORKER = fileURLToPath(new URL('../../../examples/workers/brightness_worker.py', import.meta.url));
const id = (name: string): string => `${name}-${process.pid}`;
const FA = id('fa');
const FB = id('fb');
const RT = id('rtsp');
const SHM_DIR = `/dev/shm/framesupplier-test-${process.pid}`;
const LOG = join(tmpdir(), `framesupplier-system-test-${process.pid}.log`);

const isCode =
  (code: string) =>
  (error: unknown): boolean =>
    error instanceof FrameSupplierError && error.code === code;

describe('VisionSystem with real parts', { timeout: 110_000 }, () => {
  let server: RtspServer;
  let system: VisionSystem;
  /** A camera entry as a config file (or a program calling cameras.add) has it. */
  let fbConfig: object;
  const events: SystemEvent[] = [];
  const seqs = new Map<string, number[]>();

  before(async () => {
    const clip = await smallH264Clip();
    server = await new RtspServer(clip).start();
    const capture = { output: { format: 'rgb24' as const, width: 320 }, loop: true, backoff: { initialMs: 200, maxMs: 1_000 } };
    fbConfig = {
      source: clip,
      capture: { ...capture, output: { format: 'rgb24', width: 192, fps: 5 } },
      workers: [{ id: 'people', model: 'mock', maxFps: 4 }],
    };
    const config = resolvedConfig({
      shmDir: SHM_DIR,
      models: { mock: { handler: 'mock' } },
      cameras: {
        [FA]: {
          source: vtest(),
          capture,
          workers: [
            { id: 'people', model: 'mock', criticality: 'critical' },
            { id: 'brightness', command: ['/usr/bin/python3', PYTHON_WORKER], criticality: 'normal' },
            { id: 'motion', module: 'builtin:motion', thread: true },
          ],
        },
        [FB]: fbConfig,
        [RT]: {
          source: server.url,
          capture: { ...capture, stallTimeoutMs: 3_000, connectTimeoutMs: 5_000 },
          workers: [{ id: 'people', model: 'mock', criticality: 'high' }],
        },
      },
      shared: { vlm: { module: 'builtin:motion', cameras: [FA, RT], maxFps: 6, criticality: 'best-effort' } },
    });
    system = new VisionSystem({ config, logger: createLogger({ level: 'debug', destination: LOG }), drainTimeoutMs: 3_000, modelHealthIntervalMs: 1_000 });
    system.on('*', (e) => {
      events.push(e);
      if (e.type === 'result') {
        const key = `${e.camera}/${e.worker}`;
        seqs.set(key, [...(seqs.get(key) ?? []), e.seq]);
      }
    });
    await system.start();
  });

  after(async () => {
    await system?.close();
    await server?.kill();
    rmSync(SHM_DIR, { recursive: true, force: true });
    if (process.env.KEEP_SYSTEM_LOG === undefined) rmSync(LOG, { force: true });
  });

  it('every camera gets detections from the shared model server; the Python worker and the thread module answer; the shared worker is fed by both its cameras', async () => {
    const [people] = await Promise.all([
      Promise.all([FA, FB, RT].map((c) => nextResults(system, c, 'people', 2))),
      nextResults(system, FA, 'motion', 2),
      nextResults(system, FA, 'vlm', 2),
      nextResults(system, RT, 'vlm', 2),
    ]);
    for (const [r] of people) {
      const output = r!.output as { detections: { class_name: string; confidence: number }[] };
      assert.ok(output.detections.length > 0 && output.detections[0]!.class_name === 'person', JSON.stringify(output));
    }
    const [brightness] = await nextResults(system, FA, 'brightness');
    assert.equal(typeof (brightness!.output as { mean_brightness: unknown }).mean_brightness, 'number');
    const stats = system.stats();
    assert.equal(stats.state, 'running');
    assert.equal(stats.models.mock!.state, 'ready');
    for (const c of [FA, FB, RT]) assert.equal(stats.cameras[c]!.state, 'streaming');
    assert.deepEqual(Object.keys(stats.shared.vlm!.perCamera).sort(), [FA, RT].sort());
    assert.ok(stats.cameras[FB]!.workers.people!.maxFps === 4);
    // The process's own memory, and malloc's once the native decoder is loaded: what tells a growth's owner apart.
    assert.ok(stats.memory.rss > 0 && stats.memory.heapUsed > 0 && stats.memory.heapUsed <= stats.memory.heapTotal, JSON.stringify(stats.memory));
    if (stats.cameras[FA]!.decoder === 'native') assert.ok((stats.memory.malloc?.inUseBytes ?? 0) > 0, JSON.stringify(stats.memory));
  });

  it('killing the RTSP server affects only its camera, which comes back with the server', async () => {
    const backoff = nextEvent(system, 'camera-state', (e) => e.camera === RT && e.state === 'backoff');
    await server.kill();
    const down = await backoff;
    assert.ok(down.lastError !== null);
    // The other cameras' results keep coming while the RTSP camera is down.
    await Promise.all([nextResults(system, FA, 'people', 3), nextResults(system, FB, 'people', 3), nextResults(system, FA, 'brightness', 3)]);
    const stats = system.stats();
    for (const c of [FA, FB]) {
      assert.equal(stats.cameras[c]!.state, 'streaming');
      assert.equal(stats.cameras[c]!.capture!.restarts, 0);
    }
    assert.notEqual(stats.cameras[RT]!.state, 'streaming');
    assert.equal(stats.cameras[RT]!.workers.people!.state, 'running', 'its worker waits for frames; it is not failed');
    const back = nextEvent(system, 'camera-state', (e) => e.camera === RT && e.state === 'streaming');
    await server.start();
    await back;
    await nextResults(system, RT, 'people', 2);
  });

  it("kill -9 of the model server: it is restarted and every camera's results resume, without spending any worker's restart budget", async () => {
    const pid = system.stats().models.mock!.pid!;
    const down = nextEvent(system, 'model-state', (e) => e.model === 'mock' && e.to === 'backoff');
    const up = nextEvent(system, 'model-state', (e) => e.model === 'mock' && e.to === 'ready' && e.restarts === 1);
    process.kill(pid, 'SIGKILL');
    assert.equal((await down).lastExit?.signal, 'SIGKILL');
    await up;
    const resumed = await Promise.all([FA, FB, RT].map((c) => nextResults(system, c, 'people', 2)));
    for (const [r] of resumed) assert.equal((r!.output as { error?: unknown }).error, undefined);
    const stats = system.stats();
    assert.notEqual(stats.models.mock!.pid, pid);
    for (const c of [FA, FB, RT]) {
      const people = stats.cameras[c]!.workers.people!;
      assert.equal(people.state, 'running');
      assert.equal(people.restarts, 0, `${c}: a model server restart is not the worker's failure`);
    }
  });

  it("removing and adding a camera at run time leaves the other cameras' seq unbroken", async () => {
    const before = system.stats();
    const removed = nextEvent(system, 'config-change', (e) => e.change === 'camera-removed' && e.camera === FB);
    await system.cameras.remove(FB);
    await removed;
    assert.equal(system.stats().cameras[FB], undefined);
    const added = nextEvent(system, 'config-change', (e) => e.change === 'camera-added' && e.camera === FB);
    await system.cameras.add(FB, fbConfig);
    await added;
    await Promise.all([nextResults(system, FB, 'people', 2), nextResults(system, FA, 'people', 2), nextResults(system, RT, 'people', 2)]);
    const after = system.stats();
    for (const c of [FA, RT]) {
      assert.equal(after.cameras[c]!.capture!.restarts, before.cameras[c]!.capture!.restarts, `${c} was not restarted`);
      assert.ok(after.cameras[c]!.supplier!.published > before.cameras[c]!.supplier!.published);
      for (const worker of ['people', 'vlm']) {
        const list = seqs.get(`${c}/${worker}`)!;
        assert.ok(
          list.every((s, i) => i === 0 || s > list[i - 1]!),
          `${c}/${worker}: seqs strictly increasing from the start, no reset`,
        );
      }
    }
    assert.ok(events.some((e) => e.type === 'camera-state' && e.camera === FB && e.state === 'stopped'));
  });

  it('one worker is disabled, enabled and restarted while the others go on; bad calls are refused with codes and change nothing', async () => {
    const python = () => descendants(process.pid).filter((p) => commandLine(p).includes('brightness_worker.py'));
    assert.equal(python().length, 1);
    const disabled = nextEvent(system, 'worker-state', (e) => e.camera === FA && e.worker === 'brightness' && e.to === 'disabled');
    await system.workers.setEnabled(FA, 'brightness', false);
    await disabled;
    assert.equal(python().length, 0, 'its process is gone');
    await nextResults(system, FA, 'people', 2);
    await system.workers.setEnabled(FA, 'brightness', true);
    await nextResults(system, FA, 'brightness', 1);

    const restarted = nextEvent(system, 'config-change', (e) => e.change === 'worker-restarted' && e.worker === 'people');
    await system.workers.restart(FA, 'people');
    await restarted;
    await nextResults(system, FA, 'people', 1);
    assert.equal(system.stats().cameras[FA]!.workers.people!.restarts, 1);

    await assert.rejects(system.workers.restart('nope', 'people'), isCode('ERR_UNKNOWN_CAMERA'));
    await assert.rejects(system.workers.setEnabled(FA, 'nope', false), isCode('ERR_UNKNOWN_WORKER'));
    await assert.rejects(system.cameras.add(FA, fbConfig), isCode('ERR_DUPLICATE_CAMERA'));
    // A camera from a program is checked by the config file's schema: every problem, with its path.
    await assert.rejects(system.cameras.add(id('bad'), { source: vtest(), workers: [{ id: 'x', model: 'yolo' }] }), isCode('ERR_CONFIG'));
    await assert.rejects(
      system.cameras.add(id('bad'), { source: vtest(), captur: {}, workers: [{ id: 'x', module: 'builtin:motion', criticality: 'best-efort' }] }),
      (error: { code?: string; issues?: { path: string }[] }) => {
        assert.equal(error.code, 'ERR_CONFIG');
        assert.deepEqual(error.issues?.map((i) => i.path).sort(), [`cameras.${id('bad')}.captur`, `cameras.${id('bad')}.workers[0].criticality`]);
        return true;
      },
    );
    await assert.rejects(system.cameras.replace(FB, { source: vtest(), workers: [{ id: 'x', module: '/no/such/module.js' }] }), isCode('ERR_WORKER_MODULE'));
    assert.deepEqual(Object.keys(system.stats().cameras).sort(), [FA, FB, RT].sort());
    assert.equal(system.stats().cameras[FB]!.state, 'streaming', 'a refused replacement leaves the camera running');
  });

  it('close(): frames in flight finish, every child process ends, the runtime directory goes, and later calls are refused', async () => {
    // Not the RTSP server (the test's), nor src/process's guardian shell (it lives as long as its owner, this test process).
    const children = descendants(process.pid).filter((p) => !commandLine(p).includes('rtsp_server.py') && !commandLine(p).startsWith("/bin/sh -c groups=' '"));
    assert.ok(children.length >= 2, `a model server and a Python worker at least: ${children.map(commandLine).join(' | ')}`);
    const runtimeDir = system.runtimeDir;
    const iterator = system.events()[Symbol.asyncIterator]();
    const ended = (async () => {
      for (let r = await iterator.next(); !r.done; r = await iterator.next());
    })();
    const stopped: EventOf<'worker-state'>[] = [];
    system.on('worker-state', (e) => void (e.to === 'stopped' && stopped.push(e)));
    await system.close();
    await ended;
    assert.equal(system.state, 'closed');
    assert.ok(stopped.length >= 6, 'workers ended as stopped, not failed');
    assert.ok(!existsSync(runtimeDir));
    await eventually(() => children.every((p) => !alive(p)), 'every child process gone');
    await assert.rejects(system.cameras.add(id('late'), fbConfig), isCode('ERR_SYSTEM_CLOSED'));
    await system.close(); // idempotent
    assert.ok(!readFileSync(LOG, 'utf8').includes('"level":50'), 'no error in the log');
  });
});
