/**
 * The system's watches (ADR 0180): every watch of src/pipeline/watches/ has its row in buildWatches (read from the
 * subfolder's sources: each class that implements Watch or extends a class of the subfolder that does, abstract ones aside),
 * the rows are in the order a result passes them, and SystemCore drives them through that one list: a result
 * passes each watch in order until the output fence withholds it, after which the rest hear it as withheld and the
 * event stream never sees it; a run-time change reaches them in the same order before its event goes out; a watch
 * that throws is logged and the event goes on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, mock } from 'node:test';
import ts from 'typescript';
import { parseTs, readRepoFile, repoFiles } from '../helpers/repo.js';
import { createLogger } from '../../src/internal/logger.js';
import type { ResultEvent, SystemEvent } from '../../src/pipeline/index.js';
import { SystemCore } from '../../src/pipeline/system/system-core.js';
import { buildWatches, watchesInOrder, type Watch } from '../../src/pipeline/watches/index.js';
import { resolvedConfig } from './helpers.js';

const ROOM = 'src/pipeline/watches';

/** The watch classes of the room's sources (path → text): concrete classes that implement Watch, or extend one that does. */
function watchClasses(files: ReadonlyMap<string, string>): Set<string> {
  const classes = new Map<string, { abstract: boolean; extends: string | null; implementsWatch: boolean }>();
  for (const [path, text] of files) {
    for (const node of parseTs(path, text).statements) {
      if (!ts.isClassDeclaration(node) || node.name === undefined) continue;
      const heritage = node.heritageClauses ?? [];
      const named = (token: ts.SyntaxKind): string[] => heritage.filter((h) => h.token === token).flatMap((h) => h.types.map((t) => t.expression.getText()));
      classes.set(node.name.text, {
        abstract: node.modifiers?.some((m) => m.kind === ts.SyntaxKind.AbstractKeyword) ?? false,
        extends: named(ts.SyntaxKind.ExtendsKeyword)[0] ?? null,
        implementsWatch: named(ts.SyntaxKind.ImplementsKeyword).includes('Watch'),
      });
    }
  }
  const isWatch = (name: string | null, seen = new Set<string>()): boolean => {
    const c = name === null ? undefined : classes.get(name);
    if (c === undefined || seen.has(name!)) return false;
    seen.add(name!);
    return c.implementsWatch || isWatch(c.extends, seen);
  };
  return new Set([...classes].filter(([name, c]) => !c.abstract && isWatch(name)).map(([name]) => name));
}

const roomSources = (): Map<string, string> => new Map(repoFiles(ROOM, ['.ts']).map((f) => [f, readRepoFile(f)]));

/** The watches as the system builds them, over a system with nothing in it. */
function built(): ReturnType<typeof buildWatches> {
  return buildWatches({
    config: resolvedConfig({ cameras: {} }),
    log: createLogger({ level: 'silent' }),
    cameras: () => new Map(),
    models: () => new Map(),
    cameraConfig: () => undefined,
    profileOf: () => undefined,
    stats: () => ({ cameras: {}, shared: {}, models: {} }),
    publish: () => undefined,
    emit: () => undefined,
  });
}

