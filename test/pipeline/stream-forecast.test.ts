/**
 * A camera's streams' decoding cost in a dry run (ADR 0114), pure: this machine's decoders' CPU per megapixel is
 * learned from running streams decoded enough to tell (the median, a decoder's first frames and ffmpeg's streams left
 * out), and each stream's cost is its CPU per frame at the camera's rate, the cheaper choice saving what its stream costs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CaptureStats } from '../../src/capture/index.js';
import { cameraStreamUses, parseConfig } from '../../src/config/index.js';
import { learnedMsPerMegapixel, streamsForecast } from '../../src/pipeline/watches/stream-forecast.js';

const capture = (width: number, height: number, ms: number | null, framesDecoded = 100): CaptureStats =>
  ({ width, height, costs: { cpuMsPerDecodedFrame: ms, framesDecoded } }) as unknown as CaptureStats;

describe("a camera's streams' decoding cost, forecast", { timeout: 10_000 }, () => {
  it('learns ms per megapixel from running streams: the median of those decoded enough, ffmpeg and first frames left out', () => {
    assert.equal(learnedMsPerMegapixel([]), null);
    assert.equal(learnedMsPerMegapixel([capture(1280, 720, null), capture(640, 360, 2, 5), null]), null);
    // 9.216 ms for 0.9216 Mpx = 10; 0.9216 ms for 0.2304 Mpx = 4; 6 ms for 0.3 Mpx = 20: the median is 10.
    assert.equal(learnedMsPerMegapixel([capture(1280, 720, 9.216), capture(640, 360, 0.9216), capture(600, 500, 6)]), 10);
  });

  it("each stream's cost at the camera's rate; the cheaper choice saves its stream's", () => {
    const config = parseConfig(
      [
        'models: { person: { handler: person } }',
        'cameras:',
        '  door:',
        '    source: rtsp://10.0.0.5/main',
        '    streams: { main: { width: 1280, height: 720 }, sub: { source: rtsp://10.0.0.5/sub, width: 640, height: 360 } }',
        '    workers: [{ id: people, model: person, maxFps: 2, gate: motion, stream: main }]',
      ].join('\n'),
      { env: {}, fileName: 'test.yaml' },
    );
    const uses = cameraStreamUses('door', config.cameras.door!, config)!;
    const costs = new Map([
      ['main', { msPerFrame: 8.1, from: 'measured' as const, width: 1280, height: 720 }],
      ['sub', { msPerFrame: 2.05, from: 'learned' as const, width: 640, height: 360 }],
    ]);
    const f = streamsForecast(uses, costs, 10);
    assert.deepEqual(
      f.streams.map((s) => [s.stream, s.decoded, s.cpuPctAllTheTime, s.msPerFrameFrom]),
      [
        ['main', 'all-the-time', 8.1, 'measured'],
        ['sub', 'all-the-time', 2.05, 'learned'],
      ],
    );
    assert.equal(f.cpuPct, 10.15);
    assert.equal(f.cheaper[0]!.savesCpuPct, 8.1);
    assert.equal(
      f.line,
      'main 1280×720 decoded all the time for people: 8.1 % of a core (measured); sub 640×360 decoded all the time for motion: 2.1 % of a core (learned); cheaper: people on stream: auto (gated: it would read sub), main then only on demand, saving about 8.1 % of a core',
    );
    const unknown = streamsForecast(uses, new Map(), 10);
    assert.equal(unknown.cpuPct, null, 'a stream decoded all the time at a cost not known: the total is not known');
    assert.match(unknown.line, /^main 1280×720 decoded all the time for people: not known;/);
  });
});
