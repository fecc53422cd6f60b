/// <reference lib="dom" />
/**
 * The dashboard's fall alerts (ADR 0132), in Debian's chromium: the app (createApp, as `framesupplier run` builds
 * it) on a lavfi video, the project's scripted pose detector (test/objects/pose-script.ts: a person standing, then
 * falling and lying) as a module worker with `falls`, the HTTP server; the page opened at the address the CLI
 * prints, with its token.
 *
 * Expected: a page open when the fall is raised shows it over the camera's live view (the tile) and in the list
 * at the top, from the socket, as text (the camera's id as written); a page opened after shows it too (from
 * GET /api/falls); the tile's Acknowledge button acknowledges it (as `dashboard`), and it leaves both pages for
 * the list of answered alerts, with its time to acknowledge and its time on the floor;
 * nothing in the console.
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
import type { FallAlert } from '../../src/care/index.js';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { resolvedConfig } from '../pipeline/helpers.js';

const SCRIPT = fileURLToPath(new URL('../objects/pose-script.js', import.meta.url));
const TOKEN = 'dashboard-falls-token-0123456789';
const WAIT = { timeout: 90_000 };

async function openPage(browser: Browser, app: App, consoleLines: string[]): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleLines.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  const { url, token } = app.dashboard!;
  await page.goto(`${url}#token=${token.value}`);
  return page;
}

describe('the dashboard shows a fall over the live view until acknowledged', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `fs-dashboard-falls-${process.pid}-`));
  let browser: Browser;
  let app: App;

  before(async () => {
    browser = await launchBrowser();
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-dashboard-falls-${process.pid}`,
      cameras: {
        room: {
          source: 'lavfi:testsrc2=size=320x240:rate=10',
          capture: { output: { format: 'rgb24' } },
          workers: [{ id: 'people', module: SCRIPT, maxFps: 5, falls: true }],
        },
      },
      http: { host: '127.0.0.1', port: 0, token: TOKEN },
    });
    app = createApp(config, {
      logger: createLogger({ level: 'silent' }),
      http: { config: config.http! },
      tokenFile: join(dir, 'http-token'),
      fallStateFile: join(dir, 'fall-alerts.json'),
    });
  });

  after(async () => {
    await app?.close();
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('over the tile and in the list, on a page open before and one opened after, gone from both once acknowledged', async () => {
    const consoleLines: string[] = [];
    const raised = new Promise<FallAlert>((resolve) =>
      app.system.on('fall', (e) => {
        if (e.event.type === 'new') resolve(e.event.after);
      }),
    );
    await app.start();
    const before = await openPage(browser, app, consoleLines);
    const alert = await raised;
    const onTile = `.tile[data-camera="room"] .fall-overlay .fall-alert[data-alert="${alert.id}"]`;
    const inList = `#falls .fall-alert[data-alert="${alert.id}"]`;
    await before.waitForSelector(onTile, { state: 'visible', ...WAIT });
    await before.waitForSelector(inList, { state: 'visible', ...WAIT });
    assert.match((await before.textContent(inList)) ?? '', /Fall · room/);
    assert.equal(await before.getAttribute('.tile[data-camera="room"]', 'class'), 'tile person-down');

    // a page opened after the fall learns it from GET /api/falls
    const later = await openPage(browser, app, consoleLines);
    await later.waitForSelector(onTile, { state: 'visible', ...WAIT });

    const acknowledged = new Promise<FallAlert>((resolve) =>
      app.system.on('fall', (e) => {
        if (e.event.after.id === alert.id && e.event.after.acknowledged_at !== null) resolve(e.event.after);
      }),
    );
    await later.click(`${onTile} button.acknowledge`);
    assert.equal((await acknowledged).acknowledged_by, 'dashboard');
    for (const page of [before, later]) {
      await page.waitForSelector(inList, { state: 'detached', ...WAIT });
      await page.waitForSelector(onTile, { state: 'detached', ...WAIT });
      await page.waitForFunction(() => (window as unknown as { __framesupplier: { falls: string[] } }).__framesupplier.falls.length === 0, undefined, WAIT);
    }
    assert.equal(await before.getAttribute('.tile[data-camera="room"]', 'class'), 'tile');
    // answered: listed with who, its time to acknowledge and its time on the floor, on both pages and one opened after
    const answered = await acknowledged;
    const row = `#falls-answered tr[data-alert="${alert.id}"]`;
    const third = await openPage(browser, app, consoleLines);
    for (const page of [before, later, third]) {
      await page.waitForSelector(row, { state: 'visible', ...WAIT });
      assert.match((await page.textContent(`${row} td:nth-child(3)`)) ?? '', /^dashboard at /);
      assert.equal(await page.textContent(`${row} .time-to-acknowledge`), `${Math.round(answered.time_to_acknowledge_ms! / 1000)} s`);
      assert.equal(await page.textContent(`${row} .time-on-floor`), `${Math.round(answered.time_on_floor_ms! / 1000)} s`);
    }
    await third.close();
    assert.deepEqual(consoleLines, []);
    await before.close();
    await later.close();
  });
});
