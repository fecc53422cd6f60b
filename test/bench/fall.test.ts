/**
 * Bench FALL's own parts (bench/objects/fall.ts, issue 72 item 5): labels.csv read as the data's README writes it
 * (CRLF line ends, empty frames for a clip without a fall), the longest pause between a clip's results, and the
 * bench without the clips (a fresh clone has no ../shared): one line saying where it looked, nothing run, exit 0.
 * The clips themselves never come here: the fixture is a labels.csv written by the test.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { labels, longestGap } from '../../bench/objects/fall.js';

const RUN = fileURLToPath(new URL('../../bench/run.js', import.meta.url));

describe('bench FALL', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-fall-bench-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads labels.csv with CRLF line ends, a clip without a fall having no frames', () => {
    const csv = [
      'file,activity,trial,fps,frames,is_fall,fall_start_frame,person_down_frame',
      'upfall_S1_A01_T1_cam1.mp4,falling forward using hands,1,18/1,142,1,48,60',
      'upfall_S1_A06_T1_cam1.mp4,walking,1,18/1,818,0,,',
    ].join('\r\n');
    writeFileSync(join(dir, 'labels.csv'), `${csv}\r\n`);
    assert.deepEqual(labels(dir), [
      { file: 'upfall_S1_A01_T1_cam1.mp4', activity: 'falling forward using hands', frames: 142, isFall: true, fallStart: 48, down: 60 },
      { file: 'upfall_S1_A06_T1_cam1.mp4', activity: 'walking', frames: 818, isFall: false, fallStart: null, down: null },
    ]);
  });

  it('says the longest pause between results, 0 for fewer than two', () => {
    assert.equal(longestGap([]), 0);
    assert.equal(longestGap([5]), 0);
    assert.equal(longestGap([0, 200, 2600, 2800]), 2400);
  });

  it('without the clips prints one line saying where it looked and runs nothing', async () => {
    const empty = mkdtempSync(join(dir, 'no-clips-'));
    const child = spawn(process.execPath, [RUN, 'FALL'], { env: { ...process.env, FALL_DATA: empty }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, err);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 1, out);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line.workload, 'FALL');
    assert.equal(line.missing, empty);
    assert.match(err, /no clips at/);
  });
});
