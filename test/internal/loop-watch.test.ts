/**
 * The loop watch (src/internal/loop-watch.ts, ADR 0162): systemd's watchdog fed from a thread that pings only while
 * the main event loop runs. BeatJudge on its own (pure); then a real Unix datagram socket as NOTIFY_SOCKET (a
 * Python receiver: Node has no Unix datagram sockets) and a Node process running the watch: it receives READY=1
 * and WATCHDOG=1 pings (twice per WatchdogSec), and the pings stop when the process's main loop is blocked by a
 * busy loop (a STATUS= saying so, then nothing until the loop runs again) or when the process is SIGSTOPped (the
 * receiver's own clock sees three ping periods pass with nothing), and come back after. The heartbeat file is
 * written while the loop runs and says `stopped` after a clean close.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { BeatJudge } from '../../src/internal/loop-watch.js';
import { parseHeartbeat } from '../../src/internal/heartbeat.js';
import { notifyTarget } from '../../src/internal/sd-notify.js';
import { endChild, eventually } from '../helpers/process.js';
import { PYTHON } from '../helpers/python.js';

const LOOP_WATCH = JSON.stringify(new URL('../../src/internal/loop-watch.js', import.meta.url).href);
const SD_NOTIFY = JSON.stringify(new URL('../../src/internal/sd-notify.js', import.meta.url).href);
const LOGGER = JSON.stringify(new URL('../../src/internal/logger.js', import.meta.url).href);

/** Prints each datagram as a line (newlines as |), and `idle` whenever none came for IDLE_S. */
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(float(sys.argv[2]))
print('bound', flush=True)
while True:
    try:
        m = s.recv(4096).decode()
    except socket.timeout:
        print('idle', flush=True)
        continue
    print(m.replace('\\n', '|'), flush=True)
`;

/** The watch in a process of its own; `block` on stdin busy-loops its main thread until UNBLOCK_FILE exists. */
const WATCHED = `
import { existsSync } from 'node:fs';
import { LoopWatch } from ${LOOP_WATCH};
import { notifyTarget } from ${SD_NOTIFY};
import { createLogger } from ${LOGGER};
const watch = new LoopWatch({ notify: notifyTarget(), heartbeatFile: process.env.HEARTBEAT_FILE, stallMs: 1000, log: createLogger({ level: 'error' }) });
watch.start();
watch.ready();
const keep = setInterval(() => {}, 1000);
process.stdin.setEncoding('utf8');
process.stdin.on('data', async (line) => {
  if (line.includes('block')) {
    console.log('blocking');
    while (!existsSync(process.env.UNBLOCK_FILE)) {}
    console.log('unblocked');
  }
  if (line.includes('close')) {
    watch.stopping();
    await watch.close();
    clearInterval(keep);
    console.log('closed');
    process.stdin.destroy();
  }
});
console.log('started');
`;

/** A child's stdout lines as they come, with a wait for one matching. */
class Lines {
  readonly lines: string[] = [];
  readonly #waiters = new Set<() => void>();
  constructor(child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const wake of [...this.#waiters]) wake();
    });
  }
  /** The index of the first line from `from` on that matches. */
  waitFor(match: (line: string) => boolean, what: string, from = 0, timeoutMs = 30_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const i = this.lines.findIndex((l, index) => index >= from && match(l));
        if (i < 0) return false;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(i);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; lines: ${this.lines.slice(-12).join(' / ')}`));
      }, timeoutMs);
      if (!check()) this.#waiters.add(check);
    });
  }
}

