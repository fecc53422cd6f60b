/**
 * A subprocess worker in Node for the tests, by mode (argv[2]):
 *   echo          answers each frame with its first byte, size, pid and transport
 *   crash         exits 3 on its first frame
 *   garbage       answers its first frame with bytes that are not the protocol
 *   wrong-seq     answers its first frame with another seq
 *   bad-hello     claims protocol 99
 *   hang          never answers a frame
 *   stderr        writes two lines to stderr per frame, then answers
 *   stderr-flood  on its first frame writes "flood\n", 200 MiB without a newline, then "\n", then answers
 *   stderr-burst  on its first frame writes 5000 short lines at once, then answers
 *   flood-results after its hello, writes results for frames it was never given, as fast as the pipe takes them
 *   double        answers each frame twice
 *   fork          on its first frame starts `sleep 1000` (a grandchild of the supervisor) and reports its pid
 * argv[3]: the transport to ask for (default: the first offered).
 */
import { spawn } from 'node:child_process';
import { encodeWorkerMessage, serveSubprocessWorker, type Transport } from '../../src/workers/index.js';

const mode = process.argv[2] ?? 'echo';
const transport = process.argv[3] as Transport | undefined;

if (mode === 'bad-hello') {
  process.stdout.write(encodeWorkerMessage({ type: 'hello', protocol: 99, transport: 'pipe' }));
  setInterval(() => undefined, 1 << 30);
} else if (mode === 'flood-results') {
  process.stdin.once('data', () => {
    process.stdout.write(encodeWorkerMessage({ type: 'hello', protocol: 1, transport: 'pipe' }));
    const result = encodeWorkerMessage({ type: 'result', seq: 424242, output: 'x'.repeat(1000) });
    const more = (): void => {
      while (process.stdout.write(result));
      process.stdout.once('drain', more);
    };
    more();
  });
} else {
  let grandchild: number | undefined;
  let frames = 0;
  await serveSubprocessWorker(
    (frame) => {
      const first = ++frames === 1;
      switch (mode) {
        case 'crash':
          process.stderr.write(`crashing on frame ${frame.seq}\n`);
          process.exit(3);
          break;
        case 'garbage':
          process.stdout.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]));
          return new Promise(() => undefined);
        case 'wrong-seq':
          process.stdout.write(encodeWorkerMessage({ type: 'result', seq: frame.seq + 1000, output: null }));
          return new Promise(() => undefined);
        case 'hang':
          return new Promise(() => undefined);
        case 'stderr':
          process.stderr.write(`line one for ${frame.seq}\nline two for ${frame.seq}\n`);
          break;
        case 'stderr-flood':
          if (first) {
            process.stderr.write('flood\n');
            const mib = Buffer.alloc(1024 * 1024, 'x');
            for (let i = 0; i < 200; i++) process.stderr.write(mib); // synchronous on a pipe
            process.stderr.write('\n');
          }
          break;
        case 'stderr-burst':
          if (first) process.stderr.write(Array.from({ length: 5000 }, (_, i) => `burst ${i}\n`).join(''));
          break;
        case 'double':
          process.stdout.write(encodeWorkerMessage({ type: 'result', seq: frame.seq, output: null }));
          break;
        case 'fork':
          if (grandchild === undefined) {
            const sleep = spawn('sleep', ['1000'], { stdio: 'ignore' });
            sleep.unref();
            grandchild = sleep.pid;
          }
          return { pid: process.pid, grandchild };
      }
      return { first: frame.data[0], bytes: frame.data.byteLength, pid: process.pid, seq: frame.seq, format: frame.format, width: frame.width };
    },
    transport === undefined ? {} : { transport },
  );
}
