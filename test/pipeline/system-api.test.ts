/**
 * VisionSystem's public calls on one running system with real captures: two
 * file cameras and a test pattern, a per-camera module worker each, and a
 * shared worker fed by both files. decoder: auto picks the native decoder for
 * the files (where the addon is built) and falls back to ffmpeg for the test
 * pattern, and the log says which and why; events({ types, signal }) filters
 * and ends on abort; attachResultsSink sees every result in order; a shared
 * worker is disabled, enabled and restarted; a camera is replaced while the
 * others' seqs run on. Every wait is on an event.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nativeDecoderUnavailable } from '../../src/capture/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { attachResultsSink, VisionSystem, type EventOf, type SystemEvent, type SystemEventType } from '../../src/pipeline/index.js';
import type { WorkerResult } from '../../src/workers/index.js';
import { nextEvent, nextResults, resolvedConfig, vtest } from './helpers.js';

const id = (name: string): string => `${name}-${process.pid}`;
const A = id('a');
const B = id('b');
const PATTERN = id('pattern');
const SHM_DIR = `/dev/shm/framesupplier-test-api-${process.pid}`;
const LOG = join(tmpdir(), `framesupplier-system-api-test-${process.pid}.log`);
const NATIVE_BUILT = nativeDecoderUnavailable() === null;

const capture = { output: { format: 'gray' as const, width: 160, fps: 5 }, loop: true };
/** A camera's workers as a config file has them. */
const motion = (workerId = 'motion') => [{ id: workerId, module: 'builtin:motion' }];

