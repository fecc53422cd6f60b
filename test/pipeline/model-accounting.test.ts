/**
 * One accounting across the model boundary (ADR 0040), as a user meets it:
 * `framesupplier run` on the built-in example's config (two cameras, one
 * person model on one thread that cannot keep up with both; street-mirror at
 * 10 fps here, see exampleConfig), read through
 * the HTTP API. For each people worker every frame delivered is taken or
 * skipped by the model (the rest in flight), the model skips frames, and the
 * fps shown is the rate of the results, not of the deliveries. And a shared
 * model worker fed by two cameras keeps the same accounting.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem, type PipelineWorkerStats } from '../../src/pipeline/index.js';
import { launchBrowser } from '../helpers/browser.js';
import { eventuallyAsync } from '../helpers/process.js';
import { eventually, nextResults, resolvedConfig, vtest } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../../examples/config/example.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'framesupplier-accounting-test-'));
const PEOPLE = ['street', 'street-mirror'] as const;

interface Snapshot {
  /** Date.now() halfway through the request. */
  readonly at: number;
  readonly people: Record<(typeof PEOPLE)[number], PipelineWorkerStats>;
}

/**
 * The example as shipped, but on the test's clip, shared-memory directory and an ephemeral loopback port, and with
 * street-mirror at the clip's own 10 fps rather than 5. As shipped the example offers its one person thread 15
 * frames/s, and a 2-core machine's thread serves 14 to 15 (69 ms a frame): street then misses 0 to 11 % of its
 * frames, either side of its 10 % tolerance, by run. Offering 20 puts the thread behind on any machine this test
 * runs on, so the verdict, its reason and the fix it names are what is tested, not the machine's speed.
 */
function exampleConfig(): string {
  const shipped = readFileSync(EXAMPLE, 'utf8');
  assert.match(shipped, /person:[^\n]*\n\s+handler: person\n\s+threads: 1\n/, 'the example runs its person model on one thread');
  const mirrorAt5 = /(\n {2}street-mirror:[^\n]*\n(?: {4}.*\n)*? {8})fps: 5\n/;
  assert.match(shipped, mirrorAt5, 'the example decimates street-mirror to 5 fps');
  const path = join(dir, 'example.yaml');
  writeFileSync(
    path,
    shipped.replaceAll('/usr/share/doc/opencv-doc/examples/data/vtest.avi', vtest()).replace(mirrorAt5, '$1fps: 10\n') +
      `\nshmDir: /dev/shm/framesupplier-accounting-${process.pid}\nhttp: { host: 127.0.0.1, port: 0 }\n`,
  );
  return path;
}

