/**
 * The loop watch's thread (loop-watch.ts): its own event loop, so it runs while the main one is blocked. Once per
 * ping period it reads the main loop's beat counter and, while BeatJudge says the loop is alive, pings systemd's
 * watchdog and rewrites the heartbeat file in place; while not, it does neither, and says so in systemd's STATUS=
 * once per stall. Problems (a refused datagram, an unwritable file) go to the main thread as messages, which logs
 * them once each.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { formatHeartbeat } from './heartbeat.js';
import { BeatJudge, type LoopWatchThreadData, type LoopWatchThreadMessage } from './loop-watch.js';
import { sendNotify } from './sd-notify.js';

const data = workerData as LoopWatchThreadData;
const beats = new Int32Array(data.beats);
const judge = new BeatJudge(data.stallMs, performance.now());
let written = 0;
let stalled = false;
let file: number | null = null;

function problem(code: string, message: string): void {
  parentPort?.postMessage({ type: 'problem', code, message } satisfies LoopWatchThreadMessage);
}

function notify(message: string): void {
  if (data.socket === null) return;
  try {
    sendNotify(data.socket, message);
  } catch (error) {
    problem('ERR_SD_NOTIFY', (error as Error).message);
  }
}

function writeHeartbeat(): void {
  if (data.heartbeatFile === null) return;
  try {
    file ??= openSync(data.heartbeatFile, 'w', 0o644);
    writeSync(file, formatHeartbeat({ pid: data.pid, beat: ++written, at: Date.now(), state: 'running' }), 0);
  } catch (error) {
    if (file !== null) closeSync(file);
    file = null;
    problem('ERR_STATE_DIR', `the heartbeat file ${data.heartbeatFile} cannot be written: ${(error as Error).message}`);
  }
}

function tick(): void {
  const { alive, sinceBeatMs } = judge.seen(Atomics.load(beats, 0), performance.now());
  if (!alive) {
    if (!stalled) notify(`STATUS=the event loop has not run for ${Math.round(sinceBeatMs / 1000)} s: watchdog pings stopped`);
    stalled = true;
    return;
  }
  if (stalled) notify('STATUS=running');
  stalled = false;
  if (data.watchdog) notify('WATCHDOG=1');
  writeHeartbeat();
}

tick();
setInterval(tick, data.pingMs);
