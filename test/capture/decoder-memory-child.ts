/**
 * A process that runs `count` native decoders over a file in passes (open,
 * a few pictures presented and converted, close), keeping every closed
 * decoder reachable as a caller may, and prints as JSON on stdout: malloc's
 * bytes in use once the last pass's decoders closed, against before that
 * pass opened (a picture a closed decoder still holds counts there), and
 * the bytes in blocks mmapped on their own while that pass's decoders held
 * their frames, beyond those mmapped before it opened (frames mmapped go back to the system when freed, frames in
 * the arenas may stay as free memory there).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mallocStats, nativeDecoderUnavailable, NativeDecoder } from '../../src/capture/index.js';
import { eventually } from '../helpers/process.js';

const [file, countArg] = process.argv.slice(2);
const count = Number(countArg ?? 8);
if (nativeDecoderUnavailable() !== null) throw new Error(nativeDecoderUnavailable()!);
const inUse = (): number => mallocStats()!.inUseBytes;
// Reachable to the end: what they hold is freed at close, not when V8 collects them.
const closed: NativeDecoder[] = [];
// Made once: a target is a JavaScript buffer, malloc'd, that only a collection frees.
const targets = Array.from({ length: count }, () => new Uint8Array(768 * 576 * 3));

async function pass(): Promise<{ mmappedBytes: number; frameBytes: number }> {
  const decoders = await Promise.all(targets.map(() => NativeDecoder.open(file!, { format: 'rgb24', threads: 1 })));
  await Promise.all(
    decoders.map(async (decoder, i) => {
      for (let n = 0; n < 5; n++) {
        if ((await decoder.next()) === null) break;
        decoder.present();
        await decoder.convert(targets[i]!.subarray(0, decoder.frameBytes));
      }
    }),
  );
  const mmappedBytes = mallocStats()!.mmappedBytes;
  const frameBytes = decoders[0]!.sourceWidth * decoders[0]!.sourceHeight;
  for (const decoder of decoders) decoder.close();
  closed.push(...decoders);
  return { mmappedBytes, frameBytes };
}

/** The decoders' threads alive (named fs-decoder, fs-convert): they end on their own after close(), freeing the codec. */
function decoderThreads(): number {
  let n = 0;
  for (const task of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${task}/comm`, 'utf8').startsWith('fs-')) n++;
    } catch {
      // ended meanwhile
    }
  }
  return n;
}

await pass(); // libav's tables made once, the code compiled: the passes after start from there
await eventually(() => decoderThreads() === 0, "the first pass's decoder threads to end");
const before = inUse();
const mmappedBefore = mallocStats()!.mmappedBytes; // the targets, for one, mmapped from the start
const { mmappedBytes, frameBytes } = await pass();
await eventually(() => decoderThreads() === 0, "the second pass's decoder threads to end");
// Once they have, the decoders are released on this thread (their thread-safe functions' finalizers).
await eventually(() => inUse() - before < frameBytes, 'the closed decoders to free their memory', 2_000).catch(() => undefined);
process.stdout.write(`${JSON.stringify({ count, frameBytes, heldAfterClose: inUse() - before, mmappedBytes: mmappedBytes - mmappedBefore })}\n`);
