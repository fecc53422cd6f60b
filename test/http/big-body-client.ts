/**
 * A raw HTTP/1.1 client in its own process (node:net), for bodies.test.ts:
 * it POSTs a body far over the server's limit as fast as the socket takes
 * it, chunked or with a Content-Length, and reads what comes back while it
 * writes. In its own process because that is where an outside client lives:
 * the server closing under it races its reads, which a client sharing the
 * server's event loop never shows. One JSON line per run on stdout:
 * `{ status, headers }` when an answer's head was read, `{ error }` when the
 * socket failed first.
 *
 * argv: port, token, mode (chunked | length), runs, body bytes.
 */
import { connect } from 'node:net';

interface RunResult {
  readonly status?: number;
  readonly headers?: string;
  readonly error?: string;
  readonly sentBytes: number;
}

const [port, token, mode, runs, bodyBytes] = process.argv.slice(2);
const total = Number(bodyBytes);
const piece = Buffer.alloc(64 * 1024, 0x20);
const chunkedPiece = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);

function run(): Promise<RunResult> {
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    let sent = 0;
    let done = false;
    const finish = (result: RunResult): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(result);
    };
    socket.on('data', (data: Buffer) => {
      received += data.toString('latin1');
      const head = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n/.exec(received);
      if (head !== null) finish({ status: Number(head[1]), headers: head[2]!.toLowerCase(), sentBytes: sent });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message, sentBytes: sent }));
    socket.on('close', () => finish({ error: 'closed before an answer', sentBytes: sent }));
    socket.on('connect', () => {
      const length = mode === 'chunked' ? 'transfer-encoding: chunked' : `content-length: ${total}`;
      socket.write(
        `POST /api/cameras/big-body HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nauthorization: Bearer ${token}\r\n${length}\r\n\r\n`,
      );
      const pump = (): void => {
        while (!done && sent < total) {
          sent += piece.length;
          if (!socket.write(mode === 'chunked' ? chunkedPiece : piece)) {
            socket.once('drain', pump);
            return;
          }
        }
        if (!done && mode === 'chunked') socket.write('0\r\n\r\n');
      };
      pump();
    });
  });
}

for (let i = 0; i < Number(runs); i++) process.stdout.write(`${JSON.stringify(await run())}\n`);
