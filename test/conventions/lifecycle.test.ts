/**
 * One lifecycle contract (ADR 0013), read from the sources: every class in
 * src/ with a start() is an owner, found by reading the sources (not from a
 * list someone must remember to update), and each is in the ADR's table
 * under the module it is in, and each row of the table is such a class (the
 * table is checked both ways). Every owner has start(), close() and
 * [Symbol.asyncDispose]; its start() has a guard, so a second call starts
 * nothing twice; its constructor starts nothing (no timer, socket, process
 * or thread before start()); and no class in src/ has a stop() beside its
 * close(). A planted class with a start() and no guard, beside the real
 * sources, must be reported both unlisted and unguarded. Idempotence itself
 * is then checked on real objects here for the owners this test can make
 * (the cluster node with a real nats-server), and by each part's tests for
 * the rest.
 *
 * The guard check fails on a planted violation: the planted sources below
 * (an unguarded start, one guarded only against close, and ClusterNode's
 * start() as it was before ADR 0038) must each be found unguarded, and were
 * checked by hand too: removing the `??=` from ClusterNode.start() (or the
 * early return from Fencing.start()) in src/ makes "every owner's start()
 * has a guard" fail, naming that owner.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, mock } from 'node:test';
import ts from 'typescript';
import { parseTs, readRepoFile, repoFiles, where } from '../helpers/repo.js';
import { eventuallyAsync, freePort, lineFrom } from '../helpers/process.js';
import { resolvedConfig } from '../pipeline/helpers.js';
import { RestartLoop } from '../../src/internal/restart-loop.js';
import { Backoff } from '../../src/internal/backoff.js';
import { createLogger } from '../../src/internal/logger.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { NOT_PRIVATE } from '../../src/pictures/index.js';
import { WorkerSupervisor } from '../../src/workers/index.js';
import { EventStore } from '../../src/objects/index.js';
import { CareWatch, CropFeed, FreshnessWatch, ObjectTracking, VisionSystem } from '../../src/pipeline/index.js';
import { spawnManaged } from '../../src/process/index.js';
import { ClusterNode } from '../../src/cluster/index.js';
import { Bus, Refusals } from '../../src/cluster/context.js';
import { Fencing } from '../../src/cluster/fencing.js';
import { Holdings } from '../../src/cluster/holdings.js';

/** The ADR's table: owner → module. */
function owners(): Map<string, string> {
  const adr = readRepoFile('docs/adr/0013-one-lifecycle-contract.md');
  const table = adr.slice(adr.indexOf('## The owners'));
  const out = new Map<string, string>();
  for (const match of table.matchAll(/^\| (\w+) \| (src\/[\w/.-]+\.ts) \|$/gm)) out.set(match[1]!, match[2]!);
  return out;
}

/** A class of a source file with a member named start (method, property or accessor): an owner (ADR 0013). */
interface Owner {
  readonly name: string;
  readonly path: string;
  readonly cls: ts.ClassLikeDeclaration;
}

/** Every class in the files (path → text) that has a start(), in nested scopes and class expressions too. */
function ownersIn(files: ReadonlyMap<string, string>): Owner[] {
  const out: Owner[] = [];
  for (const [path, text] of files) {
    const visit = (node: ts.Node): void => {
      if (ts.isClassLike(node) && node.members.some((m) => memberName(m) === 'start'))
        out.push({ name: node.name?.text ?? `(an anonymous class at ${where(node)})`, path, cls: node });
      ts.forEachChild(node, visit);
    };
    visit(parseTs(path, text));
  }
  return out;
}

/** The sources of src/, path → text. */
const sources = (): Map<string, string> =>
  new Map(
    repoFiles('src', ['.ts'])
      .filter((f) => !f.endsWith('.d.ts'))
      .map((f) => [f, readRepoFile(f)]),
  );

/**
 * What breaks the contract among the owners found in `files`, against the ADR's table: an owner not in the table (or
 * under another module), a row naming no owner, a missing start()/close()/[Symbol.asyncDispose], a constructor that
 * starts something, a start() with no guard against a second call.
 */
