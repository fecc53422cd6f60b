/**
 * Staleness is a figure, not a footnote (ADR 0070, issue 43): a camera that
 * decodes keyframes only trades age for CPU, and says so with numbers where a
 * user reads a worker's health. Real ffmpeg clips made in the test's own
 * directory (10 fps, a keyframe every 5 frames: 500 ms), played in real time
 * by the in-process decoder; workers at maxFps 1.3 (one take every 769 ms,
 * so takes fall at every phase of the group of pictures):
 * - the worker's figures carry the age decoding adds and the frames it does
 *   not decode; checked against what the test counts itself: the age of each
 *   result at its arrival from the frame's own capture stamp (keyframes only
 *   against every frame, same clip, same worker), and the clip's keyframe
 *   share as ffprobe lists its packets;
 * - a worker whose age budget that age breaks misses its objective, and the
 *   alert names the decoding as the reason, with decode: auto as the fix; the
 *   same worker on the camera that decodes every frame meets it;
 * - the dry run forecasts the age added and the late share from the
 *   keyframe interval it probes, and none for every frame.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem, type ObjectiveEvent, type SystemEvent } from '../../src/pipeline/index.js';
import { nextEvent, resolvedConfig } from './helpers.js';

const run = promisify(execFile);
const SHM_DIR = `/dev/shm/framesupplier-test-staleness-${process.pid}`;
const FPS = 10;
const GOP = 5;
const KEY_MS = (GOP * 1000) / FPS;
const FRAME_MS = 1000 / FPS;
/** (keyframe interval − frame interval) ÷ 2: the mean age keyframes only adds to a frame taken at any moment. */
const EXPECTED_ADDED_MS = (KEY_MS - FRAME_MS) / 2;
const MAX_FPS = 1.3;
const BUDGET_MS = 250;

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('staleness: what decoding keyframes only adds to age is a figure, forecast and named', { timeout: 180_000 }, () => {
  let dir: string;
  let clip: string;
  let system: VisionSystem;
  /** The clip's share of frames that are not keyframes, as ffprobe lists its packets: what keyframes only does not decode. */
  let notKeyShare: number;
  const events: SystemEvent[] = [];
  /** Each result's age when it reached the test, from its frame's capture stamp: camera → ages. */
  const ages = new Map<string, number[]>();

  const workers = [
    // Held to an age budget: a frame older than it when read is skipped as stale, a miss.
    { id: 'strict', module: 'builtin:motion', maxFps: MAX_FPS, maxAgeMs: BUDGET_MS, criticality: 'high', readSize: 'any' },
    // No budget: every take gives a result, so its ages are the takes' own.
    { id: 'watch', module: 'builtin:motion', maxFps: MAX_FPS, criticality: 'best-effort', readSize: 'any' },
  ];
  const camera = (decode: string) => ({ source: clip, capture: { decoder: 'native', decode, loop: true, output: { format: 'gray' } }, workers });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'framesupplier-staleness-'));
    clip = join(dir, `gop${GOP}.mp4`);
    // A moving pattern, a keyframe every GOP frames exactly (no scene cuts), no B frames.
    await run('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=${FPS}:duration=20`],
      ...['-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '0', '-x264-params', `keyint=${GOP}:min-keyint=${GOP}:scenecut=0`, '-pix_fmt', 'yuv420p'],
      clip,
    ]);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=flags', '-of', 'csv=p=0', clip]);
    const flags = stdout.split('\n').filter((line) => line.trim() !== '');
    const keys = flags.filter((f) => f.startsWith('K')).length;
    assert.equal(keys, Math.ceil(flags.length / GOP), 'the clip has a keyframe every GOP frames');
    notKeyShare = 1 - keys / flags.length;

    system = new VisionSystem({
      config: resolvedConfig({ shmDir: SHM_DIR, cameras: { keys: camera('keyframes'), every: camera('all') } }),
      logger: createLogger({ level: 'silent' }),
      objectiveIntervalMs: 200,
    });
    system.on('objective', (e) => events.push(e));
    system.on('result', (e) => {
      if (e.worker !== 'watch') return;
      const list = ages.get(e.camera) ?? [];
      list.push(performance.now() - e.captureTime);
      ages.set(e.camera, list);
    });
    await system.start();
  });

  after(async () => {
    await system?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("keyframes only: the worker's figures say the age added and the frames not decoded, as the test counts them", async (t) => {
    // Enough takes at every phase of the group of pictures: 40 a camera, beyond the first few (warming up).
    const enough = (): boolean => (ages.get('keys')?.length ?? 0) >= 45 && (ages.get('every')?.length ?? 0) >= 45;
    while (!enough()) await nextEvent(system, 'result', (e) => e.worker === 'watch');
    const keys = ages.get('keys')!.slice(5);
    const every = ages.get('every')!.slice(5);
    const measuredAdded = mean(keys) - mean(every);

    const stats = system.stats();
    const figures = stats.cameras.keys!.workers.watch!.decode!;
    assert.equal(figures.stream, 'main');
    assert.equal(figures.mode, 'keyframes');
    assert.ok(Math.abs(figures.keyframeIntervalMs! - KEY_MS) < 1, `keyframe interval ${figures.keyframeIntervalMs} ms`);
    assert.equal(figures.addedAgeMs, EXPECTED_ADDED_MS);
    assert.equal(figures.maxAddedAgeMs, 2 * EXPECTED_ADDED_MS);
    // The figure against the test's own count: the mean age of what the worker took, less every frame's.
    assert.ok(
      Math.abs(measuredAdded - figures.addedAgeMs) <= 0.35 * figures.addedAgeMs,
      `measured ${measuredAdded.toFixed(0)} ms added (keyframes ${mean(keys).toFixed(0)}, every frame ${mean(every).toFixed(0)}), figure ${figures.addedAgeMs} ms`,
    );
    assert.ok(
      Math.abs(figures.framesNotDecodedShare! - notKeyShare) <= 0.05,
      `not decoded: figure ${figures.framesNotDecodedShare}, the clip's non-keyframes ${notKeyShare.toFixed(3)}`,
    );
    assert.ok(figures.cpuSavedPct !== null && figures.cpuSavedPct > 0, `CPU saved ${figures.cpuSavedPct}`);

    const none = stats.cameras.every!.workers.watch!.decode!;
    assert.deepEqual([none.mode, none.addedAgeMs, none.maxAddedAgeMs], ['all', 0, 0]);
    // Every frame decoded but the few a looping file's decoder still held when each pass ended.
    assert.ok(none.framesNotDecodedShare! < 0.02 && none.cpuSavedPct! < 0.1, `every frame: ${JSON.stringify(none)}`);
    t.diagnostic(
      `keyframes: ${figures.addedAgeMs} ms added (measured ${measuredAdded.toFixed(0)}: ${mean(keys).toFixed(0)} against ${mean(every).toFixed(0)} ms), ` +
        `${figures.framesNotDecodedShare} not decoded (clip ${notKeyShare.toFixed(3)}), ${figures.cpuSavedPct} % of a core saved; every frame: ${JSON.stringify(none)}`,
    );
    // Every frame: each take is at most a frame interval old, plus the work and the scheduling of a loaded machine.
    assert.ok(mean(every) < FRAME_MS + 60, `every frame: mean age ${mean(every).toFixed(0)} ms`);
  });

  it('the objective missed because of it names the decoding as the reason and auto as the fix; every frame meets it', async () => {
    const missed = events.find((e): e is ObjectiveEvent => e.type === 'objective' && e.camera === 'keys' && e.worker === 'strict' && e.state === 'missed');
    const event = missed ?? (await nextEvent(system, 'objective', (e) => e.camera === 'keys' && e.worker === 'strict' && e.state === 'missed'));
    assert.match(
      event.reason,
      /older than 250 ms when read: its camera decodes keyframes only \(as configured\), which adds about 200 ms to each frame's age \(up to 400 ms\) for \d+ % of its frames not decoded/,
    );
    assert.match(event.fix[0]!, /decode: auto/);
    const status = system.stats().cameras.keys!.workers.strict!.objective!;
    assert.equal(status.met, false);
    assert.ok(status.lastMinute.staleSkips > 0);
    // The same worker on the camera that decodes every frame: judged, and met.
    while (system.stats().cameras.every!.workers.strict!.objective?.met == null) await nextEvent(system, 'result', (e) => e.camera === 'every');
    const every = system.stats().cameras.every!.workers.strict!.objective!;
    assert.equal(every.met, true, `every frame: ${JSON.stringify(every.lastMinute)}`);
    assert.ok(!events.some((e) => e.type === 'objective' && e.camera === 'every' && e.state === 'missed'));
  });

  it('the dry run forecasts the age added from the keyframe interval it probes, and none for every frame', async () => {
    const entry = (decode: string) => ({ source: clip, capture: { decoder: 'native', decode, output: { format: 'gray' } }, workers: [workers[0]] });
    const keys = await system.config.forecast('porch', entry('keyframes'), { replace: false });
    assert.deepEqual(
      [keys.decode.setting, keys.decode.keyframeIntervalMs, keys.decode.keyframeIntervalFrom, keys.decode.addedAgeMs, keys.decode.maxAddedAgeMs],
      ['keyframes', KEY_MS, 'probed', EXPECTED_ADDED_MS, 2 * EXPECTED_ADDED_MS],
    );
    assert.equal(keys.decode.framesNotDecodedShare, 1 - FRAME_MS / KEY_MS);
    const strict = keys.workers.find((w) => w.worker === 'strict')!;
    // The newest keyframe is 0 to 500 ms old: half the takes over a 250 ms budget, against a 10 % tolerance.
    assert.equal(strict.lateShare, 1 - BUDGET_MS / KEY_MS);
    assert.equal(strict.addedAgeMs, EXPECTED_ADDED_MS);
    assert.equal(strict.wouldMiss, true);
    assert.match(strict.note ?? '', /keyframes only: about 200 ms added to each frame's age, so 50 % of its results over its 250 ms budget/);
    assert.deepEqual(keys.wouldMiss, ['porch/strict']);
    // A running camera replaced: the interval it measures.
    const replaced = await system.config.forecast('keys', entry('keyframes'), { replace: true });
    assert.equal(replaced.decode.keyframeIntervalFrom, 'measured');
    assert.ok(Math.abs(replaced.decode.keyframeIntervalMs! - KEY_MS) < 1);

    const every = await system.config.forecast('porch', entry('all'), { replace: false });
    assert.deepEqual([every.decode.addedAgeMs, every.decode.framesNotDecodedShare], [0, 0]);
    assert.equal(every.workers.find((w) => w.worker === 'strict')!.wouldMiss, null);
    assert.deepEqual(every.wouldMiss, []);
    const auto = await system.config.forecast('porch', entry('auto'), { replace: false });
    assert.equal(auto.decode.addedAgeMs, 0);
    assert.match(auto.decode.note, /skipping only between takes: no age added/);
  });
});
