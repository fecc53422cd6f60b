/// <reference lib="dom" />
/**
 * The dashboard as a user meets it, in Debian's chromium: `framesupplier run`
 * in a terminal (a pseudo-terminal from util-linux's `script`) prints the
 * address with its new token; the very address printed opens, a frame is
 * drawn, and the token is then neither in the address bar nor in the
 * browser's history. And as an attacker meets it: a page of another origin
 * (a second local server) cannot read the API, load a camera's JPEG or open
 * the dashboard's socket on the loopback server that needs no token for the
 * dashboard itself.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { endChild } from '../helpers/process.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const WAIT = { timeout: 90_000 };

describe('the address the CLI prints, in a browser', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `framesupplier-printed-${process.pid}-`));
  let run: ChildProcess;
  let output = '';
  let address: string;
  let browser: Browser;

  before(async () => {
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        `shmDir: /dev/shm/framesupplier-printed-${process.pid}`,
        'http: { host: 127.0.0.1, port: 0 }',
        'cameras:',
        '  yard:',
        '    source: lavfi:testsrc2=size=320x240:rate=5',
        '    workers: [{ id: motion, module: builtin:motion }]',
        '',
      ].join('\n'),
    );
    // The user's terminal: `script` gives the run a pseudo-terminal, so it prints what a person sees.
    const command = [process.execPath, MAIN, 'run', config, '--view', 'none'].map((a) => `'${a}'`).join(' ');
    run = spawn('script', ['-qfec', command, '/dev/null'], {
      // A state directory of the test's own: one set outside (a container's, a service's) may hold a token already.
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
    rmSync(`/dev/shm/framesupplier-printed-${process.pid}`, { recursive: true, force: true }); // the store directory the config named
  });

  it('opens exactly the address printed, draws a frame, and leaves the token in neither the address bar nor the history', async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(address);
    await page.waitForFunction(() => Number(document.querySelector('canvas[data-camera="yard"]')?.getAttribute('data-frames') ?? 0) >= 1, undefined, WAIT);
    assert.deepEqual(errors, []);
    assert.ok(!page.url().includes('token'), page.url());
    // Back through the history from another page: the entry is the address without its token.
    await page.goto('about:blank');
    await page.goBack();
    assert.ok(!page.url().includes('token'), `history holds ${page.url()}`);
    assert.equal(await page.evaluate(() => location.hash), '');
    await page.close();
  });

  it("a page of another origin cannot read the API, load a camera's JPEG, or open the socket", async () => {
    const origin = new URL(address).origin;
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><script>
        window.results = {};
        fetch('${origin}/api/stats').then((r) => r.text()).then((t) => (results.fetch = 'read ' + t.length), (e) => (results.fetch = 'failed'));
        const img = new Image();
        img.onload = () => (results.img = 'loaded ' + img.naturalWidth);
        img.onerror = () => (results.img = 'failed');
        img.src = '${origin}/api/cameras/yard/latest.jpg';
        const ws = new WebSocket('${origin.replace('http', 'ws')}/api/ws');
        ws.onmessage = (m) => (results.ws = 'message ' + m.data);
        ws.onclose = () => (results.ws ??= 'closed');
      </script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.2', resolve));
    try {
      const page = await browser.context.newPage();
      await page.goto(`http://127.0.0.2:${(evil.address() as { port: number }).port}/`);
      await page.waitForFunction(
        () => {
          const r = (window as unknown as { results: Record<string, string> }).results;
          return r.fetch !== undefined && r.img !== undefined && r.ws !== undefined;
        },
        undefined,
        WAIT,
      );
      const results = await page.evaluate(() => (window as unknown as { results: Record<string, string> }).results);
      assert.deepEqual(results, { fetch: 'failed', img: 'failed', ws: 'closed' });
      await page.close();
    } finally {
      evil.close();
    }
  });
});
