/**
 * The config's rules live in src/config (ADR 0056): `config check` is the one
 * place a user learns that a config cannot run, with path and line, and the
 * system (and the cluster node, through it) asks src/config
 * (checkRunnableCamera, checkRunnableCluster, …) rather than check on its own.
 * So no file outside src/config makes a config error: no `new
 * ConfigError(…)`, no class extending it, and no error made with a config
 * code given to a constructor, thrown or rejected. A config code is any code
 * that says CONFIG (ERR_CONFIG; ERR_INVALID_CONFIG, the code the pipeline's
 * own checks used to throw; ERR_CLUSTER_CONFIG, which the cluster node threw
 * for its lease, id, capacity and auth settings; ERR_MQTT_CONFIG;
 * ERR_HTTP_SAVE_CONFIG; and any new one). The few that are no rule on the
 * config, only a file read or written at run time, are allowed by name in
 * ALLOWED, each with why; an entry that no longer matches fails too.
 *
 * Read with TypeScript's parser, not a text search; a planted violation of
 * each kind must be found. Looking at a code someone else made (`error.code
 * === 'ERR_CONFIG'`, `instanceof ConfigError`, a status table) is not making
 * one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { parseTs, readRepoFile, repoFiles, where } from '../helpers/repo.js';

/** A code that names the config: ERR_CONFIG, ERR_<PART>_CONFIG, ERR_<A>_<B>_CONFIG… */
const CONFIG_CODE = /^ERR_(?:[A-Z0-9]+_)*CONFIG$/;
const CONFIG_ERROR_CLASS = 'ConfigError';

/**
 * Where a config code may be thrown outside src/config (`file function`): what only running can find, never a
 * rule a file could be checked against.
 */
const ALLOWED: ReadonlyMap<string, string> = new Map([
  // The cluster node reads the files cluster.auth and cluster.tls name when it starts: one may be missing or
  // unreadable then (permissions, a secret not mounted yet) though `config check` saw the same path.
  ['src/cluster/nats-auth.ts readSecretFile', 'a file the cluster section names cannot be read at start'],
  // …or hold no seed or creds: its content is read at start, never by `config check` (it may hold a secret).
  ['src/cluster/nats-auth.ts readSeedFile', 'an nkeySeedFile that holds no seed'],
  ['src/cluster/nats-auth.ts readCredsFile', 'a credsFile that is not a creds file'],
  // The MQTT sink reads mqtt.tls's files when it starts, as the cluster node does.
  ['src/mqtt/broker/connection.ts loadTls', 'a file mqtt.tls names cannot be read at start'],
  // Writing an API change to the config file (--save-config) can fail at run time (a full disk, a file edited into
  // YAML that no longer parses); the change itself stands.
  ['src/http/save-config.ts save', 'the config file cannot be written'],
]);

const isCodeLiteral = (node: ts.Node): boolean => (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && CONFIG_CODE.test(node.text);

/** True when node's subtree makes a config error: `new ConfigError(…)`, or `new X(…)` / a call with a config code among its arguments. */
function makesConfigError(node: ts.Node): boolean {
  let found = false;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === CONFIG_ERROR_CLASS) found = true;
    else if ((ts.isNewExpression(n) || ts.isCallExpression(n)) && (n.arguments ?? []).some(isCodeLiteral)) found = true;
    else ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

/** The name of the nearest named function around node (a declaration, a method, or an arrow or function given to a variable), or `top level`. */
function enclosingFunction(node: ts.Node): string {
  for (let n: ts.Node | undefined = node.parent; n !== undefined; n = n.parent) {
    if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isGetAccessor(n)) && n.name !== undefined) return n.name.getText();
    if (ts.isConstructorDeclaration(n)) return 'constructor';
    if ((ts.isArrowFunction(n) || ts.isFunctionExpression(n)) && ts.isVariableDeclaration(n.parent) && ts.isIdentifier(n.parent.name))
      return n.parent.name.text;
  }
  return 'top level';
}

interface Found {
  /** `file:line what`. */
  readonly what: string;
  /** `file function`, ALLOWED's key. */
  readonly key: string;
}

