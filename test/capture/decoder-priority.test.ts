/**
 * The native decoder's threads run behind the event loop (ADR 0075): once a capture has decoded a frame, every
 * thread of this process named fs-decoder (the decoder's own and the codec threads it started) has a nice value
 * DECODER_NICE_STEP above the process's, and the event loop's thread and the converter threads (fs-convert) keep
 * the process's own. Read from /proc (Linux), as the kernel schedules them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { DECODER_NICE_STEP } from '../../src/capture/decoder-priority.js';
import { capture, captures, VTEST } from './fixtures.js';

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
});
