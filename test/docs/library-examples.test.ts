/**
 * The library's examples are code that runs: every block of docs/library.md
 * marked `<!-- runs: test/docs/library-examples.test.ts -->` is type-checked
 * as a user's file would be (strict, NodeNext, importing `framesupplier/…`
 * through the package's own exports), then run with node against the sample
 * clip. A renamed method or a missing export fails here, not in a user's build.
 * The package's exports are checked too: every public folder of src/ has one (what the root offers of them is
 * test/conventions/public-surface.test.ts's).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import ts from 'typescript';
import { REPO_ROOT, readRepoFile } from '../helpers/repo.js';
import { vtest } from '../pipeline/helpers.js';

const MARK = '<!-- runs: test/docs/library-examples.test.ts';

function markedBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  for (const match of markdown.matchAll(/^<!-- runs: test\/docs\/library-examples\.test\.ts[^\n]*-->\n```ts\n([\s\S]*?)\n```$/gm)) blocks.push(match[1]!);
  return blocks;
}

function run(file: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { env, stdio: ['ignore', 'pipe', 'pipe'], signal: AbortSignal.timeout(timeoutMs) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('docs/library.md examples', { timeout: 240_000 }, () => {
  const markdown = readRepoFile('docs/library.md');
  const blocks = markedBlocks(markdown);
  // Inside the package, so `framesupplier/…` resolves through package.json's exports (self-reference).
  const dir = join(REPO_ROOT, 'dist', 'doc-examples');
  const state = mkdtempSync(join(tmpdir(), 'framesupplier-doc-examples-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });

  it('every marked block is found (a mark without its block is a mistake)', () => {
    assert.equal(blocks.length, markdown.split(MARK).length - 1);
    assert.ok(blocks.length >= 2, 'the createApp and VisionSystem examples');
  });

  it('they type-check as a user program, strict, against the package exports', () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = blocks.map((code, i) => {
      const file = join(dir, `example-${i}.ts`);
      writeFileSync(file, code);
      return file;
    });
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      typeRoots: [join(REPO_ROOT, 'node_modules', '@types')],
      strict: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      rootDir: dir,
      outDir: dir,
    });
    const diagnostics = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics];
    const text = diagnostics.map((d) => {
      const where = d.file === undefined ? '' : `${d.file.fileName.slice(dir.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: `;
      return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
    });
    assert.deepEqual(text, []);
  });

  it('they run to the end on the sample clip', async () => {
    const env = { ...process.env, CAMERA: vtest(), FRAMESUPPLIER_STATE_DIR: state, NO_COLOR: '1' };
    for (const [i] of blocks.entries()) {
      const file = join(dir, `example-${i}.js`);
      assert.ok(existsSync(file), `${file} was emitted (the type-check test runs first)`);
      const { code, stdout, stderr } = await run(file, env, 90_000);
      assert.equal(code, 0, `example ${i} exited ${code}:\n${stdout}\n${stderr}`);
      if (blocks[i]!.includes('new VisionSystem')) {
        assert.match(stdout, /camera street: streaming/);
        assert.equal(stdout.match(/^street\/motion frame \d+, -?\d+ ms after capture$/gm)?.length, 10, stdout);
        assert.match(stdout, /^motion: \d+ results, \d+ frames delivered$/m);
        assert.match(stdout, /^cameras: street, yard$/m);
        assert.match(stdout, /^yard's workers: motion \(module\)$/m);
        assert.match(stdout, /^street's zones: 0, objects alive: 0$/m);
        assert.match(stdout, /^config shown: /m);
        assert.doesNotMatch(stderr, /DeprecationWarning/, 'the examples use no deprecated call');
      }
      if (blocks[i]!.includes('createApp(')) {
        assert.match(stdout, /^dashboard: http:\/\/127\.0\.0\.1:\d+\/$/m);
        assert.match(stdout, /^readyz: 200$/m);
      }
    }
  });
});

describe('package.json exports', { timeout: 30_000 }, () => {
  it('every public folder of src/ (one with an index.ts) has an export of its public.ts, with its types', () => {
    const pkg = JSON.parse(readRepoFile('package.json')) as { exports: Record<string, { types: string; default: string }> };
    const folders = readdirSync(join(REPO_ROOT, 'src'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(REPO_ROOT, 'src', d.name, 'index.ts')))
      .map((d) => d.name)
      // internal/ is the ground floor, not a public part; cli/ is the program, reached through bin.
      .filter((name) => name !== 'internal' && name !== 'cli');
    const missing = folders.filter((name) => {
      const entry = pkg.exports[`./${name}`];
      return entry?.types !== `./dist/src/${name}/public.d.ts` || entry.default !== `./dist/src/${name}/public.js`;
    });
    assert.deepEqual(missing, []);
    for (const entry of Object.values(pkg.exports)) {
      assert.ok(existsSync(join(REPO_ROOT, entry.default)), `${entry.default} is built`);
      assert.ok(existsSync(join(REPO_ROOT, entry.types)), `${entry.types} is built`);
    }
  });
});
