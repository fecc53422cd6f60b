/// <reference lib="dom" />
/**
 * Tracked objects on the dashboard, in Debian's chromium: the app (createApp,
 * as `framesupplier run` builds it) on the objects end-to-end test's lavfi
 * video (a red square that stops inside the zone `pad`, a green one leaving
 * along the top), a module worker that finds the squares in the pixels, with
 * `track` on, a mask and the events store; the page opened at the very
 * address the CLI prints (`<url>#token=<token>`).
 *
 * Expected: the zone outlined on the live view where its polygon is, the
 * objects' boxes drawn with the ids the system gave them, the objects list
 * newest first with camera, label, id, zones, times and score, and a snapshot
 * that loaded, fetched with the Authorization header. The red square's label
 * is markup (`<img src=x onerror=…>`): shown as text, never run.
 * FRAMESUPPLIER_OBJECTS_SCREENSHOT=path saves a screenshot of the page.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createApp, type App } from '../../src/app/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { TrackedObject } from '../../src/objects/index.js';
import type { EventOf } from '../../src/pipeline/index.js';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { resolvedConfig } from '../pipeline/helpers.js';
import { MARKUP_LABEL } from './xss-colour-detector.js';

const DETECTOR = fileURLToPath(new URL('./xss-colour-detector.js', import.meta.url));
const VIDEO =
  "lavfi:color=c=black:s=320x240:r=10[bg];color=c=red:s=32x32:r=10[r];color=c=lime:s=32x32:r=10[g];[bg][r]overlay=x='min(20+40*t,240)':y=180[t1];[t1][g]overlay=x='280-40*t':y=30";
const TOKEN = 'dashboard-objects-token-0123456789';
const WAIT = { timeout: 90_000 };
const ID = /^\d+\.\d{6}-[a-z0-9]{6}$/;

interface Report {
  lastTracks: Record<string, { tracks: { id: string; label: string; box: number[]; zones: string[] }[]; width: number; height: number }>;
  lastZones: Record<string, { zones: string[]; masks: number; width: number; height: number }>;
}

describe('tracked objects, zones and object events on the dashboard', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `fs-dashboard-objects-${process.pid}-`));
  let app: App;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const snapshotRequests: { url: string; authorization: string | undefined }[] = [];
  /** Every object the system reported, by id. */
  const reported = new Map<string, TrackedObject>();

  before(async () => {
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-dashboard-objects-${process.pid}`,
      cameras: {
        gate: {
          source: VIDEO,
          capture: { output: { format: 'rgb24' } },
          workers: [{ id: 'colours', module: DETECTOR, maxFps: 4, track: { confirmHits: 2 } }],
          zones: {
            pad: {
              polygon: [
                [0.6, 0.5],
                [1, 0.5],
                [1, 1],
                [0.6, 1],
              ],
            },
          },
          masks: [
            [
              [0, 0],
              [0.2, 0],
              [0.2, 0.1],
              [0, 0.1],
            ],
          ],
        },
      },
      events: { database: join(dir, 'events.db') },
      http: { host: '127.0.0.1', port: 0, token: TOKEN },
    });
    app = createApp(config, { logger: createLogger({ level: 'silent' }), http: { config: config.http! }, tokenFile: join(dir, 'http-token') });
    app.system.on('tracked-object', (e: EventOf<'tracked-object'>) => reported.set(e.event.after.id, e.event.after));
    await app.start();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (request) => {
      if (request.url().endsWith('/snapshot.jpg')) snapshotRequests.push({ url: request.url(), authorization: request.headers().authorization });
    });
    // what `framesupplier run` prints for a token it was given or made (src/cli/run.ts)
    const { url, token } = app.dashboard!;
    await page.goto(`${url}#token=${token.value}`);
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("draws the camera's zone where its polygon is, and counts the mask", async () => {
    await page.waitForFunction(() => document.querySelector('canvas[data-camera="gate"]')?.getAttribute('data-zones') === 'pad', undefined, WAIT);
    const drawn = await page.evaluate(() => {
      const report = (window as unknown as { __framesupplier: Report }).__framesupplier;
      const canvas = document.querySelector<HTMLCanvasElement>('canvas[data-camera="gate"]')!;
      const ctx = canvas.getContext('2d')!;
      const { width, height } = canvas;
      // the zone's top edge (y = 0.5) at x = 0.8, clear of both squares; and a point of the background far from the zone
      const edge = [...ctx.getImageData(Math.round(0.8 * width), Math.round(0.5 * height), 1, 1).data];
      const outside = [...ctx.getImageData(Math.round(0.3 * width), Math.round(0.6 * height), 1, 1).data];
      return { zones: report.lastZones.gate!, edge, outside };
    });
    assert.deepEqual(drawn.zones.zones, ['pad']);
    assert.equal(drawn.zones.masks, 1);
    const [r, g, b] = drawn.edge;
    assert.ok(b! > 150 && g! > 100 && r! < 120, `the zone's edge is drawn in its blue, got rgb(${drawn.edge.join(',')})`);
    assert.ok(
      drawn.outside.slice(0, 3).every((v) => v < 30),
      `the black background outside the zone stays black, got ${drawn.outside.join(',')}`,
    );
  });

  it('draws the tracked objects with the ids the system gave them, in orange at their box', async () => {
    await page.waitForFunction(
      (label) => {
        const tracks = (window as unknown as { __framesupplier: Report }).__framesupplier.lastTracks.gate?.tracks ?? [];
        // red stays in view; green leaves it after 8 s, so it may be gone already on a slow machine
        return tracks.some((t) => t.label === label);
      },
      MARKUP_LABEL,
      WAIT,
    );
    const drawn = await page.evaluate((label) => {
      const last = (window as unknown as { __framesupplier: Report }).__framesupplier.lastTracks.gate!;
      const canvas = document.querySelector<HTMLCanvasElement>('canvas[data-camera="gate"]')!;
      const red = last.tracks.find((t) => t.label === label)!;
      // the box's top edge, a little in from its left corner
      const [x1, y1, x2] = red.box;
      const x = Math.round(x1! * last.width + Math.min(6, ((x2! - x1!) * last.width) / 2));
      const pixel = [...canvas.getContext('2d')!.getImageData(x, Math.round(y1! * last.height), 1, 1).data];
      return { tracks: last.tracks, pixel, attribute: canvas.getAttribute('data-tracks') ?? '' };
    }, MARKUP_LABEL);
    for (const t of drawn.tracks) {
      assert.match(t.id, ID);
      assert.equal(reported.get(t.id)?.label, t.label, `track ${t.id} is one the system reported, with its label`);
    }
    assert.equal(new Set(drawn.tracks.map((t) => t.id)).size, drawn.tracks.length);
    assert.deepEqual(drawn.attribute.split(' ').sort(), drawn.tracks.map((t) => t.id).sort());
    const [r, g, b] = drawn.pixel;
    assert.ok(r! > 200 && g! > 100 && g! < 200 && b! < 80, `the object's box is orange at its edge, got rgb(${drawn.pixel.join(',')})`);
  });

  it('lists the object events newest first, with camera, label, id, zones, times, score and a snapshot that loaded', async () => {
    // red in pad, with its snapshot shown
    await page.waitForFunction(
      (label) =>
        Array.from(document.querySelectorAll('#objects li')).some(
          (li) =>
            li.querySelector('[data-field="label"]')?.textContent === label &&
            /pad/.test(li.querySelector('[data-field="zones"]')?.textContent ?? '') &&
            (li.querySelector<HTMLImageElement>('img[data-field="snapshot"]')?.naturalWidth ?? 0) > 0,
        ),
      MARKUP_LABEL,
      WAIT,
    );
    const rows = await page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLLIElement>('#objects li')).map((li) => {
        const text = (f: string): string => li.querySelector(`[data-field="${f}"]`)?.textContent ?? '';
        const img = li.querySelector<HTMLImageElement>('img[data-field="snapshot"]')!;
        return {
          id: li.dataset.eventId!,
          idTitle: li.querySelector('[data-field="id"]')?.getAttribute('title'),
          camera: text('camera'),
          label: text('label'),
          labelHtml: li.querySelector('[data-field="label"]')!.innerHTML,
          shownId: text('id'),
          zones: text('zones'),
          time: text('time'),
          score: text('score'),
          snapshot: { width: img.naturalWidth, src: img.src, hidden: img.hidden },
        };
      }),
    );
    const red = rows.find((r) => r.label === MARKUP_LABEL)!;
    assert.equal(red.camera, 'gate');
    assert.match(red.id, ID);
    assert.equal(red.shownId, `#${red.id.slice(-6)}`);
    assert.equal(red.idTitle, red.id);
    assert.match(red.zones, /zones: pad/);
    assert.match(red.time, /^\d\d:\d\d:\d\d – (\d\d:\d\d:\d\d|now)$/);
    assert.equal(red.score, '0.90');
    assert.ok(red.snapshot.width > 0 && !red.snapshot.hidden);
    assert.ok(red.snapshot.src.startsWith('blob:'), red.snapshot.src);
    assert.ok(rows.some((r) => r.label === 'green'));
    // newest first: by the start times the store has
    const stored = (await (await fetch(new URL('/api/events?camera=gate', app.dashboard!.url))).json()) as { events: TrackedObject[] };
    const start = new Map(stored.events.map((e) => [e.id, e.start_time]));
    const starts = rows.map((r) => start.get(r.id) ?? reported.get(r.id)!.start_time);
    assert.deepEqual(
      starts,
      [...starts].sort((a, b) => b - a),
    );
    // fetched with the token, as every API call of the page is
    const redRequests = snapshotRequests.filter((s) => s.url.includes(encodeURIComponent(red.id)));
    assert.ok(redRequests.length > 0);
    for (const s of redRequests) assert.equal(s.authorization, `Bearer ${TOKEN}`);
    const screenshot = process.env.FRAMESUPPLIER_OBJECTS_SCREENSHOT;
    if (screenshot !== undefined) await page.screenshot({ path: screenshot, fullPage: true });
  });

  it('shows markup in a label as text: no element made from it, nothing run', async () => {
    const seen = await page.evaluate(
      (label) => ({
        ran: (window as unknown as { __xss?: unknown }).__xss !== undefined,
        images: document.querySelectorAll('img[src="x"]').length,
        labelHtml: Array.from(document.querySelectorAll('#objects [data-field="label"]')).find((e) => e.textContent === label)?.innerHTML ?? null,
        inEventsList: (document.getElementById('events')!.textContent ?? '').includes(label),
        eventsImages: document.querySelectorAll('#events img').length,
      }),
      MARKUP_LABEL,
    );
    assert.equal(seen.ran, false);
    assert.equal(seen.images, 0);
    assert.equal(seen.labelHtml, '&lt;img src=x onerror="window.__xss=1"&gt;');
    // the generic events list names the label too (appearances): as text
    assert.equal(seen.inEventsList, true);
    assert.equal(seen.eventsImages, 0);
    assert.deepEqual(errors, []);
  });
});