describe('model workers count what their model did, through `framesupplier run` and the HTTP API', { timeout: 480_000 }, () => {
  let child: ChildProcess;
  let url = '';
  let authorization = '';
  let exited: Promise<number | null>;
  const lines: string[] = [];

  before(() => {
    child = spawn(process.execPath, [MAIN, 'run', exampleConfig(), '--view', 'none'], {
      env: { ...process.env, XDG_STATE_HOME: join(dir, 'state'), FRAMESUPPLIER_STATE_DIR: join(dir, 'state', 'framesupplier') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (line) => lines.push(line));
    exited = new Promise((resolve) => child.once('exit', resolve));
  });

  after(async () => {
    if (child?.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('taken + skipped = delivered (in flight aside), skipped > 0, and fps is the rate of results', async () => {
    let printed: RegExpExecArray | null = null;
    await eventually(
      () =>
        (printed = lines.map((l) => /dashboard: (http:\/\/127\.0\.0\.1:\d+\/) \(a new API token is in (\S+):/.exec(l)).find((m) => m !== null) ?? null) !==
        null,
      `the dashboard's address (output so far:\n${lines.slice(-20).join('\n')})`,
      120_000,
    );
    const [, printedUrl, tokenFile] = printed! as unknown as [string, string, string];
    url = printedUrl;
    authorization = `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`;
    const snapshots: Snapshot[] = [];
    const snapshot = async (): Promise<Snapshot> => {
      const before = Date.now();
      const stats = (await (await fetch(`${url}api/stats`, { headers: { authorization } })).json()) as {
        cameras: Record<string, { workers: Record<string, PipelineWorkerStats> }>;
      };
      const people = Object.fromEntries(PEOPLE.map((c) => [c, stats.cameras[c]!.workers.people!])) as Snapshot['people'];
      const s = { at: (before + Date.now()) / 2, people };
      snapshots.push(s);
      return s;
    };
    // Until both people workers have had their model run on 60 frames and skip some, and 10 s of figures are in.
    let last = await snapshot();
    const enough = (s: Snapshot): boolean =>
      PEOPLE.every((c) => (s.people[c].modelFrames?.taken ?? 0) >= 60 && (s.people[c].modelFrames?.skipped ?? 0) > 0) && s.at - snapshots[0]!.at >= 10_000;
    while (!enough(last)) {
      assert.equal(child.exitCode, null, `run ended:\n${lines.slice(-20).join('\n')}`);
      assert.ok(last.at - snapshots[0]!.at < 200_000, `not enough figures in 200 s: ${JSON.stringify(last.people)}`);
      // A sampling cadence, not a wait for an event: back-to-back /api/stats calls would take a core from the
      // run being measured on a 2-core machine.
      await delay(200);
      last = await snapshot();
    }
    for (const camera of PEOPLE) {
      const w = last.people[camera];
      const model = w.modelFrames!;
      assert.equal(w.kind, 'model');
      assert.equal(w.restarts, 0, `${camera}: no restart, so the mailbox's life is this incarnation`);
      // Every frame the mailbox delivered is taken or skipped by the model exactly once, the rest in flight.
      assert.equal(model.taken + model.skipped + model.inFlight, w.totals.delivered, `${camera}: ${JSON.stringify(model)}`);
      assert.ok(model.skipped > 0, `${camera}: one model thread cannot keep up with both cameras, each asking more than half of it, so both skip`);
      // In flight: the frames read while the request waits for the one model thread and runs (10 fps × a few seconds on a loaded machine).
      assert.ok(model.inFlight <= 60, `${camera}: in flight ${model.inFlight}`);
      assert.equal(
        model.skipped,
        Object.values(model.skips).reduce((a, b) => a + b, 0),
        'skipped is the sum of its reasons',
      );
      assert.equal(w.fps, model.fps, 'the fps shown is the rate of frames the model ran on');
      assert.ok(w.lastFrameAgeMs !== null && w.lastFrameAgeMs === model.lastTaken?.ageMs, 'the age shown is of the last frame taken, at its answer');

      // fps (taken per second over its 5 s window) against the results counted over the same 5 s: within 10 %, or
      // within 2 frames over the window, since both are whole counts whose window edges differ by a bucket (at
      // 1.6 results/s on a loaded 2-core machine one frame either side is already 12 %).
      const from = snapshots.reduce((best, s) => (Math.abs(last.at - s.at - 5_000) < Math.abs(last.at - best.at - 5_000) ? s : best));
      const spanS = (last.at - from.at) / 1000;
      const resultsInSpan = w.results - from.people[camera].results;
      const takenInSpan = model.fps * spanS;
      assert.ok(
        Math.abs(takenInSpan - resultsInSpan) <= Math.max(2, 0.1 * resultsInSpan),
        `${camera}: fps ${model.fps} (${takenInSpan.toFixed(1)} frames in ${spanS.toFixed(1)} s) vs ${resultsInSpan} results`,
      );
      // And over the whole span: frames taken and results go together (an error answer is a result but no frame taken).
      const first = snapshots[0]!.people[camera];
      const taken = model.taken - (first.modelFrames?.taken ?? 0);
      const results = w.results - first.results;
      assert.ok(Math.abs(taken - results) <= Math.max(2, 0.05 * results), `${camera}: ${taken} taken vs ${results} results`);
    }
  });

  it('the people worker that cannot keep up misses its objective, says why with demand and capacity, the dashboard shows it, and lowering maxFps through the API clears it', async () => {
    assert.ok(url !== '', 'the first test found the printed address');
    const people = async (): Promise<{ w: PipelineWorkerStats; inferenceP50: number | null }> => {
      const stats = (await (await fetch(`${url}api/stats`, { headers: { authorization } })).json()) as {
        cameras: Record<string, { workers: Record<string, PipelineWorkerStats> }>;
        models: Record<string, { scheduling: { cameras: Record<string, { inference_ms_p50: number | null }> } | null }>;
      };
      return { w: stats.cameras.street!.workers.people!, inferenceP50: stats.models.person?.scheduling?.cameras.street?.inference_ms_p50 ?? null };
    };
    // street's people worker is `high` (10 % tolerance) and asks 10 frames a second of a model that serves both cameras
    // on one thread (20 frames/s asked).
    let now = await people();
    await eventuallyAsync(async () => (now = await people()).w.objective?.met === false, 'street/people misses its objective', 120_000);
    const objective = now.w.objective!;
    assert.equal(objective.objective.criticality, 'high');
    assert.equal(objective.objective.maxSkipRatio, 0.1);
    assert.match(objective.reason!, /misses \d+ % of its frames \(tolerance 10 %\)/);
    // Demand and capacity, either as the model's share (its own time cannot serve both asks) or, where its own time
    // could but the CPU it shares cannot, as what street gets of what it asks: both name the rate to ask for.
    assert.match(
      objective.reason!,
      /person serves \d+\.\d frames\/s on 1 thread \(\d+ ms a frame\); street asks \d+\.\d, street-mirror asks \d+\.\d, so street gets \d+\.\d|person takes \d+ ms a frame.*street asks \d+\.\d, street-mirror asks \d+\.\d of \d+\.\d frames\/s it can serve, and street gets \d+\.\d of the \d+\.\d it asks/,
    );
    assert.match(objective.fix[0]!, /^set maxFps ≤ \d+\.\d$/);
    assert.match(objective.fix[1]!, /^or (threads: \d+ for person|a machine with more (CPU|cores) for person)/);
    // The verdict is on the shortest span with figures enough (10 s first), so the share it names is above the
    // tolerance while the last minute's, a longer span, may already be under it: both show frames missed.
    const named = Number(/misses (\d+) %/.exec(objective.reason!)![1]);
    assert.ok(named >= 10, `the share named is over the tolerance: ${objective.reason}`);
    assert.ok(objective.lastMinute.skipRatio! > 0, JSON.stringify(objective.lastMinute));
    // What a user acts on is at least as old as the model's own time on it.
    const result = now.w.hops.result!;
    assert.ok(now.inferenceP50 !== null && result.p50Ms! >= now.inferenceP50, `capture → result p50 ${result.p50Ms} vs inference p50 ${now.inferenceP50}`);
    for (const hop of ['delivered', 'taken', 'result'] as const) assert.ok(now.w.hops[hop] !== null, `hop ${hop} recorded`);
    assert.ok(now.w.hops.delivered!.p50Ms! <= now.w.hops.taken!.p50Ms! && now.w.hops.taken!.p50Ms! <= result.p50Ms!, JSON.stringify(now.w.hops));

    // The same figures on the dashboard, opened at the printed address.
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(url);
      const row = page.locator('tr[data-worker="street/people"]');
      await row.locator('td[data-field="alert"]', { hasText: 'BEHIND' }).waitFor({ timeout: 60_000 });
      const shown = await row.locator('td[data-field="objective"]').textContent();
      assert.match(shown ?? '', /(person serves \d+\.\d frames\/s on 1 thread|person takes \d+ ms a frame).*→ set maxFps ≤ \d+\.\d/);
      const taken = Number(await row.locator('td[data-field="taken"]').textContent());
      const skipped = Number(await row.locator('td[data-field="skipped"]').textContent());
      assert.ok(taken >= now.w.modelFrames!.taken && skipped >= now.w.modelFrames!.skipped, `page: ${taken} taken, ${skipped} skipped`);
      // The model beside its workers: started by the system, where its socket is, ready.
      const model = page.locator('tr[data-model="person"]');
      await model.locator('td[data-field="state"]', { hasText: 'ready' }).waitFor({ timeout: 60_000 });
      assert.equal(await model.locator('td[data-field="from"]').textContent(), 'started');
      assert.match((await model.locator('td[data-field="where"]').textContent()) ?? '', /\.sock$/);
      await row.locator('td[data-field="result-age"] summary').click();
      assert.match((await row.locator('td[data-field="result-age"] .hops').textContent()) ?? '', /delivered \d+ \/ \d+ · taken \d+ \/ \d+ · result \d+ \/ \d+/);

      // The fix the reason names, through the API (the example's entry, changed as the fix says): first maxFps at most
      // its share (a little under, for jitter); on a loaded machine the model's latency may then make results late, and
      // the next fix named raises maxAgeMs. Each applied fix must be one the system named.
      const people0 = { id: 'people', model: 'person', criticality: 'high', maxAgeMs: 1000 } as {
        id: string;
        model: string;
        criticality: string;
        maxAgeMs: number;
        maxFps?: number;
      };
      const applied: string[] = [];
      for (let round = 0; round < 3 && now.w.objective?.met !== true; round++) {
        const fix = now.w.objective?.fix[0] ?? '';
        const fps = /^set maxFps ≤ (\d+\.\d)$/.exec(fix);
        const age = /^raise maxAgeMs above (\d+) ms$/.exec(fix);
        assert.ok(fps !== null || age !== null, `a fix to apply: ${JSON.stringify(now.w.objective)}`);
        if (fps !== null) people0.maxFps = Math.max(0.5, Math.floor(Number(fps[1]) * 8) / 10);
        if (age !== null) people0.maxAgeMs = Number(age[1]) + 100;
        applied.push(fix);
        const putAt = Date.now();
        const put = await fetch(`${url}api/cameras/street`, {
          method: 'PUT',
          headers: { authorization, 'content-type': 'application/json' },
          body: JSON.stringify({ source: vtest(), workers: [people0, { id: 'motion', module: 'builtin:motion', readSize: 'any' }] }),
        });
        assert.equal(put.status, 200, await put.text());
        // A verdict on the new worker's own figures: met, or missed with the fix to apply next.
        await eventuallyAsync(
          async () => {
            now = await people();
            const o = now.w.objective;
            return o !== null && o.since >= putAt && o.judgedAt !== null && o.judgedAt > o.since;
          },
          `a verdict after ${fix}`,
          150_000,
        );
      }
      assert.match(applied[0]!, /^set maxFps/, "the first fix named is the worker's rate");
      assert.equal(now.w.objective?.met, true, `met after ${applied.join(', then ')}: ${JSON.stringify(now.w.objective)}`);
      await row.locator('td[data-field="alert"]', { hasText: /^$/ }).waitFor({ timeout: 30_000 });
      assert.equal(await row.locator('td[data-field="objective"]').textContent(), '');
    } finally {
      await browser.close();
    }
  });
});

describe('a shared model worker fed by two cameras counts what its model did', { timeout: 120_000 }, () => {
  it('taken + skipped + in flight = delivered, one frame in flight at most, fps of the frames taken', async () => {
    const [a, b] = [`a-${process.pid}`, `b-${process.pid}`];
    const camera = { source: 'lavfi:testsrc2=size=320x240:rate=10', capture: { output: { format: 'rgb24' } }, workers: [] };
    const system = new VisionSystem({
      config: resolvedConfig({
        shmDir: `/dev/shm/framesupplier-accounting-shared-${process.pid}`,
        models: { slow: { handler: 'mock', delayMs: 150 } },
        cameras: { [a]: camera, [b]: camera },
        shared: { crowd: { model: 'slow', cameras: [a, b] } },
      }),
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const results = nextResults(system, a, 'crowd', 10);
      await system.start();
      await results;
      const crowd = system.stats().shared.crowd!;
      const frames = crowd.modelFrames!;
      assert.equal(crowd.kind, 'model');
      assert.ok(frames.taken >= 10, JSON.stringify(frames));
      // Read in the result's own turn: the next frame may be handed over already and not yet in the worker's ledger.
      const unsettled = crowd.totals.delivered - (frames.taken + frames.skipped + frames.inFlight);
      assert.ok(unsettled === 0 || unsettled === 1, `${JSON.stringify(frames)} vs delivered ${crowd.totals.delivered}`);
      assert.ok(frames.inFlight <= 1, 'a shared worker reads no frame while its request is out');
      assert.equal(crowd.fps, frames.fps);
    } finally {
      await system.close();
    }
  });
});
