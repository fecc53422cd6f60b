/**
 * Private rooms (ADR 0139): a picture leaves the machine only through the pictures folder's makers that hide a
 * private camera's people (encodeFrame, framePicture: they take the camera's Privacy, which the type checker
 * requires; sendableRgb for a cascade's crops), so a new path cannot forget it. This test fails, naming the file,
 * when src/ makes a picture another way:
 * - a file outside src/pictures takes one of the room's pixel or picture makers that this table does not give it,
 *   with why (a model's input on this machine, a re-export for the library, a stored snapshot made already);
 * - sharp (an encoder of its own) is imported anywhere but src/pictures/jpeg.ts;
 * - NOT_PRIVATE (a picture with nothing hidden, for a library's own frames) is named in src/ outside the room: a
 *   camera's picture takes system.cameras.privacy(id), or HIDE_EVERYTHING where the camera is not known.
 * The checker is also run on planted files, so a check that finds nothing is known to look.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { parseTs, readRepoFile, repoFiles } from '../helpers/repo.js';

/** What the room makes pictures or their pixels with. */
const MAKERS = ['encodeFrame', 'framePicture', 'snapshotPicture', 'sendableRgb', 'packedRgb', 'regionRgb', 'rgbOf', 'cutRgb', 'cropRgb'] as const;

/** Who outside the room may take which maker, and why that picture is private enough. */
const ALLOWED: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'src/app/app.ts': { encodeFrame: "tracked objects' snapshots (MQTT, the events store), with the camera's privacy" },
  'src/http/feeds.ts': { encodeFrame: "live views (latest.jpg, MJPEG, the dashboard's socket), with the camera's privacy" },
  'src/http/index.ts': { encodeFrame: 're-exported for the library (it takes a Privacy all the same)' },
  'src/workers/vlm/vlm-image.ts': {
    framePicture: "a vlm worker's pictures, with its camera's privacy",
    snapshotPicture: 'a stored snapshot, made by encodeFrame with its privacy when it was kept',
  },
  'src/pipeline/base/summaries.ts': { snapshotPicture: 'stored snapshots, made by encodeFrame with their privacy when they were kept' },
  'src/pipeline/camera/crop-feed.ts': { sendableRgb: "a cascade's frame with its people hidden", cropRgb: "crops cut from sendableRgb's pixels" },
  'src/pipeline/index.ts': { cropRgb: 're-exported for the library (pixels, no picture of a camera)' },
  'src/pipeline/camera/gate-regions.ts': {
    rgbOf: "a gated model's input on this machine (crops to its model server through shared memory; config refuses regions for a remote model)",
    cutRgb: 'the same crops',
  },
  'src/pipeline/camera/second-look.ts': {
    rgbOf:
      "a fall worker's second look, its model's input on this machine (crops to its model server through shared memory; only for a model server on this machine)",
    cutRgb: 'the same crops',
  },
  'src/models/rgb.ts': { packedRgb: "a model server's own input, on this machine" },
};

interface Source {
  readonly path: string;
  readonly text: string;
}

