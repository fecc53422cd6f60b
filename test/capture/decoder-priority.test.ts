/**
 * The native decoder's threads run behind the event loop (ADR 0075): once a capture has decoded a frame, every
 * thread of this process named fs-decoder (the decoder's own and the codec threads it started) has a nice value
 * DECODER_NICE_STEP above the process's, and the event loop's thread and the converter threads (fs-convert) keep
 * the process's own. Read from /proc (Linux), as the kernel schedules them. The decoder's threads lower themselves
 * (open()'s lowerPriorityBy), the codec threads inheriting it: no scan from JavaScript is needed for them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { DECODER_NICE_STEP } from '../../src/capture/decoder-priority.js';
import { NativeDecoder } from '../../src/capture/native-decoder.js';
import { capture, captures, h264Clip, VTEST } from './fixtures.js';

after(async () => {
  await Promise.all(captures.map((c) => c.close()));
});

/** Every thread of this process: its id, its name and its nice value (/proc/self/task/<tid>/stat, field 19). */
function threads(): { tid: number; name: string; nice: number }[] {
  const out: { tid: number; name: string; nice: number }[] = [];
  for (const task of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      out.push({ tid: Number(task), name: stat.slice(stat.indexOf('(') + 1, close), nice: Number(fields[16]) });
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

describe('decoder thread priority', { timeout: 60_000 }, () => {
  it('decoder threads run DECODER_NICE_STEP below the process; the event loop and the converter keep its priority', async () => {
    const { sub } = capture({ source: VTEST, decoder: 'native', output: { width: 384 } });
    const frame = await sub.read();
    assert.ok(frame !== null, 'the capture decoded a frame');
    const all = threads();
    const main = all.find((t) => t.tid === process.pid);
    assert.ok(main !== undefined);
    const decoders = all.filter((t) => t.name === 'fs-decoder');
    assert.ok(decoders.length >= 1, 'the decoder thread is there');
    for (const t of decoders) assert.equal(t.nice, Math.min(19, main.nice + DECODER_NICE_STEP), `decoder thread ${t.tid}`);
    const converters = all.filter((t) => t.name === 'fs-convert');
    assert.ok(converters.length >= 1, 'the converter thread is there');
    for (const t of converters) assert.equal(t.nice, main.nice, `converter thread ${t.tid}`);
  });

  it('a decoder opened with lowerPriorityBy lowers its own thread and its codec threads; without it they keep the priority', async () => {
    assert.equal(NativeDecoder.lowersPriority, true, 'the addon built from this checkout lowers its threads itself');
    const opened = async (options: { lowerPriorityBy?: number }): Promise<{ nice: number[]; main: number }> => {
      const before = new Set(threads().map((t) => t.tid));
      // H.264 with two threads: libavcodec starts frame threads at the open.
      const decoder = await NativeDecoder.open(await h264Clip(), { format: 'gray', threads: 2, ...options });
      try {
        assert.ok((await decoder.next()) !== null, 'a picture decoded');
        const all = threads();
        const mine = all.filter((t) => t.name === 'fs-decoder' && !before.has(t.tid));
        assert.ok(mine.length >= 2, `the decoder's thread and its codec threads (${mine.length})`);
        return { nice: mine.map((t) => t.nice), main: all.find((t) => t.tid === process.pid)!.nice };
      } finally {
        decoder.close();
      }
    };
    const lowered = await opened({ lowerPriorityBy: 3 });
    for (const nice of lowered.nice) assert.equal(nice, Math.min(19, lowered.main + 3));
    const kept = await opened({});
    for (const nice of kept.nice) assert.equal(nice, kept.main);
  });

  it('refuses a step outside 0 to 39 before it starts anything', async () => {
    for (const lowerPriorityBy of [-1, 40]) {
      await assert.rejects(NativeDecoder.open(VTEST, { format: 'gray', lowerPriorityBy }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
        assert.match(error.message, /lowerPriorityBy/);
        return true;
      });
    }
  });
});
