/**
 * Bench FALL's own parts (bench/objects/fall.ts, fall-clips.ts): both label files read as the data's READMEs write
 * them (UP-Fall's in frames with CRLF line ends, empty frames for a clip without a fall; GMDCSA-24's in seconds, its
 * night clips marked), what each frame shows, the summaries per source and per type, the longest pause between a
 * clip's results, and the bench without the clips (a fresh clone has no ../shared): one line saying where it
 * looked, nothing run, exit 0.
 * The clips themselves never come here: the fixture is a labels.csv written by the test.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { outputOf } from '../helpers/process.js';
import { longestGap, summarize, type ClipOutcome } from '../../bench/objects/fall.js';
import { fallClips, frameState } from '../../bench/objects/fall-clips.js';

const RUN = fileURLToPath(new URL('../../bench/run.js', import.meta.url));

describe('bench FALL', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-fall-bench-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads both label files, UP-Fall in frames (CRLF line ends), GMDCSA-24 in seconds, into one list in seconds', () => {
    const csv = [
      'file,activity,trial,fps,frames,is_fall,fall_start_frame,person_down_frame',
      'upfall_S1_A01_T1_cam1.mp4,falling forward using hands,1,18/1,142,1,48,60',
      'upfall_S1_A06_T1_cam1.mp4,walking,1,18/1,818,0,,',
    ].join('\r\n');
    writeFileSync(join(dir, 'labels.csv'), `${csv}\r\n`);
    mkdirSync(join(dir, 'gmdcsa24'), { recursive: true });
    writeFileSync(
      join(dir, 'gmdcsa24', 'labels.csv'),
      [
        'clip,source,is_fall,fall_start_s,person_down_s,start_from,down_from,notes',
        'gmdcsa24/gmdcsa24_S2_fall_13.mp4,GMDCSA-24,1,2.5,4.0,dataset,eye,night; backward fall side view (eye onset ~3.0)',
        'gmdcsa24/gmdcsa24_S1_adl_16.mp4,GMDCSA-24,0,,,dataset,,seated; picks phone from floor',
      ].join('\n'),
    );
    const probed: string[] = [];
    const clips = fallClips(dir, (path) => {
      probed.push(path);
      return { width: 640, height: 480, fps: 15, frames: 99 };
    });
    assert.deepEqual(
      clips.map((c) => [c.file, c.source, c.type, c.isFall, c.fallStartS, c.downS, c.night, c.fps]),
      [
        ['upfall_S1_A01_T1_cam1.mp4', 'UP-Fall', 'falling forward using hands', true, 48 / 18, 60 / 18, false, 18],
        ['upfall_S1_A06_T1_cam1.mp4', 'UP-Fall', 'walking', false, null, null, false, 18],
        ['gmdcsa24/gmdcsa24_S2_fall_13.mp4', 'GMDCSA-24', 'fall, night', true, 2.5, 4, true, 15],
        ['gmdcsa24/gmdcsa24_S1_adl_16.mp4', 'GMDCSA-24', 'everyday, day', false, null, null, false, 15],
      ],
    );
    assert.equal(probed.length, 2, 'the GMDCSA clips are probed where they are');
    const [fall, walk, night, seated] = clips;
    assert.deepEqual(
      [frameState(fall!, 1), frameState(fall!, 3), frameState(fall!, 4), frameState(walk!, 10), frameState(night!, 5), frameState(seated!, 1)],
      ['upright', 'falling', 'lying', 'upright', 'lying', 'sitting'],
    );
  });

  it('sums clips up per source, per type and over all: sensitivity, specificity, false alarms, the delay after down', () => {
    const o = (clip: string, source: string, type: string, isFall: boolean, detected: boolean, falseAlarms: number, delay: number | null): ClipOutcome => ({
      clip,
      source,
      type,
      is_fall: isFall,
      detected,
      false_alarms: falseAlarms,
      event_after_down_ms: delay,
    });
    const lines = summarize([
      o('a', 'UP-Fall', 'falling backwards', true, true, 0, 1200),
      o('b', 'UP-Fall', 'falling backwards', true, false, 0, null),
      o('c', 'UP-Fall', 'walking', false, false, 1, null),
      o('d', 'GMDCSA-24', 'fall, night', true, true, 0, 800),
      o('e', 'GMDCSA-24', 'everyday, night', false, false, 0, null),
    ]);
    const all = lines.find((l) => l.part === 'all')!;
    assert.deepEqual(
      [all.falls, all.detected, all.sensitivity, all.everyday, all.specificity, all.false_alarms, all.missed, all.event_after_down_ms_p50],
      [3, 2, 0.667, 2, 0.5, 1, ['b'], 800],
    );
    const upfall = lines.find((l) => l.part === 'source' && l.source === 'UP-Fall')!;
    assert.deepEqual([upfall.sensitivity, upfall.specificity], [0.5, 0]);
    assert.equal(lines.filter((l) => l.part === 'type').length, 4);
  });

  it('says the longest pause between results, 0 for fewer than two', () => {
    assert.equal(longestGap([]), 0);
    assert.equal(longestGap([5]), 0);
    assert.equal(longestGap([0, 200, 2600, 2800]), 2400);
  });

  it('without the clips prints one line saying where it looked and runs nothing', async () => {
    const empty = mkdtempSync(join(dir, 'no-clips-'));
    const child = spawn(process.execPath, [RUN, 'FALL'], { env: { ...process.env, FALL_DATA: empty }, stdio: ['ignore', 'pipe', 'pipe'] });
    const { code, out, err } = await outputOf(child);
    assert.equal(code, 0, err);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 1, out);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line.workload, 'FALL');
    assert.equal(line.missing, empty);
    assert.match(err, /no clips at/);
  });
});
