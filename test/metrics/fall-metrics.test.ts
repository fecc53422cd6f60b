/**
 * The fall alerts' figures in Prometheus' text format (ADR 0159): a real system (not started: its fall alerts need
 * no camera running) restores an alert, which is then acknowledged; the scrape has the alerts standing and not yet
 * acknowledged, and per camera the acknowledged count, time to acknowledge and time on the floor (sums and
 * maxima, in seconds), and promtool finds nothing wrong with the text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SystemMetrics } from '../../src/metrics/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import type { FallAlert } from '../../src/care/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { resolvedConfig } from '../pipeline/helpers.js';
import { parseMetrics, promtoolCheck, valueOf } from './helpers.js';

describe('metrics: fall alerts answered', { timeout: 60_000 }, () => {
  it('exports alerts standing, acknowledged, time to acknowledge and time on the floor per camera', async () => {
    const system = new VisionSystem({
      config: resolvedConfig({
        cameras: { room: { source: 'lavfi:testsrc=size=160x120:rate=5', workers: [{ id: 'people', module: 'builtin:motion', falls: true }] } },
      }),
      logger: createLogger({ level: 'silent' }),
    });
    const now = Date.now() / 1000;
    const alert = {
      id: '1700000000.000000-abc123',
      kind: 'down',
      label: 'down',
      camera: 'room',
      worker: 'people',
      object_id: 'p1',
      down_time: now - 90,
      frame_time: now - 10,
      raised_at: now - 30,
      first_raised_at: now - 30,
      end_time: null,
      end_reason: null,
      acknowledged_at: null,
      acknowledged_by: null,
      raised: 1,
      log: [],
    } as unknown as FallAlert;
    system.objects.restoreFalls([alert]);
    const metrics = new SystemMetrics({ system, processMetrics: false });
    try {
      let families = parseMetrics(await metrics.render());
      assert.equal(valueOf(families, 'framesupplier_fall_alerts_standing', {}), 1);
      assert.equal(valueOf(families, 'framesupplier_fall_alerts_unacknowledged', {}), 1);
      system.objects.acknowledgeFalls({ id: alert.id }, 'nurse');
      const text = await metrics.render();
      families = parseMetrics(text);
      assert.equal(valueOf(families, 'framesupplier_fall_alerts_unacknowledged', {}), 0);
      assert.equal(valueOf(families, 'framesupplier_fall_alerts_acknowledged_total', { camera: 'room' }), 1);
      const toAck = valueOf(families, 'framesupplier_fall_time_to_acknowledge_seconds_total', { camera: 'room' })!;
      const onFloor = valueOf(families, 'framesupplier_fall_time_on_floor_seconds_total', { camera: 'room' })!;
      assert.ok(toAck >= 29 && toAck < 60, `time to acknowledge ${toAck} s`);
      assert.ok(onFloor >= 89 && onFloor < 120, `time on the floor ${onFloor} s`);
      assert.equal(valueOf(families, 'framesupplier_fall_time_to_acknowledge_max_seconds', { camera: 'room' }), toAck);
      const checked = await promtoolCheck(text);
      assert.equal(checked.code, 0, checked.output);
    } finally {
      metrics.close();
      await system.close();
    }
  });
});
