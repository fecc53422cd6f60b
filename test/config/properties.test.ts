/**
 * Properties of the loader: no text and no value makes it throw anything but
 * ConfigError; what it accepts is a config of the resolved schema; inheritance
 * is per value; env escapes round-trip; masking never lets a password through.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError, configSchema, maskConfig, maskString, parseConfig, type Config } from '../../src/config/index.js';
import { escapeLiterals, substituteString } from '../../src/config/env.js';
import { ConfigSchema } from '../../src/config/schema.js';

const validateResolved = new Ajv({ allErrors: true, strict: false }).compile(ConfigSchema);
const ENV = { X: 'x', PW: 'p@ss word', EMPTY: '' };

/** Parses; the only acceptable outcomes are a resolved config or a ConfigError with well-formed issues. */
function load(text: string): Config | ConfigError {
  try {
    const config = parseConfig(text, { env: ENV, baseDir: '/cfg', fileName: 'prop.yaml' });
    assert.ok(validateResolved(config), `accepted, so of the resolved schema: ${JSON.stringify(validateResolved.errors)}`);
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw new Error(`not a ConfigError for ${JSON.stringify(text)}`, { cause: error });
    assert.ok(error.issues.length > 0);
    const lines = text.split(/\r\n|\r|\n/).length;
    for (const issue of error.issues) {
      assert.equal(typeof issue.path, 'string');
      assert.ok(issue.message.length > 0);
      if (issue.line !== undefined) assert.ok(issue.line >= 1 && issue.line <= lines + 1, `line ${issue.line} of ${lines}`);
    }
    return error;
  }
}

/** Every key the schema knows, and a few near misses, for generated configs that get deep. */
function schemaKeys(): string[] {
  const keys = new Set<string>();
  const walk = (schema: unknown): void => {
    if (schema === null || typeof schema !== 'object') return;
    const s = schema as Record<string, unknown>;
    for (const key of Object.keys(s.properties ?? {})) keys.add(key);
    for (const value of Object.values(s)) walk(value);
  };
  walk(configSchema);
  return [...keys];
}
const KEYS = [...schemaKeys(), 'cam', 'entrance', 'm', 'w', 'criticalty', '__proto__', 'constructor', 'x-a', '<<'];

const scalar = fc.oneof(
  fc.constantFrom(
    'rtsp://u:${PW}@h/s',
    'x.mp4',
    'builtin:motion',
    'mock',
    'person',
    'onnx',
    'high',
    'critical',
    'rgb24',
    'jpeg',
    '${X}',
    '$${',
    '${UNSET}',
    'lavfi:testsrc',
    '',
    'm',
    'cam',
  ),
  fc.integer({ min: -5, max: 40_000 }),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 8 }),
);
const { value: configish } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 5 }),
  ),
}));

const TOKENS = [
  'cameras:',
  'models:',
  'defaults:',
  'shared:',
  'version: 1',
  '  a:',
  '  m: { handler: mock }',
  '    source: x.mp4',
  '    source: "rtsp://u:${PW}@h/s"',
  '    workers:',
  '      - id: w',
  '        model: m',
  '        module: builtin:motion',
  '        command: [a, b]',
  '  capture: { output: { fps: 5 } }',
  '  s: { module: x.js, cameras: [a] }',
  '- ',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  ': ',
  '&a ',
  '*a',
  '<<: *a',
  '!!binary ',
  '!!set ',
  '!!str ',
  '!foo ',
  '? ',
  '~',
  'null',
  '"',
  "'",
  '# c',
  '---',
  '...',
  '${X}',
  '$${',
  '${',
  '|',
  '>',
  '\t',
  '  ',
  '\n',
  '\r\n',
  '%YAML 1.2',
  '__proto__:',
  '\u00e9',
  '\uFEFF',
];
const yamlish = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((tokens) => tokens.join(''));

