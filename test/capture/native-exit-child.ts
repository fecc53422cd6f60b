/**
 * A process for the exit tests. `exit`: three opens pending on a dead camera
 * and a file decoding, then process.exit(7). `natural`: a decoder opened, one
 * frame decoded, never closed; nothing else to do, so the process must end.
 * Usage: native-exit-child.js exit|natural <file>
 */
import { NativeDecoder } from '../../src/capture/index.js';
import { SilentServer } from './native-fixtures.js';

const [how, file] = process.argv.slice(2) as [string, string];
const decoder = await NativeDecoder.open(file, { format: 'rgb24' });
const target = new Uint8Array(decoder.frameBytes);
await decoder.decode(target);
if (how === 'exit') {
  const server = await SilentServer.start();
  for (let i = 0; i < 3; i++) void NativeDecoder.open(server.url(`exit-${i}`), { format: 'rgb24' }).catch(() => undefined);
  await server.acceptedAtLeast(3);
  void decoder.decode(target);
  process.stdout.write('READY\n');
  process.exit(7);
}
process.stdout.write('READY\n');
