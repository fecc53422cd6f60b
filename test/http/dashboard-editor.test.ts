/// <reference lib="dom" />
/**
 * The zone and line editor as a user meets it, in Debian's chromium:
 * `framesupplier run --save-config` in a terminal prints the address with
 * its token; on the camera's live view a zone and a line are drawn with the
 * mouse and saved. The running camera uses them at once (a red square
 * walking right across the drawn line makes a `line` event, shown in the
 * page's events), the config file holds them with its comments, and still
 * passes `config check`. A tab without the token sees the editor read-only,
 * and the API refuses the write; with the token, areas the config would
 * refuse are refused with the config's issues, and nothing changes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { endChild } from '../helpers/process.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const DETECTOR = fileURLToPath(new URL('../objects/colour-detector.js', import.meta.url));
const WAIT = { timeout: 120_000 };
// a red square walking right across the frame, again and again (one pass every 6.5 s)
const VIDEO = "lavfi:color=c=black:s=320x240:r=10[bg];color=c=red:s=32x32:r=10[r];[bg][r]overlay=x='20+mod(40*t,260)':y=150";

describe('the zone and line editor, in a browser at the address the CLI prints', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `framesupplier-editor-${process.pid}-`));
  const configPath = join(dir, 'config.yaml');
  let run: ChildProcess;
  let output = '';
  let address: string;
  let browser: Browser;

  before(async () => {
    writeFileSync(
      configPath,
      [
        '# the gate camera: its zones and lines are drawn in the dashboard',
        `shmDir: /dev/shm/framesupplier-editor-${process.pid}`,
        'http: { host: 127.0.0.1, port: 0 }',
        'cameras:',
        '  gate:',
        '    # a red square walking right',
        `    source: "${VIDEO}"`,
        '    capture: { output: { format: rgb24 } }',
        `    workers: [{ id: colours, module: '${DETECTOR}', maxFps: 4, track: { confirmHits: 2 } }] # the colour finder`,
        '',
      ].join('\n'),
    );
    const command = [process.execPath, MAIN, 'run', configPath, '--save-config', '--view', 'none'].map((a) => `'${a}'`).join(' ');
    run = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { ...process.env, XDG_STATE_HOME: join(dir, 'state'), FRAMESUPPLIER_STATE_DIR: join(dir, 'state', 'framesupplier') },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    address = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+)/.exec(output);
        if (m !== null) {
          run.stdout!.off('data', onData);
          resolve(m[1]!);
        }
      };
      run.stdout!.on('data', onData);
      run.once('exit', () => reject(new Error(`run ended before printing the dashboard's address:\n${output}`)));
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    if (run !== undefined) await endChild(run, 'SIGTERM', { group: true });
    rmSync(dir, { recursive: true, force: true });
    rmSync(`/dev/shm/framesupplier-editor-${process.pid}`, { recursive: true, force: true }); // the store directory the config named
  });

  it('draws a zone and a line, saves them: the camera counts crossings at once, the file keeps them and its comments', async () => {
    const page = await browser.context.newPage();
    await page.goto(address);
    await page.waitForFunction(() => Number(document.querySelector('canvas[data-camera="gate"]')?.getAttribute('data-frames') ?? 0) > 0, null, WAIT);
    await page.click('article.tile[data-camera="gate"]');
    await page.waitForSelector('#editor[data-readonly="false"]', WAIT);
    const overlay = page.locator('#editor-overlay');
    const at = async (x: number, y: number): Promise<void> => {
      const box = (await overlay.boundingBox())!;
      await page.mouse.click(box.x + x * box.width, box.y + y * box.height);
    };

    await page.fill('#editor-name', 'porch');
    await page.fill('#editor-dwell', '2');
    await page.click('button[data-draw="zone"]');
    for (const [x, y] of [
      [0.05, 0.05],
      [0.3, 0.05],
      [0.3, 0.4],
      [0.05, 0.4],
    ] as const)
      await at(x, y);
    await page.click('#editor-finish');
    await page.fill('#editor-name', 'door');
    await page.fill('#editor-labels', 'red');
    await page.selectOption('#editor-in', 'left');
    await page.click('button[data-draw="line"]');
    await at(0.5, 0.05);
    await at(0.5, 0.95);
    await page.click('#editor-finish');
    assert.equal(await overlay.getAttribute('data-zones'), '1');
    assert.equal(await overlay.getAttribute('data-lines'), '1');
    await page.click('#editor-save');
    await page.waitForFunction(() => document.querySelector('#editor-status')?.textContent === 'saved', null, WAIT);

    // the running camera counts crossings of the drawn line: the page shows the event
    await page.waitForFunction(
      () => Array.from(document.querySelectorAll('#events li')).some((li) => /gate line door: red in/.test(li.textContent ?? '')),
      null,
      WAIT,
    );

    // the file holds them, keeps its comments, and passes config check
    const text = readFileSync(configPath, 'utf8');
    for (const kept of ['# the gate camera: its zones and lines are drawn in the dashboard', '# a red square walking right', '# the colour finder'])
      assert.ok(text.includes(kept), `${kept} kept:\n${text}`);
    for (const line of [
      '\n    zones:\n      porch:\n',
      '\n        polygon: [ [ 0.05, 0.05 ], [ 0.3, 0.05 ], [ 0.3, 0.4 ], [ 0.05, 0.4 ] ]\n',
      '\n        dwellSeconds: [ 2 ]\n',
      '\n    lines:\n      door:\n',
      '\n        points: [ [ 0.5, 0.05 ], [ 0.5, 0.95 ] ]\n',
      '\n        labels: [ red ]\n',
      '\n        in: left\n',
    ])
      assert.ok(text.includes(line), `${JSON.stringify(line)} in:\n${text}`);
    const check = spawnSync(process.execPath, [MAIN, 'config', 'check', configPath], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    await page.close();
  });

  it('is read-only without the token, and the API refuses the write', async () => {
    const page = await browser.context.newPage();
    await page.goto(address.replace(/#token=.*/, ''));
    await page.waitForFunction(() => document.querySelector('article.tile[data-camera="gate"]') !== null, null, WAIT);
    await page.click('article.tile[data-camera="gate"]');
    await page.waitForSelector('#editor[data-readonly="true"]', WAIT);
    assert.equal(await page.isDisabled('#editor-save'), true);
    assert.equal(await page.isDisabled('button[data-draw="line"]'), true);
    assert.match((await page.textContent('#editor-status')) ?? '', /read-only/);
    // the drawn areas are shown all the same
    await page.waitForFunction(() => document.querySelector('#editor-overlay')?.getAttribute('data-lines') === '1', null, WAIT);
    const origin = new URL(address).origin;
    const refused = await fetch(`${origin}/api/cameras/gate/areas`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(refused.status, 401);
    // with the token, areas the config would refuse are refused the same way, and nothing changes
    const token = new URL(address).hash.replace('#token=', '');
    const bad = await fetch(`${origin}/api/cameras/gate/areas`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ lines: { bad: { points: [[0.5, 0.5]] } } }),
    });
    assert.equal(bad.status, 400);
    const error = ((await bad.json()) as { error: { code: string; issues: { path: string; message: string }[] } }).error;
    assert.equal(error.code, 'ERR_CONFIG');
    assert.deepEqual(
      error.issues.map((i) => `${i.path}: ${i.message}`),
      ['cameras.gate.lines.bad.points: must have at least 2 items'],
    );
    const areas = (await (await fetch(`${origin}/api/cameras/gate/areas`)).json()) as { lines: Record<string, unknown> };
    assert.deepEqual(Object.keys(areas.lines), ['door']);
    await page.close();
  });
});