describe('config loader properties', { timeout: 120_000 }, () => {
  it('arbitrary text never makes it throw anything but ConfigError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => void load(text)),
      { numRuns: 300 },
    );
  });

  it('YAML-ish token soup never makes it throw anything but ConfigError', () => {
    fc.assert(
      fc.property(yamlish, (text) => void load(text)),
      { numRuns: 500 },
    );
  });

  it('arbitrary JSON values, as YAML, never make it throw anything but ConfigError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => void load(stringify(value))),
      { numRuns: 200 },
    );
  });

  it('config-shaped values (known keys, plausible and wrong values) are accepted into the resolved schema or refused with ConfigError', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...KEYS), configish, { maxKeys: 6 }), (value) => void load(stringify(value))),
      { numRuns: 400 },
    );
  });

  it("defaults are inherited per value: each output key is the camera's, else the defaults', else the built-in", () => {
    const output = fc.record(
      {
        format: fc.constantFrom('rgb24', 'bgr24', 'gray', 'nv12', 'jpeg'),
        width: fc.option(fc.integer({ min: 1, max: 4000 })),
        height: fc.option(fc.integer({ min: 1, max: 4000 })),
        fps: fc.option(fc.integer({ min: 1, max: 60 })),
        hflip: fc.boolean(),
        jpegQuality: fc.option(fc.integer({ min: 2, max: 31 })),
        crop: fc.option(fc.record({ x: fc.nat(100), y: fc.nat(100), width: fc.integer({ min: 1, max: 100 }), height: fc.integer({ min: 1, max: 100 }) })),
      },
      { requiredKeys: [] },
    );
    const builtIn: Record<string, unknown> = { format: 'rgb24', hflip: false };
    fc.assert(
      fc.property(output, output, (defaults, own) => {
        const text = stringify({ defaults: { capture: { output: defaults } }, cameras: { cam: { source: 'rtsp://h/s', capture: { output: own } } } });
        const config = load(text);
        assert.ok(!(config instanceof ConfigError), config instanceof ConfigError ? config.message : '');
        const resolved = config.cameras.cam!.capture.output as Record<string, unknown>;
        for (const key of ['format', 'width', 'height', 'fps', 'hflip', 'jpegQuality', 'crop']) {
          // ~ (null) unsets: it stops inheritance and leaves the key absent.
          const layer = [own, defaults].find((l) => Object.hasOwn(l, key)) as Record<string, unknown> | undefined;
          const expected = layer === undefined ? builtIn[key] : (layer[key] ?? undefined);
          // (fast-check's records have no prototype; the resolved config's maps do.)
          assert.deepEqual(resolved[key], expected === undefined ? undefined : structuredClone(expected), key);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('$${ escapes round-trip: any string, escaped (escapeLiterals: what the API shows), substitutes back to itself', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40, unit: fc.constantFrom('$', '{', '}', 'a', 'X', '_', '1') }), (text) => {
        const { value, problems } = substituteString(escapeLiterals(text), {});
        assert.deepEqual(problems, []);
        assert.equal(value, text);
      }),
      { numRuns: 500 },
    );
  });

  it('masking never lets a URL password through, whatever its characters', () => {
    const password = fc
      .string({ minLength: 1, maxLength: 20, unit: 'grapheme-ascii' })
      .filter((p) => !/\s/.test(p))
      .map((p) => `Zq9${p}`);
    fc.assert(
      fc.property(password, fc.constantFrom('rtsp', 'rtsps', 'http', 'https'), fc.constantFrom('', 'viewer', 'a.b-c'), (secret, scheme, user) => {
        const url = `${scheme}://${user}:${secret}@10.0.0.12:554/stream1`;
        const masked = maskString(url);
        assert.ok(!masked.includes(secret), `${url} → ${masked}`);
        assert.ok(masked.startsWith(`${scheme}://${user}:***@`), masked);
        const config = maskConfig({ cameras: { a: { source: url, workers: [{ env: { SOME_SECRET: secret } }] } } });
        assert.ok(!JSON.stringify(config).includes(secret));
      }),
      { numRuns: 300 },
    );
  });
});