function contractProblems(files: ReadonlyMap<string, string>, table: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const found = ownersIn(files);
  for (const { name, path, cls } of found) {
    const listed = table.get(name);
    if (listed !== path)
      problems.push(
        listed === undefined
          ? `${path}: ${name} has a start() and is not in ADR 0013's table of owners (add it: | ${name} | ${path} |)`
          : `${path}: ${name} is listed under ${listed} in ADR 0013's table`,
      );
    const members = new Set(cls.members.map(memberName));
    for (const needed of ['start', 'close', 'Symbol.asyncDispose']) if (!members.has(needed)) problems.push(`${path}: ${name} has no ${needed}`);
    const ctor = cls.members.find(ts.isConstructorDeclaration);
    const body = ctor?.body?.getText() ?? '';
    // Callbacks the constructor hands on (launch: () => …) run later, from start(): only direct calls count.
    const direct = body.replace(/=>\s*\{[\s\S]*?\n\s*\}/g, '').replace(/=>[^\n;]*/g, '');
    const started = STARTS.exec(direct);
    if (started !== null) problems.push(`${path}: ${name}'s constructor calls ${started[0].trim()}`);
    if (startGuard(startOf(cls)) === null) problems.push(`${path}: ${name}.start() has no guard against a second call`);
  }
  for (const [name, path] of table)
    if (!found.some((o) => o.name === name && o.path === path)) problems.push(`ADR 0013's table lists ${name} in ${path}: no class there has a start()`);
  return problems;
}

const memberName = (m: ts.ClassElement): string | null => {
  if (m.name === undefined) return null;
  if (ts.isIdentifier(m.name) || ts.isPrivateIdentifier(m.name)) return m.name.text;
  if (ts.isComputedPropertyName(m.name)) return m.name.expression.getText();
  return null;
};

