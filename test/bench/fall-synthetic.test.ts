/**
 * Bench FALL-SYNTH's own parts (bench/objects/fall-synthetic*.ts): the one
 * adapter from a synthetic frame to the fall rule's input hands over what the
 * system's tracked objects do (the person once confirmed, with the posture
 * postureOf reads in the picture's proportions; the track ended after the
 * tracker's endAfterSeconds without them), and a small fixed-seed run gives
 * its lines: one per family, the worst slices, the summary, the same twice.
 * Not a bar for the rule: the figures are the bench's to report.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { outputOf } from '../helpers/process.js';
import { postureOf } from '../../src/care/index.js';
import { CameraObjects } from '../../src/objects/index.js';
import { runSynthetic, FAMILIES } from '../../bench/objects/fall-synthetic.js';
import { toFallFrame } from '../../bench/objects/fall-synthetic-view.js';
import { drawView, framesOf } from '../helpers/synthetic/views.js';

const RUN = fileURLToPath(new URL('../../bench/run.js', import.meta.url));

describe('bench FALL-SYNTH', { timeout: 120_000 }, () => {
  it('hands the rule the tracked person with the posture read from their keypoints, and their track ended once they are gone', () => {
    const view = drawView(3, 0, 'walk');
    const objects = new CameraObjects({ camera: 'c', worker: 'w', tracker: { highScore: 0.15, matchLastSeen: true } });
    const found = [...framesOf(view)].filter((f) => f.detection !== null).slice(0, 6);
    assert.equal(found.length, 6);
    // frames 100 ms apart, the person held in place: confirmed at the third
    const frames = found.map((_, i) => ({ time: i * 100, detection: found[0]!.detection }));
    const inputs = frames.map((f) => toFallFrame(objects, f, view.camera.aspect));
    assert.deepEqual(
      inputs.map((i) => i.people.length),
      [0, 0, 1, 1, 1, 1],
    );
    const d = found[0]!.detection!;
    const sighting = inputs[2]!.people[0]!;
    assert.deepEqual(sighting.reading, postureOf(d.keypoints, sighting.box, { aspect: view.camera.aspect }));
    // no one found for longer than the tracker's endAfterSeconds (2 s): the track ends
    const gone = toFallFrame(objects, { time: 600 + 2500, detection: null }, view.camera.aspect);
    assert.deepEqual(gone.ended, [sighting.id]);
    assert.deepEqual(gone.people, []);
  });

  it('runs a small fixed-seed bench: a line per family, the worst slices, the summary, the same on a second run', () => {
    const run = runSynthetic({ seed: 5, views: 48 });
    const families = run.lines.filter((l) => l.part === 'family');
    assert.deepEqual(
      families.map((l) => l.family),
      FAMILIES,
    );
    for (const l of families) assert.equal(l.views, 3);
    assert.equal(run.lines.filter((l) => l.part === 'worst').length, 2);
    const s = run.summary;
    assert.equal(s.views, 48);
    assert.equal(s.falls_views, 18);
    assert.equal(s.everyday_views, 30);
    assert.ok((s.advised_falls_views as number) <= 18 && (s.advised_everyday_views as number) <= 30);
    for (const key of ['falls_raised_share', 'everyday_raised_share', 'advised_falls_raised_share', 'advised_everyday_raised_share'] as const) {
      const v = s[key] as number;
      assert.ok(v >= 0 && v <= 1, `${key} ${v}`);
    }
    const again = runSynthetic({ seed: 5, views: 48 });
    const stable = (lines: Record<string, unknown>[]): unknown[] => lines.map(({ seconds: _, ...rest }) => rest);
    assert.deepEqual(stable(again.lines), stable(run.lines));
  });

  it('runs as a workload, its summary the last line', async () => {
    const child = spawn(process.execPath, [RUN, 'FALL-SYNTH'], {
      env: { ...process.env, FALL_SYNTH_VIEWS: '16', FALL_SYNTH_SEED: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { code, out, err } = await outputOf(child);
    assert.equal(code, 0, err);
    const last = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
    assert.equal(last.workload, 'FALL-SYNTH');
    assert.equal(last.views, 16);
    assert.equal(last.seed, 2);
    assert.ok(Array.isArray(last.load_1m));
  });
});
