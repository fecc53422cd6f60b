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
});
