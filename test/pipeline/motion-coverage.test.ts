/**
 * A camera's motion against its stream (ADR 0115), driven by its figures alone: behind when its motion measured
 * under MOTION_COVERAGE_MIN of its stream's frames over the span; never behind on too few frames, nor when its
 * motion cannot read its stream's format; a camera replaced (figures that start over) counts from then; a camera
 * not seen in a look is forgotten.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MotionCoverage, MOTION_COVERAGE_MIN } from '../../src/pipeline/watches/motion-coverage.js';

const SPAN_MS = 10_000;

/** One camera's figures: `published` frames on sub, `measured` of them measured by its motion. */
const camera = (published: number, measured: number, problem: string | null = null) => ({
  capture: { framesPublished: published * 4 },
  motion: { stream: 'sub', frames: measured, problem },
  streams: { sub: { framesPublished: published }, main: { framesPublished: published * 4 } },
});

/** Ten looks a second apart, each adding `perLook` frames published and `measure(perLook)` measured. */
function feed(coverage: MotionCoverage, perLook: number, measure: (n: number) => number, problem: string | null = null): number {
  let published = 0;
  let measured = 0;
  let now = 0;
  coverage.look(now, { cam: camera(published, measured, problem) });
  for (let i = 0; i < 10; i++) {
    now += 1_000;
    published += perLook;
    measured += measure(perLook);
    coverage.look(now, { cam: camera(published, measured, problem) });
  }
  return now;
}

describe('motion coverage', { timeout: 10_000 }, () => {
  it("is behind when its motion measured under MOTION_COVERAGE_MIN of its stream's frames, with the share and the frames", () => {
    const coverage = new MotionCoverage(60_000);
    const now = feed(coverage, 10, (n) => n * 0.3);
    const behind = coverage.behind(now, 'cam', SPAN_MS);
    assert.ok(behind !== null);
    assert.ok(Math.abs(behind.measuredShare - 0.3) < 1e-9);
    assert.equal(behind.frames, 100);
    assert.ok(behind.measuredShare < MOTION_COVERAGE_MIN);
  });

  it('is not behind at or over the share, on too few frames, nor when its motion cannot read its stream', () => {
    const half = new MotionCoverage(60_000);
    assert.equal(
      half.behind(
        feed(half, 10, (n) => n * MOTION_COVERAGE_MIN),
        'cam',
        SPAN_MS,
      ),
      null,
    );
    const few = new MotionCoverage(60_000);
    assert.equal(
      few.behind(
        feed(few, 0.5, () => 0),
        'cam',
        SPAN_MS,
      ),
      null,
    );
    const unreadable = new MotionCoverage(60_000);
    assert.equal(
      unreadable.behind(
        feed(unreadable, 10, () => 0, 'unsupported-format'),
        'cam',
        SPAN_MS,
      ),
      null,
    );
  });

  it('counts a replaced camera from then, and forgets a camera not seen in a look', () => {
    const coverage = new MotionCoverage(60_000);
    let now = feed(coverage, 10, () => 0);
    assert.ok(coverage.behind(now, 'cam', SPAN_MS) !== null);
    // Figures that start over: the old window is dropped, nothing yet to judge.
    now += 1_000;
    coverage.look(now, { cam: camera(5, 5) });
    assert.equal(coverage.behind(now, 'cam', SPAN_MS), null);
    now = feed(coverage, 10, () => 0);
    now += 1_000;
    coverage.look(now, {});
    assert.equal(coverage.behind(now, 'cam', SPAN_MS), null);
  });
});