/** Every place a file makes or throws a config error. */
function configErrorsIn(file: ts.SourceFile): Found[] {
  const out: Found[] = [];
  const add = (node: ts.Node, what: string): void => void out.push({ what: `${where(node)} ${what}`, key: `${file.fileName} ${enclosingFunction(node)}` });
  const visit = (node: ts.Node): void => {
    if (ts.isThrowStatement(node) && makesConfigError(node.expression)) return add(node, 'throws a config error');
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === 'reject' &&
      node.arguments.some((a) => makesConfigError(a))
    )
      return add(node, 'rejects with a config error');
    if (ts.isNewExpression(node) && makesConfigError(node)) return add(node, 'makes a config error');
    if (ts.isClassDeclaration(node) && node.heritageClauses?.some((h) => h.types.some((t) => t.expression.getText() === CONFIG_ERROR_CLASS)))
      add(node, `extends ${CONFIG_ERROR_CLASS}`);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

const planted = (text: string): string[] => configErrorsIn(parseTs('src/pipeline/planted.ts', text)).map((f) => f.what);

describe('config errors are made in src/config only (and what ALLOWED names)', { timeout: 30_000 }, () => {
  it('no file outside src/config makes, throws or rejects with a config error, but for what ALLOWED names', () => {
    const files = repoFiles('src', ['.ts']).filter((path) => !path.endsWith('.d.ts') && !path.startsWith('src/config/'));
    assert.ok(files.length > 100, `the scan reads src/ (${files.length} files)`);
    const found = files.flatMap((path) => configErrorsIn(parseTs(path, readRepoFile(path))));
    assert.deepEqual(
      found.filter((f) => !ALLOWED.has(f.key)).map((f) => f.what),
      [],
      'a config rule outside src/config: move it into the validator (src/config/validate.ts, cascades.ts, cluster.ts, runnable.ts)',
    );
    const used = new Set(found.map((f) => f.key));
    assert.deepEqual(
      [...ALLOWED.keys()].filter((key) => !used.has(key)),
      [],
      'an ALLOWED entry that matches nothing any more: remove it',
    );
  });

  it('finds planted violations of each kind, and lets inspections be', () => {
    assert.deepEqual(planted("if (x) throw new PipelineError('ERR_INVALID_CONFIG', `camera ${id}: two workers have the id ${w}`);"), [
      'src/pipeline/planted.ts:1 throws a config error',
    ]);
    assert.deepEqual(planted("throw new ConfigError('camera', [{ path: 'x', message: 'no' }]);"), ['src/pipeline/planted.ts:1 throws a config error']);
    assert.deepEqual(planted("return Promise.reject(new PipelineError('ERR_CONFIG', 'no such stream'));"), [
      'src/pipeline/planted.ts:1 rejects with a config error',
    ]);
    assert.deepEqual(planted("const e = new ConfigError('f', []);\nthrow e;"), ['src/pipeline/planted.ts:1 makes a config error']);
    assert.deepEqual(planted('throw cond ? other : new ConfigError("f", []);'), ['src/pipeline/planted.ts:1 throws a config error']);
    assert.deepEqual(planted('class CascadeError extends ConfigError {}'), ['src/pipeline/planted.ts:1 extends ConfigError']);
    // Any part's config code: the cluster node's lease rule as it was, a code not seen yet.
    assert.deepEqual(
      planted(
        [
          'if (!(settings.tickMs * 2 < leaseMs))',
          "  throw new ClusterError('ERR_CLUSTER_CONFIG', `cluster tickMs must be under half of leaseMs`);",
          "const bad = (m: string): never => { throw new MqttError('ERR_MQTT_CONFIG', m); };",
          "throw new MotionError('ERR_MOTION_CONFIG', 'no');",
        ].join('\n'),
      ),
      ['src/pipeline/planted.ts:2 throws a config error', 'src/pipeline/planted.ts:3 throws a config error', 'src/pipeline/planted.ts:4 throws a config error'],
    );
    // Allowed by file and function only: the same throw elsewhere in an allowed file is found.
    const cluster = configErrorsIn(
      parseTs(
        'src/cluster/nats-auth.ts',
        [
          "function readSeedFile(path: string) { throw new ClusterError('ERR_CLUSTER_CONFIG', 'no seed'); }",
          "function natsConnectOptions() { throw new ClusterError('ERR_CLUSTER_CONFIG', 'cluster.auth: one method at a time'); }",
        ].join('\n'),
      ),
    );
    assert.deepEqual(
      cluster.map((f) => [f.key, ALLOWED.has(f.key)]),
      [
        ['src/cluster/nats-auth.ts readSeedFile', true],
        ['src/cluster/nats-auth.ts natsConnectOptions', false],
      ],
    );
    assert.deepEqual(
      planted(
        [
          "if (error.code === 'ERR_CONFIG') return 400;",
          'if (!(error instanceof ConfigError)) throw error;',
          "const STATUS = { ERR_CONFIG: 400, 'ERR_INVALID_CONFIG': 400 };",
          "throw new PipelineError('ERR_UNKNOWN_CAMERA', 'no camera');",
          "throw new SummaryError('ERR_SUMMARY_NOT_CONFIGURED', 'no summary section');",
          'checkRunnableCamera(id, config, models);',
        ].join('\n'),
      ),
      [],
    );
  });
});
