/// <reference lib="dom" />
/**
 * The dashboard asks for stored events only when the server keeps them
 * (issue 37, item 5), in Debian's chromium: the app (createApp, as
 * `framesupplier run` builds it) on a lavfi video of a red square, the
 * colour-finding module worker with `track` on, the HTTP server; the page
 * opened at the address the CLI prints.
 *
 * Expected: without an events store (the built-in example's case) the page
 * sends no request to /api/events (the socket's `ready` says there is no
 * store), so the console has no error about it, while its tracked objects
 * are drawn; with a store, an object that ended before the page opened is in
 * the objects list, which only /api/events can have put there, with its
 * snapshot.
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
import type { EventOf } from '../../src/pipeline/index.js';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { resolvedConfig } from '../pipeline/helpers.js';

const DETECTOR = fileURLToPath(new URL('./xss-colour-detector.js', import.meta.url));
const SQUARE = 'lavfi:color=c=black:s=320x240:r=10[bg];color=c=red:s=32x32:r=10[r];[bg][r]overlay=x=140:y=100';
/** The square shows for 2 s, then is gone: its object ends. */
const BRIEF_SQUARE = "lavfi:color=c=black:s=320x240:r=10[bg];color=c=red:s=32x32:r=10[r];[bg][r]overlay=x=140:y=100:enable='lt(t,2)'";
const TOKEN = 'dashboard-events-token-0123456789';
const WAIT = { timeout: 60_000 };

/** What the page said and asked for about /api/events: requests, answers, console messages. */
interface Watched {
  readonly requests: string[];
  readonly answers: { url: string; status: number }[];
  readonly console: string[];
}

async function openPage(browser: Browser, app: App): Promise<{ page: Page; watched: Watched }> {
  const page = await browser.context.newPage();
  const watched: Watched = { requests: [], answers: [], console: [] };
  page.on('request', (r) => {
    if (r.url().includes('/api/events')) watched.requests.push(r.url());
  });
  page.on('response', (r) => {
    if (r.url().includes('/api/events')) watched.answers.push({ url: r.url(), status: r.status() });
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') watched.console.push(`${m.type()}: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => watched.console.push(`pageerror: ${e.message}`));
  const { url, token } = app.dashboard!;
  await page.goto(`${url}#token=${token.value}`);
  return { page, watched };
}

function makeApp(dir: string, source: string, store: boolean): App {
  const config = resolvedConfig({
    shmDir: `/dev/shm/fs-dashboard-events-${store ? 'store' : 'none'}-${process.pid}`,
    cameras: {
      gate: {
        source,
        capture: { output: { format: 'rgb24' } },
        workers: [{ id: 'colours', module: DETECTOR, maxFps: 4, track: { confirmHits: 2 } }],
      },
    },
    ...(store ? { events: { database: join(dir, 'events.db') } } : {}),
    http: { host: '127.0.0.1', port: 0, token: TOKEN },
  });
  return createApp(config, { logger: createLogger({ level: 'silent' }), http: { config: config.http! }, tokenFile: join(dir, 'http-token') });
}

describe('the dashboard asks for stored events only from a server that keeps them', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `fs-dashboard-events-${process.pid}-`));
  let browser: Browser;

  before(async () => {
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('without an events store: no request to /api/events, nothing about it in the console, objects still drawn', async () => {
    const app = makeApp(dir, SQUARE, false);
    try {
      await app.start();
      const { page, watched } = await openPage(browser, app);
      // the page has had its `ready` (the camera's zones were asked for, in the same step) and the live objects came
      await page.waitForFunction(
        () => {
          const report = (window as unknown as { __framesupplier?: { lastTracks: Record<string, { tracks: unknown[] }> } }).__framesupplier;
          return (report?.lastTracks.gate?.tracks.length ?? 0) > 0;
        },
        undefined,
        WAIT,
      );
      assert.deepEqual(watched.requests, []);
      assert.deepEqual(
        watched.console.filter((line) => line.includes('/api/events') || line.includes('404')),
        [],
      );
      await page.close();
    } finally {
      await app.close();
    }
  });

  it('with a store: the objects list fills from /api/events, snapshots too', async () => {
    const app = makeApp(dir, BRIEF_SQUARE, true);
    try {
      const ended = new Promise<string>((resolve) =>
        app.system.on('tracked-object', (e: EventOf<'tracked-object'>) => {
          if (e.event.type === 'end') resolve(e.event.after.id);
        }),
      );
      await app.start();
      // ended before the page opens: the socket will never tell it of this object
      const id = await ended;
      const { page, watched } = await openPage(browser, app);
      await page.waitForFunction(
        (eventId) => {
          const img = document.querySelector<HTMLImageElement>(`#objects li[data-event-id="${eventId}"] img[data-field="snapshot"]`);
          return img !== null && img.naturalWidth > 0;
        },
        id,
        WAIT,
      );
      assert.ok(
        watched.answers.some((a) => a.url.includes('/api/events?limit=') && a.status === 200),
        JSON.stringify(watched.answers),
      );
      assert.deepEqual(
        watched.answers.filter((a) => a.status >= 400),
        [],
      );
      assert.deepEqual(watched.console, []);
      await page.close();
    } finally {
      await app.close();
    }
  });
});
