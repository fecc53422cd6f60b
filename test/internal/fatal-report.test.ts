/**
 * The fatal-signal report (native/fatal_report.c, src/internal/fatal-report.ts), in processes of their own: a
 * process that dies of a fault or of abort() leaves one JSON line (level fatal, ERR_FATAL_SIGNAL, the signal, the
 * thread, the native stack) and still dies of that signal; what other handlers absorb (V8's WebAssembly bounds
 * traps, the store's SIGBUS guard) stays absorbed and writes nothing. And as the user meets it: `framesupplier
 * run` with a camera decoding, killed by SIGSEGV, leaves the line in its --log-file.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { VTEST } from '../helpers/media.js';
import { REPO_ROOT } from '../helpers/repo.js';
import { SHM_ADDON_PATH } from '../../src/shm/index.js';

const FATAL_REPORT = JSON.stringify(new URL('../../src/internal/fatal-report.js', import.meta.url).href);
const SHM = JSON.stringify(new URL('../../src/shm/index.js', import.meta.url).href);
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `command` started by a shell that only sets the core limit: a core per case would fill a machine's working directory. */
function spawnWithoutCores(command: readonly string[]) {
  return spawn('sh', ['-c', 'ulimit -c 0; exec "$@"', 'sh', ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `command` without core files; how it ended and what it wrote. */
function runWithoutCores(command: readonly string[]): Promise<Ended> {
  return new Promise((resolve) => {
    const child = spawnWithoutCores(command);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `script` (ES module source) in a new Node process without core files. */
const runScript = (script: string): Promise<Ended> => runWithoutCores([process.execPath, '--input-type=module', '-e', script]);

/** The report lines among `text`'s lines. */
function reports(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.includes('ERR_FATAL_SIGNAL'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const install = `const { installFatalSignalReport } = await import(${FATAL_REPORT});
const why = installFatalSignalReport(2);
if (why !== null) { console.error('not installed: ' + why); process.exit(9); }`;

describe('the fatal-signal report', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `fs-fatal-${process.pid}-`));
  const shmBase = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `fs-fatal-${process.pid}-`));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(shmBase, { recursive: true, force: true });
  });

  it('a SIGSEGV: one JSON line naming it, the thread and who sent it, then the process dies of SIGSEGV', async () => {
    const ended = await runScript(`${install}\nprocess.kill(process.pid, 'SIGSEGV');\nsetTimeout(() => process.exit(0), 10_000);`);
    assert.equal(ended.signal, 'SIGSEGV', ended.stderr);
    const lines = reports(ended.stderr);
    assert.equal(lines.length, 1, ended.stderr);
    const line = lines[0]!;
    assert.equal(line.level, 'fatal');
    assert.equal(line.code, 'ERR_FATAL_SIGNAL');
    assert.equal(line.signal, 'SIGSEGV');
    assert.equal(line.thread, 'node');
    assert.equal(line.sentBy, line.pid);
    assert.match(String(line.msg), /dies of SIGSEGV in thread node \(raised by the process itself/);
    assert.ok(!Number.isNaN(Date.parse(String(line.time))), String(line.time));
    assert.ok(Math.abs(Date.parse(String(line.time)) - Date.now()) < 60_000, String(line.time));
    assert.ok(Array.isArray(line.stack) && line.stack.length > 0, ended.stderr);
    // Frames as library+offset, this handler's own left out.
    assert.ok(
      (line.stack as string[]).every((frame) => /^(\S+\+0x[0-9a-f]+( \(\S+\+0x[0-9a-f]+\))?|0x[0-9a-f]+|\?)$/.test(frame)),
      ended.stderr,
    );
    assert.ok(!(line.stack as string[]).some((frame) => frame.startsWith('framesupplier_shm.node')), ended.stderr);
    assert.ok(
      (line.stack as string[]).some((frame) => frame.includes('(kill+')),
      ended.stderr,
    );
  });

  it("the addon's installFatalReport(fd) refuses a descriptor that is no whole number ≥ 0 with ERR_INVALID_ARGUMENT, and installs nothing", async () => {
    const ended = await runScript(`
const { createRequire } = await import('node:module');
const addon = createRequire(import.meta.url)(${JSON.stringify(SHM_ADDON_PATH)});
const codes = [-1, Number.NaN, 1.5, 2 ** 40, '2', undefined].map((fd) => { try { addon.installFatalReport(fd); return 'installed'; } catch (e) { return e.code; } });
console.log(JSON.stringify(codes));
process.kill(process.pid, 'SIGSEGV');`);
    assert.deepEqual(JSON.parse(ended.stdout), Array(6).fill('ERR_INVALID_ARGUMENT'));
    assert.equal(ended.signal, 'SIGSEGV');
    assert.deepEqual(reports(ended.stderr), [], 'nothing was installed');
  });

  it('abort(): the line names SIGABRT, and the process dies of it', async () => {
    const ended = await runScript(`${install}\nprocess.abort();`);
    assert.equal(ended.signal, 'SIGABRT', ended.stderr);
    const [line] = reports(ended.stderr);
    assert.equal(line?.signal, 'SIGABRT', ended.stderr);
    assert.ok(
      (line?.stack as string[]).some((frame) => frame.includes('(abort+')),
      ended.stderr,
    );
  });

  it("V8's WebAssembly bounds traps still become RuntimeErrors (its SIGSEGV handler goes first), and nothing is written", async () => {
    // (module (memory 1) (func (export "load") (param i32) (result i32) local.get 0 i32.load)): a load past the page traps.
    const ended = await runScript(`${install}
const bytes = new Uint8Array([0,97,115,109,1,0,0,0,1,6,1,96,1,127,1,127,3,2,1,0,5,3,1,0,1,7,8,1,4,108,111,97,100,0,0,10,9,1,7,0,32,0,40,2,0,11]);
const { instance } = await WebAssembly.instantiate(bytes);
let traps = 0;
for (let i = 0; i < 200; i++) { try { instance.exports.load(70000 + i * 65536); } catch (e) { if (e instanceof WebAssembly.RuntimeError) traps++; } }
console.log(JSON.stringify({ traps, inBounds: instance.exports.load(0) }));`);
    assert.deepEqual({ code: ended.code, signal: ended.signal }, { code: 0, signal: null }, ended.stderr);
    assert.deepEqual(JSON.parse(ended.stdout), { traps: 200, inBounds: 0 });
    assert.deepEqual(reports(ended.stderr), []);
  });

  for (const order of ['before', 'after'] as const) {
    it(`a store truncated under a held frame: the SIGBUS guard absorbs it (report installed ${order} the mapping), nothing is written`, async () => {
      const storeDir = join(shmBase, order);
      const ended = await runScript(`
${order === 'before' ? install : ''}
const { FrameStoreWriter, FrameReader } = await import(${SHM});
const { truncateSync, mkdirSync } = await import('node:fs');
mkdirSync(${JSON.stringify(storeDir)}, { recursive: true });
const writer = new FrameStoreWriter('cam', { dir: ${JSON.stringify(storeDir)}, slots: 2, slotBytes: 64 * 48 * 1.5 });
const ref = writer.write(new Uint8Array(64 * 48 * 1.5).fill(7), { width: 64, height: 48, format: 'NV12' });
const reader = new FrameReader({ allowedDir: ${JSON.stringify(storeDir)} });
const lease = reader.acquire(ref.frame_reference, ref.frame_metadata);
${order === 'after' ? install : ''}
truncateSync(ref.frame_reference, 0);
let sum = 0;
for (const b of lease.data) sum += b;
console.log(JSON.stringify({ sum, faulted: reader.stats().faults > 0 }));`);
      assert.deepEqual({ code: ended.code, signal: ended.signal }, { code: 0, signal: null }, ended.stderr);
      assert.deepEqual(JSON.parse(ended.stdout), { sum: 0, faulted: true }, 'the view read zeros: the fault was absorbed');
      assert.deepEqual(reports(ended.stderr), []);
    });
  }

  it('`framesupplier run` with a camera decoding, killed by SIGSEGV, leaves the line last in its --log-file', async () => {
    const config = join(dir, 'config.yaml');
    const logFile = join(dir, 'run.log');
    writeFileSync(
      config,
      [
        `shmDir: /dev/shm/fs-fatal-${process.pid}`,
        'cameras:',
        '  hall:',
        `    source: ${JSON.stringify(VTEST)}`,
        '    capture: { loop: true }',
        '    workers: [{ id: motion, module: builtin:motion }]',
        '',
      ].join('\n'),
    );
    writeFileSync(logFile, ''); // made here so that it can be watched from the start (the logger appends)
    const run = spawnWithoutCores([process.execPath, MAIN, 'run', config, '--view', 'none', '--http', 'off', '--log-file', logFile]);
    let stderr = '';
    run.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const ended = new Promise<NodeJS.Signals | null>((resolve) => run.once('close', (_code, signal) => resolve(signal)));
    try {
      // The proof it runs: the log says the camera streams (the file read again at each change of it).
      await new Promise<void>((resolve, reject) => {
        const watcher = watch(logFile);
        const look = (): void => {
          const text = readFileSync(logFile, 'utf8');
          if (text.includes('"camera streaming"')) {
            watcher.close();
            resolve();
          }
        };
        watcher.on('change', look);
        run.once('close', () => {
          watcher.close();
          reject(new Error(`run ended first: ${stderr}${readFileSync(logFile, 'utf8')}`));
        });
        look();
      });
      run.kill('SIGSEGV');
      assert.equal(await ended, 'SIGSEGV', stderr);
      const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n');
      const last = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
      assert.equal(last.code, 'ERR_FATAL_SIGNAL', lines.at(-1));
      assert.equal(last.signal, 'SIGSEGV');
      assert.equal(last.sentBy !== undefined, true);
      assert.ok(!lines.some((line) => /not installed|without a log line/.test(line)), lines.join('\n'));
    } finally {
      if (run.exitCode === null && run.signalCode === null) run.kill('SIGKILL');
      await ended;
      rmSync(`/dev/shm/fs-fatal-${process.pid}`, { recursive: true, force: true });
    }
  });
});

describe('the fatal-signal report on real faults (native/fatal_report.c in a program of its own)', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `fs-fault-cases-${process.pid}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const program = join(dir, 'fault_cases');
  let unbuilt: string | null = null;
  try {
    // The C compiler the native addons are built with (scripts/setup.sh installs it); -rdynamic names the functions.
    execFileSync('cc', ['-O0', '-rdynamic', '-o', program, 'test/internal/fault_cases.c', 'native/fatal_report.c', '-Inative', '-lpthread', '-ldl'], {
      cwd: REPO_ROOT,
      stdio: 'pipe',
    });
  } catch (error) {
    unbuilt = `no C compiler to build the fault cases: ${String((error as Error).message).split('\n')[0]}`;
  }

  /** Runs a case without core files; how it ended and its one report line. */
  const fault = (t: { skip: (why: string) => void }, ...args: string[]): Promise<(Ended & { line: Record<string, unknown> }) | null> => {
    if (unbuilt !== null) {
      t.skip(unbuilt);
      return Promise.resolve(null);
    }
    return runWithoutCores([program, ...args]).then((ended) => {
      const lines = reports(ended.stderr);
      assert.equal(lines.length, 1, ended.stderr);
      return { ...ended, line: lines[0]! };
    });
  };

  it('a write through a null pointer: the fault, its address and the functions on the way, and death by SIGSEGV', async (t) => {
    const ended = await fault(t, 'null');
    if (ended === null) return;
    assert.equal(ended.signal, 'SIGSEGV');
    assert.deepEqual([ended.line.fault, ended.line.address, ended.line.sentBy], ['address not mapped', '0x0', undefined]);
    const stack = ended.line.stack as string[];
    assert.match(stack[0]!, /^fault_cases\+0x[0-9a-f]+ \(fault_null_write\+0x[0-9a-f]+\)$/);
    assert.ok(
      stack.some((frame) => frame.includes('(main+')),
      ended.stderr,
    );
    assert.equal(ended.line.stackNote, undefined);
  });

  it('a call to where nothing is mapped (the walk itself would fault): the code address and its caller, with a note', async (t) => {
    const ended = await fault(t, 'wild');
    if (ended === null) return;
    assert.equal(ended.signal, 'SIGSEGV');
    assert.equal(ended.line.address, '0x10');
    const stack = ended.line.stack as string[];
    assert.equal(stack[0], '0x10');
    assert.match(stack[1]!, /\(fault_wild_call\+0x[0-9a-f]+\)$/);
    assert.match(String(ended.line.stackNote), /no library/);
  });

  it("a fault on a thread of its own: the thread's name (as a decoder's)", async (t) => {
    const ended = await fault(t, 'thread');
    if (ended === null) return;
    assert.equal(ended.signal, 'SIGSEGV');
    assert.equal(ended.line.thread, 'fs-decoder');
    assert.ok(
      (ended.line.stack as string[]).some((frame) => frame.includes('(fault_on_a_named_thread+')),
      ended.stderr,
    );
  });

  it("a stack longer than the line's room: whole frames are cut, the line stays one JSON line and says so", async (t) => {
    const ended = await fault(t, 'deep');
    if (ended === null) return;
    assert.equal(ended.signal, 'SIGSEGV');
    assert.equal(ended.line.stackNote, "cut: the line's room ran out");
    const stack = ended.line.stack as string[];
    assert.ok(stack.length > 5 && stack.every((frame) => /^fault_cases\+0x[0-9a-f]+ \(\w+\+0x[0-9a-f]+\)$/.test(frame)), ended.stderr);
    assert.ok(ended.stderr.length <= 8192, `${ended.stderr.length} bytes`);
  });

  it('a read past the end of a mapped file cut short, with no guard to absorb it: SIGBUS, named', async (t) => {
    const ended = await fault(t, 'bus', join(dir, 'cut-short'));
    if (ended === null) return;
    assert.equal(ended.signal, 'SIGBUS');
    assert.equal(ended.line.fault, 'address past the end of a mapped file');
  });
});
