/**
 * A subprocess worker in Node for the tests, by mode (argv[2]):
 *   echo          answers each frame with its first byte, size, pid and transport
 *   crash         exits 3 on its first frame
 *   garbage       answers its first frame with bytes that are not the protocol
 *   wrong-seq     answers its first frame with another seq
 *   bad-hello     claims protocol 99
 *   hang          never answers a frame
 *   stderr        writes two lines to stderr per frame, then answers
 * argv[3]: the transport to ask for (default: the first offered).
 */
import { encodeWorkerMessage, serveSubprocessWorker, type Transport } from '../../src/workers/index.js';

const mode = process.argv[2] ?? 'echo';
const transport = process.argv[3] as Transport | undefined;

if (mode === 'bad-hello') {
  process.stdout.write(encodeWorkerMessage({ type: 'hello', protocol: 99, transport: 'pipe' }));
  setInterval(() => undefined, 1 << 30);
} else {
  await serveSubprocessWorker(
    (frame) => {
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
      }
      return { first: frame.data[0], bytes: frame.data.byteLength, pid: process.pid, seq: frame.seq, format: frame.format, width: frame.width };
    },
    transport === undefined ? {} : { transport },
  );
}
