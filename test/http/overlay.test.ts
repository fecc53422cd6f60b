/**
 * The dashboard's pure overlay helpers (src/http/dashboard/overlay.js, the
 * module the page imports): normalised polygons and boxes scaled to the
 * canvas, malformed ones refused, zones and masks read from a camera's
 * config, ids shortened, the newest-first insertion point, clock times.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

type Point = [number, number];
interface Overlay {
  scalePolygon(points: unknown, width: number, height: number): Point[] | null;
  scaleBox(box: unknown, width: number, height: number): { x: number; y: number; w: number; h: number } | null;
  labelPoint(points: Point[]): Point;
  overlayOf(config: unknown): { zones: { name: string; polygon: unknown }[]; masks: unknown[] };
  shortId(id: string): string;
  trackCaption(track: { id: string; label: string; score?: number }): string;
  zoneHue(index: number): number;
  insertionIndex(starts: number[], start: number): number;
  clockTime(seconds: unknown): string;
}

// The page's own file, not a copy: it lives in src/ (served as is), three levels up from dist/test/http.
const overlay = (await import(new URL('../../../src/http/dashboard/overlay.js', import.meta.url).href)) as Overlay;

describe('dashboard overlay helpers', { timeout: 30_000 }, () => {
  it('scales a normalised polygon to the canvas: (0, 0) top left, (1, 1) bottom right', () => {
    assert.deepEqual(
      overlay.scalePolygon(
        [
          [0.6, 0.5],
          [1, 0.5],
          [1, 1],
          [0.6, 1],
        ],
        320,
        240,
      ),
      [
        [192, 120],
        [320, 120],
        [320, 240],
        [192, 240],
      ],
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 3, maxLength: 12 }),
        fc.integer({ min: 1, max: 4000 }),
        fc.integer({ min: 1, max: 4000 }),
        (points, w, h) => {
          const scaled = overlay.scalePolygon(points, w, h)!;
          return scaled.length === points.length && scaled.every(([x, y], i) => x === points[i]![0] * w && y === points[i]![1] * h && x <= w && y <= h);
        },
      ),
    );
  });

  it('refuses what is not a polygon in 0–1: fewer than 3 points, a point out of the frame, not numbers', () => {
    for (const bad of [
      null,
      'x',
      [
        [0, 0],
        [1, 1],
      ],
      [
        [0, 0],
        [1, 0],
        [1, 1.5],
      ],
      [
        [0, 0],
        [1, 0],
        ['1', 1],
      ],
      [
        [0, 0],
        [1, 0],
        [Number.NaN, 1],
      ],
      [
        [0, 0],
        [1, 0],
        [1, 1, 1],
      ],
    ])
      assert.equal(overlay.scalePolygon(bad, 100, 100), null, JSON.stringify(bad));
  });

  it('scales a box, put in order; refuses a malformed one', () => {
    assert.deepEqual(overlay.scaleBox([0.25, 0.5, 0.75, 1], 400, 200), { x: 100, y: 100, w: 200, h: 100 });
    assert.deepEqual(overlay.scaleBox([0.75, 1, 0.25, 0.5], 400, 200), { x: 100, y: 100, w: 200, h: 100 });
    for (const bad of [null, [0, 0, 1], [0, 0, 1, 2], [0, 0, '1', 1]]) assert.equal(overlay.scaleBox(bad, 10, 10), null);
  });

  it("a zone's name goes at its topmost point, the leftmost of equals", () => {
    assert.deepEqual(
      overlay.labelPoint([
        [50, 40],
        [10, 20],
        [30, 20],
        [0, 90],
      ]),
      [10, 20],
    );
  });

  it("reads zones and masks from a camera's config, leaving out what is malformed", () => {
    const square = [
      [0, 0],
      [0.5, 0],
      [0.5, 0.5],
    ];
    assert.deepEqual(overlay.overlayOf({ zones: { pad: { polygon: square, loiterSeconds: 3 }, broken: {} }, masks: [square, 'x'] }), {
      zones: [{ name: 'pad', polygon: square }],
      masks: [square],
    });
    assert.deepEqual(overlay.overlayOf(undefined), { zones: [], masks: [] });
    assert.deepEqual(overlay.overlayOf({ source: 'x' }), { zones: [], masks: [] });
  });

  it("shortens Frigate's ids to their random part; captions a track with label, id and score", () => {
    assert.equal(overlay.shortId('1700000000.123456-k3x9qa'), 'k3x9qa');
    assert.equal(overlay.shortId('plain'), 'plain');
    assert.equal(overlay.shortId('ends-'), 'ends-');
    assert.equal(overlay.trackCaption({ id: '1700000000.123456-k3x9qa', label: 'person', score: 0.876 }), 'person #k3x9qa 0.88');
    assert.equal(overlay.trackCaption({ id: 'a', label: 'car' }), 'car #a');
    assert.notEqual(overlay.zoneHue(0), overlay.zoneHue(1));
  });

  it('finds where an event goes in a list kept newest first', () => {
    assert.equal(overlay.insertionIndex([], 5), 0);
    assert.equal(overlay.insertionIndex([9, 7, 3], 8), 1);
    assert.equal(overlay.insertionIndex([9, 7, 3], 10), 0);
    assert.equal(overlay.insertionIndex([9, 7, 3], 1), 3);
    assert.equal(overlay.insertionIndex([9, 7, 7, 3], 7), 3, 'after the equals: a later event of the same second goes below');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100 })), (values) => {
        const list: number[] = [];
        for (const v of values) list.splice(overlay.insertionIndex(list, v), 0, v);
        return list.every((v, i) => i === 0 || list[i - 1]! >= v);
      }),
    );
  });

  it('writes epoch seconds as a local HH:MM:SS, and nothing for no time', () => {
    const at = new Date(2026, 0, 2, 3, 4, 5).getTime() / 1000;
    assert.equal(overlay.clockTime(at), '03:04:05');
    assert.equal(overlay.clockTime(null), '');
    assert.equal(overlay.clockTime(Number.NaN), '');
  });
});
