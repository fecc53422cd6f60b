/**
 * The model server's entry module: `node main.js ARGS` runs a model server
 * (server.ts) as `framesupplier model-server ARGS` does, for the system to
 * start without going through the CLI. Errors end it with code 2 and one line
 * on stderr: the error's code and message.
 */
import { FrameSupplierError } from '../supplier/index.js';
import { runModelServer } from './server.js';

try {
  process.exitCode = await runModelServer(process.argv.slice(2));
} catch (error) {
  const code: string = error instanceof FrameSupplierError ? (error as FrameSupplierError).code : 'ERR_UNEXPECTED';
  process.stderr.write(`framesupplier model-server: ${code}: ${String((error as Error)?.message ?? error)}\n`);
  process.exitCode = 2;
}
