/**
 * The in-process decoders' threads one step behind the event loop (ADR 0075): every thread of this process the
 * native decoder named fs-decoder (a decoder's own thread, and the codec threads it started, which take its name)
 * runs DECODER_NICE_STEP nice levels below the process's own priority. The event loop hands each decoded frame
 * over (conversion, publish, the model's request, its answer) in a few short wakes; behind a busy decoder of
 * another camera on the same core, each wake waited for that decoder's time slice. The converter threads
 * (fs-convert) keep the process's priority: a frame due to a reader is converted on demand, on its way out.
 *
 * Each decoder's thread lowers itself before it opens its source (the addon's open() option lowerPriorityBy), so
 * the codec threads it starts inherit the step and nothing has to be found afterwards. lowerDecoderThreads() is
 * for an addon built before that: each open then scanned the process's threads in /proc by name, a cost that
 * grew with the threads there are and came again with each pass of a looping file.
 *
 * Contract: lowerDecoderThreads() lowers the decoder threads alive now that it has not lowered before and says how
 * many; a thread is lowered once (Linux keeps a thread's nice value, and threads a decoder thread starts inherit
 * it). Where there is no /proc (not Linux) or the kernel refuses, it does nothing. Never throws.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** How many nice levels below the process's own the decoder threads run. */
export const DECODER_NICE_STEP = 5;
/** The least priority Linux gives (the highest nice value). */
const LOWEST = 19;

/** Thread ids lowered and still alive when last looked at (ids are reused once a thread ends). */
const lowered = new Set<number>();

export function lowerDecoderThreads(): number {
  let tasks: string[];
  let base: number;
  try {
    tasks = readdirSync('/proc/self/task');
    base = getPriority(process.pid);
  } catch {
    return 0;
  }
  const alive = new Set<number>();
  let count = 0;
  for (const task of tasks) {
    const tid = Number(task);
    alive.add(tid);
    if (lowered.has(tid)) continue;
    try {
      if (readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim() !== 'fs-decoder') continue;
      setPriority(tid, Math.min(LOWEST, base + DECODER_NICE_STEP));
      lowered.add(tid);
      count++;
    } catch {
      // ended meanwhile, or the kernel refused: it runs as before
    }
  }
  for (const tid of lowered) if (!alive.has(tid)) lowered.delete(tid);
  return count;
}
