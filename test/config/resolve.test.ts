import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import {
  BUILT_IN_EXAMPLE_PATH,
  builtInExampleConfig,
  ConfigError,
  configSchema,
  loadConfig,
  maskConfig,
  isSecretKey,
  maskString,
  parseConfig,
  resolveCamera,
  workerKind,
  type Config,
} from '../../src/config/index.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { discoveredSocket } from '../../src/pipeline/model-host/model-service.js';
import { issueAt, issuesOf, printed, yaml } from './helpers.js';

const parse = (text: string, env: Record<string, string> = {}, baseDir = '/etc/framesupplier'): Config =>
  parseConfig(text, { env, baseDir, fileName: 'test.yaml' });

/** Checks a resolved config against the resolved schema (the types' source). */
const validateResolved = new Ajv({ allErrors: true, strict: false }).compile(ConfigSchema);
function assertResolved(config: Config): void {
  assert.ok(validateResolved(config), JSON.stringify(validateResolved.errors));
}

describe('config resolution', { timeout: 60_000 }, () => {
  describe('environment variables', () => {
    it('${NAME} in any string value, several per string, in lists and maps', () => {
      const config = parse(
        yaml(
          'cameras:',
          '  entrance:',
          '    source: rtsp://${USER_NAME}:${ENTRANCE_PASSWORD}@10.0.0.12/stream1',
          '    workers:',
          '      - { id: w, command: [./w.sh, "--key=${KEY}"], env: { TOKEN: "${KEY}", EMPTY: "${EMPTY}" } }',
          '      - { id: c, module: builtin:motion, criticality: "${CRIT}" }',
        ),
        { USER_NAME: 'viewer', ENTRANCE_PASSWORD: 'pa:ss', KEY: 'k1', EMPTY: '', CRIT: 'high' },
      );
      const camera = config.cameras.entrance!;
      assert.equal(camera.source, 'rtsp://viewer:pa:ss@10.0.0.12/stream1');
      const [w, c] = camera.workers;
      assert.ok(w !== undefined && 'command' in w && c !== undefined);
      assert.deepEqual(w.command, ['/etc/framesupplier/w.sh', '--key=k1']);
      assert.deepEqual(w.env, { TOKEN: 'k1', EMPTY: '' });
      assert.equal(c.criticality, 'high');
    });

    it('an unset variable is an issue naming it, its path and line, and no value', () => {
      const issues = issuesOf(
        yaml(
          'cameras:',
          '  entrance:',
          '    source: rtsp://viewer:${ENTRANCE_PASSWORD}@10.0.0.12/stream1',
          '    workers: [{ id: w, command: [x, "${A}", "${B}"] }, { id: m, model: "${MODEL}", criticality: "${CRIT}" }]',
        ),
        { env: { A: 'secret-a-value' } },
      );
      // Only the variable: no second issue about the value it left behind (no such model, no such criticality).
      assert.deepEqual(printed(issues), [
        'cameras.entrance.source: environment variable ENTRANCE_PASSWORD is not set (line 3)',
        'cameras.entrance.workers[0].command[2]: environment variable B is not set (line 4)',
        'cameras.entrance.workers[1].model: environment variable MODEL is not set (line 4)',
        'cameras.entrance.workers[1].criticality: environment variable CRIT is not set (line 4)',
      ]);
      assert.ok(!printed(issues).join('\n').includes('secret-a-value'));
    });

    it('$${ is a literal ${; a lone $ is itself; a ${ that opens no variable is an issue', () => {
      const config = parse(yaml('cameras:', '  a:', '    source: "lavfi:testsrc=$${x}$$y$z${V}$"'), { V: 'v' });
      assert.equal(config.cameras.a!.source, 'lavfi:testsrc=${x}$$y$zv$');
      const issues = issuesOf(yaml('cameras:', '  a: { source: "x${", workers: [{ id: w, command: ["${1X}", "${}", "${A-B}"] }] }'));
      assert.equal(issues.length, 4);
      for (const issue of issues) assert.match(issue.message, /write \$\$\{ for a literal \$\{/);
    });

    it('substitutes before validating the format: a variable can hold an enum value or a source, and is checked', () => {
      const issues = issuesOf(yaml('logLevel: "${LEVEL}"', 'cameras:', '  a: { source: "${URL}" }'), { env: { LEVEL: 'loud', URL: 'ftp://x' } });
      assert.equal(issueAt(issues, 'logLevel').message, 'must be one of trace, debug, info, warn, error, fatal, silent');
      assert.match(issueAt(issues, 'cameras.a.source').message, /unsupported scheme 'ftp'/);
    });

    it('keys are never substituted', () => {
      const issues = issuesOf(yaml('cameras:', '  "${CAM}": { source: x.mp4 }'), { env: { CAM: 'front' } });
      assert.match(issueAt(issues, 'cameras["${CAM}"]').message, /is not a valid key/);
    });

    it('uses process.env by default', () => {
      const name = `FS_CONFIG_TEST_${process.pid}`;
      process.env[name] = 'from-process-env';
      try {
        const config = parseConfig(yaml('cameras:', `  a: { source: "rtsp://h/\${${name}}" }`));
        assert.equal(config.cameras.a!.source, 'rtsp://h/from-process-env');
      } finally {
        delete process.env[name];
      }
    });
  });

  describe('defaults: inherited per value', () => {
    const text = yaml(
      'defaults:',
      '  enabled: false',
      '  capture:',
      '    decoder: ffmpeg',
      '    output: { format: bgr24, width: 1280, fps: 10, crop: { x: 0, y: 0, width: 100, height: 100 } }',
      '    backoff: { initialMs: 1000 }',
      '    stallTimeoutMs: 5000',
      '  workers: { criticality: high, maxAgeMs: 500 }',
      'models: { m: { handler: mock } }',
      'cameras:',
      '  a:',
      '    source: rtsp://a/s',
      '    enabled: true',
      '    capture: { output: { fps: 5 }, backoff: { maxMs: 2000 } }',
      '    workers:',
      '      - { id: w1, model: m }',
      '      - { id: w2, model: m, criticality: critical, maxAgeMs: ~, maxFps: 3 }',
      '  b:',
      '    source: rtsp://b/s',
      '    capture: { output: { width: ~, crop: { x: 10, y: 10, width: 20, height: 20 } } }',
      '  c:',
      '    source: rtsp://c/s',
      '    capture: { output: { crop: ~ } }',
      'shared:',
      '  s: { module: ./s.js, cameras: [a, b], maxFps: 1 }',
    );

    it('a camera that sets capture.output.fps keeps every other default, its own and the built-in ones', () => {
      const config = parse(text);
      assertResolved(config);
      assert.deepEqual(config.cameras.a!.capture, {
        decoder: 'ffmpeg',
        output: { format: 'bgr24', width: 1280, fps: 5, crop: { x: 0, y: 0, width: 100, height: 100 }, hflip: false },
        stallTimeoutMs: 5000,
        connectTimeoutMs: 20_000,
        rtspTransport: 'tcp',
        realtime: true,
        loop: false,
        backoff: { initialMs: 1000, maxMs: 2000 },
      });
      assert.equal(config.cameras.a!.enabled, true);
      assert.equal(config.cameras.b!.enabled, false, 'defaults.enabled');
    });

    it('~ unsets an inherited value; a crop is one value, replaced whole', () => {
      const config = parse(text);
      assert.deepEqual(config.cameras.b!.capture.output, { format: 'bgr24', fps: 10, crop: { x: 10, y: 10, width: 20, height: 20 }, hflip: false });
      assert.deepEqual(config.cameras.c!.capture.output, { format: 'bgr24', width: 1280, fps: 10, hflip: false });
      assert.ok(!('width' in config.cameras.b!.capture.output), 'an unset key is absent, not null');
    });

    it('workers inherit defaults.workers, value by value; shared workers too', () => {
      const config = parse(text);
      assert.deepEqual(config.cameras.a!.workers, [
        { id: 'w1', model: 'm', criticality: 'high', enabled: true, maxAgeMs: 500 },
        { id: 'w2', model: 'm', criticality: 'critical', enabled: true, maxFps: 3 },
      ]);
      assert.deepEqual(config.shared.s, {
        module: '/etc/framesupplier/s.js',
        thread: false,
        cameras: ['a', 'b'],
        criticality: 'high',
        enabled: true,
        maxAgeMs: 500,
        maxFps: 1,
      });
      assert.deepEqual(config.cameras.b!.workers, []);
    });

    it('without defaults, the built-in ones', () => {
      const config = parse(
        yaml(
          'cameras:',
          '  a: { source: rtsp://a/s, workers: [{ id: m, module: builtin:motion }, { id: c, command: [prog] }] }',
          'models: { p: { handler: person } }',
        ),
      );
      assertResolved(config);
      assert.deepEqual(config.cameras.a!.workers.map(workerKind), ['module', 'command']);
      assert.deepEqual(config, {
        version: 1,
        logLevel: 'info',
        shmDir: '/dev/shm/framesupplier',
        models: { p: { handler: 'person', modelId: 'p', timeoutMs: 5000, restart: { initialMs: 1000, maxMs: 30_000 } } },
        cameras: {
          a: {
            source: 'rtsp://a/s',
            enabled: true,
            capture: {
              decoder: 'auto',
              output: { format: 'rgb24', hflip: false },
              stallTimeoutMs: 10_000,
              connectTimeoutMs: 20_000,
              rtspTransport: 'tcp',
              realtime: true,
              loop: false,
              backoff: { initialMs: 500, maxMs: 30_000 },
            },
            workers: [
              { id: 'm', module: 'builtin:motion', thread: false, criticality: 'normal', enabled: true },
              { id: 'c', command: ['prog'], criticality: 'normal', enabled: true },
            ],
          },
        },
        shared: {},
      });
    });

    it('cameras share nothing: changing one resolved camera leaves the others (and the next parse) alone', () => {
      const config = parse(text);
      config.cameras.a!.capture.output.crop!.x = 99;
      config.cameras.a!.capture.backoff.maxMs = 1;
      assert.equal(config.cameras.c!.capture.backoff.maxMs, 30_000);
      assert.equal(parse(text).cameras.a!.capture.output.crop!.x, 0);
    });
  });

  describe('models', () => {
    it('modelId defaults to the key; every kind resolves with its defaults', () => {
      const config = parse(
        yaml(
          'models:',
          '  person: { handler: person, threads: 2, minConfidence: 0.4, poseMaxPeople: 5 }',
          '  yolo: { handler: onnx, model: ./models/yolov8n.onnx, classes: ./models/coco.txt, minConfidence: 0.25, iou: 0.45, threads: 1, socket: run/yolo.sock }',
          '  mock: { handler: mock, modelId: stub, timeoutMs: 100, restart: { maxMs: 5000 } }',
          '  pose: { socket: /run/models/pose.sock, modelId: pose }',
          'cameras: {}',
        ),
      );
      assertResolved(config);
      assert.deepEqual(config.models, {
        person: {
          handler: 'person',
          threads: 2,
          minConfidence: 0.4,
          poseMaxPeople: 5,
          modelId: 'person',
          timeoutMs: 5000,
          restart: { initialMs: 1000, maxMs: 30_000 },
        },
        yolo: {
          handler: 'onnx',
          model: '/etc/framesupplier/models/yolov8n.onnx',
          classes: '/etc/framesupplier/models/coco.txt',
          layout: 'auto',
          minConfidence: 0.25,
          iou: 0.45,
          threads: 1,
          socket: '/etc/framesupplier/run/yolo.sock',
          modelId: 'yolo',
          timeoutMs: 5000,
          restart: { initialMs: 1000, maxMs: 30_000 },
        },
        mock: { handler: 'mock', modelId: 'stub', timeoutMs: 100, restart: { initialMs: 1000, maxMs: 5000 } },
        pose: { socket: '/run/models/pose.sock', modelId: 'pose', timeoutMs: 5000 },
      });
    });

    it("a model found in a directory: the directory made absolute, the server's socket named after the model id", () => {
      const config = parse(
        yaml('models:', '  tiny: { discover: run/models, maxAgeMs: 500 }', '  other: { discover: /run/models, modelId: tiny-v2 }', 'cameras: {}'),
      );
      assertResolved(config);
      assert.deepEqual(config.models, {
        tiny: { discover: '/etc/framesupplier/run/models', modelId: 'tiny', timeoutMs: 5000, maxAgeMs: 500 },
        other: { discover: '/run/models', modelId: 'tiny-v2', timeoutMs: 5000 },
      });
      assert.equal(discoveredSocket('/run/models', 'tiny-v2'), '/run/models/tiny-v2.sock');
      assert.deepEqual(printed(issuesOf(yaml('models:', '  m: { discover: "" , handler: mock }', 'cameras: {}'))).length > 0, true);
    });
  });

  describe("relative paths: against the config file's directory", () => {
    it('module, command[0] with a slash, file sources, model files, sockets, shmDir; not URLs, builtin:, programs on PATH', () => {
      const config = parse(
        yaml(
          'shmDir: shm',
          'cameras:',
          '  a:',
          '    source: clips/a.mp4',
          '    workers:',
          '      - { id: m, module: ./workers/m.js }',
          '      - { id: t, module: ../t.js, thread: true }',
          '      - { id: b, module: builtin:motion }',
          '      - { id: u, module: file:///opt/u.js }',
          '      - { id: c, command: [bin/c, ./arg] }',
          '      - { id: p, command: [python3, w.py] }',
          '      - { id: abs, command: [/usr/bin/prog] }',
          '  b: { source: file:///srv/b.mp4 }',
          '  c: { source: rtsp://c/clips/c.mp4 }',
          '  d: { source: "lavfi:testsrc" }',
          '  e: { source: /dev/video0 }',
          '  f: { source: /srv/f.mp4 }',
        ),
        {},
        '/home/me/cfg',
      );
      assert.equal(config.shmDir, '/home/me/cfg/shm');
      const a = config.cameras.a!;
      assert.equal(a.source, '/home/me/cfg/clips/a.mp4');
      const fields = a.workers.map((w) => ('module' in w ? w.module : 'command' in w ? w.command : 'vlm' in w ? w.vlm.url : w.model));
      assert.deepEqual(fields, [
        '/home/me/cfg/workers/m.js',
        '/home/me/t.js',
        'builtin:motion',
        'file:///opt/u.js',
        ['/home/me/cfg/bin/c', './arg'],
        ['python3', 'w.py'],
        ['/usr/bin/prog'],
      ]);
      assert.deepEqual(
        ['b', 'c', 'd', 'e', 'f'].map((id) => config.cameras[id]!.source),
        ['file:///srv/b.mp4', 'rtsp://c/clips/c.mp4', 'lavfi:testsrc', '/dev/video0', '/srv/f.mp4'],
      );
    });
  });

  describe('loadConfig', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), `fs-config-${process.pid}-`));
      await mkdir(join(dir, 'conf'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('reads the file, resolves paths against its directory, names it in errors', async () => {
      const file = join(dir, 'conf', 'config.yaml');
      await writeFile(file, yaml('cameras:', '  a:', '    source: ../clips/a.mp4', '    workers: [{ id: w, module: ./w.js }]'));
      const config = await loadConfig(file, { env: {} });
      assert.equal(config.cameras.a!.source, join(dir, 'clips', 'a.mp4'));
      const [worker] = config.cameras.a!.workers;
      assert.ok(worker !== undefined && 'module' in worker);
      assert.equal(worker.module, join(dir, 'conf', 'w.js'));

      await writeFile(file, yaml('cameras:', '  a: { source: "${MISSING}" }'));
      await assert.rejects(loadConfig(file, { env: {} }), (error: ConfigError) => {
        assert.equal(error.code, 'ERR_CONFIG');
        assert.equal(error.fileName, file);
        assert.match(error.message, new RegExp(`^${file}: 1 problem\\n  cameras\\.a\\.source: environment variable MISSING is not set \\(line 2\\)$`));
        return true;
      });
    });

    it('a file that cannot be read is ERR_CONFIG saying why', async () => {
      await assert.rejects(loadConfig(join(dir, 'nope.yaml')), (error: ConfigError) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(printed(error.issues), ['cannot read the file: no such file']);
        return true;
      });
      await assert.rejects(
        loadConfig(dir),
        (error: ConfigError) => error instanceof ConfigError && error.issues[0]!.message === 'cannot read the file: it is a directory',
      );
    });

    it('an aborted load rejects with the abort, not ERR_CONFIG', async () => {
      await assert.rejects(loadConfig(join(dir, 'conf', 'config.yaml'), { signal: AbortSignal.abort() }), { name: 'AbortError' });
    });
  });

  describe('masking', () => {
    it('URL passwords, secret parameters, secret keys and --password arguments; a deep copy', () => {
      const config = parse(
        yaml(
          'cameras:',
          '  entrance:',
          '    source: rtsp://viewer:${PW}@10.0.0.12/stream1',
          '    workers:',
          '      - { id: w, command: [./w, --password, "${PW}", "--token=${PW}"], env: { API_TOKEN: "${PW}", DB_PASSWORD: x, MODE: fast, URL: "http://u:${PW}@db/x?user=u&password=${PW}" } }',
          '  dahua: { source: "rtsp://10.0.0.13/cam/realmonitor?channel=1&user=admin&password=${PW}" }',
          '  plain: { source: "rtsp://10.0.0.14:554/s" }',
        ),
        { PW: 'hunter2' },
      );
      const masked = maskConfig(config);
      assert.ok(!JSON.stringify(masked).includes('hunter2'), JSON.stringify(masked));
      assert.equal(masked.cameras.entrance!.source, 'rtsp://viewer:***@10.0.0.12/stream1');
      assert.equal(masked.cameras.dahua!.source, 'rtsp://10.0.0.13/cam/realmonitor?channel=1&user=admin&password=***');
      assert.equal(masked.cameras.plain!.source, 'rtsp://10.0.0.14:554/s');
      const [worker] = masked.cameras.entrance!.workers;
      assert.ok(worker !== undefined && 'command' in worker);
      assert.deepEqual(worker.command, ['/etc/framesupplier/w', '--password', '***', '--token=***']);
      assert.deepEqual(worker.env, { API_TOKEN: '***', DB_PASSWORD: '***', MODE: 'fast', URL: 'http://u:***@db/x?user=u&password=***' });
      assert.equal(config.cameras.entrance!.source, 'rtsp://viewer:hunter2@10.0.0.12/stream1', 'the original is untouched');
    });

    it('values, never names: a key that says where a secret is (a variable, a file) is shown; a secret substituted into it still goes', () => {
      const masked = maskConfig(
        {
          vlm: { apiKeyEnv: 'OPENAI_API_KEY', apiKey: 'sk-live-123' },
          cluster: { auth: { credsFile: '/run/secrets/nats.creds', nkeySeedFile: '/run/secrets/seed', password: 'p4ss' } },
          env: { DB_PASSWORD_FILE: '/run/secrets/db', DB_PASSWORD: 'x', TOKEN_ENV: 'MY_TOKEN', env: 'keep' },
          other: { tokenFile: 's3cr3t-from-env' },
        },
        { secrets: ['s3cr3t-from-env'] },
      );
      assert.deepEqual(masked, {
        vlm: { apiKeyEnv: 'OPENAI_API_KEY', apiKey: '***' },
        cluster: { auth: { credsFile: '/run/secrets/nats.creds', nkeySeedFile: '/run/secrets/seed', password: '***' } },
        env: { DB_PASSWORD_FILE: '/run/secrets/db', DB_PASSWORD: '***', TOKEN_ENV: 'MY_TOKEN', env: 'keep' },
        other: { tokenFile: '***' },
      });
      for (const key of ['apiKeyEnv', 'credsFile', 'PASSWORD_FILE', 'tokenPath']) assert.equal(isSecretKey(key), false, key);
      for (const key of ['apiKey', 'password', 'API_TOKEN', 'env_password', 'fileToken']) assert.equal(isSecretKey(key), true, key);
    });

    it('maskString: passwords with reserved characters, an empty user, several URLs in one string', () => {
      assert.equal(maskString('rtsp://u:p@ss/w?rd@host:554/s'), 'rtsp://u:***@host:554/s');
      assert.equal(maskString('rtsp://:secret@host/s'), 'rtsp://:***@host/s');
      assert.equal(maskString('a http://a:1@x b https://b:2@y'), 'a http://a:***@x b https://b:***@y');
      assert.equal(maskString('http://host:8080/path'), 'http://host:8080/path');
      assert.equal(maskString('no url here'), 'no url here');
    });
  });

  describe('the built-in example', () => {
    it('is examples/config/example.yaml: street at its own rate, street-mirror mirrored, cropped, at 5 fps; one person model; motion on each', () => {
      const config = builtInExampleConfig();
      assertResolved(config);
      assert.deepEqual(config, parseConfig(readFileSync(BUILT_IN_EXAMPLE_PATH, 'utf8'), { env: {}, baseDir: '/' }));
      assert.deepEqual(Object.keys(config.cameras), ['street', 'street-mirror']);
      const vtest = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
      const { street, 'street-mirror': mirror } = config.cameras;
      assert.equal(street!.source, vtest);
      assert.equal(mirror!.source, vtest);
      assert.equal(street!.capture.output.fps, undefined);
      assert.equal(street!.capture.output.hflip, false);
      assert.deepEqual(mirror!.capture.output, { format: 'rgb24', fps: 5, crop: { x: 192, y: 144, width: 384, height: 288 }, hflip: true });
      assert.deepEqual(config.models, {
        person: { handler: 'person', threads: 1, modelId: 'person', timeoutMs: 5000, restart: { initialMs: 1000, maxMs: 30_000 } },
      });
      for (const camera of [street!, mirror!]) {
        assert.equal(camera.capture.loop, true);
        assert.deepEqual(
          camera.workers.map((w) => ('model' in w ? `model:${w.model}` : 'module' in w ? w.module : 'command')),
          ['model:person', 'builtin:motion'],
        );
      }
    });
  });

  describe('the JSON Schema', () => {
    it('is draft-07 with $schema and $id, compiles strictly, accepts the example file and refuses unknown keys', () => {
      assert.equal(configSchema.$schema, 'http://json-schema.org/draft-07/schema#');
      assert.equal(configSchema.$id, 'https://framesupplier.dev/schemas/config.json');
      const validate = new Ajv({ strict: true, allowUnionTypes: true }).compile(configSchema);
      assert.ok(validate(parseYaml(readFileSync(BUILT_IN_EXAMPLE_PATH, 'utf8'))), JSON.stringify(validate.errors));
      assert.ok(!validate({ cameras: {}, bogus: 1 }));
      assert.ok(validate({ cameras: {}, 'x-anchors': { anything: [1] } }));
    });

    it('describes every key, so editors show help; defaults are in it', () => {
      const undescribed: string[] = [];
      const walk = (schema: Record<string, unknown>, path: string): void => {
        for (const [key, property] of Object.entries((schema.properties ?? {}) as Record<string, Record<string, unknown>>)) {
          if (typeof property.description !== 'string' || property.description.length < 10) undescribed.push(`${path}.${key}`);
          walk(property, `${path}.${key}`);
        }
        for (const sub of Object.values((schema.patternProperties ?? {}) as Record<string, Record<string, unknown>>)) walk(sub, `${path}.*`);
        if (schema.items !== undefined) walk(schema.items as Record<string, unknown>, `${path}[]`);
        for (const [i, branch] of ((schema.anyOf ?? []) as Record<string, unknown>[]).entries()) walk(branch, `${path}|${i}`);
      };
      walk(configSchema, '');
      assert.deepEqual(undescribed, []);
      const capture = (configSchema.properties as { defaults: { properties: { capture: { properties: Record<string, { default?: unknown }> } } } }).defaults
        .properties.capture.properties;
      assert.equal(capture.stallTimeoutMs!.default, 10_000);
      assert.equal(capture.decoder!.default, 'auto');
    });
  });

  describe('a camera added at run time (resolveCamera)', () => {
    const config = parse(`
defaults:
  capture: { output: { width: 640, fps: 5 }, stallTimeoutMs: 7000 }
  workers: { criticality: high }
models:
  person: { handler: mock }
cameras:
  a: { source: /srv/a.mp4, workers: [] }
`);

    it("gets the file's defaults per value, like a camera of the file", () => {
      const camera = resolveCamera('b', { source: '/srv/b.mp4', capture: { output: { fps: 2 } }, workers: [{ id: 'people', model: 'person' }] }, config);
      assert.deepEqual([camera.capture.output.width, camera.capture.output.fps, camera.capture.stallTimeoutMs], [640, 2, 7000]);
      assert.equal(camera.workers[0]!.criticality, 'high');
      assert.deepEqual(
        camera,
        parse(`
defaults:
  capture: { output: { width: 640, fps: 5 }, stallTimeoutMs: 7000 }
  workers: { criticality: high }
models:
  person: { handler: mock }
cameras:
  b: { source: /srv/b.mp4, capture: { output: { fps: 2 } }, workers: [{ id: people, model: person }] }
`).cameras.b,
      );
    });

    it('is checked by the same schema: every issue at once, with its path under cameras.<id>, and a suggestion', () => {
      assert.throws(
        () => resolveCamera('b', { source: '/srv/b.mp4', captur: {}, workers: [{ id: 'people', model: 'yolo', criticality: 'best-efort' }] }, config),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.code, 'ERR_CONFIG');
          assert.deepEqual(error.issues.map((i) => i.path).sort(), ['cameras.b.captur', 'cameras.b.workers[0].criticality', 'cameras.b.workers[0].model']);
          assert.match(error.message, /did you mean 'capture'/);
          return true;
        },
      );
      assert.throws(() => resolveCamera('not ok!', { source: '/srv/b.mp4', workers: [] }, config), ConfigError);
      assert.throws(() => resolveCamera('b', 'rtsp://x', config), ConfigError);
    });
  });
});
