/**
 * A process that owns a supervisor with a subprocess worker, for the orphan
 * test: prints the worker's pid (from its first result), then waits to be killed.
 */
import { FrameSupplier } from '../../src/supplier/index.js';
import { subprocessWorker, WorkerSupervisor } from '../../src/workers/index.js';

const [script, shmDir] = process.argv.slice(2) as [string, string];
const supplier = new FrameSupplier({ streamId: 'owner' }).start();
const supervisor = new WorkerSupervisor({ supplier });
supervisor.add({ id: 'orphan-candidate', kind: subprocessWorker({ command: process.execPath, args: [script, 'echo'], shmDir }) });
supervisor.once('result', (r: { output: { pid: number } }) => process.stdout.write(`WORKER ${r.output.pid}\n`));
supervisor.start();
setInterval(() => supplier.publish({ payload: new Uint8Array(12), width: 2, height: 2, format: 'rgb24' }), 20);
