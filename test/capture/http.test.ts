/**
 * HTTP sources with real servers: an MJPEG camera (multipart/x-mixed-replace,
 * made by ffmpeg's mpjpeg muxer, as IP cameras serve it) and HLS (a playlist
 * and segments made by ffmpeg), both over a Node HTTP server on loopback.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { StreamCapture } from '../../src/capture/index.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { VTEST } from './fixtures.js';

const run = promisify(execFile);
const HLS_DIR = join(tmpdir(), 'framesupplier-test-media', 'hls');

describe('capture: HTTP sources with real servers', { timeout: 120_000 }, () => {
  let server: Server;
  let base = '';
  const encoders = new Set<ChildProcess>();

  before(async () => {
    if (!existsSync(join(HLS_DIR, 'index.m3u8'))) {
      mkdirSync(HLS_DIR, { recursive: true });
      await run('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-i',
        VTEST,
        '-t',
        '20',
        '-an',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-g',
        '10',
        '-f',
        'hls',
        '-hls_time',
        '2',
        '-hls_playlist_type',
        'vod',
        join(HLS_DIR, 'index.m3u8'),
      ]);
    }
    server = createServer((req, res) => {
      if (req.url === '/mjpeg') {
        // A live MJPEG camera: ffmpeg encodes vtest.avi in real time as multipart JPEG.
        const encoder = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-i', VTEST, '-an', '-q:v', '6', '-f', 'mpjpeg', 'pipe:1'], {
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        encoders.add(encoder);
        res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace;boundary=ffmpeg' });
        encoder.stdout.pipe(res);
        res.on('close', () => {
          encoder.kill('SIGKILL');
          encoders.delete(encoder);
        });
        return;
      }
      const name = (req.url ?? '').slice(1);
      if (/^hls\/[\w.-]+$/.test(name) && existsSync(join(HLS_DIR, name.slice(4)))) {
        res.writeHead(200, { 'Content-Type': name.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t' });
        createReadStream(join(HLS_DIR, name.slice(4))).pipe(res);
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  after(async () => {
    for (const e of encoders) e.kill('SIGKILL');
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  for (const [name, path, extra] of [
    ['an MJPEG camera over HTTP', '/mjpeg', {}],
    ['an HLS playlist over HTTP', '/hls/index.m3u8', {}],
  ] as const) {
    it(`captures ${name}`, async () => {
      const supplier = new FrameSupplier().start();
      const sub = supplier.subscribe('reader');
      const capture = new StreamCapture({ source: `${base}${path}`, supplier, output: { width: 384, height: 288 }, ...extra }).start();
      try {
        for (let i = 0; i < 3; i++) {
          const frame = await sub.read();
          assert.ok(frame !== null);
          assert.deepEqual([frame.width, frame.height, frame.format, frame.payload.byteLength], [384, 288, 'rgb24', 384 * 288 * 3]);
        }
        assert.equal(capture.source.kind, 'http');
      } finally {
        await capture.close();
        void supplier.close();
      }
    });
  }

  it('a 404 goes to backoff with the server error in lastError', async () => {
    const supplier = new FrameSupplier().start();
    const capture = new StreamCapture({ source: `${base}/nothing-here`, supplier, backoff: { initialMs: 100 } }).start();
    await new Promise<void>((resolve) => capture.on('state', (s) => s === 'backoff' && resolve()));
    assert.equal(capture.stats().lastError?.code, 'ERR_SOURCE_OPEN_FAILED');
    assert.match(capture.stats().lastError!.message, /404|Not Found/i);
    await capture.close();
    void supplier.close();
  });
});
