/**
 * Worker profiles (ADR 0039): what a worker is, built once where the worker
 * is built and carried on its results. On their own: the one age budget
 * rule (the model's before the worker's), own and shared workers, tracking,
 * readSize, frozen. On a real running system (two file cameras, a mock model
 * server, module workers, a shared worker): workers.profiles() and profile()
 * answer with the very objects the results carry, every time (nothing is
 * rebuilt), a replaced camera's workers get new ones, and the system's
 * admission, masked config and zones.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem, type WorkerProfile } from '../../src/pipeline/index.js';
import { ageBudgetMs, workerProfile } from '../../src/pipeline/base/worker-profile.js';
import { nextEvent, nextResults, resolvedConfig, vtest } from './helpers.js';

const id = (name: string): string => `${name}-${process.pid}`;
const A = id('a');
const B = id('b');
const SHM_DIR = `/dev/shm/framesupplier-test-profile-${process.pid}`;
const capture = { output: { format: 'gray' as const, width: 160, fps: 5 }, loop: true };
const DOOR = [
  [0.1, 0.1],
  [0.9, 0.1],
  [0.9, 0.9],
];

/** A worker entry as the config resolves it (criticality, enabled and the rest filled in). */
function entry(worker: Record<string, unknown>): Parameters<typeof workerProfile>[0]['config'] {
  const config = resolvedConfig({ models: { m: { handler: 'mock' } }, cameras: { c: { source: 'lavfi:testsrc', workers: [{ id: 'w', ...worker }] } } });
  return config.cameras.c!.workers[0]!;
}

