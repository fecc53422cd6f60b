/**
 * latest.jpg of a camera that stopped while another viewer keeps its feed open: the feed still holds the last
 * picture, and handing it over would answer a dead camera with an old frame as if live. The answer is
 * ERR_HTTP_NO_FRAME once the wait runs out, and the other viewer is not disturbed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { HttpServer } from '../../src/http/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { nextEvent, resolvedConfig } from '../pipeline/helpers.js';

const CAM = `short-${process.pid}`;
const SHM_DIR = `/dev/shm/framesupplier-test-http-stale-${process.pid}`;
const CLIP = join(tmpdir(), `framesupplier-test-short-${process.pid}.mp4`);

describe('latest.jpg of a stopped camera with its feed held open', { timeout: 60_000 }, () => {
  let system: VisionSystem;
  let server: HttpServer;
  let base: string;

  before(async () => {
    // Two seconds of video, not looped: the camera stops when the file ends.
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=160x120:rate=10:duration=2',
      '-c:v',
      'mpeg4',
      CLIP,
    ]);
    system = new VisionSystem({
      config: resolvedConfig({
        shmDir: SHM_DIR,
        cameras: {
          [CAM]: {
            source: CLIP,
            capture: { output: { format: 'gray', width: 160, fps: 10 } },
            workers: [{ id: 'motion', module: 'builtin:motion' }],
          },
        },
      }),
      logger: createLogger({ level: 'silent' }),
      drainTimeoutMs: 2_000,
    });
    const streaming = nextEvent(system, 'camera-state', (e) => e.camera === CAM && e.state === 'streaming');
    await system.start();
    await streaming;
    server = new HttpServer({ system, token: 'test-token-0123456789abcdef', port: 0, snapshotTimeoutMs: 1_000, logger: createLogger({ level: 'silent' }) });
    await server.start();
    base = `http://127.0.0.1:${server.port}`;
  });

  after(async () => {
    await server?.close();
    await system?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
    rmSync(CLIP, { force: true });
  });

  it('answers 503 ERR_HTTP_NO_FRAME, not the feed’s last picture', async () => {
    const stopped = nextEvent(system, 'camera-state', (e) => e.camera === CAM && e.state === 'stopped');
    const abort = new AbortController();
    const mjpeg = await fetch(`${base}/api/cameras/${CAM}/mjpeg`, { signal: abort.signal });
    assert.equal(mjpeg.status, 200);
    const reader = mjpeg.body!.getReader();
    let text = '';
    while (!/X-Frame-Wall-Time: \d+/.test(text)) text += Buffer.from((await reader.read()).value!).toString('latin1');
    await stopped;
    assert.equal(server.viewers, 1, 'the MJPEG viewer holds the feed open');
    // The feed's last frame must be older than what latest.jpg calls fresh (500 ms): that age is what is tested.
    await delay(600);
    const r = await fetch(`${base}/api/cameras/${CAM}/latest.jpg`);
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(r.status, 503, JSON.stringify(body));
    assert.equal(body.error.code, 'ERR_HTTP_NO_FRAME');
    assert.match(body.error.message, /state: stopped/);
    assert.equal(server.viewers, 1, 'the snapshot viewer left; the MJPEG viewer stays');
    abort.abort();
  });
});
