/// <reference lib="dom" />
/**
 * The dashboard in a real headless browser (Debian's chromium through
 * playwright-core) against a running system on the test clip: one tile per
 * camera, frames that change, boxes drawn where the person model found
 * people, worker figures that update, the restart button restarting the
 * worker (with the token), a motion-gated worker's gate figures, a missing or a wrong token showing an error and
 * changing nothing; the page at a phone's width and in the dark theme; the Models table showing the handler each
 * model's server says it runs (a server someone else runs, at a socket: its pong's, not null).
 * FRAMESUPPLIER_SCREENSHOT=path saves a screenshot (docs/dashboard.png).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { HttpServer } from '../../src/http/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { createMockHandler, ModelServer } from '../../src/models/index.js';
import { VisionSystem, type EventOf } from '../../src/pipeline/index.js';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { nextEvent, resolvedConfig, vtest } from '../pipeline/helpers.js';
import { eventuallyAsync } from '../helpers/process.js';

const PEOPLE = `street-${process.pid}`;
const PLAIN = `plain-${process.pid}`;
const SHM_DIR = `/dev/shm/framesupplier-test-dashboard-${process.pid}`;
const TOKEN = 'dashboard-test-token-0123456789';
const WAIT = { timeout: 150_000 };
/** A model server someone else runs (the test), at a socket the config names: the system learns its handler from its pong. */
const OUTSIDE_DIR = mkdtempSync(join(tmpdir(), 'fs-dashboard-outside-'));
const OUTSIDE = 'outside';

