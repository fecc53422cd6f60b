import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Backoff, resolveSource } from '../../src/capture/index.js';

describe('resolveSource()', { timeout: 60_000 }, () => {
  it('builds an argument array per source kind, TCP for RTSP by default', () => {
    const rtsp = resolveSource('rtsp://user:secret@cam.local:554/stream1');
    assert.equal(rtsp.kind, 'rtsp');
    assert.equal(rtsp.live, true);
    assert.deepEqual(rtsp.args.slice(rtsp.args.indexOf('-rtsp_transport'), rtsp.args.indexOf('-rtsp_transport') + 2), ['-rtsp_transport', 'tcp']);
    assert.equal(rtsp.display, 'rtsp://user:***@cam.local:554/stream1', 'passwords are masked');
    assert.ok(rtsp.args.includes('rtsp://user:secret@cam.local:554/stream1'));
    assert.ok(resolveSource('rtsp://h/s', { rtspTransport: 'udp' }).args.includes('udp'));

    const file = resolveSource('/videos/a.mp4', { loop: true });
    assert.equal(file.kind, 'file');
    assert.equal(file.live, false);
    assert.ok(file.args.includes('-re'), 'files play at their own rate by default');
    assert.ok(file.args.includes('-stream_loop'));
    assert.ok(!resolveSource('/videos/a.mp4', { realtime: false }).args.includes('-re'));
    assert.equal(resolveSource('file:///videos/b.mp4').args[resolveSource('file:///videos/b.mp4').args.indexOf('-i') + 1], '/videos/b.mp4');

    const pattern = resolveSource('lavfi:testsrc2=size=320x240:rate=30');
    assert.equal(pattern.kind, 'lavfi');
    assert.deepEqual(pattern.args.slice(pattern.args.indexOf('-f'), pattern.args.indexOf('-f') + 4), ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30']);
    assert.equal(resolveSource('/dev/video0').kind, 'v4l2');
    assert.equal(resolveSource('v4l2:/dev/video2').kind, 'v4l2');
    assert.equal(resolveSource('https://example.test/live.m3u8').kind, 'http');
    assert.equal(resolveSource('relative/clip.avi').kind, 'file');
  });

  it('decimates and scales inside ffmpeg, never duplicating frames', () => {
    const r = resolveSource('/v.mp4', { output: { fps: 5, width: 640, height: 360, format: 'gray' } });
    const vf = r.args[r.args.indexOf('-vf') + 1]!;
    assert.match(vf, /^select=isnan\(prev_selected_t\)\+gte\(t-prev_selected_t\\,0\.190000\),scale=640:360$/);
    assert.ok(r.args.includes('passthrough'));
    assert.deepEqual(r.args.slice(-7), ['-pix_fmt', 'gray', '-f', 'rawvideo', '-flush_packets', '1', 'pipe:1']);
    assert.match(resolveSource('/v.mp4', { output: { width: 320 } }).args.join(' '), /scale=320:-2/);
    const jpeg = resolveSource('/v.mp4', { output: { format: 'jpeg', jpegQuality: 3 } });
    assert.ok(jpeg.args.includes('image2pipe') && jpeg.args.includes('mjpeg') && jpeg.args.includes('3'));
  });

  it('crops before scaling and mirrors last, in the output pixel format', () => {
    const vf = (output: object): string | undefined => {
      const args = resolveSource('/v.mp4', { output }).args;
      return args.includes('-vf') ? args[args.indexOf('-vf') + 1] : undefined;
    };
    const crop = { x: 100, y: 50, width: 400, height: 300 };
    assert.equal(vf({ crop }), 'crop=400:300:100:50');
    assert.equal(vf({ crop, width: 200, hflip: true }), 'crop=400:300:100:50,scale=200:-2,format=rgb24,hflip');
    assert.equal(
      vf({ fps: 5, crop, format: 'nv12', hflip: true }),
      'select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,0.190000),crop=400:300:100:50,format=nv12,hflip',
    );
    assert.equal(vf({ hflip: true, format: 'jpeg' }), 'hflip');
    assert.equal(vf({ hflip: false }), undefined);
    const native = resolveSource('/v.mp4', { output: { crop, hflip: true } }).native;
    assert.deepEqual([native.crop, native.hflip], [crop, true]);
    assert.deepEqual([resolveSource('/v.mp4').native.crop, resolveSource('/v.mp4').native.hflip], [undefined, false]);
  });

  it('accepts every crop of even numbers within 16384 pixels, and no other', () => {
    // Mostly even numbers, so both sides of every bound are reached.
    const side = fc.oneof(
      fc.integer({ min: -2, max: 8200 }).map((v) => v * 2),
      fc.integer({ min: -4, max: 16390 }),
    );
    fc.assert(
      fc.property(side, side, side, side, (x, y, width, height) => {
        const good =
          [x, y, width, height].every((v) => v % 2 === 0) && x >= 0 && y >= 0 && width >= 2 && height >= 2 && x + width <= 16384 && y + height <= 16384;
        const build = () => resolveSource('/v.mp4', { output: { crop: { x, y, width, height } } });
        if (good) assert.ok(build().args.includes(`crop=${width}:${height}:${x}:${y}`));
        else assert.throws(build, { code: 'ERR_INVALID_CAPTURE_OPTION' });
      }),
    );
  });

  it('refuses unsupported sources and malformed options with codes', () => {
    for (const bad of ['ftp://host/x', 'gopher://x', 'mailto:me@example.com', '', '   ']) {
      assert.throws(() => resolveSource(bad), { code: 'ERR_UNSUPPORTED_SOURCE' }, bad);
    }
    const badOptions: object[] = [
      { output: { format: 'yuv444' } },
      { output: { width: 0 } },
      { output: { height: 1.5 } },
      { output: { fps: -1 } },
      { output: { fps: Number.NaN } },
      { output: { jpegQuality: 1 } },
      { output: { crop: { x: 1, y: 0, width: 100, height: 100 } } },
      { output: { crop: { x: 0, y: 0, width: 101, height: 100 } } },
      { output: { crop: { x: 0, y: -2, width: 100, height: 100 } } },
      { output: { crop: { x: 0, y: 0, width: 0, height: 100 } } },
      { output: { crop: { x: 0, y: 0, width: 100 } } },
      { output: { crop: { x: 0, y: 0, width: 100, height: 2.5 } } },
      { output: { crop: 'left-half' } },
      { output: { crop: null } },
      { output: { hflip: 'yes' } },
      { rtspTransport: 'sctp' },
      { inputFormat: 'mpjpeg; rm -rf /' },
      { decode: 'sometimes' },
      { keyframesOnly: true, decode: 'all' },
    ];
    for (const options of badOptions) {
      assert.throws(() => resolveSource('/v.mp4', options), { code: 'ERR_INVALID_CAPTURE_OPTION' }, JSON.stringify(options));
    }
    assert.throws(() => resolveSource('lavfi:'), { code: 'ERR_INVALID_CAPTURE_OPTION' });
  });

  it('ffmpeg decodes a source played as it comes without frame threads (they hold pictures back), a file read at full speed with them', () => {
    const pair = (args: readonly string[]): string[] => args.slice(args.indexOf('-thread_type'), args.indexOf('-thread_type') + 2);
    for (const source of ['rtsp://cam/stream', 'https://cam/video.mjpg', '/v.mp4']) {
      const { args } = resolveSource(source);
      assert.deepEqual(pair(args), ['-thread_type', 'slice'], source);
      assert.ok(args.indexOf('-thread_type') < args.indexOf('-i'), 'a decoder option goes before its input');
    }
    assert.ok(!resolveSource('/v.mp4', { realtime: false }).args.includes('-thread_type'));
  });

  it('decode: auto by default; a fixed mode reaches ffmpeg as -skip_frame; keyframesOnly is decode: keyframes', () => {
    assert.equal(resolveSource('/v.mp4').native.decode, 'auto');
    assert.ok(!resolveSource('/v.mp4').args.includes('-skip_frame'));
    const nonref = resolveSource('/v.mp4', { decode: 'nonref' });
    assert.deepEqual(nonref.args.slice(nonref.args.indexOf('-skip_frame'), nonref.args.indexOf('-skip_frame') + 2), ['-skip_frame', 'nonref']);
    for (const options of [{ keyframesOnly: true }, { decode: 'keyframes' as const }, { keyframesOnly: true, decode: 'keyframes' as const }]) {
      const resolved = resolveSource('/v.mp4', options);
      assert.deepEqual([resolved.native.decode, resolved.native.keyframesOnly], ['keyframes', true]);
      assert.ok(resolved.args.includes('nokey'));
    }
  });
});

describe('Backoff', { timeout: 60_000 }, () => {
  it('grows exponentially to its cap, with bounded jitter, and resets after a healthy run', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000, 1000]);
    b.settle(5_000);
    assert.equal(b.next(), 1000, 'a short healthy run does not reset');
    b.settle(10_000);
    assert.equal(b.next(), 100, 'a run healthy for resetAfterMs resets');
    const low = new Backoff({ initialMs: 1000, jitter: 0.2 }, () => 0);
    const high = new Backoff({ initialMs: 1000, jitter: 0.2 }, () => 0.999999);
    assert.equal(low.next(), 800);
    assert.ok(Math.abs(high.next() - 1200) < 0.01);
  });
});