/** Calls that start something: a timer, a socket, a server, a process, a thread. */
const STARTS =
  /\b(setTimeout|setInterval|setImmediate|createServer|createConnection|connect|listen|spawn|spawnManaged|fork|execFile)\s*\(|new\s+(Worker|Socket)\s*\(/;

/** Whether `node` (not counting the functions inside it, which run later) contains something `test` accepts. */
function containsDirect(node: ts.Node, test: (n: ts.Node) => boolean): boolean {
  if (test(node)) return true;
  if (ts.isFunctionLike(node)) return false;
  return ts.forEachChild(node, (child) => containsDirect(child, test) || undefined) ?? false;
}

const readsThis = (node: ts.Node): boolean => containsDirect(node, (n) => n.kind === ts.SyntaxKind.ThisKeyword);

/** `this.x ??= …`: the same start (promise, connection) for every call. */
const isMemo = (n: ts.Node): boolean =>
  ts.isBinaryExpression(n) &&
  n.operatorToken.kind === ts.SyntaxKind.QuestionQuestionEqualsToken &&
  ts.isPropertyAccessExpression(n.left) &&
  n.left.expression.kind === ts.SyntaxKind.ThisKeyword;

/** `throw …` or `return Promise.reject(…)`: a refusal (after close(), bad options), not a guard against a second start. */
function isRefusal(statement: ts.Statement): boolean {
  const only = ts.isBlock(statement) && statement.statements.length === 1 ? statement.statements[0]! : statement;
  if (ts.isThrowStatement(only)) return true;
  return ts.isReturnStatement(only) && only.expression !== undefined && /^Promise\.reject\(/.test(only.expression.getText());
}

/** `return …` (not a refusal), alone or ending a block. */
function isPlainReturn(statement: ts.Statement): boolean {
  const last = ts.isBlock(statement) ? statement.statements.at(-1) : statement;
  return last !== undefined && ts.isReturnStatement(last) && !isRefusal(last);
}

/** A statement that changes nothing a second time: `this.x = <literal>`, or `return`. */
function isRepeatable(statement: ts.Statement): boolean {
  if (ts.isReturnStatement(statement)) return true;
  if (!ts.isExpressionStatement(statement) || !ts.isBinaryExpression(statement.expression)) return false;
  const { left, operatorToken, right } = statement.expression;
  return (
    operatorToken.kind === ts.SyntaxKind.EqualsToken &&
    ts.isPropertyAccessExpression(left) &&
    left.expression.kind === ts.SyntaxKind.ThisKeyword &&
    (ts.isLiteralExpression(right) || right.kind === ts.SyntaxKind.TrueKeyword || right.kind === ts.SyntaxKind.FalseKeyword)
  );
}

/** `this.part.start()`: a start that hands on to an owned part's own (checked) start(). */
const isDelegation = (statement: ts.Statement): boolean =>
  ts.isExpressionStatement(statement) && /^this\.#?\w+\.start\(\)$/.test(statement.expression.getText());

/**
 * How a start() keeps a second call from starting anything again, or null if it does not: a memo (`this.#starting ??=`), an
 * early return on its state (`if (this.#started) return this`, after any refusals), everything it does under a condition on
 * its state, nothing that a second call would change (constants into its fields), or only a part's own start().
 */
function startGuard(start: ts.ClassElement | undefined): string | null {
  if (start === undefined || !ts.isMethodDeclaration(start) || start.body === undefined) return null;
  const statements = start.body.statements;
  if (statements.some((s) => containsDirect(s, isMemo))) return 'memo';
  const effects = statements.filter((s) => !(ts.isIfStatement(s) && s.elseStatement === undefined && isRefusal(s.thenStatement)));
  const first = effects[0];
  if (first !== undefined && ts.isIfStatement(first) && first.elseStatement === undefined && readsThis(first.expression) && isPlainReturn(first.thenStatement))
    return 'early return';
  const acting = effects.filter((s) => !ts.isReturnStatement(s));
  if (acting.length > 0 && acting.every((s) => ts.isIfStatement(s) && s.elseStatement === undefined && readsThis(s.expression))) return 'conditional';
  if (effects.every(isRepeatable)) return 'nothing to repeat';
  if (acting.length === 1 && isDelegation(acting[0]!)) return 'delegation';
  return null;
}

/** A cluster node's timings, for a room made on its own. */
const CLUSTER_SETTINGS = {
  capacity: 1,
  leaseMs: 2_000,
  tickMs: 500,
  marginMs: 500,
  rejoinGraceMs: 2_000,
  settleMs: 4_000,
  handoffTimeoutMs: 4_000,
  eventsTimeoutMs: 1_000,
};

const startOf = (cls: ts.ClassLikeDeclaration): ts.ClassElement | undefined => cls.members.find((m) => memberName(m) === 'start');

/** Planted violations: each of these start()s must be found unguarded. */
const PLANTED = `
class Unguarded {
  start(): this {
    this.#timer = setInterval(() => this.#tick(), 1000);
    return this;
  }
}
class OnlyRefusesAfterClose {
  start(): this {
    if (this.#closed) throw new Error('closed');
    this.#timer = setInterval(() => this.#tick(), 1000);
    return this;
  }
}
class ReturnsInACallbackOnly {
  start(): this {
    this.#socket = connect(() => {
      if (this.#started) return;
    });
    return this;
  }
}
class ClusterNodeBeforeAdr0038 {
  async start(): Promise<this> {
    let nc: NatsConnection;
    try {
      nc = await connect({ ...this.#connectOptions, name: 'x' });
    } catch (error) {
      throw new ClusterError('ERR_CLUSTER_UNAVAILABLE', 'cannot connect');
    }
    this.#nc = nc;
    this.#connected = true;
    this.#heartbeat = setInterval(() => this.#checkStall(), 100);
    this.#loop = this.#run();
    return this;
  }
}
`;

describe('the lifecycle contract', { timeout: 60_000 }, () => {
  const table = owners();

  it('the ADR lists the owners', () => {
    assert.ok(table.size >= 15, `found ${table.size} owners in ADR 0013's table`);
  });

  it('every class in src/ with a start() is in the table, each row is such a class, and each keeps the contract', () => {
    assert.deepEqual(contractProblems(sources(), table), []);
  });

  it('a planted class with a start() and no guard, beside the real sources, is found unlisted and unguarded', () => {
    const files = sources();
    files.set(
      'src/pipeline/planted-part.ts',
      `export class PlantedPart {
  #timer: NodeJS.Timeout | null = null;
  start(): void {
    this.#timer = setInterval(() => undefined, 1000);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
`,
    );
    assert.deepEqual(contractProblems(files, table), [
      "src/pipeline/planted-part.ts: PlantedPart has a start() and is not in ADR 0013's table of owners (add it: | PlantedPart | src/pipeline/planted-part.ts |)",
      'src/pipeline/planted-part.ts: PlantedPart.start() has no guard against a second call',
    ]);
    // And a row whose class is gone is reported too.
    files.delete('src/pipeline/watches/watch.ts');
    assert.ok(contractProblems(files, table).includes("ADR 0013's table lists TickingWatch in src/pipeline/watches/watch.ts: no class there has a start()"));
  });

  it('the guard check finds the planted violations', () => {
    const planted = parseTs('planted.ts', PLANTED);
    const classes = planted.statements.filter(ts.isClassDeclaration);
    assert.equal(classes.length, 4);
    for (const cls of classes) assert.equal(startGuard(startOf(cls)), null, `${cls.name?.text ?? 'a class'} was taken for guarded`);
  });

  it('no class has a stop() beside close(), but for a deprecated alias of it', () => {
    const problems: string[] = [];
    for (const path of repoFiles('src', ['.ts'])) {
      const visit = (node: ts.Node): void => {
        if (ts.isClassDeclaration(node)) {
          const names = node.members.map(memberName);
          const stop = node.members.find((m) => memberName(m) === 'stop');
          // A renamed method keeps its old name for one minor version (CHANGELOG.md): marked @deprecated, warning, calling close().
          const alias =
            stop !== undefined &&
            /@deprecated/.test(stop.getFullText()) &&
            /warnDeprecated\(/.test(stop.getText()) &&
            /return this\.close\(/.test(stop.getText());
          if (names.includes('stop') && names.includes('close') && !alias)
            problems.push(
              `${path}: ${node.name?.text ?? 'a class'} has stop() and close() (a deprecated alias says @deprecated, warns and returns this.close())`,
            );
        }
        ts.forEachChild(node, visit);
      };
      visit(parseTs(path));
    }
    assert.deepEqual(problems, []);
  });

  it('start() and close() are idempotent, and close() is final (owners that need no outside world)', async () => {
    let launches = 0;
    const loop = new RestartLoop({ delays: new Backoff(), launch: () => launches++ });
    loop.start();
    loop.start();
    assert.equal(launches, 1);
    await loop.close();
    await loop.close();
    loop.start();
    assert.equal(launches, 1, 'no launch after close()');

    const supplier = new FrameSupplier();
    supplier.start();
    supplier.start();
    await supplier.close();
    await supplier.close();
    assert.throws(() => supplier.start());

    const supervisor = new WorkerSupervisor({ supplier: new FrameSupplier().start() });
    supervisor.start();
    supervisor.start();
    await supervisor[Symbol.asyncDispose]();
    await supervisor.close();
    assert.throws(() => supervisor.start(), { code: 'ERR_SUPERVISOR_CLOSED' });
  });
  it('start() is idempotent and close() final on more real owners: object tracking, the freshness watch, the crop feed, the event store, fencing', async () => {
    const dir = mkdtempSync(join(tmpdir(), `framesupplier-lifecycle-${process.pid}-`));
    const intervals = mock.method(globalThis, 'setInterval');
    try {
      const tracking = new ObjectTracking({ camera: () => undefined, emit: () => undefined });
      tracking.start();
      tracking.start();
      assert.equal(intervals.mock.callCount(), 1, 'object tracking: one timer for two starts');
      await tracking.close();
      await tracking.close();
      tracking.start();
      assert.equal(intervals.mock.callCount(), 1, 'object tracking: no timer after close()');

      intervals.mock.resetCalls();
      const care = new CareWatch({ cameras: () => [], modelState: () => undefined, emit: () => undefined });
      care.start();
      care.start();
      assert.equal(intervals.mock.callCount(), 1, 'the care watch: one timer for two starts');
      await care.close();
      await care[Symbol.asyncDispose]();
      care.start();
      assert.equal(intervals.mock.callCount(), 1, 'the care watch: no timer after close() (close() is final)');

      intervals.mock.resetCalls();
      const watch = new FreshnessWatch({ stats: () => ({ cameras: {}, shared: {}, models: {} }), profile: () => undefined, emit: () => undefined });
      watch.start();
      watch.start();
      assert.equal(intervals.mock.callCount(), 1, 'the freshness watch: one timer for two starts');
      await watch.close();
      await watch[Symbol.asyncDispose]();
      watch.start();
      assert.equal(intervals.mock.callCount(), 1, 'the freshness watch: no timer after close() (close() is final)');

      const camera = new FrameSupplier({ streamId: 'lifecycle-camera' }).start();
      const crops = new CropFeed({
        camera: 'c',
        worker: 'w',
        settings: { of: 'people', margin: 0, size: 64 },
        source: camera,
        scene: null,
        privacy: NOT_PRIVATE,
      });
      crops.start();
      crops.start();
      const closing = crops.close();
      assert.equal(crops.close(), closing, 'the crop feed: every close() gets the same promise');
      await closing;
      await crops[Symbol.asyncDispose]();
      crops.start();
      assert.equal(crops.supplier.state, 'stopped', 'the crop feed: nothing started again after close()');
      await camera.close();

      intervals.mock.resetCalls();
      const store = new EventStore({ database: join(dir, 'events.db') });
      const starting = store.start();
      assert.equal(store.start(), starting, 'the event store: one start for two calls');
      await starting;
      assert.equal(intervals.mock.callCount(), 1);
      await store.close();
      await store.close();
      await assert.rejects(store.start(), { code: 'ERR_EVENT_STORE' });

      intervals.mock.resetCalls();
      const log = createLogger({ level: 'silent' });
      const system = new VisionSystem({ config: resolvedConfig({ cameras: {} }), logger: log });
      const ctx = { nodeId: 'n', settings: CLUSTER_SETTINGS, log, system, bus: new Bus('n'), refusals: new Refusals(log) };
      const fencing = new Fencing(ctx, new Holdings(ctx), () => undefined);
      assert.equal(fencing.start(), fencing);
      assert.equal(fencing.start(), fencing);
      assert.equal(intervals.mock.callCount(), 1, 'fencing: one heartbeat for two starts');
      await fencing[Symbol.asyncDispose]();
      fencing.close();
      assert.throws(() => fencing.start(), { code: 'ERR_CLUSTER_CLOSED' });
      await system.close();
    } finally {
      intervals.mock.restore();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ClusterNode: two starts are one start (one NATS connection), close() is idempotent and final (a real nats-server)', async () => {
    const dir = mkdtempSync(join(tmpdir(), `framesupplier-lifecycle-nats-${process.pid}-`));
    const [port, monitor] = [await freePort(), await freePort()];
    const nats = spawnManaged('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-sd', join(dir, 'nats')]);
    const log = createLogger({ level: 'silent' });
    const system = new VisionSystem({ config: resolvedConfig({ cameras: {} }), logger: log });
    try {
      await lineFrom(nats, /Server is ready/);
      const connections = async (): Promise<number> =>
        ((await (await fetch(`http://127.0.0.1:${monitor}/connz`)).json()) as { num_connections: number }).num_connections;
      const node = new ClusterNode({ servers: [`nats://127.0.0.1:${port}`], system, log, nodeId: 'lifecycle', leaseMs: 2_000 });
      const starting = node.start();
      assert.equal(node.start(), starting, 'every start() gets the same promise');
      assert.equal(await starting, node);
      assert.equal(await connections(), 1, 'one NATS connection for two starts');
      const closing = node.close();
      assert.equal(node.close(), closing, 'every close() gets the same promise');
      await closing;
      await node[Symbol.asyncDispose]();
      await assert.rejects(node.start(), { code: 'ERR_CLUSTER_CLOSED' });
      // The server sees the socket close after the client does: asked until it has.
      await eventuallyAsync(async () => (await connections()) === 0, "the node's connection gone from the server");
    } finally {
      await system.close();
      await nats.stop(5_000);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
