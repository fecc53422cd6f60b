/** A subprocess worker for the shm tests: takes the shm transport and answers each frame with its size. */
import { serveSubprocessWorker } from '../../src/workers/index.js';

await serveSubprocessWorker((frame) => ({ bytes: frame.data.byteLength }), { transport: 'shm' });