describe('the system watches', { timeout: 30_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `framesupplier-watches-${process.pid}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('every watch class of the room has a row in buildWatches, and every row is one of them', () => {
    const found = watchClasses(roomSources());
    const rows = new Set(Object.values(built()).map((w) => w.constructor.name));
    assert.deepEqual([...found].sort(), ['CameraPrivacy', 'CareWatch', 'FallAlerts', 'FreshnessWatch', 'ObjectTracking', 'OutputFence']);
    assert.deepEqual(
      [...found].filter((name) => !rows.has(name)),
      [],
      'a watch of the room without a row in watches.ts',
    );
    assert.deepEqual(
      [...rows].filter((name) => !found.has(name)),
      [],
      'a row that is no watch class of the room',
    );
  });

  it('a watch planted in the room is found, whether it implements Watch or extends a base', () => {
    const files = roomSources();
    files.set(`${ROOM}/planted-a.ts`, "export class PlantedA extends PassiveWatch { readonly closes = 'after-cameras'; }");
    files.set(`${ROOM}/planted-b.ts`, 'export class PlantedB implements Watch { start() {} close() { return Promise.resolve(); } }');
    files.set(`${ROOM}/planted-c.ts`, 'export class PlantedC extends PlantedA {}\nexport abstract class PlantedBase implements Watch {}\nclass NotAWatch {}');
    const found = watchClasses(files);
    for (const name of ['PlantedA', 'PlantedB', 'PlantedC']) assert.ok(found.has(name), name);
    for (const name of ['PlantedBase', 'NotAWatch', 'TickingWatch', 'PassiveWatch']) assert.ok(!found.has(name), name);
  });

  it('the rows are in the order a result passes them: privacy, the gate, tracking, falls, freshness, care', () => {
    assert.deepEqual(
      watchesInOrder(built()).map(([name]) => name),
      ['privacy', 'fence', 'tracking', 'falls', 'freshness', 'care'],
    );
    const closes = Object.fromEntries(watchesInOrder(built()).map(([name, w]) => [name, w.closes]));
    assert.deepEqual(closes, {
      privacy: 'after-cameras',
      fence: 'after-cameras',
      tracking: 'after-cameras',
      falls: 'after-cameras',
      freshness: 'after-cameras',
      care: 'before-cameras',
    });
  });

  describe('SystemCore drives them through the list', () => {
    /** A core with nothing in it, each watch's hearing replaced by a note of who heard what (in `heard`). */
    function rig(): { core: SystemCore; heard: string[]; error: ReturnType<typeof mock.method> } {
      const core = new SystemCore({
        config: resolvedConfig({ cameras: {} }),
        log: createLogger({ level: 'silent' }),
        shmDir: dir,
        runtimeDir: dir,
        drainTimeoutMs: 100,
      });
      const heard: string[] = [];
      for (const [name, watch] of core.watchOrder) {
        for (const method of ['onResult', 'onWithheld', 'onConfigChange'] as const)
          if (watch[method] !== undefined) mock.method(watch as Required<Watch>, method, () => heard.push(`${name}.${method}`));
      }
      core.hub.on('*', (e: SystemEvent) => heard.push(`hub:${e.type}`));
      return { core, heard, error: mock.method(core.log, 'error') };
    }
    const result = (camera: string): ResultEvent =>
      ({ type: 'result', at: 0, camera, worker: 'people', shared: false, captureTime: 0, wallTime: 0, ageMs: 0, output: null }) as unknown as ResultEvent;

    it('a result passes every watch in order, then goes out', () => {
      const { core, heard } = rig();
      core.emit(result('hall'));
      assert.deepEqual(heard, ['privacy.onResult', 'tracking.onResult', 'falls.onResult', 'freshness.onResult', 'care.onResult', 'hub:result']);
    });

    it('a result the fence withholds: privacy noted it before the fence, the care watch hears it withheld, nothing else sees it', () => {
      const { core, heard } = rig();
      core.watches.fence.set((camera) => camera !== 'fenced');
      core.emit(result('fenced'));
      assert.deepEqual(heard, ['privacy.onResult', 'care.onWithheld']);
      assert.equal(core.watches.fence.withheldCount, 1);
    });

    it('a run-time change reaches the watches in the same order before its event goes out', () => {
      const { core, heard } = rig();
      core.changed('camera-removed', 'hall');
      assert.deepEqual(heard, ['privacy.onConfigChange', 'tracking.onConfigChange', 'falls.onConfigChange', 'hub:config-change']);
    });

    it('a watch that throws is logged, and the result goes on to the next watches and out', () => {
      const { core, heard, error } = rig();
      mock.method(core.watches.tracking, 'onResult', () => {
        throw new Error('a bug');
      });
      core.emit(result('hall'));
      assert.deepEqual(heard, ['privacy.onResult', 'falls.onResult', 'freshness.onResult', 'care.onResult', 'hub:result']);
      assert.equal(error.mock.callCount(), 1);
      assert.deepEqual(error.mock.calls[0]!.arguments, [{ event: 'result', watch: 'tracking', err: 'a bug' }, 'a watch threw']);
    });
  });
});
