import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { FrameSupplierError } from '../../src/supplier/index.js';
import { issueAt, issuesOf, printed, yaml } from './helpers.js';

/** A valid camera to put beside the one under test. */
const CAMERA = ['cameras:', '  cam:', '    source: rtsp://10.0.0.1/stream'];

describe('config validation: every issue with its path and line', { timeout: 60_000 }, () => {
  it('reports the issue text of the pipelines issue exactly, at line 14', () => {
    const text = yaml(
      'version: 1',
      'logLevel: info',
      'models:',
      '  person: { handler: person }',
      'cameras:',
      '  entrance:',
      '    source: rtsp://10.0.0.12/stream1',
      '    capture:',
      '      output: { fps: 5 }',
      '    workers:',
      '      - id: people',
      '        model: person',
      '      - id: brightness',
      '        criticality: urgent',
      '        command: [python3, brightness.py]',
    );
    assert.deepEqual(printed(issuesOf(text)), ['cameras.entrance.workers[1].criticality: must be one of critical, high, normal, best-effort (line 14)']);
  });

  it('is one ConfigError, a FrameSupplierError with code ERR_CONFIG, whose message lists every issue', () => {
    try {
      parseConfig(yaml('version: 2', 'cameras: {}', 'bogus: 1'), { fileName: 'my.yaml' });
      assert.fail('accepted');
    } catch (error) {
      assert.ok(error instanceof ConfigError && error instanceof FrameSupplierError);
      assert.equal(error.code, 'ERR_CONFIG');
      assert.equal(error.fileName, 'my.yaml');
      assert.equal(error.issues.length, 2);
      // Sections other components add (http, …) join the allowed list after shared.
      assert.match(
        error.message,
        /^my\.yaml: 2 problems\n {2}version: must be 1 \(line 1\)\n {2}bogus: unknown key \(allowed here: version, logLevel, shmDir, defaults, models, cameras, shared(, [a-z]+)*; x-anything for your own, e\.g\. YAML anchors\) \(line 3\)$/,
      );
      assert.deepEqual(error.issues[0], { path: 'version', message: 'must be 1', line: 1, column: 10 });
    }
  });

  it('reports every issue at once, in file order, from every section', () => {
    const text = yaml(
      'logLevel: loud', // 1
      'models:', // 2
      '  p: { handler: person, threads: 0 }', // 3
      'defaults:', // 4
      '  capture: { rtspTransport: quic }', // 5
      'cameras:', // 6
      '  a:', // 7
      '    source: ""', // 8
      '    capture: { output: { jpegQuality: 40 } }', // 9
      '    workers:', // 10
      '      - { id: w, model: q }', // 11
      'shared:', // 12
      '  s: { module: x.js, cameras: [b] }', // 13
    );
    assert.deepEqual(printed(issuesOf(text)), [
      'logLevel: must be one of trace, debug, info, warn, error, fatal, silent (line 1)',
      'models.p.threads: must be at least 1 (line 3)',
      'defaults.capture.rtspTransport: must be one of tcp, udp (line 5)',
      'cameras.a.source: must not be empty (line 8)',
      'cameras.a.capture.output.jpegQuality: must be at most 31 (line 9)',
      'cameras.a.workers[0].model: names no model (models: p) (line 11)',
      'shared.s.cameras[0]: names no camera (cameras: a) (line 13)',
    ]);
  });

  describe('YAML itself', () => {
    it('a syntax error is ERR_CONFIG with its line', () => {
      const issues = issuesOf(yaml(...CAMERA, '    workers: [ { id: a, model: m }', 'shared: {}'));
      assert.ok(issues.length >= 1);
      assert.match(issues[0]!.message, /^YAML syntax: /);
      assert.equal(issues[0]!.path, '');
      assert.equal(typeof issues[0]!.line, 'number');
    });

    it('a duplicate key is refused at its line (a second value must not silently win)', () => {
      const [issue, ...rest] = issuesOf(yaml(...CAMERA, '    source: rtsp://10.0.0.2/stream'));
      assert.equal(rest.length, 0);
      assert.match(issue!.message, /YAML syntax: Map keys must be unique/);
      assert.equal(issue!.line, 4);
    });

    it("several documents in one file are refused in the project's words (once yaml's: please use YAML.parseAllDocuments()), at the second's line", () => {
      assert.deepEqual(printed(issuesOf(yaml(...CAMERA, '---', 'cameras: {}', '---', 'cameras: {}'))), [
        "a config file holds one YAML document; this one has 3 (a line '---' starts another) (line 4)",
      ]);
    });

    it('an empty file, or one with only comments, says what is missing', () => {
      for (const text of ['', '# nothing yet\n', '~\n']) {
        assert.deepEqual(printed(issuesOf(text)), ['the file is empty: a config needs at least cameras']);
      }
    });

    it('a file that is not a map says what it should be', () => {
      assert.deepEqual(printed(issuesOf('- a\n')), [
        'the config must be a map of keys: cameras, and optionally version, logLevel, shmDir, defaults, models, shared (line 1)',
      ]);
    });

    it('explicit tags that make non-JSON values (!!binary, !!set) are refused at their path', () => {
      const issues = issuesOf(yaml(...CAMERA, '  b: !!set { x, y }', '  c: { source: !!binary aGVsbG8= }'));
      assert.equal(issueAt(issues, 'cameras.b').line, 4);
      assert.equal(issueAt(issues, 'cameras.c.source').line, 5);
      assert.match(issueAt(issues, 'cameras.b').message, /YAML tags such as !!binary or !!set are not supported/);
    });

    it('an alias inside its own anchor, and absurd nesting, are issues, not a crash', () => {
      assert.deepEqual(printed(issuesOf(yaml(...CAMERA, 'x-loop: &a [*a]'))), ['x-loop[0]: refers to itself: an alias inside its own anchor (line 4)']);
      const deep = `${CAMERA.join('\n')}\n    capture: ${'['.repeat(40)}${']'.repeat(40)}\n`;
      assert.match(printed(issuesOf(deep)).join('\n'), /nests deeper than 32 levels \(line 4\)/);
      assert.match(printed(issuesOf(`cameras: ${'['.repeat(5000)}${']'.repeat(5000)}`)).join('\n'), /nests too deep|nests deeper/);
    });

    it('an issue inside an aliased value points at the anchor; merge keys (<<) are followed', () => {
      const text = yaml(
        'x-worker: &w { id: w, module: ./w.js, criticalty: high }', // 1
        'x-capture: &c', // 2
        '  output: { fps: -1 }', // 3
        ...CAMERA, // 4-6
        '    capture:', // 7
        '      <<: *c', // 8
        '      loop: maybe', // 9
        '    workers: [*w]', // 10
      );
      assert.deepEqual(printed(issuesOf(text)), [
        "cameras.cam.workers[0].criticalty: unknown key; did you mean 'criticality'? (line 1)",
        'cameras.cam.capture.output.fps: must be greater than 0 (line 3)',
        'cameras.cam.capture.loop: must be true or false (line 9)',
      ]);
    });

    it('top-level keys starting with x- are yours (anchors); keys elsewhere are never ignored', () => {
      parseConfig(yaml('x-anchors: { a: 1 }', ...CAMERA), { env: {} });
      assert.match(issueAt(issuesOf(yaml(...CAMERA, '    x-note: 1')), 'cameras.cam.x-note').message, /^unknown key/);
    });
  });

  describe('the schema', () => {
    it('types: each with a hint where YAML surprises people', () => {
      const text = yaml(
        ...CAMERA,
        '    enabled: yes', // 4
        '    capture:', // 5
        '      stallTimeoutMs: 1.5', // 6
        '      output: { fps: .inf, width: "640", hflip: 1 }', // 7
        '    workers:', // 8
        '      - { id: w, command: [prog, 8080], env: { PORT: 8080 } }', // 9
        '      - { id: 7, module: x.js }', // 10
        'models: []', // 11
      );
      const issues = issuesOf(text);
      assert.deepEqual(printed(issues), [
        'cameras.cam.enabled: must be true or false (yes, no, on and off are strings in YAML 1.2) (line 4)',
        'cameras.cam.capture.stallTimeoutMs: must be an integer (line 6)',
        'cameras.cam.capture.output.fps: must be a number or ~ (a finite one) (line 7)',
        'cameras.cam.capture.output.width: must be an integer or ~ (line 7)',
        'cameras.cam.capture.output.hflip: must be true or false (line 7)',
        'cameras.cam.workers[0].command[1]: must be a string (put it in quotes) (line 9)',
        'cameras.cam.workers[0].env.PORT: must be a string (put it in quotes) (line 9)',
        'cameras.cam.workers[1].id: must be a string (put it in quotes) (line 10)',
        'models: must be a map (line 11)',
      ]);
      assert.deepEqual(issueAt(issues, 'cameras.cam.capture.output.width'), {
        path: 'cameras.cam.capture.output.width',
        message: 'must be an integer or ~',
        line: 7,
        column: 35,
      });
    });

    it('enums list the allowed values; const, ranges, lengths and list sizes say their bound', () => {
      const text = yaml(
        'version: 2', // 1
        'shmDir: ""', // 2
        ...CAMERA, // 3-5
        '    capture:', // 6
        '      decoder: gpu', // 7
        '      output: { format: yuv, width: 0, height: 20000, jpegQuality: 1 }', // 8
        '      backoff: { initialMs: 0 }', // 9
        '    workers:', // 10
        '      - { id: w, command: [], transport: tcp, maxFps: 0, maxAgeMs: -5 }', // 11
        'shared:', // 12
        '  s: { model: m, cameras: [] }', // 13
        '  t: { model: m, cameras: [cam, cam] }', // 14
        'models:', // 15
        '  m: { handler: onnx, model: m.onnx, layout: v9, iou: 1.5, minConfidence: -0.1, inputSize: 16 }', // 16
      );
      assert.deepEqual(printed(issuesOf(text)), [
        'version: must be 1 (line 1)',
        'shmDir: must not be empty (line 2)',
        'cameras.cam.capture.decoder: must be one of auto, native, ffmpeg (line 7)',
        'cameras.cam.capture.output.format: must be one of rgb24, bgr24, gray, nv12, jpeg (line 8)',
        'cameras.cam.capture.output.width: must be at least 1 (line 8)',
        'cameras.cam.capture.output.height: must be at most 16384 (line 8)',
        'cameras.cam.capture.output.jpegQuality: must be at least 2 (line 8)',
        'cameras.cam.capture.backoff.initialMs: must be at least 1 (line 9)',
        'cameras.cam.workers[0].command: must not be an empty list (line 11)',
        'cameras.cam.workers[0].transport: must be one of pipe, shm (or ~ for not set) (line 11)',
        'cameras.cam.workers[0].maxFps: must be greater than 0 (line 11)',
        'cameras.cam.workers[0].maxAgeMs: must be greater than 0 (line 11)',
        'shared.s.cameras: must not be an empty list (line 13)',
        'shared.t.cameras: must not repeat an item (items 0 and 1 are the same) (line 14)',
        'models.m.layout: must be one of auto, v5, v8, v11, e2e (line 16)',
        'models.m.iou: must be at most 1 (line 16)',
        'models.m.minConfidence: must be at least 0 (line 16)',
        'models.m.inputSize: must be at least 32 (line 16)',
      ]);
    });

    it("the readers' size: capture.scale, a worker's readSize and the mock's inputSize say what they take", () => {
      const text = yaml(
        ...CAMERA, // 1-3
        '    capture: { scale: small }', // 4
        '    workers:', // 5
        '      - { id: a, model: m, readSize: 8 }', // 6
        '      - { id: b, model: m, readSize: medium }', // 7
        '      - { id: c, model: m, readSize: [640] }', // 8
        'models:', // 9
        '  m: { handler: mock, inputSize: 20000 }', // 10
      );
      assert.deepEqual(printed(issuesOf(text)), [
        'cameras.cam.capture.scale: must be one of auto, output (or ~ for not set) (line 4)',
        'cameras.cam.workers[0].readSize: must be at least 16 (line 6)',
        'cameras.cam.workers[1].readSize: must be one of full, any (line 7)',
        'cameras.cam.workers[2].readSize: must be full, any or a long side in pixels (16–16384) (line 8)',
        'models.m.inputSize: must be at most 16384 (line 10)',
      ]);
    });

    it('patterns say what they want, for values and for map keys', () => {
      const text = yaml(
        ...CAMERA,
        '    workers:', // 4
        '      - { id: "bad id", module: x.js }', // 5
        '      - { id: w, command: [p], env: { 9LIVES: x } }', // 6
        '  "front door": { source: x.mp4 }', // 7
        'models:', // 8
        '  "a.b": { handler: mock }', // 9
        'shared:', // 10
        '  "s/1": { module: x.js, cameras: [cam] }', // 11
      );
      assert.deepEqual(printed(issuesOf(text)), [
        'cameras.cam.workers[0].id: must be 1–64 characters of A–Z a–z 0–9 _ - (line 5)',
        'cameras.cam.workers[1].env.9LIVES: is not a valid key: an environment variable name: A–Z a–z 0–9 _, not starting with a digit (line 6)',
        'cameras["front door"]: is not a valid key: a camera id: 1–64 characters of A–Z a–z 0–9 _ - (line 7)',
        'models["a.b"]: is not a valid key: a model name: 1–64 characters of A–Z a–z 0–9 _ - (line 9)',
        'shared["s/1"]: is not a valid key: a shared worker id: 1–64 characters of A–Z a–z 0–9 _ - (line 11)',
      ]);
    });

    it('a missing required key is reported at the map that lacks it', () => {
      const text = yaml(
        'cameras:', // 1
        '  cam:', // 2
        '    enabled: false', // 3
        '    capture:', // 4
        '      output:', // 5
        '        crop: { x: 0, y: 0, width: 10 }', // 6
        '    workers:', // 7
        '      - { model: m }', // 8
        'models:', // 9
        '  m: { handler: onnx }', // 10
        'shared:', // 11
        '  s: { module: x.js }', // 12
      );
      assert.deepEqual(printed(issuesOf(text)), [
        'cameras.cam.source: is required (line 2)',
        'cameras.cam.capture.output.crop.height: is required (line 6)',
        'cameras.cam.workers[0].id: is required (line 8)',
        'models.m.model: is required (line 10)',
        'shared.s.cameras: is required (line 12)',
      ]);
      assert.deepEqual(printed(issuesOf('models: {}\n')), ['cameras: is required']);
    });

    it('unknown keys are errors, with the closest valid key suggested, or the allowed ones listed', () => {
      const text = yaml(
        'camera:', // 1
        '  x: { source: x.mp4 }', // 2
        ...CAMERA, // 3-5
        '    capture: { rtsp_transport: udp, ouput: { fps: 1 } }', // 6
        '    workers:', // 7
        '      - { id: w, module: x.js, Criticality: high, speed: 3 }', // 8
        'defaults:', // 9
        '  workers: { maxfps: 2 }', // 10
      );
      assert.deepEqual(printed(issuesOf(text)), [
        "camera: unknown key; did you mean 'cameras'? (line 1)",
        "cameras.cam.capture.rtsp_transport: unknown key; did you mean 'rtspTransport'? (line 6)",
        "cameras.cam.capture.ouput: unknown key; did you mean 'output'? (line 6)",
        "cameras.cam.workers[0].Criticality: unknown key; did you mean 'criticality'? (line 8)",
        'cameras.cam.workers[0].speed: unknown key (allowed here: id, module, thread, criticality, enabled, maxAgeMs, maxFps, objective, stream, readSize, track, falls, crops, care) (line 8)',
        "defaults.workers.maxfps: unknown key; did you mean 'maxFps'? (line 10)",
      ]);
    });
  });

  describe('worker kinds and model handlers: one clear message, not every branch', () => {
    it('a worker needs exactly one of model, command, module; its other issues still come', () => {
      const text = yaml(
        ...CAMERA,
        '    workers:', // 4
        '      - { id: none, criticality: urgent }', // 5
        '      - { id: two, model: m, command: [x] }', // 6
        '      - just-a-string', // 7
        'models: { m: { handler: mock } }', // 8
      );
      assert.deepEqual(printed(issuesOf(text)), [
        'cameras.cam.workers[0]: a worker needs exactly one of model, command, module, vlm (line 5)',
        'cameras.cam.workers[0].criticality: must be one of critical, high, normal, best-effort (line 5)',
        'cameras.cam.workers[1]: a worker needs exactly one of model, command, module, vlm, not model and command (line 6)',
        'cameras.cam.workers[2]: must be a map: a worker with one of model, command, module, vlm (line 7)',
      ]);
    });

    it("the person handler's network is one of its two, its inputSize a multiple of 32, its intraOpThreads at most 2, its providers known", () => {
      const text = yaml(
        ...CAMERA,
        '    workers: [{ id: p, model: m }]', // 4
        'models:', // 5
        '  m: { handler: person, network: yolo, inputSize: 100, intraOpThreads: 3, executionProviders: [gpu] }', // 6
      );
      assert.deepEqual(printed(issuesOf(text)), [
        'models.m.network: must be one of movenet-multipose, centernet (or ~ for not set) (line 6)',
        'models.m.inputSize: must be multiple of 32 (line 6)',
        'models.m.intraOpThreads: must be at most 2 (line 6)',
        'models.m.executionProviders[0]: must be one of cpu, cuda, tensorrt, webgpu, dml, coreml (line 6)',
      ]);
    });

    it('a key of another kind says which kind it belongs to', () => {
      const text = yaml(
        ...CAMERA,
        '    workers:', // 4
        '      - { id: a, command: [x], thread: true }', // 5
        '      - { id: b, module: x.js, transport: shm, env: { A: b } }', // 6
        '      - { id: c, model: m, command: [x], thread: true }', // 7
        'models:', // 8
        '  m: { handler: mock, threads: 2, model: x.onnx }', // 9
        '  r: { socket: /run/r.sock, restart: { maxMs: 5 } }', // 10
        'shared:', // 11
        '  s: { model: m, cameras: [cam], thread: true }', // 12
      );
      assert.deepEqual(printed(issuesOf(text)), [
        'cameras.cam.workers[0].thread: applies only to module workers (line 5)',
        'cameras.cam.workers[1].transport: applies only to command workers (line 6)',
        'cameras.cam.workers[1].env: applies only to command workers (line 6)',
        'cameras.cam.workers[2]: a worker needs exactly one of model, command, module, vlm, not model and command (line 7)',
        'models.m.threads: applies only to the person handler and the onnx handler (line 9)',
        'models.m.model: applies only to the onnx handler (line 9)',
        'models.r.restart: applies only to the person handler, the onnx handler and the mock handler (line 10)',
        'shared.s.thread: applies only to module workers (line 12)',
      ]);
    });

    it('a model needs a known handler, or a socket to connect to', () => {
      const text = yaml(
        'models:', // 1
        '  a: { handler: yolo }', // 2
        '  b: { threads: 2 }', // 3
        '  c: [person]', // 4
        ...CAMERA,
      );
      assert.deepEqual(printed(issuesOf(text)), [
        'models.a.handler: must be one of person, onnx, mock (line 2)',
        'models.b: a model needs a handler (person, onnx or mock) to start a model server, the socket of a server someone else runs, or a directory to discover it in (line 3)',
        'models.c: must be a map: a handler (person, onnx or mock) to start a model server, the socket of a server someone else runs, or a directory to discover it in (line 4)',
      ]);
    });
  });

  describe('what a schema cannot say', () => {
    it('sources: only the schemes capture reads', () => {
      const text = yaml(
        'cameras:',
        '  a: { source: ftp://cam/stream }', // 2
        '  b: { source: "lavfi:" }', // 3
        '  c: { source: "v4l2:" }', // 4
        '  d: { source: "c:video.mp4" }', // 5
        '  ok1: { source: "rtsps://cam/s" }',
        '  ok2: { source: "lavfi:testsrc2=size=320x240:rate=10" }',
        '  ok3: { source: /dev/video0 }',
        '  ok4: { source: "file:///tmp/x.mp4" }',
        '  ok5: { source: "./c:video.mp4" }',
        '  ok6: { source: "HTTP://cam/mjpeg" }',
      );
      assert.deepEqual(printed(issuesOf(text)), [
        "cameras.a.source: has an unsupported scheme 'ftp': use rtsp://, rtsps://, http(s)://, file://, a file path, lavfi:<graph> or v4l2:/dev/videoN (line 2)",
        'cameras.b.source: lavfi: needs a filter graph, e.g. lavfi:testsrc2=size=640x480:rate=30 (line 3)',
        'cameras.c.source: v4l2: needs a device, e.g. v4l2:/dev/video0 (line 4)',
        'cameras.d.source: must be rtsp://, rtsps://, http(s)://, file://, a file path, lavfi:<graph> or v4l2:/dev/videoN (a file whose name has a colon: start it with ./) (line 5)',
      ]);
    });

    it('builtin: names a module shipped with framesupplier', () => {
      const text = yaml(...CAMERA, '    workers: [{ id: m, module: "builtin:moton" }, { id: n, module: "builtin:nothing-like-it" }]');
      assert.deepEqual(printed(issuesOf(text)), [
        "cameras.cam.workers[0].module: names no built-in module; did you mean 'builtin:motion'? (built-in: builtin:motion) (line 4)",
        'cameras.cam.workers[1].module: names no built-in module (built-in: builtin:motion) (line 4)',
      ]);
    });

    it("cross-references: a worker's model, a shared worker's cameras, unique worker ids", () => {
      const text = yaml(
        'models:', // 1
        '  person: { handler: person }', // 2
        'cameras:', // 3
        '  entrance:', // 4
        '    source: rtsp://10.0.0.1/s', // 5
        '    workers:', // 6
        '      - { id: people, model: persn }', // 7
        '      - { id: people, module: ./count.js }', // 8
        '      - { id: vlm, module: ./vlm.js }', // 9
        '  yard: { source: rtsp://10.0.0.2/s }', // 10
        'shared:', // 11
        '  vlm:', // 12
        '    model: person', // 13
        '    cameras: [entrance, yrd, garage]', // 14
      );
      assert.deepEqual(printed(issuesOf(text)), [
        "cameras.entrance.workers[0].model: names no model; did you mean 'person'? (models: person) (line 7)",
        "cameras.entrance.workers[1].id: duplicate worker id 'people' in this camera (also workers[0]) (line 8)",
        "shared.vlm: camera 'entrance' already has a worker with this id (cameras.entrance.workers[2]): a worker id is unique within a camera (line 12)",
        "shared.vlm.cameras[1]: names no camera; did you mean 'yard'? (cameras: entrance, yard) (line 14)",
        'shared.vlm.cameras[2]: names no camera (cameras: entrance, yard) (line 14)',
      ]);
    });

    it("a vlm worker's several pictures of an object (ADR 0072): within bounds, and only with an object trigger", () => {
      const text = yaml(
        ...CAMERA, // 1-3
        '    workers:', // 4
        '      - id: frames', // 5
        '        vlm:', // 6
        '          api: openai', // 7
        '          url: http://gpu:8000/v1', // 8
        '          model: m', // 9
        '          prompt: p', // 10
        '          frames: { max: 3 }', // 11
        '          triggers: { intervalS: 60 }', // 12
        '      - id: many', // 13
        '        vlm: { api: openai, url: "http://gpu:8000/v1", model: m, prompt: p, frames: { max: 40, everyMs: 0 }, triggers: { objects: { on: [end] } } }', // 14
        '      - id: fine', // 15
        '        vlm: { api: openai, url: "http://gpu:8000/v1", model: m, prompt: p, frames: { max: 4, everyMs: 500 }, triggers: { objects: { on: [end] } } }', // 16
      );
      assert.deepEqual(printed(issuesOf(text)), [
        'cameras.cam.workers[0].vlm.frames.max: (3) sends several pictures of one object, and this worker has no triggers.objects: set triggers.objects, or max 1 (line 11)',
        'cameras.cam.workers[1].vlm.frames.max: must be at most 16 (line 14)',
        'cameras.cam.workers[1].vlm.frames.everyMs: must be at least 1 (line 14)',
      ]);
    });

    it('values only wrong once inherited: a backoff whose first delay exceeds its longest', () => {
      const text = yaml(
        'defaults:', // 1
        '  capture: { backoff: { maxMs: 100 } }', // 2
        'cameras:', // 3
        '  a:', // 4
        '    source: rtsp://x/s', // 5
        '    capture: { backoff: { initialMs: 200 } }', // 6
        '  b: { source: rtsp://y/s }', // 7
        'models: { m: { handler: mock, restart: { initialMs: 9000, maxMs: 10 } } }', // 8
      );
      assert.deepEqual(printed(issuesOf(text)), [
        'cameras.a.capture.backoff: initialMs (200) must not exceed maxMs (100) (with defaults applied) (line 6)',
        'cameras.b.capture.backoff: initialMs (500) must not exceed maxMs (100) (with defaults applied) (line 7)',
        'models.m.restart: initialMs (9000) must not exceed maxMs (10) (line 8)',
      ]);
    });
  });

  it('refuses URLs that do not parse and ports out of range, wherever a URL is named, with path and line and without the URL', () => {
    const text = yaml(
      'cameras:',
      '  a:',
      '    source: rtsp://u:pw-7a1@cam.local:70000/s',
      '    workers: [{ id: m, module: "builtin:motion" }]',
      '  b:',
      '    source: "http://[bad/s"',
      '    workers: [{ id: m, module: "builtin:motion" }]',
      'mqtt:',
      '  url: mqtt://broker.local:99999',
      'models:',
      '  r: { kserve: { url: "http://gpu:80x80", model: m } }',
      'cluster:',
      '  servers: [nats://n1:4222, "nats://n2:0"]',
      'http: { cors: ["https://ok.example:443", "https://bad.example:65536"] }',
    );
    assert.deepEqual(printed(issuesOf(text)), [
      "cameras.a.source: the port must be a number from 1 to 65535, got '70000' (line 3)",
      'cameras.b.source: is not a valid URL (check its host and port, and percent-encode special characters in a password) (line 6)',
      "mqtt.url: the port must be a number from 1 to 65535, got '99999' (line 9)",
      "models.r.kserve.url: the port must be a number from 1 to 65535, got '80x80' (line 11)",
      "cluster.servers[1]: the port must be a number from 1 to 65535, got '0' (line 13)",
      "http.cors[1]: the port must be a number from 1 to 65535, got '65536' (line 14)",
    ]);
  });

  it('never quotes a password: one holding / ? # reads as a port, one with a space is no URL; a stream is checked as its camera', () => {
    const env = { CAM_PW: 'EnvSecret99#', SUB_PW: 'Sub/Secret', MQ_PW: 'Mq Pass66' };
    const text = yaml(
      'cameras:',
      '  a:',
      '    source: rtsp://admin:${CAM_PW}@10.0.0.5/s',
      '    streams: { sub: "rtsp://admin:${SUB_PW}@10.0.0.5:554/sub" }',
      '    workers: [{ id: m, module: "builtin:motion" }]',
      '  b:',
      '    source: "rtsp://admin:bad secret8@127.0.0.1:1/s"',
      '    workers: [{ id: m, module: "builtin:motion" }]',
      'mqtt:',
      '  url: mqtt://u:${MQ_PW}@broker.local:1883',
    );
    const lines = printed(issuesOf(text, { env }));
    const encode = 'the port must be a number from 1 to 65535; if the URL holds a password, percent-encode its / ? # and @ (%2F %3F %23 %40)';
    const blank = 'holds a space or another blank: a URL has none (percent-encode it, %20 for a space, in a password too)';
    assert.deepEqual(lines, [
      `cameras.a.source: ${encode} (line 3)`,
      `cameras.a.streams.sub: ${encode} (line 4)`,
      `cameras.b.source: ${blank} (line 7)`,
      `mqtt.url: ${blank} (line 10)`,
    ]);
    for (const secret of ['EnvSecret99', 'Secret', 'secret8', 'Pass66']) assert.ok(!lines.join('\n').includes(secret), secret);
  });

  it("refuses what the in-process decoder cannot do, which the capture refused only when the camera was built: jpeg, lavfi and v4l2 sources (its own or a stream's), its decoder its own or the defaults'", () => {
    const text = yaml(
      'defaults:', // 1
      '  capture: { decoder: native }', // 2
      'cameras:', // 3
      '  a:', // 4
      '    source: lavfi:testsrc', // 5
      '  b:', // 6
      '    source: rtsp://10.0.0.2/main', // 7
      '    capture: { decoder: native, output: { format: jpeg } }', // 8
      '    streams: { sub: "v4l2:/dev/video0" }', // 9
      '  c:', // 10
      '    source: lavfi:testsrc', // 11
      '    capture: { decoder: auto, output: { format: jpeg } }', // 12: auto picks ffmpeg
    );
    assert.deepEqual(printed(issuesOf(text)), [
      'cameras.a.source: the in-process decoder (decoder native from defaults.capture) reads files, rtsp:// and http(s)://, not lavfi sources: use decoder ffmpeg or auto (line 5)',
      'cameras.b.capture.output.format: the in-process decoder (decoder native) gives raw frames (rgb24, bgr24, gray, nv12), not jpeg: use decoder ffmpeg or auto for jpeg (line 8)',
      'cameras.b.streams.sub: the in-process decoder (decoder native) reads files, rtsp:// and http(s)://, not v4l2 sources: use decoder ffmpeg or auto (line 9)',
    ]);
  });

  it('never quotes a value from the file: secrets in values stay out of every message', () => {
    const secret = 'hunter2-S3CR3T';
    const text = yaml(
      `logLevel: "${secret}"`,
      'cameras:',
      '  cam:',
      `    source: "ftp://admin:${secret}@cam/s"`,
      `    capture: { decoder: "${secret}", output: { fps: "${secret}" } }`,
      `    workers: [{ id: "${secret} x", command: ["${secret}", 1], model: "${secret}" }]`,
      `shared: { s: { module: x.js, cameras: ["${secret}", "${secret}"] } }`,
      `models: { m: { handler: "${secret}" } }`,
    );
    const issues = issuesOf(text, { env: { PASSWORD: secret } });
    assert.ok(issues.length >= 8, printed(issues).join('\n'));
    for (const line of printed(issues)) assert.ok(!line.includes(secret) && !line.includes('hunter2'), line);
  });
});
