/**
 * `framesupplier shm write` and `infer`, the real command as a child process:
 * a frame written and asked about, and every mistake a user can make (with
 * these and with `run`'s flags) answered
 * with one of the project's codes (`framesupplier: CODE: message`, exit 2),
 * never Node's bare ERR_OUT_OF_RANGE, ENOENT or ERR_PARSE_ARGS_*.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createMockHandler, ModelServer } from '../../src/models/index.js';
import { readRepoFile, repoFiles } from '../helpers/repo.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), `fs-cli-${process.pid}-`));
const shmDir = join(dir, 'shm');
const socket = join(dir, 'mock.sock');
const camera = `cli_${process.pid}`;
const gray6 = join(dir, 'gray-3x2.raw'); // GRAY 3 × 2
const empty = join(dir, 'empty.raw');
const notADir = join(dir, 'file');
const noCameras = join(dir, 'no-cameras.yaml'); // a config that runs, for `run`'s flags

/** Runs the CLI; exit code, stdout and stderr whatever the outcome. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The command fails with exit code 2 and says `framesupplier: CODE: …` (and nothing unexpected). */
async function refuses(args: string[], code: string, message?: RegExp): Promise<void> {
  const out = await cli(args);
  assert.equal(out.code, 2, `${args.join(' ')}: exit ${out.code}, stderr ${out.stderr}`);
  assert.match(out.stderr, /^framesupplier: ERR_[A-Z_]+: /, out.stderr);
  assert.equal(/^framesupplier: (ERR_[A-Z_]+):/.exec(out.stderr)?.[1], code, `${args.join(' ')}: ${out.stderr}`);
  if (message !== undefined) assert.match(out.stderr, message);
}

const write = (...extra: string[]): string[] => ['shm', 'write', '--camera', camera, '--shm-dir', shmDir, ...extra];
const ask = (...extra: string[]): string[] => ['infer', '--socket', socket, '--camera', camera, '--model-id', 'mock', ...extra];

