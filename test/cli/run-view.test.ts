/**
 * The terminal view of `framesupplier run` (src/cli/run-view.ts) against a
 * running system on the test clip: its two age columns are one statistic, a
 * p50 of the recent frames, each the figure stats() (and so /api/stats)
 * gives for it: capture → read is `hops.delivered.p50Ms`, capture → result
 * `hops.result.p50Ms`. Before (issue 41), one column showed the result p50,
 * or a single frame's age for a worker without results, and a shared
 * worker's rows under it showed one instant's age of each camera's last frame.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { AGE_LEGEND, renderView } from '../../src/cli/run-view.js';
import { nextResults, resolvedConfig, vtest } from '../pipeline/helpers.js';

const CAMERA = `view-${process.pid}`;

describe('the run view', { timeout: 120_000 }, () => {
  let system: VisionSystem;

  before(async () => {
    system = new VisionSystem({
      config: resolvedConfig({
        cameras: {
          [CAMERA]: { source: vtest(), capture: { loop: true, output: { width: 320, fps: 10 } }, workers: [{ id: 'motion', module: 'builtin:motion' }] },
        },
      }),
      logger: createLogger({ level: 'silent' }),
      drainTimeoutMs: 2_000,
    });
    const results = nextResults(system, CAMERA, 'motion', 5);
    await system.start();
    await results;
  });

  after(async () => {
    await system?.close();
  });

  it("shows read p50 and result p50, each the stats' own figure, and says what they are", () => {
    const stats = system.stats();
    const text = renderView(stats, new Map(), { colour: false });
    const lines = text.split('\n');
    const header = lines.find((l) => l.startsWith('worker'));
    assert.ok(header !== undefined, text);
    const row = lines.find((l) => l.startsWith(`${CAMERA}/motion`));
    assert.ok(row !== undefined, text);
    // Columns are right-aligned under their names: the figure ends where its name does.
    const column = (name: string): string => {
      const end = header.indexOf(name) + name.length;
      assert.ok(end > name.length - 1, `a column ${name}: ${header}`);
      return row.slice(0, end).trimEnd().split(/\s+/).at(-1)!;
    };
    const hops = stats.cameras[CAMERA]!.workers.motion!.hops;
    assert.ok(hops.delivered?.p50Ms != null && hops.result?.p50Ms != null, 'the worker has both figures');
    assert.equal(column('read p50'), hops.delivered.p50Ms.toFixed(0));
    assert.equal(column('result p50'), hops.result.p50Ms.toFixed(0));
    assert.ok(!/age ms/.test(header), 'no column of another statistic beside them');
    assert.ok(lines.includes(AGE_LEGEND));
    assert.match(AGE_LEGEND, /p50 of the recent frames \(\/api\/stats: hops\.delivered, hops\.result\)/);
  });
});