/** The log's JSON lines. */
function logLines(): Record<string, unknown>[] {
  return readFileSync(LOG, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Resolves with the next n results of a shared worker that came from this camera. */
function nextSharedResults(system: VisionSystem, worker: string, camera: string, n: number): Promise<EventOf<'result'>[]> {
  return new Promise((resolve) => {
    const got: EventOf<'result'>[] = [];
    const listener = (e: EventOf<'result'>): void => {
      if (!e.shared || e.worker !== worker || e.camera !== camera) return;
      got.push(e);
      if (got.length < n) return;
      system.off('result', listener);
      resolve(got);
    };
    system.on('result', listener);
  });
}

const increasing = (list: readonly number[]): boolean => list.every((s, i) => i === 0 || s > list[i - 1]!);

describe('VisionSystem public calls', { timeout: 60_000 }, () => {
  let system: VisionSystem;
  /** Every result's seq, per camera/worker, from the start. */
  const seqs = new Map<string, number[]>();

  before(async () => {
    system = new VisionSystem({
      config: resolvedConfig({
        shmDir: SHM_DIR,
        cameras: {
          [A]: { source: vtest(), capture, workers: motion() },
          [B]: { source: vtest(), capture, workers: motion() },
          // A source the native decoder does not read: decoder auto falls back to ffmpeg.
          [PATTERN]: { source: 'lavfi:testsrc2=size=320x240:rate=10', capture, workers: motion() },
        },
        shared: { mix: { module: 'builtin:motion', cameras: [A, B] } },
      }),
      logger: createLogger({ level: 'info', destination: LOG }),
      drainTimeoutMs: 2_000,
    });
    system.on('result', (e) => {
      const key = `${e.camera}/${e.worker}`;
      seqs.set(key, [...(seqs.get(key) ?? []), e.seq]);
    });
    const streaming = [A, B, PATTERN].map((c) => nextEvent(system, 'camera-state', (e) => e.camera === c && e.state === 'streaming'));
    await system.start();
    await Promise.all(streaming);
  });

  after(async () => {
    await system?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
    if (process.env.KEEP_SYSTEM_LOG === undefined) rmSync(LOG, { force: true });
  });

  it('decoder auto: native for files where the addon is built, ffmpeg for a source it cannot read; stats and the log say which and why', async () => {
    await Promise.all([A, PATTERN].map((c) => nextResults(system, c, 'motion', 2)));
    const stats = system.stats();
    assert.equal(stats.cameras[A]!.decoder, NATIVE_BUILT ? 'native' : 'ffmpeg');
    assert.equal(stats.cameras[PATTERN]!.decoder, 'ffmpeg');
    assert.equal(stats.cameras[PATTERN]!.capture!.pid !== null, true, 'an ffmpeg process decodes the pattern');
    if (NATIVE_BUILT) assert.equal(stats.cameras[A]!.capture!.pid, null, 'the file is decoded in this process');

    const choice = (camera: string): Record<string, unknown> => {
      const lines = logLines().filter((l) => l.camera === camera && typeof l.decoder === 'string');
      assert.equal(lines.length, 1, `one decoder line for ${camera}: ${JSON.stringify(lines)}`);
      return lines[0]!;
    };
    const file = choice(A);
    assert.equal(file.decoder, stats.cameras[A]!.decoder);
    assert.match(String(file.msg), NATIVE_BUILT ? /decoder auto: in-process native decoder/ : /decoder auto: the native decoder is not built/);
    const pattern = choice(PATTERN);
    assert.equal(pattern.decoder, 'ffmpeg');
    assert.match(String(pattern.msg), NATIVE_BUILT ? /decoder auto: the native decoder does not read lavfi sources; using ffmpeg/ : /not built/);
  });

  it('events({ types, signal }) delivers only those types and ends when the signal aborts', async () => {
    const types: readonly SystemEventType[] = ['config-change', 'worker-state'];
    const abort = new AbortController();
    const got: SystemEvent[] = [];
    let sawEnabled: () => void = () => undefined;
    const enabledSeen = new Promise<void>((resolve) => (sawEnabled = resolve));
    const consumed = (async () => {
      for await (const e of system.events({ types, signal: abort.signal })) {
        got.push(e);
        if (e.type === 'config-change' && e.change === 'worker-enabled') sawEnabled();
      }
    })();
    const others: SystemEventType[] = [];
    const onAny = (e: SystemEvent): void => void others.push(e.type);
    system.on('*', onAny);

    await system.workers.setEnabled(A, 'motion', false);
    await system.workers.setEnabled(A, 'motion', true);
    await nextResults(system, A, 'motion', 2);
    await enabledSeen;
    abort.abort();
    await consumed; // the loop ends: the iterator returned on abort
    system.off('*', onAny);

    assert.ok(others.includes('result'), 'results happened meanwhile');
    assert.ok(
      got.every((e) => types.includes(e.type)),
      `only ${types.join(', ')}: got ${[...new Set(got.map((e) => e.type))].join(', ')}`,
    );
    const changes = got.filter((e): e is EventOf<'config-change'> => e.type === 'config-change').map((e) => `${e.change} ${e.camera}/${e.worker}`);
    assert.deepEqual(changes, [`worker-disabled ${A}/motion`, `worker-enabled ${A}/motion`]);
    const states = got.filter((e): e is EventOf<'worker-state'> => e.type === 'worker-state' && e.camera === A && e.worker === 'motion').map((e) => e.to);
    const disabled = states.indexOf('disabled');
    assert.ok(disabled >= 0 && states.slice(disabled + 1).includes('running'), `disabled, then running again: ${states.join(' → ')}`);
  });

  it('attachResultsSink receives every result event, in order, until detached', async () => {
    const written: WorkerResult[] = [];
    const seen: EventOf<'result'>[] = [];
    const onResult = (e: EventOf<'result'>): void => void seen.push(e);
    system.on('result', onResult);
    const detach = attachResultsSink(system, { write: (r) => written.push(r) });
    await Promise.all([
      nextResults(system, A, 'motion', 3),
      nextResults(system, B, 'motion', 3),
      nextResults(system, PATTERN, 'motion', 3),
      nextSharedResults(system, 'mix', A, 2),
    ]);
    detach();
    system.off('result', onResult);
    assert.ok(seen.length >= 11);
    assert.deepEqual(
      written,
      seen.map((e) => ({ workerId: e.worker, streamId: e.camera, seq: e.seq, captureTime: e.captureTime, wallTime: e.wallTime, output: e.output })),
    );
    const count = written.length;
    await nextResults(system, A, 'motion', 2);
    assert.equal(written.length, count, 'nothing after detach');
  });

  it('a shared worker over two cameras: disabled, it answers nothing and says disabled; enabled, it answers for both again; restarted, a fresh incarnation', async () => {
    await Promise.all([nextSharedResults(system, 'mix', A, 2), nextSharedResults(system, 'mix', B, 2)]);

    const disabledState = nextEvent(system, 'worker-state', (e) => e.shared && e.worker === 'mix' && e.to === 'disabled');
    const disabledChange = nextEvent(system, 'config-change', (e) => e.change === 'worker-disabled' && e.worker === 'mix');
    await system.workers.setSharedEnabled('mix', false);
    const [state, change] = await Promise.all([disabledState, disabledChange]);
    assert.equal(state.camera, null);
    assert.equal(change.shared, true);
    assert.equal(change.camera, null);
    let shared = 0;
    const countShared = (e: EventOf<'result'>): void => void (e.shared && shared++);
    system.on('result', countShared);
    // Both cameras keep delivering frames (their own workers answer), and the shared worker takes none.
    await Promise.all([nextResults(system, A, 'motion', 3), nextResults(system, B, 'motion', 3)]);
    system.off('result', countShared);
    assert.equal(shared, 0, 'a disabled shared worker answers nothing');
    const off = system.stats().shared.mix!;
    assert.equal(off.state, 'disabled');
    assert.equal(off.enabled, false);
    await system.workers.setSharedEnabled('mix', false); // already disabled: nothing changes

    const enabledChange = nextEvent(system, 'config-change', (e) => e.change === 'worker-enabled' && e.worker === 'mix');
    await system.workers.setSharedEnabled('mix', true);
    await enabledChange;
    await Promise.all([nextSharedResults(system, 'mix', A, 2), nextSharedResults(system, 'mix', B, 2)]);
    const on = system.stats().shared.mix!;
    assert.equal(on.state, 'running');
    assert.equal(on.enabled, true);
    assert.equal(on.restarts, 0);

    const restarted = nextEvent(system, 'config-change', (e) => e.change === 'worker-restarted' && e.worker === 'mix');
    await system.workers.restartShared('mix');
    const r = await restarted;
    assert.equal(r.shared, true);
    assert.equal(r.camera, null);
    await Promise.all([nextSharedResults(system, 'mix', A, 2), nextSharedResults(system, 'mix', B, 2)]);
    const again = system.stats().shared.mix!;
    assert.equal(again.state, 'running');
    assert.equal(again.restarts, 1);
    assert.deepEqual(Object.keys(again.perCamera).sort(), [A, B].sort());
  });

  it("a disabled shared worker counts no drops, and its figures start over with its next incarnation (as a camera worker's do)", async () => {
    await Promise.all([nextSharedResults(system, 'mix', A, 1), nextSharedResults(system, 'mix', B, 1)]);
    await system.workers.setSharedEnabled('mix', false);
    const dropsAtDisable = system.stats().shared.mix!.perCamera[A]?.drops ?? 0;
    await Promise.all([nextResults(system, A, 'motion', 3), nextResults(system, B, 'motion', 3)]);
    const whileDisabled = system.stats().shared.mix!.perCamera[A]?.drops ?? 0;

    let since = 0;
    const count = (e: EventOf<'result'>): void => void (e.shared && e.worker === 'mix' && since++);
    system.on('result', count);
    await system.workers.setSharedEnabled('mix', true);
    await Promise.all([nextSharedResults(system, 'mix', A, 2), nextSharedResults(system, 'mix', B, 2)]);
    const figures = system.stats().shared.mix!;
    system.off('result', count);

    assert.equal(whileDisabled, dropsAtDisable, 'frames a disabled worker never asked for are not its drops');
    // Taken by this incarnation: every result since it started, and at most one frame still in flight.
    assert.ok(figures.delivered <= since + 1, `delivered ${figures.delivered} counts this incarnation's frames only (${since} results since enabled)`);
  });

  it("cameras.replace: the camera runs with its new config (and still feeds the shared worker); the others' seqs run on unbroken", async () => {
    const before = system.stats();
    assert.equal(before.cameras[B]!.capture!.width, 160);
    const replaced = nextEvent(system, 'config-change', (e) => e.change === 'camera-replaced' && e.camera === B);
    await system.cameras.replace(B, { source: vtest(), capture: { ...capture, output: { ...capture.output, width: 128 } }, workers: motion('motion2') });
    await replaced;
    await Promise.all([
      nextResults(system, B, 'motion2', 2),
      nextSharedResults(system, 'mix', B, 2),
      nextResults(system, A, 'motion', 2),
      nextResults(system, PATTERN, 'motion', 2),
    ]);

    const after = system.stats();
    const b = after.cameras[B]!;
    assert.equal(b.state, 'streaming');
    assert.deepEqual(Object.keys(b.workers), ['motion2']);
    assert.equal(b.workers.motion2!.state, 'running');
    assert.equal(b.capture!.width, 128);
    assert.equal(b.capture!.height, 96);
    for (const c of [A, PATTERN]) {
      assert.equal(after.cameras[c]!.capture!.restarts, before.cameras[c]!.capture!.restarts, `${c} was not restarted`);
      assert.ok(after.cameras[c]!.supplier!.published > before.cameras[c]!.supplier!.published);
      const list = seqs.get(`${c}/motion`)!;
      assert.ok(increasing(list), `${c}/motion: seqs strictly increasing from the start, no reset`);
    }
    assert.ok(increasing(seqs.get(`${A}/mix`)!), 'the shared worker still takes the other camera in order');
  });
});