let server: ModelServer;
before(async () => {
  mkdirSync(shmDir, { recursive: true });
  writeFileSync(gray6, Buffer.from([1, 2, 3, 4, 5, 6]));
  writeFileSync(empty, '');
  writeFileSync(notADir, 'x');
  writeFileSync(noCameras, 'cameras: {}\n');
  server = new ModelServer({ socketPath: socket, handler: createMockHandler(), shmDir });
  await server.start();
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

// Each case spawns the CLI: on a busy machine (a fresh clone's tests beside two benches, load 12 on 2 cores) the suite took over two minutes; the bound is for a hang.
describe('framesupplier shm write and infer', { timeout: 300_000 }, () => {
  it('every command parses its command line through src/internal/args.ts (so a malformed one is ERR_INVALID_ARGUMENT)', () => {
    const direct = repoFiles('src', ['.ts'])
      .filter((path) => path !== 'src/internal/args.ts')
      .filter((path) => /\bparseArgs\s*\(/.test(readRepoFile(path)));
    assert.deepEqual(direct, [], `use parseFlags() or parseCommandLine() from src/internal/args.ts instead of node:util's parseArgs in:\n${direct.join('\n')}`);
  });

  it('writes a frame, prints its reference, and infer asks the server about it', async () => {
    const written = await cli(write('--input', gray6, '--width', '3', '--height', '2', '--format', 'GRAY'));
    assert.equal(written.code, 0, written.stderr);
    const ref = JSON.parse(written.stdout) as { frame_reference: string; frame_metadata: { frame_id: number } };
    assert.equal(ref.frame_reference, join(shmDir, `${camera}.frames`));
    const answer = await cli(ask('--ref-json', written.stdout.trim()));
    assert.equal(answer.code, 0, answer.stderr);
    const response = JSON.parse(answer.stdout) as { error: unknown; frame_id: number };
    assert.equal(response.error, null);
    assert.equal(response.frame_id, ref.frame_metadata.frame_id);
  });

  it('a server that answers with an error: the response is printed, exit 1', async () => {
    const answer = await cli(
      ask('--frame-reference', join(shmDir, `${camera}.frames`), '--frame-id', '999999', '--width', '3', '--height', '2', '--format', 'GRAY'),
    );
    assert.equal(answer.code, 1, answer.stderr);
    assert.equal((JSON.parse(answer.stdout) as { error: { code: string } }).error.code, 'ERR_FRAME_NOT_FOUND');
  });

  describe('shm write refuses, with a code', () => {
    const ok = ['--width', '3', '--height', '2', '--format', 'GRAY'];
    for (const [what, args, code, message] of [
      ['a missing input file', write('--input', join(dir, 'absent.raw'), ...ok), 'ERR_INVALID_ARGUMENT', /--input .*absent\.raw.* cannot be read: ENOENT/],
      ['an input that is a directory', write('--input', dir, ...ok), 'ERR_INVALID_ARGUMENT', /cannot be read: EISDIR/],
      ['an empty input', write('--input', empty, ...ok), 'ERR_INVALID_ARGUMENT', /is empty/],
      ['an input of the wrong size', write('--input', gray6, '--width', '4', '--height', '2', '--format', 'GRAY'), 'ERR_INVALID_ARGUMENT', /needs 8/],
      [
        'a width past 32 bits (once ERR_OUT_OF_RANGE)',
        write('--input', gray6, '--width', '4294967296', '--height', '1', '--format', 'JPEG'),
        'ERR_INVALID_ARGUMENT',
        /--width must be an integer from 1 to 16384/,
      ],
      ['a huge frame size', write('--input', gray6, '--width', '99999999999', '--height', '99999999', '--format', 'GRAY'), 'ERR_INVALID_ARGUMENT', /--width/],
      ['a zero height', write('--input', gray6, '--width', '3', '--height', '0', '--format', 'GRAY'), 'ERR_INVALID_ARGUMENT', /--height/],
      ['a width that is not a number', write('--input', gray6, '--width', 'wide', '--height', '2', '--format', 'GRAY'), 'ERR_INVALID_ARGUMENT', /--width/],
      ['an unknown format', write('--input', gray6, '--width', '3', '--height', '2', '--format', 'H265'), 'ERR_INVALID_ARGUMENT', /--format/],
      ['too many slots', write('--input', gray6, ...ok, '--slots', '5000'), 'ERR_INVALID_ARGUMENT', /--slots/],
      ['no camera', ['shm', 'write', '--input', gray6, ...ok], 'ERR_INVALID_ARGUMENT', /--camera is required/],
      ['a camera id that is not a file name', ['shm', 'write', '--camera', 'a/b', '--shm-dir', shmDir, '--input', gray6, ...ok], 'ERR_SHM', /camera id/],
      [
        'a store directory under a file (once ENOTDIR)',
        ['shm', 'write', '--camera', camera, '--shm-dir', join(notADir, 'shm'), '--input', gray6, ...ok],
        'ERR_SHM',
        /ENOTDIR/,
      ],
      ['an unknown flag (once ERR_PARSE_ARGS_UNKNOWN_OPTION)', write('--input', gray6, ...ok, '--frame-id', '3'), 'ERR_INVALID_ARGUMENT', /--frame-id/],
      ['a stray argument', write('--input', gray6, ...ok, 'extra'), 'ERR_INVALID_ARGUMENT', /extra/],
      ['a flag without its value', write('--input', gray6, ...ok, '--slots'), 'ERR_INVALID_ARGUMENT', /--slots/],
      ['an unknown shm command', ['shm', 'read'], 'ERR_INVALID_ARGUMENT', /unknown shm command/],
      ['no shm command (once "unknown shm command undefined")', ['shm'], 'ERR_INVALID_ARGUMENT', /: shm needs a command: write\n$/],
    ] as const) {
      it(what, () => refuses([...args], code, message));
    }
  });

  describe('infer refuses, with a code', () => {
    const frame = ['--frame-reference', join(shmDir, `${camera}.frames`), '--frame-id', '1', '--format', 'GRAY'];
    for (const [what, args, code, message] of [
      [
        'no server on the socket',
        ['infer', '--socket', join(dir, 'nobody.sock'), '--camera', camera, '--model-id', 'mock', ...frame, '--width', '3', '--height', '2'],
        'ERR_SERVER_UNAVAILABLE',
        /no model server/,
      ],
      ['a --ref-json that is not JSON', ask('--ref-json', '{frame'), 'ERR_INVALID_ARGUMENT', /--ref-json/],
      ['a --ref-json that is not a reference', ask('--ref-json', '5'), 'ERR_INVALID_ARGUMENT', /frame_reference and frame_metadata/],
      ['a --ref-json of null', ask('--ref-json', 'null'), 'ERR_INVALID_ARGUMENT', /--ref-json/],
      [
        'a timeout no timer can wait (once a TimeoutOverflowWarning and 1 ms)',
        ask(...frame, '--width', '3', '--height', '2', '--timeout-ms', '99999999999999'),
        'ERR_INVALID_ARGUMENT',
        /--timeout-ms/,
      ],
      ['a width over the protocol limit', ask(...frame, '--width', '16385', '--height', '2'), 'ERR_INVALID_ARGUMENT', /--width/],
      [
        'a negative frame id',
        ask('--frame-reference', join(shmDir, 'x.frames'), '--frame-id', '-1', '--format', 'GRAY', '--width', '3', '--height', '2'),
        'ERR_INVALID_ARGUMENT',
        /--frame-id/,
      ],
      [
        'no socket',
        ['infer', '--camera', camera, '--model-id', 'mock', ...frame, '--width', '3', '--height', '2'],
        'ERR_INVALID_ARGUMENT',
        /--socket is required/,
      ],
      ['an unknown flag', ask('--verbose'), 'ERR_INVALID_ARGUMENT', /--verbose/],
    ] as const) {
      it(what, () => refuses([...args], code, message));
    }
  });

  describe('run refuses, with a code, before it starts anything', () => {
    const runs = (...extra: string[]): string[] => ['run', noCameras, '--view', 'none', '--http', 'off', ...extra];
    for (const [what, args, code, message] of [
      [
        'a --duration no timer can wait (once a TimeoutOverflowWarning, a stop at once and exit 0)',
        runs('--duration', '3000000'),
        'ERR_INVALID_ARGUMENT',
        /--duration must be a number from 0 to 2147483\.647 \(seconds/,
      ],
      [
        // --duration 1: without the check it redrew every millisecond for a second, then exited 0.
        'a --view-interval-ms no timer can wait (once a redraw every millisecond)',
        ['run', noCameras, '--view', 'plain', '--http', 'off', '--duration', '1', '--view-interval-ms', '3000000000'],
        'ERR_INVALID_ARGUMENT',
        /--view-interval-ms must be a number from 0 to 2147483647 \(milliseconds/,
      ],
      ['a negative --duration', runs('--duration', '-1'), 'ERR_INVALID_ARGUMENT', /--duration/],
      ['a --log-file that is a directory (once ERR_UNEXPECTED: EISDIR and a stack)', runs('--log-file', dir), 'ERR_INVALID_ARGUMENT', /EISDIR/],
      [
        'a --log-file that opens but refuses writes (once ERR_UNEXPECTED: EIO from SonicBoom)',
        runs('--log-file', '/proc/version'),
        'ERR_INVALID_ARGUMENT',
        /the log file "\/proc\/version" cannot be written: E(IO|ACCES)/,
      ],
    ] as const) {
      it(what, () => refuses([...args], code, message));
    }
  });
});
