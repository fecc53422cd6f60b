/// <reference lib="dom" />
/**
 * Motion regions on the dashboard's live view (issue 44), in Debian's
 * chromium: the app (createApp, as `framesupplier run` builds it) with a
 * camera that measures motion (a white square crossing a black picture along
 * one row) and one that does not; the page opened at the very address the CLI
 * prints (`<url>#token=<token>`).
 *
 * Expected: the header's `motion` toggle sits beside the `boxes` one and is
 * off at first (nothing drawn); turned on, the moving camera's live view has
 * the regions its motion detection found (system.cameras.motion, sent with
 * each frame) drawn in the motion colour, spanning the square's row; the
 * camera without motion detection gets none; turned off, none again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createApp, type App } from '../../src/app/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { resolvedConfig } from '../pipeline/helpers.js';

/** A 48 px white square crossing a 320 × 240 black picture at y 96–144 (0.4–0.6), 60 px a second. */
const MOVING = "lavfi:color=c=black:s=320x240:r=10[bg];color=c=white:s=48x48:r=10[w];[bg][w]overlay=x='mod(10+60*t,260)':y=96";
const STILL = 'lavfi:color=c=gray:s=320x240:r=10';
const TOKEN = 'dashboard-motion-token-0123456789';
const WAIT = { timeout: 90_000 };

interface Report {
  perCamera: Record<string, { frames: number }>;
  lastMotion: Record<string, { regions: number[][]; state: string | null; share: number; width: number; height: number; at: number }>;
}

describe('motion regions drawn on the live view', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `fs-dashboard-motion-${process.pid}-`));
  let app: App;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const framesOf = (camera: string): Promise<number> =>
    page.evaluate((id) => (window as unknown as { __framesupplier: Report }).__framesupplier.perCamera[id]?.frames ?? 0, camera);
  /** Waits until `camera` has drawn `more` frames beyond now: what is checked then was drawn with the toggles as they are. */
  const moreFrames = async (camera: string, more: number): Promise<void> => {
    const now = await framesOf(camera);
    await page.waitForFunction(
      ([id, wanted]) => ((window as unknown as { __framesupplier: Report }).__framesupplier.perCamera[id]?.frames ?? 0) >= wanted,
      [camera, now + more] as const,
      WAIT,
    );
  };
  const attribute = (camera: string): Promise<string | null> =>
    page.evaluate((id) => document.querySelector(`canvas[data-camera="${id}"]`)?.getAttribute('data-motion-regions') ?? null, camera);

  before(async () => {
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-dashboard-motion-${process.pid}`,
      cameras: {
        hall: { source: MOVING, capture: { output: { format: 'rgb24' } }, motion: { enabled: true }, workers: [] },
        store: { source: STILL, capture: { output: { format: 'rgb24' } }, workers: [] },
      },
      http: { host: '127.0.0.1', port: 0, token: TOKEN },
    });
    app = createApp(config, { logger: createLogger({ level: 'silent' }), http: { config: config.http! }, tokenFile: join(dir, 'http-token') });
    await app.start();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    // what `framesupplier run` prints for a token it was given or made (src/cli/run.ts)
    const { url, token } = app.dashboard!;
    await page.goto(`${url}#token=${token.value}`);
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has a motion toggle beside the boxes toggle, off at first: no regions drawn', async () => {
    const toggles = await page.evaluate(() => {
      const motion = document.getElementById('motion-toggle') as HTMLInputElement | null;
      const boxes = document.getElementById('boxes-toggle') as HTMLInputElement | null;
      return {
        motion: motion?.checked ?? null,
        boxes: boxes?.checked ?? null,
        beside: motion !== null && boxes !== null && boxes.parentElement?.nextElementSibling === motion.parentElement,
      };
    });
    assert.deepEqual(toggles, { motion: false, boxes: true, beside: true });
    await moreFrames('hall', 3);
    assert.equal(await attribute('hall'), '');
  });

  it("turned on: the regions the camera's motion detection found are drawn where the square moves; none on the camera without motion", async () => {
    await page.click('#motion-toggle');
    await page.waitForFunction(
      () => ((window as unknown as { __framesupplier: Report }).__framesupplier.lastMotion.hall?.regions.length ?? 0) > 0,
      undefined,
      WAIT,
    );
    // The system's public call says the same camera moves, on its own figures.
    const reading = app.system.cameras.motion('hall');
    assert.ok(reading !== null && reading.regions.length > 0, `system.cameras.motion: ${JSON.stringify(reading)}`);
    const drawn = await page.evaluate(() => {
      const last = (window as unknown as { __framesupplier: Report }).__framesupplier.lastMotion.hall!;
      const canvas = document.querySelector<HTMLCanvasElement>('canvas[data-camera="hall"]')!;
      const [x1, y1, x2] = last.regions[0]!;
      // along the largest region's top edge (dashed: 6 px on, 4 off), the pixels under it
      const y = Math.round(y1! * last.height);
      const from = Math.round(x1! * last.width);
      const to = Math.min(Math.round(x2! * last.width), from + 24);
      const ctx = canvas.getContext('2d')!;
      const edge: number[][] = [];
      for (let x = from; x <= to; x += 2) edge.push([...ctx.getImageData(x, y, 1, 1).data]);
      return { last, edge, attribute: canvas.getAttribute('data-motion-regions') };
    });
    assert.equal(drawn.last.state, 'motion');
    assert.equal(drawn.attribute, String(drawn.last.regions.length));
    // The square's row is y 0.4–0.6: the largest region spans it (the square where it was and where it is).
    const [x1, y1, x2, y2] = drawn.last.regions[0]!;
    assert.ok(y1! <= 0.42 && y2! >= 0.58, `the region spans the square's row: ${JSON.stringify(drawn.last.regions[0])}`);
    assert.ok(x2! - x1! >= 0.12, `the region is at least the square wide: ${JSON.stringify(drawn.last.regions[0])}`);
    assert.ok(
      drawn.edge.some(([r, g, b]) => r! > 180 && g! < 120 && b! > 60),
      `the region's edge is drawn in the motion colour: ${JSON.stringify(drawn.edge)}`,
    );
    // The camera without motion detection: frames drawn, no region.
    await moreFrames('store', 2);
    assert.equal(await attribute('store'), '0');
  });

  it('turned off: no regions drawn again; no page errors', async () => {
    await page.click('#motion-toggle');
    await moreFrames('hall', 2);
    assert.equal(await attribute('hall'), '');
    assert.deepEqual(errors, []);
  });
});
