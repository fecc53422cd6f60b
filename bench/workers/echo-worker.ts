/** S1's subprocess worker: answers every frame at once with an empty result (touching one byte, so shm frames are really read). */
import { serveSubprocessWorker, type Transport } from '../../src/workers/index.js';

await serveSubprocessWorker((frame) => (frame.data[frame.data.byteLength - 1] === 256 ? 'impossible' : null), { transport: process.argv[2] as Transport });
