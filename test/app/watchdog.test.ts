/// <reference lib="dom" />
/**
 * The alarm does not depend on the thing that died (ADR 0162, 0163): `framesupplier run` with a care-critical
 * camera, a real mosquitto, `framesupplier watchdog` as a process of its own beside it, and the dashboard in
 * Debian's Chromium. The run is stopped with SIGSTOP (its event loop, its care watch and its thread all stand
 * still, as when swapped out or hung), then continued with SIGCONT.
 *
 * Expected: at start the camera's retained silence is the system's (not silent), the watchdog is online on
 * `<prefix>/@watchdog/available`, and the silent sensor's discovery config is available while either is online.
 * Stopped: within the silence and a few seconds, the watchdog has the camera's retained silence say silent with
 * reason system-down and `<prefix>/alarms` carry a `new` alarm; the dashboard, on its own clock, says "no update
 * for N s". Continued: the alarm `end`s (the same id), the retained silence is the system's again (not silent),
 * and the dashboard's banner goes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { Mosquitto, Recorder, type Message } from '../helpers/mosquitto.js';
import { endChild, eventually } from '../helpers/process.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PREFIX = 'watchdog-test';
const TOKEN = 'watchdog-test-token-0123456789abcdef';
const SILENCE_S = 3;
const WAIT = { timeoutMs: 60_000 };
const silenceTopic = `${PREFIX}/ward/silence`;
const json = (m: Message): Record<string, unknown> => JSON.parse(m.payload) as Record<string, unknown>;
const stopped = (pid: number): boolean => / T /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ')'));

describe('a stopped system raises the silence alarm from outside; the dashboard says nothing comes', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `fs-watchdog-${process.pid}-`));
  const heartbeat = join(dir, 'heartbeat');
  let broker: Mosquitto;
  let recorder: Recorder;
  let run: ChildProcess;
  let watchdog: ChildProcess;
  let browser: Browser;
  let page: Page;
  let runOutput = '';
  let watchdogOutput = '';
  const errors: string[] = [];
  let alarmId = '';

  before(async () => {
    broker = await Mosquitto.start();
    recorder = await Recorder.connect(broker.url, [`${PREFIX}/#`, 'homeassistant/#']);
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        `shmDir: /dev/shm/fs-watchdog-${process.pid}`,
        `http: { host: 127.0.0.1, port: 0, token: ${TOKEN} }`,
        `mqtt: { url: "${broker.url}", topicPrefix: ${PREFIX}, clientId: wd-test }`,
        'cameras:',
        '  ward:',
        '    source: lavfi:testsrc2=size=320x240:rate=5',
        `    care: { silenceSeconds: ${SILENCE_S} }`,
        '    workers: [{ id: looks, module: builtin:motion }]',
        '',
      ].join('\n'),
    );
    const env = { ...process.env, FRAMESUPPLIER_STATE_DIR: join(dir, 'state') };
    run = spawn(process.execPath, [MAIN, 'run', config, '--view', 'none', '--heartbeat-file', heartbeat, '--log-level', 'warn'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    run.stderr!.on('data', (chunk: Buffer) => (runOutput += chunk.toString('utf8')));
    const base = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        runOutput += chunk.toString('utf8');
        const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(runOutput);
        if (m === null) return;
        run.stdout!.off('data', onData);
        resolve(m[1]!);
      };
      run.stdout!.on('data', onData);
      run.once('exit', () => reject(new Error(`run ended before printing the dashboard's address:\n${runOutput}`)));
    });
    watchdog = spawn(process.execPath, [MAIN, 'watchdog', config, '--heartbeat-file', heartbeat], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    watchdog.stdout!.on('data', (chunk: Buffer) => (watchdogOutput += chunk.toString('utf8')));
    watchdog.stderr!.on('data', (chunk: Buffer) => (watchdogOutput += chunk.toString('utf8')));
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}#token=${TOKEN}`);
  });

  after(async () => {
    await browser?.close();
    if (run?.pid !== undefined && run.exitCode === null && run.signalCode === null) process.kill(run.pid, 'SIGCONT');
    if (run !== undefined) await endChild(run, 'SIGTERM', { group: true });
    if (watchdog !== undefined) await endChild(watchdog, 'SIGTERM');
    await recorder?.client.endAsync();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(`/dev/shm/fs-watchdog-${process.pid}`, { recursive: true, force: true });
  });

  it("at start: the system's silence (not silent), the watchdog online, the silent sensor available while either is", async () => {
    const state = await recorder.waitFor((m) => m.topic === silenceTopic && m.payload !== '' && json(m).watchdog !== true, 'the retained silence', WAIT);
    assert.equal(json(state).silent, false);
    await recorder.waitFor((m) => m.topic === `${PREFIX}/@watchdog/available` && m.payload === 'online', 'the watchdog online', WAIT);
    const discovery = json(await recorder.waitFor((m) => m.topic === 'homeassistant/binary_sensor/wd-test/ward_silent/config', 'the sensor', WAIT));
    assert.equal(discovery.availability_mode, 'any');
    assert.deepEqual(
      (discovery.availability as { topic: string }[]).map((a) => a.topic),
      [`${PREFIX}/available`, `${PREFIX}/@watchdog/available`],
    );
    await page.waitForFunction(() => (window as unknown as { __framesupplier: { framesDrawn: number } }).__framesupplier.framesDrawn > 0, undefined, {
      timeout: 60_000,
    });
    assert.equal(await page.evaluate(() => document.getElementById('stale')!.hidden), true);
  });

  it('SIGSTOP: the alarm from outside within the silence and a few seconds, reason system-down; the dashboard says no update', async (t) => {
    const from = recorder.messages.length;
    process.kill(run.pid!, 'SIGSTOP');
    await eventually(() => stopped(run.pid!), 'run stopped');
    const stoppedAt = performance.now();
    const raised = await recorder.waitFor((m) => m.topic === silenceTopic && m.payload !== '' && json(m).silent === true, 'the alarm', { from, ...WAIT });
    const tookS = (raised.at - stoppedAt) / 1000;
    t.diagnostic(`the alarm came ${tookS.toFixed(2)} s after SIGSTOP (silence ${SILENCE_S} s)`);
    assert.equal(json(raised).watchdog, true);
    assert.equal(json(raised).reason, 'system-down');
    assert.match(String(json(raised).detail), /framesupplier stopped answering/);
    assert.ok(tookS < SILENCE_S + 4, `raised ${tookS.toFixed(1)} s after the stop (silence ${SILENCE_S} s)`);
    // Not before the silence is the rule's own test (test/app/outside-watch.test.ts): here the silence counts from
    // the last heartbeat, up to a tick of the thread before the stop.
    const event = json(await recorder.waitFor((m) => m.topic === `${PREFIX}/alarms` && json(m).type === 'new', 'the new alarm', { from, ...WAIT }));
    const after = event.after as Record<string, unknown>;
    assert.deepEqual([after.kind, after.camera, after.reason], ['silence', 'ward', 'system-down']);
    alarmId = String(after.id);
    await page.waitForFunction(
      () => /^no update for \d+ s/.test(document.getElementById('stale')?.textContent ?? '') && !document.getElementById('stale')!.hidden,
      undefined,
      {
        timeout: 30_000,
      },
    );
    assert.match(watchdogOutput, /ERR_SYSTEM_DOWN/);
  });

  it("SIGCONT: the alarm ends, the topic is the system's again, not silent; the banner goes; no page errors", async () => {
    const from = recorder.messages.length;
    process.kill(run.pid!, 'SIGCONT');
    // The system may end an alarm of its own too (its care watch judges the stop when it runs again): the watchdog's is system-down.
    const isEnd = (m: Message): boolean =>
      m.topic === `${PREFIX}/alarms` && json(m).type === 'end' && (json(m).after as Record<string, unknown>).reason === 'system-down';
    const end = json(await recorder.waitFor(isEnd, 'the end', { from, ...WAIT }));
    assert.equal((end.after as Record<string, unknown>).id, alarmId);
    await recorder.waitFor(
      (m) => m.topic === silenceTopic && m.payload !== '' && json(m).watchdog !== true && json(m).silent === false,
      "the system's own silence, not silent",
      { from, ...WAIT },
    );
    // What the broker keeps: the last message on the topic is the system's.
    await eventually(() => {
      const last = recorder.on(silenceTopic).at(-1);
      return last !== undefined && json(last).watchdog !== true && json(last).silent === false;
    }, 'the retained silence left as the system says');
    await page.waitForFunction(() => document.getElementById('stale')!.hidden, undefined, { timeout: 30_000 });
    assert.deepEqual(errors, []);
    assert.equal(run.exitCode, null, `run still runs:\n${runOutput}`);
  });
});
