/**
 * One lifecycle contract (ADR 0013), read from the sources: every owner of a
 * process, socket, timer or thread, listed in the ADR's table, has start(),
 * close() and [Symbol.asyncDispose]; its constructor starts nothing (no
 * timer, socket, process or thread before start()); and no class in src/ has
 * a stop() beside its close(). Idempotence itself is checked on real objects
 * here for the owners that need no outside world, and by each part's tests
 * for the rest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { parseTs, readRepoFile, repoFiles } from '../helpers/repo.js';
import { RestartLoop } from '../../src/internal/restart-loop.js';
import { Backoff } from '../../src/internal/backoff.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { WorkerSupervisor } from '../../src/workers/index.js';

/** The ADR's table: owner → module. */
function owners(): Map<string, string> {
  const adr = readRepoFile('docs/adr/0013-one-lifecycle-contract.md');
  const table = adr.slice(adr.indexOf('## The owners'));
  const out = new Map<string, string>();
  for (const match of table.matchAll(/^\| (\w+) \| (src\/[\w/.-]+\.ts) \|$/gm)) out.set(match[1]!, match[2]!);
  return out;
}

function classIn(path: string, name: string): ts.ClassDeclaration | undefined {
  let found: ts.ClassDeclaration | undefined;
  const visit = (node: ts.Node): void => {
    if (ts.isClassDeclaration(node) && node.name?.text === name) found = node;
    ts.forEachChild(node, visit);
  };
  visit(parseTs(path));
  return found;
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

describe('the lifecycle contract', { timeout: 60_000 }, () => {
  const table = owners();

  it('the ADR lists the owners', () => {
    assert.ok(table.size >= 15, `found ${table.size} owners in ADR 0013's table`);
  });

  it('every owner has start(), close() and [Symbol.asyncDispose], and its constructor starts nothing', () => {
    const problems: string[] = [];
    for (const [name, path] of table) {
      const cls = classIn(path, name);
      if (cls === undefined) {
        problems.push(`${name}: no class in ${path} (update ADR 0013's table)`);
        continue;
      }
      const members = new Set(cls.members.map(memberName));
      for (const needed of ['start', 'close', 'Symbol.asyncDispose']) if (!members.has(needed)) problems.push(`${path}: ${name} has no ${needed}`);
      const ctor = cls.members.find(ts.isConstructorDeclaration);
      const body = ctor?.body?.getText() ?? '';
      // Callbacks the constructor hands on (launch: () => …) run later, from start(): only direct calls count.
      const direct = body.replace(/=>\s*\{[\s\S]*?\n\s*\}/g, '').replace(/=>[^\n;]*/g, '');
      const started = STARTS.exec(direct);
      if (started !== null) problems.push(`${path}: ${name}'s constructor calls ${started[0].trim()}`);
    }
    assert.deepEqual(problems, []);
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
});
