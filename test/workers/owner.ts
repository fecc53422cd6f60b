/**
 * A process that owns a supervisor with a subprocess worker, for the orphan
 * tests: prints the worker's first result as JSON ("WORKER {...}", with its
 * pid, and its own child's in mode fork), then waits to be killed.
 * argv: the worker script, the shm directory, the worker's mode (default echo).
 */
import { FrameSupplier } from '../../src/supplier/index.js';
import { subprocessWorker, WorkerSupervisor } from '../../src/workers/index.js';

const [script, shmDir, mode = 'echo'] = process.argv.slice(2) as [string, string, string?];
const supplier = new FrameSupplier({ streamId: 'owner' }).start();
const supervisor = new WorkerSupervisor({ supplier });
supervisor.add({ id: 'orphan-candidate', kind: subprocessWorker({ command: process.execPath, args: [script, mode], shmDir }) });
supervisor.once('result', (r: { output: unknown }) => process.stdout.write(`WORKER ${JSON.stringify(r.output)}\n`));
supervisor.start();
setInterval(() => supplier.publish({ payload: new Uint8Array(12), width: 2, height: 2, format: 'rgb24' }), 20);