describe('the dashboard in a headless browser', { timeout: 400_000 }, () => {
  let system: VisionSystem;
  let server: HttpServer;
  let browser: Browser;
  let page: Page;
  let outside: ModelServer;
  /** The person model's boxes, every one it reported. */
  const found: (readonly number[])[] = [];

  before(async () => {
    outside = await new ModelServer({
      socketPath: join(OUTSIDE_DIR, `${OUTSIDE}.sock`),
      // A server that takes batches of up to 4 (ADR 0127): its row says so once its pong is in.
      handler: createMockHandler({ modelId: OUTSIDE, maxBatch: 4 }),
      shmDir: SHM_DIR,
      closeLingerMs: 200,
      shutdownGraceMs: 2_000,
    }).start();
    system = new VisionSystem({
      config: resolvedConfig({
        shmDir: SHM_DIR,
        models: { person: { handler: 'person', threads: 1 }, [OUTSIDE]: { socket: outside.socketPath } },
        cameras: {
          [PEOPLE]: {
            source: vtest(),
            capture: { loop: true },
            workers: [
              { id: 'people', model: 'person', maxFps: 2, gate: 'motion' },
              { id: 'motion', module: 'builtin:motion' },
            ],
          },
          [PLAIN]: { source: vtest(), capture: { loop: true, output: { width: 384, fps: 5 } }, workers: [{ id: 'motion', module: 'builtin:motion' }] },
        },
      }),
      logger: createLogger({ level: 'silent' }),
      drainTimeoutMs: 2_000,
    });
    system.on('result', (e: EventOf<'result'>) => {
      if (e.worker !== 'people') return;
      for (const d of (e.output as { detections?: { bbox?: number[] }[] }).detections ?? []) if (d.bbox !== undefined) found.push(d.bbox);
    });
    await system.start();
    server = new HttpServer({ system, token: TOKEN, port: 0, logger: createLogger({ level: 'silent' }) });
    await server.start();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    await page.goto(server.url);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await system?.close();
    await outside?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
    rmSync(OUTSIDE_DIR, { recursive: true, force: true });
  });

  const frames = (camera: string): Promise<number> =>
    page.evaluate((c) => Number(document.querySelector(`canvas[data-camera="${c}"]`)?.getAttribute('data-frames') ?? 0), camera);
  const checksum = (camera: string): Promise<number> =>
    page.evaluate((c) => {
      const canvas = document.querySelector<HTMLCanvasElement>(`canvas[data-camera="${c}"]`)!;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let sum = 0;
      for (let i = 0; i < data.length; i += 7) sum = (sum * 31 + data[i]!) % 1_000_000_007;
      return sum;
    }, camera);
  const cell = (worker: string, field: string): Promise<string> => page.locator(`tr[data-worker="${worker}"] td[data-field="${field}"]`).innerText();
  const restarts = (camera: string, worker: string): number => system.stats().cameras[camera]!.workers[worker]!.restarts;

  it('shows one tile per camera, and their frames change', async () => {
    await page.waitForFunction((n) => document.querySelectorAll('.tile').length === n, 2, WAIT);
    const ids = await page.locator('.tile').evaluateAll((tiles) => tiles.map((t) => t.getAttribute('data-camera')).sort());
    assert.deepEqual(ids, [PEOPLE, PLAIN].sort());
    for (const camera of [PEOPLE, PLAIN]) {
      await page.waitForFunction((c) => Number(document.querySelector(`canvas[data-camera="${c}"]`)?.getAttribute('data-frames')) >= 2, camera, WAIT);
      const before = { n: await frames(camera), sum: await checksum(camera) };
      await page.waitForFunction(
        ([c, n]) => Number(document.querySelector(`canvas[data-camera="${c}"]`)?.getAttribute('data-frames')) >= Number(n) + 3,
        [camera, before.n] as const,
        WAIT,
      );
      assert.notEqual(await checksum(camera), before.sum, `${camera}: the picture changed`);
    }
  });

  it('each camera says what its decoder decodes and why (a reader of every frame: all frames)', async () => {
    for (const camera of [PEOPLE, PLAIN]) {
      const span = page.locator(`.tile[data-camera="${camera}"] .muted`).first();
      await page.waitForFunction((c) => /all frames/.test(document.querySelector(`.tile[data-camera="${c}"] .muted`)?.textContent ?? ''), camera, WAIT);
      assert.match((await span.getAttribute('title')) ?? '', /decoding all frames: a reader reads every frame/);
    }
  });

  it("says the system's memory in its header: the process tree and what it takes (PSS), the heap, each camera's buffers (ADR 0068)", async () => {
    await page.waitForFunction(
      () => /MB \(takes \d+ MB\) in \d+ processes · heap \d+ MB.* · buffers \d+ MB/.test(document.getElementById('memory')?.textContent ?? ''),
      undefined,
      WAIT,
    );
    const title = (await page.locator('#memory').getAttribute('title')) ?? '';
    for (const camera of [PEOPLE, PLAIN]) assert.match(title, new RegExp(`${camera}: \\d+ MB frame pool, \\d+ MB packets held`));
  });

  it('draws boxes where the person model found people', async () => {
    await page.waitForFunction(
      (c) => (window as unknown as { __framesupplier: { lastBoxes: Record<string, unknown> } }).__framesupplier.lastBoxes[c] !== undefined,
      PEOPLE,
      WAIT,
    );
    const drawn = await page.evaluate((c) => {
      const report = (window as unknown as { __framesupplier: { lastBoxes: Record<string, { bboxes: number[][]; width: number; height: number }> } })
        .__framesupplier;
      const last = report.lastBoxes[c]!;
      const canvas = document.querySelector<HTMLCanvasElement>(`canvas[data-camera="${c}"]`)!;
      // The box's top edge, a little in from its left corner: the stroke's green, in the row it covers most (a stroke
      // 1.5 px wide, as on a frame at a model's size, can cover the nearest row only in part, blended with the picture).
      const [x1, y1, x2] = last.bboxes[0]!;
      const x = Math.round(x1! * last.width + Math.min(6, ((x2! - x1!) * last.width) / 2));
      const edge = Math.floor(y1! * last.height);
      const rows = [edge - 1, edge, edge + 1].filter((y) => y >= 0).map((y) => [...canvas.getContext('2d')!.getImageData(x, y, 1, 1).data]);
      const pixel = rows.reduce((best, p) => (p[1]! - p[0]! > best[1]! - best[0]! ? p : best));
      return { bboxes: last.bboxes, pixel };
    }, PEOPLE);
    assert.ok(drawn.bboxes.length > 0);
    for (const box of drawn.bboxes)
      assert.ok(
        found.some((f) => f.every((v, i) => Math.abs(v - box[i]!) < 1e-9)),
        `box ${JSON.stringify(box)} is one the person model reported`,
      );
    const [r, g, b] = drawn.pixel;
    assert.ok(g! > 150 && r! < 120 && b! < 180, `the box is drawn in green at its edge, got rgb(${drawn.pixel.join(',')})`);
    // The camera without a person model gets no boxes.
    assert.equal(await page.evaluate((c) => document.querySelector(`canvas[data-camera="${c}"]`)?.getAttribute('data-boxes'), PLAIN), '0');
  });

  it("the worker table's figures update", async () => {
    const key = `${PLAIN}/motion`;
    await page.locator(`tr[data-worker="${key}"]`).waitFor(WAIT);
    const first = await cell(key, 'delivered');
    await page.waitForFunction(
      ([k, v]) => document.querySelector(`tr[data-worker="${k}"] td[data-field="delivered"]`)?.textContent !== v,
      [key, first] as const,
      WAIT,
    );
    assert.ok(Number(await cell(key, 'delivered')) > Number(first));
    assert.equal(await cell(key, 'state'), 'running');
    assert.equal(await cell(`${PEOPLE}/people`, 'criticality'), 'normal');
    // The gated worker's motion gate (ADR 0066): its runs by reason and its still frames; '-' for a worker not gated.
    await page.waitForFunction(
      (k) =>
        /^runs \d+ \(first 1.*\); still \d+ \(\d+ % saved\)/.test(document.querySelector(`tr[data-worker="${k}"] td[data-field="gate"]`)?.textContent ?? ''),
      `${PEOPLE}/people`,
      WAIT,
    );
    assert.equal(await cell(key, 'gate'), '-');
  });

  it('without the token, restart asks for it; cancelled, it shows an error and changes nothing', async () => {
    const before = restarts(PLAIN, 'motion');
    await page.locator(`button[data-action="restart"][data-worker="${PLAIN}/motion"]`).click();
    await page.locator('#token-dialog').waitFor({ state: 'visible', ...WAIT });
    await page.locator('#token-cancel').click();
    await page.waitForFunction(
      () => !document.getElementById('error')!.hidden && /needs the API token/.test(document.getElementById('error')!.textContent ?? ''),
      undefined,
      WAIT,
    );
    assert.equal(restarts(PLAIN, 'motion'), before);
  });

  it('with a wrong token, restart shows ERR_HTTP_UNAUTHORIZED and changes nothing', async () => {
    const before = restarts(PLAIN, 'motion');
    await page.locator(`button[data-action="restart"][data-worker="${PLAIN}/motion"]`).click();
    await page.locator('#token-input').fill('wrong-token-0123456789');
    await page.locator('#token-ok').click();
    await page.waitForFunction(() => /ERR_HTTP_UNAUTHORIZED/.test(document.getElementById('error')!.textContent ?? ''), undefined, WAIT);
    assert.equal(restarts(PLAIN, 'motion'), before);
  });

  it('with the token, the restart button restarts the worker', async () => {
    const before = restarts(PLAIN, 'motion');
    const restarted = nextEvent(system, 'config-change', (e) => e.change === 'worker-restarted' && e.camera === PLAIN && e.worker === 'motion');
    await page.locator(`button[data-action="restart"][data-worker="${PLAIN}/motion"]`).click();
    await page.locator('#token-input').fill(TOKEN);
    await page.locator('#token-ok').click();
    await restarted;
    assert.equal(restarts(PLAIN, 'motion'), before + 1);
    await page.waitForFunction(
      ([k, n]) => document.querySelector(`tr[data-worker="${k}"] td[data-field="restarts"]`)?.textContent === String(n),
      [`${PLAIN}/motion`, before + 1] as const,
      WAIT,
    );
    await page.waitForFunction(() => document.getElementById('error')!.hidden, undefined, WAIT);
    await page.waitForFunction(() => /worker-restarted/.test(document.getElementById('events')!.textContent ?? ''), undefined, WAIT);
  });

  it("a camera's detail view shows its larger live frame; the page fits a phone's width and has a dark theme", async () => {
    await page.locator(`.tile[data-camera="${PEOPLE}"]`).click();
    await page.waitForFunction(() => (document.getElementById('detail-canvas') as HTMLCanvasElement).width === 768, undefined, WAIT);
    const screenshot = process.env.FRAMESUPPLIER_SCREENSHOT;
    await page.locator('#detail-close').click();
    await page.waitForFunction(
      (n) => Number(document.querySelector(`canvas[data-camera="${n}"]`)?.getAttribute('data-frames')) > 0 && !document.getElementById('grid')!.hidden,
      PEOPLE,
      WAIT,
    );
    if (screenshot !== undefined) {
      // The moment a frame with boxes was drawn, so the picture shows them.
      await page.waitForFunction(
        (c) =>
          Date.now() - ((window as unknown as { __framesupplier: { lastBoxes: Record<string, { at: number }> } }).__framesupplier.lastBoxes[c]?.at ?? 0) < 100,
        PEOPLE,
        { ...WAIT, polling: 20 },
      );
      await page.screenshot({ path: screenshot, fullPage: true });
    }
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.locator('#theme-button').click();
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(light, dark);
    await page.setViewportSize({ width: 390, height: 844 });
    // The plots follow the window's resize event, which a loaded machine may deliver late: wait for it, then measure.
    await page.waitForFunction(() => document.documentElement.scrollWidth - window.innerWidth <= 1, undefined, WAIT).catch(() => undefined);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow} px at 390 px`);
  });

  // Issue 41: `age ms` was one instant's age of the last frame beside `result age ms`, a p50, so a frame read older than its result.
  it('the two age columns are the same statistic, a p50 of the recent frames, their titles say so, and they show what /api/stats gives', async () => {
    const title = (field: string): Promise<string> =>
      page
        .locator(`#workers th[data-field="${field}"]`)
        .getAttribute('title')
        .then((t) => t ?? '');
    assert.match(await title('age'), /^read age, p50 of the recent frames: capture → read by the worker/);
    assert.match(await title('age'), /\/api\/stats: hops\.delivered\.p50Ms$/);
    assert.match(await title('result-age'), /^result age, p50 of the recent results: capture → result/);
    assert.match(await title('result-age'), /\/api\/stats: hops\.result\.p50Ms$/);
    // Stopped, the workers' figures hold still: the page's next stats then show what /api/stats gives now.
    for (const worker of ['people', 'motion']) await system.workers.setEnabled(PEOPLE, worker, false);
    type Hops = { delivered: { p50Ms: number | null } | null; result: { p50Ms: number | null } | null };
    const api = async (): Promise<Record<string, Hops>> => {
      const stats = (await (await fetch(`${server.url}api/stats`)).json()) as { cameras: Record<string, { workers: Record<string, { hops: Hops }> }> };
      return Object.fromEntries(Object.entries(stats.cameras[PEOPLE]!.workers).map(([id, w]) => [id, w.hops]));
    };
    const shown = (p50: number | null | undefined): string => (p50 === null || p50 === undefined ? '–' : p50.toFixed(0));
    let last = '';
    await eventuallyAsync(
      async () => {
        const hops = await api();
        const rows = await Promise.all(
          ['people', 'motion'].map(async (worker) => {
            const key = `${PEOPLE}/${worker}`;
            const result = await page.locator(`tr[data-worker="${key}"] td[data-field="result-age"] summary`).innerText();
            return {
              worker,
              read: await cell(key, 'age'),
              result,
              api: { read: shown(hops[worker]!.delivered?.p50Ms), result: shown(hops[worker]!.result?.p50Ms) },
            };
          }),
        );
        last = JSON.stringify(rows);
        return rows.every((r) => r.read === r.api.read && r.result === r.api.result);
      },
      'the page shows /api/stats hops.delivered.p50Ms and hops.result.p50Ms',
      60_000,
    ).catch((error: unknown) => assert.fail(`${String(error)}: ${last}`));
    const motion = (await api()).motion!;
    assert.ok(motion.delivered?.p50Ms != null && motion.result?.p50Ms != null, 'the motion worker has both figures');
  });
  // Issue 41 item 4: a model at a socket showed `handler: null`, though its server says which handler it runs.
  it("the Models table shows the handler each model's server says it runs, as /api/stats does: the pong's for a server at a socket", async () => {
    const shown = (model: string): Promise<string | null> =>
      page.evaluate((m) => document.querySelector(`#models tr[data-model="${m}"] td[data-field="handler"]`)?.textContent ?? null, model);
    // Its row says `-` until the server has answered a ping; then what it answered.
    await page.waitForFunction(
      (m) => {
        const text = document.querySelector(`#models tr[data-model="${m}"] td[data-field="handler"]`)?.textContent;
        return text !== undefined && text !== null && text !== '-';
      },
      OUTSIDE,
      WAIT,
    );
    const stats = (await (await fetch(`${server.url}api/stats`)).json()) as { models: Record<string, { handler: string | null; source: string }> };
    assert.equal(stats.models[OUTSIDE]?.source, 'socket');
    assert.equal(stats.models[OUTSIDE]?.handler, 'mock', 'the server said mock in its pong');
    assert.equal(await shown(OUTSIDE), 'mock');
    assert.equal(await shown('person'), stats.models.person?.handler ?? 'missing');
    assert.equal(await shown('person'), 'person');
  });

  it("the Models table shows each model's batches as /api/stats does: the frames its calls held of its max_batch, and their oldest frame's age", async () => {
    type Calls = { batchSizeP50: number | null; batchSizeP99: number | null; oldestFrameAgeMsP50: number | null; oldestFrameAgeMsP99: number | null };
    type Models = Record<string, { calls: Calls; scheduling: { maxBatch: number } | null }>;
    const cell = (model: string, field: string): Promise<string | null> =>
      page.evaluate(([m, f]) => document.querySelector(`#models tr[data-model="${m}"] td[data-field="${f}"]`)?.textContent ?? null, [model, field] as const);
    const pair = (a: number | null, b: number | null): string => `${a === null ? '-' : a.toFixed(0)}/${b === null ? '-' : b.toFixed(0)}`;
    let last = '';
    await eventuallyAsync(
      async () => {
        const models = ((await (await fetch(`${server.url}api/stats`)).json()) as { models: Models }).models;
        const rows = await Promise.all(
          ['person', OUTSIDE].map(async (m) => {
            const c = models[m]!.calls;
            return {
              batch: await cell(m, 'batch'),
              want: `${pair(c.batchSizeP50, c.batchSizeP99)} of ${models[m]!.scheduling?.maxBatch ?? '-'}`,
              oldest: await cell(m, 'oldest'),
              wantOldest: pair(c.oldestFrameAgeMsP50, c.oldestFrameAgeMsP99),
            };
          }),
        );
        last = JSON.stringify(rows);
        // The person model has answered (calls of one frame, of 1); the outside one takes batches of 4 and has had no call.
        return rows.every((r) => r.batch === r.want && r.oldest === r.wantOldest) && rows[0]!.batch === '1/1 of 1' && rows[1]!.batch === '-/- of 4';
      },
      'the page shows /api/stats models.*.calls and scheduling.maxBatch',
      60_000,
    ).catch((error: unknown) => assert.fail(`${String(error)}: ${last}`));
  });
});