describe('the loop watch: sd_notify from a thread, only while the event loop runs', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `fs-loop-watch-${process.pid}-`));
  const children: ChildProcess[] = [];
  after(async () => {
    for (const child of children) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGCONT');
      await endChild(child, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('BeatJudge: alive iff the counter moved within the stall, on any clock', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ dt: fc.integer({ min: 0, max: 3_000 }), moved: fc.boolean() }), { maxLength: 60 }), (steps) => {
        const judge = new BeatJudge(1_000, 0);
        let now = 0;
        let beat = 0;
        let lastMove = 0;
        steps.forEach((step, i) => {
          now += step.dt;
          if (step.moved) beat++;
          // The first reading is a beat (the thread starts after the loop did), and so is every change.
          if (step.moved || i === 0) lastMove = now;
          const seen = judge.seen(beat, now);
          assert.deepEqual(seen, { alive: now - lastMove < 1_000, sinceBeatMs: now - lastMove });
        });
      }),
    );
    const judge = new BeatJudge(1_000, 0);
    assert.deepEqual(judge.seen(7, 0), { alive: true, sinceBeatMs: 0 });
    assert.deepEqual(judge.seen(7, 999), { alive: true, sinceBeatMs: 999 });
    assert.deepEqual(judge.seen(7, 1_000), { alive: false, sinceBeatMs: 1_000 });
    assert.deepEqual(judge.seen(8, 5_000), { alive: true, sinceBeatMs: 0 });
  });

  it('notifyTarget: NOTIFY_SOCKET and WATCHDOG_USEC (this process only), none without', () => {
    assert.equal(notifyTarget({}), null);
    assert.deepEqual(notifyTarget({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '30000000' }, 5), { socket: '/run/x', watchdogMs: 30_000 });
    assert.deepEqual(notifyTarget({ NOTIFY_SOCKET: '@abstract', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '4' }, 5), { socket: '@abstract', watchdogMs: null });
    assert.deepEqual(notifyTarget({ NOTIFY_SOCKET: '/run/x' }, 5), { socket: '/run/x', watchdogMs: null });
  });

  it('a real NOTIFY_SOCKET gets READY and WATCHDOG pings; they stop while the main loop is blocked or the process is stopped, and come back', async () => {
    const socket = join(dir, 'notify.sock');
    const heartbeat = join(dir, 'heartbeat');
    const unblock = join(dir, 'unblock');
    const receiver = spawn(PYTHON, ['-c', RECEIVER, socket, '1.6'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(receiver);
    const got = new Lines(receiver);
    await got.waitFor((l) => l === 'bound', 'the receiver bound');
    const env = { ...process.env, NOTIFY_SOCKET: socket, WATCHDOG_USEC: '1000000', HEARTBEAT_FILE: heartbeat, UNBLOCK_FILE: unblock };
    const watched = spawn(process.execPath, ['--input-type=module', '-e', WATCHED], { stdio: ['pipe', 'pipe', 'inherit'], env });
    children.push(watched);
    const said = new Lines(watched);
    await said.waitFor((l) => l === 'started', 'the watched process started');

    const ready = await got.waitFor((l) => l.startsWith('READY=1'), 'READY=1');
    let pings = await got.waitFor((l) => l === 'WATCHDOG=1', 'a first ping');
    pings = await got.waitFor((l) => l === 'WATCHDOG=1', 'a second ping', pings + 1);
    assert.ok(ready < pings);
    const beat = parseHeartbeat(readFileSync(heartbeat, 'utf8'));
    assert.equal(beat?.state, 'running');
    assert.equal(beat?.pid, watched.pid);

    // The main loop blocked: the thread says so once, and pings no more until it runs again.
    const before = got.lines.length;
    watched.stdin.write('block\n');
    await said.waitFor((l) => l === 'blocking', 'the busy loop');
    const stalled = await got.waitFor((l) => l.startsWith('STATUS=the event loop has not run'), 'the stall said', before);
    await got.waitFor((l) => l === 'idle', 'the receiver seeing nothing for 1.6 s', stalled + 1);
    const heartbeatWhileBlocked = readFileSync(heartbeat, 'utf8');
    writeFileSync(unblock, '');
    await said.waitFor((l) => l === 'unblocked', 'the loop running again');
    const running = await got.waitFor((l) => l === 'STATUS=running', 'running again said', stalled + 1);
    const back = await got.waitFor((l) => l === 'WATCHDOG=1', 'the pings back', running + 1);
    assert.deepEqual(
      got.lines.slice(stalled + 1, running).filter((l) => l !== 'idle'),
      [],
      'nothing sent between the stall and the loop running again',
    );
    assert.ok(back > running);
    await eventually(() => readFileSync(heartbeat, 'utf8') !== heartbeatWhileBlocked, 'the heartbeat written again');

    // The process stopped: nothing at all, the receiver's own clock sees it; pings again once it goes on.
    await got.waitFor((l) => l === 'WATCHDOG=1', 'pinging', back + 1);
    process.kill(watched.pid!, 'SIGSTOP');
    await eventually(() => / T /.test(readFileSync(`/proc/${watched.pid}/stat`, 'utf8').replace(/^.*\)/, ')')), 'the process stopped');
    // `idle`: the receiver saw no datagram for 1.6 s, where a running process sends one every 0.5 s.
    const idleAt = await got.waitFor((l) => l === 'idle', 'the receiver seeing nothing for 1.6 s', got.lines.length);
    process.kill(watched.pid!, 'SIGCONT');
    await got.waitFor((l) => l === 'WATCHDOG=1', 'the pings back after SIGCONT', idleAt + 1);

    // A clean close: STOPPING=1, and the heartbeat says stopped.
    watched.stdin.write('close\n');
    await got.waitFor((l) => l.startsWith('STOPPING=1'), 'STOPPING=1');
    await said.waitFor((l) => l === 'closed', 'closed');
    assert.equal(parseHeartbeat(readFileSync(heartbeat, 'utf8'))?.state, 'stopped');
  });
});