describe('worker profiles', { timeout: 120_000 }, () => {
  describe('on their own', () => {
    it("the age budget: the model's maxAgeMs before the worker's, the worker's when the model has none, else none", () => {
      const model = entry({ model: 'm', maxAgeMs: 500 });
      assert.equal(ageBudgetMs(model, { maxAgeMs: 4_200 }), 4_200);
      assert.equal(ageBudgetMs(model, { maxAgeMs: null }), 500);
      assert.equal(ageBudgetMs(entry({ module: 'builtin:motion', maxAgeMs: 700 }), null), 700);
      assert.equal(ageBudgetMs(entry({ module: 'builtin:motion' }), null), null);
      const profile = workerProfile({ camera: 'c', id: 'w', config: model, kind: 'model', model: { name: 'm', maxAgeMs: 4_200 } });
      assert.equal(profile.ageBudgetMs, 4_200);
      assert.equal(profile.model, 'm');
    });

    it("own and shared: a camera's worker reads its camera, a shared one the cameras it names (camera null)", () => {
      const own = workerProfile({ camera: 'c', id: 'w', config: entry({ module: 'builtin:motion' }), kind: 'module', model: null });
      assert.deepEqual({ camera: own.camera, shared: own.shared, cameras: own.cameras }, { camera: 'c', shared: false, cameras: ['c'] });
      const config = resolvedConfig({
        cameras: { c: { source: 'lavfi:testsrc', workers: [] }, d: { source: 'lavfi:testsrc', workers: [] } },
        shared: { s: { module: 'builtin:motion', cameras: ['c', 'd'], criticality: 'best-effort' } },
      });
      const shared = workerProfile({ camera: null, id: 's', config: config.shared.s!, kind: 'module', model: null });
      assert.deepEqual(
        { camera: shared.camera, shared: shared.shared, cameras: shared.cameras, objective: shared.objective },
        { camera: null, shared: true, cameras: ['c', 'd'], objective: { criticality: 'best-effort', maxAgeMs: null, maxSkipRatio: null } },
      );
    });

    it('says whether it tracks (with its options), its readSize and its criticality, and is frozen', () => {
      const plain = workerProfile({ camera: 'c', id: 'w', config: entry({ module: 'builtin:motion' }), kind: 'module', model: null });
      assert.deepEqual(
        { tracksObjects: plain.tracksObjects, track: plain.track, readSize: plain.readSize, objective: plain.objective },
        { tracksObjects: false, track: null, readSize: null, objective: { criticality: 'normal', maxAgeMs: null, maxSkipRatio: 0.5 } },
      );
      const on = workerProfile({
        camera: 'c',
        id: 'w',
        config: entry({ module: 'builtin:motion', track: true, readSize: 'any' }),
        kind: 'module',
        model: null,
      });
      assert.deepEqual({ tracksObjects: on.tracksObjects, track: on.track, readSize: on.readSize }, { tracksObjects: true, track: {}, readSize: 'any' });
      const options = workerProfile({
        camera: 'c',
        id: 'w',
        config: entry({ module: 'builtin:motion', track: { confirmHits: 2 }, readSize: 320 }),
        kind: 'module',
        model: null,
      });
      assert.deepEqual({ track: options.track, readSize: options.readSize }, { track: { confirmHits: 2 }, readSize: { longSide: 320 } });
      const off = workerProfile({ camera: 'c', id: 'w', config: entry({ module: 'builtin:motion', track: false }), kind: 'module', model: null });
      assert.equal(off.tracksObjects, false);
      assert.ok(Object.isFrozen(options) && Object.isFrozen(options.cameras) && Object.isFrozen(options.track) && Object.isFrozen(options.objective));
    });
  });

  describe('on a running system', () => {
    let system: VisionSystem;

    before(async () => {
      const config = resolvedConfig({
        shmDir: SHM_DIR,
        models: { m: { handler: 'mock', maxAgeMs: 4_200 } },
        cameras: {
          [A]: {
            source: vtest(),
            capture,
            zones: { door: { polygon: DOOR, labels: ['person'] }, hall: { polygon: DOOR } },
            workers: [
              { id: 'det', model: 'm', maxAgeMs: 500, track: true, criticality: 'critical' },
              { id: 'motion', module: 'builtin:motion', maxAgeMs: 700, readSize: 'any' },
            ],
          },
          [B]: { source: vtest(), capture, workers: [{ id: 'motion', module: 'builtin:motion' }] },
        },
        shared: { s: { module: 'builtin:motion', cameras: [A], maxAgeMs: 1_500 } },
      });
      system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }), drainTimeoutMs: 2_000 });
      await system.start();
    });

    after(async () => {
      await system?.close();
      rmSync(SHM_DIR, { recursive: true, force: true });
    });

    const summary = (p: WorkerProfile) => ({ id: p.id, shared: p.shared, kind: p.kind, model: p.model, ageBudgetMs: p.ageBudgetMs, tracks: p.tracksObjects });

    it('workers(camera): its own in config order, then the shared ones that read it; none for a camera it does not have', () => {
      assert.deepEqual(system.workers.profiles(A).map(summary), [
        { id: 'det', shared: false, kind: 'model', model: 'm', ageBudgetMs: 4_200, tracks: true },
        { id: 'motion', shared: false, kind: 'module', model: null, ageBudgetMs: 700, tracks: false },
        { id: 's', shared: true, kind: 'module', model: null, ageBudgetMs: 1_500, tracks: false },
      ]);
      assert.deepEqual(system.workers.profiles(B).map(summary), [
        { id: 'motion', shared: false, kind: 'module', model: null, ageBudgetMs: null, tracks: false },
      ]);
      assert.deepEqual(system.workers.profiles('nowhere'), []);
    });

    it('computed once: workers.profiles(), workers.profile() and every result give the same object', async () => {
      const [motion, shared] = [system.workers.profile(A, 'motion'), system.workers.profile(A, 's')];
      assert.ok(motion !== undefined && shared !== undefined);
      assert.equal(system.workers.profiles(A)[1], motion);
      assert.equal(system.workers.profile(A, 'motion', false), motion);
      assert.equal(system.workers.profile(A, 's', true), shared);
      const [results, sharedResult] = await Promise.all([nextResults(system, A, 'motion', 3), nextEvent(system, 'result', (e) => e.shared && e.camera === A)]);
      for (const r of results) assert.equal(r.profile, motion, "a result carries its worker's profile");
      assert.equal(sharedResult.profile, shared);
      assert.equal(sharedResult.worker, 's');
      assert.equal(system.workers.profiles(A)[2], shared);
    });

    it('workers.profile: own before shared, or as told; undefined for a worker or camera it does not have', () => {
      assert.equal(system.workers.profile(A, 'motion', true), undefined);
      assert.equal(system.workers.profile(A, 's', false), undefined);
      assert.equal(system.workers.profile(B, 's'), undefined, 's does not read B');
      assert.equal(system.workers.profile(A, 'nobody'), undefined);
      assert.equal(system.workers.profile('nowhere', 'motion'), undefined);
      assert.notEqual(system.workers.profile(B, 'motion'), system.workers.profile(A, 'motion'));
    });

    it("a replaced camera's workers get new profiles, from its new entry", async () => {
      const before = system.workers.profile(B, 'motion');
      await system.cameras.replace(B, { source: vtest(), capture, workers: [{ id: 'motion', module: 'builtin:motion', maxAgeMs: 900, track: true }] });
      const after = system.workers.profile(B, 'motion');
      assert.ok(after !== undefined && after !== before);
      assert.deepEqual(summary(after), { id: 'motion', shared: false, kind: 'module', model: null, ageBudgetMs: 900, tracks: true });
      const [result] = await nextResults(system, B, 'motion');
      assert.equal(result!.profile, after);
    });

    it('objects.zones: names and the labels each counts', () => {
      assert.deepEqual(system.objects.zones(A), [
        { name: 'door', labels: ['person'] },
        { name: 'hall', labels: null },
      ]);
      assert.deepEqual(system.objects.zones('nowhere'), []);
    });

    it('config.admit: programs and unknown references refused with where; references expanded from an environment when given', () => {
      const references = { names: ['CAM_PW'] };
      const exec = system.config.admit({ source: 'x', workers: [{ id: 'w', command: ['/bin/true'] }] }, { allowExec: false, references });
      assert.deepEqual(exec.admitted ? null : exec.problem.kind, 'exec');
      assert.equal(exec.admitted ? null : exec.problem.path, 'workers.0.command');
      assert.equal(system.config.admit({ source: 'x', workers: [{ id: 'w', command: ['/bin/true'] }] }, { allowExec: true, references }).admitted, true);
      const other = system.config.admit({ source: 'rtsp://u:${OTHER}@cam/' }, { allowExec: false, references });
      assert.equal(other.admitted ? null : `${other.problem.kind} ${other.problem.path}`, 'reference source');
      const kept = system.config.admit({ source: 'rtsp://u:${CAM_PW}@cam/' }, { allowExec: false, references });
      assert.deepEqual(kept, { admitted: true, entry: { source: 'rtsp://u:${CAM_PW}@cam/' }, secrets: [] });
      const expanded = system.config.admit({ source: 'rtsp://u:${CAM_PW}@cam/' }, { allowExec: false, references, env: { CAM_PW: 'pw' } });
      assert.deepEqual(expanded, { admitted: true, entry: { source: 'rtsp://u:pw@cam/' }, secrets: ['pw'] });
      const unset = system.config.admit({ source: 'rtsp://u:${CAM_PW}@cam/' }, { allowExec: false, references, env: {} });
      assert.equal(unset.admitted ? null : `${unset.problem.kind} ${unset.problem.path}`, 'reference source');
      assert.ok(!unset.admitted && unset.problem.message.includes('CAM_PW'));
    });

    it('config.resolveCamera: an entry as cameras.add takes it, defaults applied, every issue refused, nothing added', () => {
      const resolved = system.config.resolveCamera(id('d'), { source: vtest(), workers: [{ id: 'w', model: 'm' }] });
      assert.equal(resolved.workers[0]!.criticality, 'normal');
      assert.throws(
        () => system.config.resolveCamera(id('d'), { source: vtest(), workers: [{ id: 'w', model: 'nope' }] }),
        (e: unknown) => (e as { code?: string }).code === 'ERR_CONFIG',
      );
      assert.equal(system.stats().cameras[id('d')], undefined);
    });

    it('config.masked and config.maskedCamera: secrets masked, the rest as it runs', async () => {
      await system.cameras.add(id('c'), { source: 'rtsp://viewer:hunter2@10.0.0.12/stream1', enabled: false, workers: [] });
      const all = JSON.stringify(system.config.masked());
      assert.ok(!all.includes('hunter2') && all.includes('rtsp://viewer:***@10.0.0.12/stream1'));
      assert.equal(system.config.maskedCamera(id('c'))?.source, 'rtsp://viewer:***@10.0.0.12/stream1');
      assert.equal(system.config.maskedCamera(A)?.source, vtest());
      assert.ok(!JSON.stringify(system.config.maskedCamera(A, { secrets: [vtest()] })).includes(vtest()), 'values given to mask are masked too');
      assert.equal(system.config.maskedCamera('nowhere'), undefined);
    });
  });
});
