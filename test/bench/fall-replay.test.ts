/**
 * Bench FALL-REPLAY (bench/objects/fall-replay.ts): a recorded clip's person
 * results go through the tracked objects and the fall rule as the system runs
 * them, and its alerts are judged against the clip's labels as FALL judges
 * them: a fall drawn by the test helper's stick figure, recorded as the person
 * model's results would be, is detected once, dated after the label's start;
 * standing still raises nothing; a clip's frame is found on the recording's
 * capture times by its seq; a recording read back is the one written.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { clipFrameCapture, readRecording, replayClip, writeRecording, type RecordedClip } from '../../bench/objects/fall-replay.js';
import type { FallClip } from '../../bench/objects/fall-clips.js';
import { MOVES, sequence, STANDING, type Step } from '../helpers/poses.js';

const LEAD_S = 2;
const FPS = 5;

/** A clip of `steps` recorded at FPS as the FALL bench records it: a still lead-in, then the move. */
function recorded(steps: readonly Step[], labels: { fallStartS: number | null; downS: number | null }): RecordedClip {
  const frames = sequence(STANDING, steps, FPS, { floor: 0.9 });
  const clip: FallClip = {
    file: 'test/clip.mp4',
    source: 'UP-Fall',
    activity: 'a test',
    type: 'a test',
    isFall: labels.fallStartS !== null,
    ...labels,
    night: false,
    width: 640,
    height: 480,
    fps: FPS,
    frames: frames.length,
    ontoBed: false,
  };
  const lead = Array.from({ length: LEAD_S * FPS }, () => frames[0]!);
  const results = [...lead, ...frames].map((f, i) => ({
    seq: i + 1,
    captureTime: 10_000 + (i * 1000) / FPS,
    output: { detections: [{ class_id: 0, class_name: 'person', confidence: 0.8, bbox: f.box, keypoints: f.keypoints }] },
  }));
  return { clip, leadS: LEAD_S, results };
}

describe('bench FALL-REPLAY', { timeout: 30_000 }, () => {
  it('detects a recorded fall once, after the label’s start, and raises nothing for standing still', () => {
    // fallForward: standing 1 s, then onto the floor in 0.6 s
    const fall = replayClip(recorded(MOVES.fallForward, { fallStartS: 1, downS: 1.6 }));
    assert.equal(fall.detected, true);
    assert.equal(fall.false_alarms, 0);
    assert.deepEqual(
      fall.alerts.map((a) => a.kind),
      ['fall'],
    );
    assert.ok(fall.alerts[0]!.at_s > 1.6 && fall.alerts[0]!.at_s < 4, String(fall.alerts[0]!.at_s));
    assert.ok(fall.event_after_down_ms !== null && fall.event_after_down_ms > 0, String(fall.event_after_down_ms));
    const still = replayClip(recorded([{ to: STANDING, seconds: 0, hold: 8 }], { fallStartS: null, downS: null }));
    assert.equal(still.detected, false);
    assert.equal(still.false_alarms, 0);
    assert.deepEqual(still.alerts, []);
  });

  it('finds a clip’s frame on the recording’s capture times by its seq, the lead-in first', () => {
    const results = [
      { seq: 11, captureTime: 5000 },
      { seq: 13, captureTime: 5400 },
    ];
    // 10 fps, 1 s lead-in: the clip's frame at 0.2 s is seq 10 + 2 + 1 = 13
    assert.equal(clipFrameCapture(results, 10, 1, 0.2), 5400);
    assert.equal(clipFrameCapture(results, 10, 1, 0.3), 5500);
    assert.equal(clipFrameCapture([], 10, 1, 0.3), null);
  });

  it('reads back a recording as written, and refuses one without its clip line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fall-replay-'));
    try {
      const clip = recorded(MOVES.fallForward, { fallStartS: 1, downS: 1.6 });
      const path = writeRecording(dir, clip);
      assert.deepEqual(readRecording(path), clip);
      writeFileSync(path, JSON.stringify(clip.results[0]) + '\n');
      assert.throws(() => readRecording(path), /no clip line first/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