/** What is wrong in these files, one line each (empty: nothing). */
function problemsOf(files: readonly Source[]): string[] {
  const problems: string[] = [];
  for (const { path, text } of files) {
    if (path.startsWith('src/pictures/')) continue;
    if (/\bNOT_PRIVATE\b/.test(text)) problems.push(`${path}: names NOT_PRIVATE: a camera's picture takes system.cameras.privacy(id) (or HIDE_EVERYTHING)`);
    if (/import\(\s*['"]sharp['"]\s*\)/.test(text)) problems.push(`${path}: imports sharp: pictures are encoded by src/pictures (jpeg.ts) only`);
    const source = parseTs(path, text);
    for (const statement of source.statements) {
      if (!(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) || statement.moduleSpecifier === undefined) continue;
      const from = (statement.moduleSpecifier as ts.StringLiteral).text;
      if (from === 'sharp') problems.push(`${path}: imports sharp: pictures are encoded by src/pictures (jpeg.ts) only`);
      if (!/(^|\/)pictures\/index\.js$/.test(from)) continue;
      for (const name of importedNames(statement)) {
        if (!(MAKERS as readonly string[]).includes(name)) continue;
        if (ALLOWED[path]?.[name] === undefined)
          problems.push(
            `${path}: takes ${name} from the pictures folder: a picture that leaves the machine is made by encodeFrame or framePicture with its camera's privacy (or listed in ALLOWED with why it stays private)`,
          );
      }
    }
  }
  return problems;
}

/** The names an import or export declaration takes (the room's own names, before any `as`). */
function importedNames(statement: ts.ImportDeclaration | ts.ExportDeclaration): string[] {
  if (ts.isImportDeclaration(statement)) {
    const bindings = statement.importClause?.namedBindings;
    if (bindings === undefined) return [];
    if (ts.isNamespaceImport(bindings)) return [...MAKERS]; // everything: none is allowed that way
    return bindings.elements.map((e) => (e.propertyName ?? e.name).text);
  }
  const clause = statement.exportClause;
  if (clause === undefined) return [...MAKERS];
  return ts.isNamedExports(clause) ? clause.elements.map((e) => (e.propertyName ?? e.name).text) : [...MAKERS];
}

describe('pictures leave the machine through the privacy gate', { timeout: 30_000 }, () => {
  it('src/ makes no picture but through the pictures folder, with its camera’s privacy', () => {
    const files = repoFiles('src', ['.ts']).map((path) => ({ path, text: readRepoFile(path) }));
    assert.deepEqual(problemsOf(files), []);
    // sharp in the room: its one encoder.
    const sharpImporters = files.filter((f) => /from 'sharp'|import\('sharp'\)/.test(f.text)).map((f) => f.path);
    assert.deepEqual(sharpImporters, ['src/pictures/jpeg.ts']);
    // Every entry of the table is still used (a stale permission is one more way around).
    for (const [path, names] of Object.entries(ALLOWED)) {
      const text = files.find((f) => f.path === path)?.text ?? '';
      for (const name of Object.keys(names)) assert.match(text, new RegExp(`\\b${name}\\b`), `${path} no longer takes ${name}: drop it from ALLOWED`);
    }
  });

  it('finds a planted bypass of each kind', () => {
    const planted: Source[] = [
      { path: 'src/http/new-route.ts', text: "import { rgbOf } from '../pictures/index.js';\nexport const x = rgbOf;\n" },
      { path: 'src/mqtt/pics.ts', text: "import { encodeFrame as enc } from '../pictures/index.js';\nexport const y = enc;\n" },
      { path: 'src/app/app.ts', text: "import { encodeFrame, framePicture } from '../pictures/index.js';\n" },
      { path: 'src/cluster/thumbs.ts', text: "import sharp from 'sharp';\nexport default sharp;\n" },
      { path: 'src/workers/lazy.ts', text: "export const s = () => import('sharp');\n" },
      { path: 'src/http/open.ts', text: "import { NOT_PRIVATE } from '../pictures/index.js';\nexport const p = NOT_PRIVATE;\n" },
      { path: 'src/pipeline/all.ts', text: "export * from '../pictures/index.js';\n" },
      { path: 'src/pictures/jpeg.ts', text: "import sharp from 'sharp';\nimport { NOT_PRIVATE } from './privacy.js';\n" },
    ];
    const problems = problemsOf(planted);
    for (const path of ['src/http/new-route.ts', 'src/mqtt/pics.ts', 'src/cluster/thumbs.ts', 'src/workers/lazy.ts', 'src/http/open.ts', 'src/pipeline/all.ts'])
      assert.ok(
        problems.some((p) => p.startsWith(`${path}:`)),
        `${path} is found: ${JSON.stringify(problems)}`,
      );
    assert.deepEqual(
      problems.filter((p) => p.startsWith('src/app/app.ts:')),
      [
        "src/app/app.ts: takes framePicture from the pictures folder: a picture that leaves the machine is made by encodeFrame or framePicture with its camera's privacy (or listed in ALLOWED with why it stays private)",
      ],
      'an allowed file is held to its own names',
    );
    assert.ok(!problems.some((p) => p.startsWith('src/pictures/')), 'the room itself is not held to it');
  });
});
