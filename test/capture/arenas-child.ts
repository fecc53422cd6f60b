/**
 * A process that loads the native decoder and runs `count` decoders at once
 * (each with its decoder and converter threads allocating), then prints its
 * malloc arenas when the decoder had loaded (Node's own threads have theirs
 * by then) and at the end, and malloc's figures at the end (whose: glibc's,
 * or jemalloc's when it is preloaded), as JSON on stdout, and exits.
 */
import { mallocArenas, mallocStats, NativeDecoder } from '../../src/capture/index.js';

const [file, countArg] = process.argv.slice(2);
const count = Number(countArg ?? 12);
const atLoad = mallocArenas();
await Promise.all(
  Array.from({ length: count }, async () => {
    const decoder = await NativeDecoder.open(file!, { format: 'rgb24', threads: 1 });
    try {
      const target = new Uint8Array(decoder.frameBytes);
      for (let n = 0; n < 40; n++) {
        if ((await decoder.next()) === null) break;
        decoder.present();
        await decoder.convert(target, n % 2 === 0 ? { width: 320, height: 240 } : null);
      }
    } finally {
      decoder.close();
    }
  }),
);
process.stdout.write(`${JSON.stringify({ atLoad, arenas: mallocArenas(), malloc: mallocStats() })}\n`);
