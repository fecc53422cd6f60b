/**
 * A camera's streams in the config (ADR 0053): accepted with a URL or a declared size; two streams whose declared
 * sizes differ in aspect ratio are refused at the stream's path and line; a worker naming no stream of its camera
 * is refused with a suggestion; main takes no source of its own (it is the camera's).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cameraStreamUses, parseConfig } from '../../src/config/index.js';
import { issueAt, issuesOf, yaml } from './helpers.js';

const camera = (...lines: string[]): string =>
  yaml('cameras:', '  door:', '    source: rtsp://10.0.0.5:554/Streaming/Channels/101', '    workers: []', ...lines.map((l) => `    ${l}`));

describe('config: a camera with several streams', { timeout: 30_000 }, () => {
  it('accepts a substream as a URL or with its size, main listed for its size, and workers on a stream or auto', () => {
    const config = parseConfig(
      yaml(
        'cameras:',
        '  door:',
        '    source: rtsp://10.0.0.5:554/Streaming/Channels/101',
        '    streams:',
        '      main: { width: 1920, height: 1080 }',
        '      sub: { source: rtsp://10.0.0.5:554/Streaming/Channels/102, width: 640, height: 360 }',
        '      third: rtsp://10.0.0.5:554/Streaming/Channels/103',
        '    workers:',
        '      - { id: people, module: builtin:motion, stream: sub }',
        '      - { id: any, module: builtin:motion, stream: auto }',
      ),
      { env: {}, fileName: 'test.yaml' },
    );
    assert.deepEqual(config.cameras.door?.streams?.sub, { source: 'rtsp://10.0.0.5:554/Streaming/Channels/102', width: 640, height: 360 });
    assert.equal(config.cameras.door?.workers[0]?.stream, 'sub');
  });

  it('refuses two streams whose aspect ratios differ, at the stream and its line', () => {
    const issues = issuesOf(camera('streams:', '  main: { width: 1920, height: 1080 }', '  sub: { source: rtsp://10.0.0.5/102, width: 704, height: 576 }'));
    const issue = issueAt(issues, 'cameras.door.streams.sub');
    assert.equal(issue.line, 7);
    assert.match(issue.message, /aspect ratio \(704×576\) differs from main's \(1920×1080\) by .* %, more than 2 %: boxes/);
  });

  it('accepts sizes within the tolerance (704 × 400 beside 1280 × 720)', () => {
    assert.doesNotThrow(() =>
      parseConfig(camera('streams:', '  main: { width: 1280, height: 720 }', '  sub: { source: rtsp://10.0.0.5/102, width: 704, height: 400 }'), {
        env: {},
        fileName: 'test.yaml',
      }),
    );
  });

  it('refuses a worker naming no stream, with a suggestion, and a source given to main or missing elsewhere', () => {
    const text = yaml(
      'cameras:',
      '  door:',
      '    source: rtsp://10.0.0.5/101',
      '    streams:',
      '      main: { source: rtsp://10.0.0.5/101 }',
      '      sub: { width: 640, height: 360 }',
      '    workers:',
      '      - { id: people, module: builtin:motion, stream: subb }',
    );
    const issues = issuesOf(text);
    assert.match(issueAt(issues, 'cameras.door.workers[0].stream').message, /names no stream of this camera; did you mean 'sub'\?/);
    assert.match(issueAt(issues, 'cameras.door.streams.main').message, /main is the camera's source/);
    assert.match(issueAt(issues, 'cameras.door.streams.sub').message, /needs a source/);
  });

  it('refuses decoder ffmpeg on a camera with several streams (it cannot hold the unread one), set on the camera or in defaults', () => {
    const own = issueAt(issuesOf(camera('capture: { decoder: ffmpeg }', 'streams:', '  sub: rtsp://10.0.0.5/102')), 'cameras.door.capture.decoder');
    assert.equal(own.line, 5);
    assert.match(own.message, /decoder ffmpeg cannot hold a stream nobody reads undecoded .* use decoder native or auto/);
    const inherited = yaml(
      'defaults:',
      '  capture: { decoder: ffmpeg }',
      'cameras:',
      '  door:',
      '    source: rtsp://10.0.0.5/101',
      '    workers: []',
      '    streams:',
      '      sub: rtsp://10.0.0.5/102',
    );
    assert.match(issueAt(issuesOf(inherited), 'cameras.door.streams').message, /decoder ffmpeg \(from defaults.capture\) cannot hold/);
    // a camera's own native wins over the defaults', and one stream needs no holding
    assert.doesNotThrow(() =>
      parseConfig(inherited.replace('    workers: []', '    workers: []\n    capture: { decoder: native }'), { env: {}, fileName: 'test.yaml' }),
    );
    assert.doesNotThrow(() => parseConfig(camera('capture: { decoder: ffmpeg }'), { env: {}, fileName: 'test.yaml' }));
  });

  it('what each stream is decoded for (ADR 0114): readers all the time, the rest on demand, and cheaper choices only where they leave a stream unread', () => {
    const config = parseConfig(
      yaml(
        'models:',
        '  person: { handler: person }',
        'shared:',
        '  wall: { module: builtin:motion, cameras: [shop] }',
        'cameras:',
        '  door:',
        '    source: rtsp://10.0.0.5/main',
        '    streams: { main: { width: 1920, height: 1080 }, sub: { source: rtsp://10.0.0.5/sub, width: 640, height: 360 } }',
        '    motion: { stream: main }',
        '    workers:',
        '      - { id: people, model: person, maxFps: 2, gate: motion }',
        '      - { id: cars, model: person, maxFps: 2 }',
        '      - { id: faces, model: person, crops: { of: people, size: 224 } }',
        '      - { id: preview, module: builtin:motion, readSize: any }',
        '  gate:',
        '    source: rtsp://10.0.0.7/main',
        '    streams: { sub: { source: rtsp://10.0.0.7/sub, width: 640, height: 360 } }',
        '    workers:',
        '      - { id: people, model: person, maxFps: 2, gate: motion, stream: main }',
        '  shop:',
        '    source: rtsp://10.0.0.6/main',
        '    streams: { sub: rtsp://10.0.0.6/sub }',
        '    workers:',
        '      - { id: people, model: person, maxFps: 2, gate: motion, stream: main }',
      ),
      { env: {}, fileName: 'test.yaml' },
    );
    const door = cameraStreamUses('door', config.cameras.door!, config)!;
    assert.deepEqual(
      door.streams.map((s) => [s.stream, s.decoded, s.readers]),
      [
        ['main', 'all-the-time', ['motion', 'people']],
        ['sub', 'all-the-time', ['preview']],
      ],
    );
    assert.deepEqual(door.bySize, ['cars'], "an ungated model worker on auto: by its model's size");
    // Motion set to main, the gated detector on auto with it: motion on auto moves both, and main is left unread.
    assert.deepEqual(
      door.cheaper.map((c) => [c.reader, c.stream]),
      [['motion', 'main']],
    );
    const gate = cameraStreamUses('gate', config.cameras.gate!, config)!;
    assert.deepEqual(
      gate.streams.map((s) => [s.stream, s.decoded, s.readers]),
      [
        ['main', 'all-the-time', ['people']],
        ['sub', 'all-the-time', ['motion']],
      ],
    );
    assert.deepEqual(
      gate.cheaper.map((c) => [c.change, c.stream]),
      [['people on stream: auto (gated: it would read sub)', 'main']],
    );
    // A shared worker reads main: moving the detector would leave it decoded, so nothing is said to be cheaper.
    const shop = cameraStreamUses('shop', config.cameras.shop!, config)!;
    assert.deepEqual(shop.streams[0]!.readers, ['people', 'shared wall']);
    assert.deepEqual(shop.cheaper, []);
    assert.equal(cameraStreamUses('one', { ...config.cameras.shop!, streams: undefined }, config), null, 'one stream: nothing to choose');
  });
});
