/**
 * The plain Python + OpenCV loop P1 and P2 report beside framesupplier
 * (bench/pipeline/plain_loop.py, issue 32) keeps running: a few seconds on the
 * tests' clip with Debian's /usr/bin/python3, its JSON line parsed by the same
 * code the bench parses it with, for P2 (maxFps 2) and P1 (a light reader of
 * every frame). So the yardstick cannot rot between bench runs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plainLoop } from '../../bench/pipeline/plain-loop.js';
import { smallH264Clip } from '../pipeline/helpers.js';

describe('the plain loop of the benchmarks', { timeout: 180_000 }, () => {
  for (const workload of ['P2', 'P1'] as const) {
    it(`${workload}: runs on the test clip and prints its figures as one JSON line`, async () => {
      const line = await plainLoop({ file: await smallH264Clip(), cameras: 2, seconds: 3, warmupS: 2, workload });
      assert.equal(line.error, undefined, String(line.error));
      assert.equal(line.impl, 'python-opencv');
      assert.equal(line.workload, workload);
      assert.equal(line.cameras, 2);
      assert.deepEqual(line.errors, []);
      for (const key of ['cpu_pct', 'cpu_pct_per_camera', 'rss_mb_end', 'model_fps', 'age_ms_p50', 'age_ms_p99']) {
        assert.equal(typeof line[key], 'number', `${key} in ${JSON.stringify(line)}`);
      }
      assert.ok((line.model_fps as number) > 0, JSON.stringify(line));
      if (workload === 'P2') assert.ok((line.camera_model_fps_max as number) <= 2.2, `maxFps 2 per camera: ${JSON.stringify(line)}`);
      else assert.ok((line.light_delivered as number) > 0, JSON.stringify(line));
    });
  }
});
