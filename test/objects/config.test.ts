/**
 * The config's objects keys: per worker `track`, per camera `zones` and
 * `masks`, the top-level `events` store; and their checks (a polygon with
 * fewer than 3 points, a point outside 0–1, one that crosses itself), each an
 * issue with its path and line, as every config error is.
 */
import assert from 'node:assert/strict';
import { isAbsolute } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { issuesOf, printed, yaml } from '../config/helpers.js';

const HEAD = ['cameras:', '  gate:', '    source: lavfi:testsrc2', '    workers:', '      - id: det', '        module: builtin:motion'];

describe('config: track, zones, masks, events', { timeout: 60_000 }, () => {
  it('accepts track (true or options), zones, masks and the events store; paths made absolute', () => {
    const config = parseConfig(
      yaml(
        ...HEAD,
        '        track: { confirmHits: 2, endAfterSeconds: 3 }',
        '      - id: other',
        '        module: builtin:motion',
        '        track: true',
        '    zones:',
        '      driveway:',
        '        polygon: [[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1]]',
        '        labels: [person, car]',
        '        loiterSeconds: 5',
        '    masks:',
        '      - [[0, 0], [0.2, 0], [0.2, 0.1]]',
        'events:',
        '  database: data/events.db',
        '  maxSizeMb: 50',
      ),
      { env: {}, fileName: 'test.yaml', baseDir: '/srv/fs' },
    );
    const gate = config.cameras.gate!;
    assert.deepEqual(gate.workers[0]!.track, { confirmHits: 2, endAfterSeconds: 3 });
    assert.equal(gate.workers[1]!.track, true);
    assert.deepEqual(gate.zones?.driveway?.labels, ['person', 'car']);
    assert.equal(gate.masks?.length, 1);
    assert.equal(config.events?.database, '/srv/fs/data/events.db');
    assert.ok(isAbsolute(config.events.database));
    assert.equal(config.events.maxAgeDays, 10);
    assert.equal(config.events.maxSizeMb, 50);
  });

  it('refuses polygons with fewer than 3 points, points outside 0–1, and polygons crossing themselves: path and line', () => {
    const issues = issuesOf(
      yaml(
        ...HEAD,
        '        track: yes please',
        '    zones:',
        '      a:',
        '        polygon: [[0.5, 0.5], [1, 0.5]]',
        '      b:',
        '        polygon: [[0.5, 0.5], [1.5, 0.5], [1, 1]]',
        '      c:',
        '        polygon: [[0, 0], [1, 1], [1, 0], [0, 1]]',
        '    masks:',
        '      - [[0, 0], [1, 1], [1, 0], [0, 1]]',
      ),
    );
    assert.deepEqual(printed(issues), [
      'cameras.gate.workers[0].track: must be true, false or a map of tracker options (line 7)',
      'cameras.gate.zones.a.polygon: must have at least 3 items (line 10)',
      'cameras.gate.zones.b.polygon[1][0]: must be at most 1 (line 12)',
      'cameras.gate.zones.c.polygon: must not intersect itself (edges 0 and 2 cross) (line 14)',
      'cameras.gate.masks[0]: must not intersect itself (edges 0 and 2 cross) (line 16)',
    ]);
  });

  it('refuses tracker options out of range or contradicting each other', () => {
    const issues = issuesOf(yaml(...HEAD, '        track: { highScore: 0.3, lowScore: 0.4, confirmHits: 0, bogus: 1 }'));
    const lines = printed(issues);
    assert.ok(
      lines.some((l) => l.startsWith('cameras.gate.workers[0].track.confirmHits: ')),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => l.startsWith('cameras.gate.workers[0].track.bogus: ')),
      lines.join('\n'),
    );
    assert.ok(lines.includes('cameras.gate.workers[0].track.lowScore: (0.4) must not exceed highScore (0.3) (line 7)'), lines.join('\n'));
  });

  it('accepts lines and dwellSeconds (one or a list), and refuses lines with fewer than 2 points, points outside 0–1 or a zero-length segment: path and line', () => {
    const config = parseConfig(
      yaml(
        ...HEAD,
        '    zones:',
        '      porch:',
        '        polygon: [[0.5, 0.5], [1, 0.5], [1, 1]]',
        '        dwellSeconds: 30',
        '      yard:',
        '        polygon: [[0, 0.5], [0.5, 0.5], [0.5, 1]]',
        '        dwellSeconds: [10, 60]',
        '    lines:',
        '      door:',
        '        points: [[0.2, 0.6], [0.5, 0.6], [0.8, 0.7]]',
        '        labels: [person]',
        '        in: left',
      ),
      { env: {}, fileName: 'test.yaml', baseDir: '/srv/fs' },
    );
    const gate = config.cameras.gate!;
    assert.equal(gate.zones?.porch?.dwellSeconds, 30);
    assert.deepEqual(gate.zones?.yard?.dwellSeconds, [10, 60]);
    assert.deepEqual(gate.lines?.door, {
      points: [
        [0.2, 0.6],
        [0.5, 0.6],
        [0.8, 0.7],
      ],
      labels: ['person'],
      in: 'left',
    });

    const issues = issuesOf(
      yaml(
        ...HEAD,
        '    zones:',
        '      z:',
        '        polygon: [[0.5, 0.5], [1, 0.5], [1, 1]]',
        '        dwellSeconds: soon',
        '    lines:',
        '      a:',
        '        points: [[0.5, 0.5]]',
        '      b:',
        '        points: [[0.5, 0.5], [1.5, 0.5]]',
        '      c:',
        '        points: [[0.1, 0.5], [0.4, 0.5], [0.4, 0.5]]',
        '      d:',
        '        points: [[0.1, 0.5], [0.9, 0.5]]',
        '        in: up',
      ),
    );
    assert.deepEqual(printed(issues), [
      'cameras.gate.zones.z.dwellSeconds: must be seconds (a number > 0) or a list of them (line 10)',
      'cameras.gate.lines.a.points: must have at least 2 items (line 13)',
      'cameras.gate.lines.b.points[1][0]: must be at most 1 (line 15)',
      'cameras.gate.lines.c.points: must not have a zero-length segment (points 1 and 2 are the same) (line 17)',
      'cameras.gate.lines.d.in: must be one of left, right (or ~ for not set) (line 20)',
    ]);
  });
});
