#!/usr/bin/env node
/**
 * Moves the pipeline hall into its rooms and the vlm worker's files into src/workers/vlm/ (ADR 0147), as a script
 * rather than a commit, so that it can be run again on a main that other branches have changed since it was
 * written. Not shipped in the package (package.json's `files` names scripts/install-native.mjs alone).
 *
 * What it does, in this order, and nothing before it has checked everything:
 * - every .ts straight under src/pipeline/ (but index.ts) and every src/workers/vlm-*.ts must be in ROOMS below;
 *   one that is not stops the run, named (`--check` lists them all, and the table's rows whose file has gone);
 * - it reads every relative specifier of src/, test/ and bench/ (import, export, import(), import('…').T in a
 *   type, new URL('…', import.meta.url)) and points it at the file's new place. An import from another room of the
 *   same hall (and the hall's own index.ts) goes through that room's index.ts instead; imports within a room stay
 *   direct, and tests and benchmarks keep importing the files they test by their (new) path;
 * - it writes each room's index.ts: its contract (from ROOMS) and, by hand-written `export { … } from` lines, the
 *   names the other rooms and the hall's index.ts import of it, each a value or a type as the type checker says
 *   (so the package's surface, test/conventions/public-surface.txt, does not change);
 * - it rewrites the moved files' paths where text names them (`src/pipeline/x.ts`, `pipeline/x.ts`, a test's
 *   planted path, ADR 0013's table of owners, a doc's link) in src/, test/, bench/, examples/, docs/ (not the dated
 *   docs/benchmarks/ nor CHANGELOG.md: they are records of their day), README.md and CONTRIBUTING.md;
 * - `git mv`s each file, writes the rest, runs prettier on what it wrote and `git add`s it. It commits nothing.
 *
 * It refuses a tree with uncommitted changes under those folders (so `git reset --hard` undoes a run and loses
 * nothing), and one where a room already exists (it has run).
 *
 * Usage, from anywhere in the checkout (node_modules beside it: it uses the repository's typescript and prettier):
 *   node scripts/rooms/move-rooms.mjs --check     files (and folders) not in the table, imports that would run against
 *                                                 the rooms' floors (exit 1 if any), rows whose file has gone
 *   node scripts/rooms/move-rooms.mjs --dry-run   the plan: the moves, each room's surface, the files it would change
 *   node scripts/rooms/move-rooms.mjs             do it
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
process.chdir(ROOT);

/**
 * The halls and their rooms: each room's contract (the opening comment of its index.ts) and which file goes where.
 * `placed` says which files straight under the hall the table must place: the rest stay where they are.
 */
const ROOMS = [
  {
    hall: 'src/pipeline',
    placed: (name) => name !== 'index.ts' && name !== 'public.ts',
    // The floors, as ROOMS_OF in test/conventions/imports.test.ts has them (--check names an import that breaks them).
    mayImport: { system: ['camera', 'model-host', 'base'], camera: ['model-host', 'base'], 'model-host': ['base'], base: [] },
    rooms: {
      system: `The system room of the pipeline (ADR 0012, 0062, 0147): VisionSystem and its parts (cameras, workers,
objects, models, config, results, summaries, stats) over the one SystemCore they share, and what watches or serves
the whole system: the freshness watch and the forecast (ADR 0042), the memory figures (ADR 0068), the model
directory's scan, the tracking of objects across cameras, the output gate, the admission of a camera from the
network and the results sink, the care watch's silence alarms (ADR 0138), each camera's privacy (ADR 0139), the
fall alerts (ADR 0132) and the stream forecast. The hall's top floor: it may import camera/, model-host/ and base/, each through its
index; only src/pipeline/index.ts imports it.`,
      camera: `The camera room of the pipeline (ADR 0012, 0053, 0066, 0147): one CameraPipeline per camera and what it
is made of: its streams and the switch between them, its workers' group and how each worker is built from the
config, the camera's motion, the motion gate and its regions, a cascade's crop feed, and the shared workers fed
round-robin by a frame mux. It may import model-host/ and base/, each through its index; system/ and
src/pipeline/index.ts import it.`,
      'model-host': `The model-hosting room of the pipeline (ADR 0025, 0147): a model the system runs or reaches: the
model server process it supervises, the ModelService that owns that process or connects to a server someone else
runs (its endpoint, checked by kind), and the trust placed in the peer of a server's socket. It may import base/
only, through its index; camera/, system/ and src/pipeline/index.ts import it.`,
      base: `The pipeline's base room (ADR 0147): what every room of the hall speaks: the one typed event union and its
hub, the config types, the errors, the freshness rules and objectives, a worker's profile and its decode figures,
the annotations of tracked objects, the summaries of a stretch of a camera's time (ADR 0073) with the vlm entry they
share with the vlm worker, the checks of the files a config names, a camera's silence (ADR 0138), the rule of
shedding decoding (ADR 0115) and a batched model's capacity (ADR 0128). The hall's ground floor: it imports no
other room.`,
    },
    files: {
      // system/: VisionSystem, its parts and what watches the whole system
      'system.ts': 'system',
      'system-cameras.ts': 'system',
      'system-config.ts': 'system',
      'system-core.ts': 'system',
      'system-deprecated.ts': 'system',
      'system-models.ts': 'system',
      'system-objects.ts': 'system',
      'system-results.ts': 'system',
      'system-stats.ts': 'system',
      'system-summaries.ts': 'system',
      'system-workers.ts': 'system',
      'admission.ts': 'system',
      'forecast.ts': 'system',
      'freshness-watch.ts': 'system',
      'memory-figures.ts': 'system',
      'model-scan.ts': 'system',
      'object-tracking.ts': 'system',
      'output-gate.ts': 'system',
      'sinks.ts': 'system',
      'system-part.ts': 'system',
      'camera-privacy.ts': 'system',
      'care-watch.ts': 'system',
      'falls.ts': 'system',
      'motion-coverage.ts': 'system',
      'stream-forecast.ts': 'system',
      // camera/: a camera's pipeline and what it is made of, shared workers
      'camera-pipeline.ts': 'camera',
      'camera-composition.ts': 'camera',
      'camera-motion.ts': 'camera',
      'build-worker.ts': 'camera',
      'crop-feed.ts': 'camera',
      'follow-frames.ts': 'camera',
      'frame-mux.ts': 'camera',
      'gate-reasons.ts': 'camera',
      'gate-regions.ts': 'camera',
      'motion-gate.ts': 'camera',
      'shared-worker.ts': 'camera',
      'stream-switch.ts': 'camera',
      'worker-group.ts': 'camera',
      // model-host/: model servers, run or reached
      'model-endpoint.ts': 'model-host',
      'model-process.ts': 'model-host',
      'model-service.ts': 'model-host',
      'model-trust.ts': 'model-host',
      // base/: what every room speaks
      'annotations.ts': 'base',
      'config-types.ts': 'base',
      'decode-figures.ts': 'base',
      'errors.ts': 'base',
      'events.ts': 'base',
      'freshness.ts': 'base',
      'named-files.ts': 'base',
      'summaries.ts': 'base',
      'vlm-entry.ts': 'base',
      'worker-profile.ts': 'base',
      'decode-shedding.ts': 'base',
      'model-capacity.ts': 'base',
      'silence.ts': 'base',
    },
  },
  {
    hall: 'src/workers',
    placed: (name) => name.startsWith('vlm-'),
    // Folders of the hall that stay as they are (a room already: ROOMS_OF in test/conventions/imports.test.ts).
    kept: ['builtin'],
    mayImport: { '.': [], vlm: ['.'], builtin: ['.'] },
    rooms: {
      vlm: `The vision-language workers, a room of src/workers (ADR 0050, 0067, 0072, 0147): the vlm worker kind, its
client of an OpenAI-style chat endpoint, the endpoints' budgets, the triggers and the objects waiting for the model,
the frames kept per object, the pictures sent and the errors. It stands on the folder's own files (kinds.ts,
errors.ts…), imported one by one; only src/workers/index.ts imports it.`,
    },
    files: {
      'vlm-budget.ts': 'vlm',
      'vlm-client.ts': 'vlm',
      'vlm-errors.ts': 'vlm',
      'vlm-frames.ts': 'vlm',
      'vlm-image.ts': 'vlm',
      'vlm-pending.ts': 'vlm',
      'vlm-triggers.ts': 'vlm',
      'vlm-types.ts': 'vlm',
      'vlm-worker.ts': 'vlm',
    },
  },
];

/** Files that name the moved files as text and are records of their day, left as they were. */
const TEXT_KEPT = [/^docs\/benchmarks\//, /^CHANGELOG\.md$/, /^scripts\/rooms\//];
const TEXT_FILES = /\.(ts|mts|js|mjs|md)$/;

const args = new Set(process.argv.slice(2));
for (const a of args) if (!['--check', '--dry-run'].includes(a)) fail(`unknown argument ${a} (--check, --dry-run, or none)`);

function fail(message) {
  process.stderr.write(`move-rooms: ${message}\n`);
  process.exit(1);
}

const git = (...a) => execFileSync('git', a, { encoding: 'utf8', maxBuffer: 64 << 20 });
const read = (path) => readFileSync(path, 'utf8');
const tsOf = (path) => path.replace(/\.js$/, '.ts');

/** The .ts files straight under a hall (no .d.ts), by name. */
const filesOf = (hall) => readdirSync(hall).filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts') && statSync(`${hall}/${n}`).isFile());

// ---------------------------------------------------------------- the table against the tree

const unplaced = [];
const gone = [];
const strayFolders = [];
for (const { hall, placed, rooms, files, kept = [] } of ROOMS) {
  for (const entry of readdirSync(hall, { withFileTypes: true }))
    if (entry.isDirectory() && !(entry.name in rooms) && !kept.includes(entry.name)) strayFolders.push(`${hall}/${entry.name}/`);
  for (const [name, room] of Object.entries(files)) {
    if (!(room in rooms)) fail(`the table puts ${hall}/${name} in ${room}, which is no room of ${hall}`);
    if (!existsSync(`${hall}/${name}`)) gone.push(`${hall}/${name}`);
  }
  for (const name of filesOf(hall)) if (placed(name) && !(name in files)) unplaced.push(`${hall}/${name}`);
}
const movedAlready = ROOMS.flatMap(({ hall, rooms }) => Object.keys(rooms).map((r) => `${hall}/${r}`)).filter((d) => existsSync(d));

/** The relative specifiers of a file: [literal, line]. */
function relativeSpecifiers(file) {
  const sf = ts.createSourceFile(file, read(file), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out = [];
  const add = (literal) => {
    if (literal !== undefined && (ts.isStringLiteral(literal) || ts.isNoSubstitutionTemplateLiteral(literal)) && literal.text.startsWith('.'))
      out.push([literal.text, sf.getLineAndCharacterOfPosition(literal.getStart(sf)).line + 1]);
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The imports that would run against the rooms' floors once moved (the imports test would name them); files the table does not place are left to that list. */
function importsAgainstTheFloors() {
  const out = [];
  for (const { hall, files, mayImport } of ROOMS) {
    const roomAfter = (path) => {
      const rest = path.slice(hall.length + 1);
      return rest.includes('/') ? rest.slice(0, rest.indexOf('/')) : (files[rest] ?? '.');
    };
    const name = (room) => (room === '.' ? `${hall}/'s own files` : `${room}/`);
    const walk = (dir) =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(`${dir}/${e.name}`) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [`${dir}/${e.name}`] : [],
      );
    for (const file of walk(hall)) {
      if (file === `${hall}/index.ts` || unplaced.includes(file)) continue;
      const from = roomAfter(file);
      const allowed = mayImport[from] ?? [];
      for (const [spec, line] of relativeSpecifiers(file)) {
        const target = tsOf(posix.normalize(posix.join(posix.dirname(file), spec)));
        if (!target.startsWith(`${hall}/`) || target === `${hall}/index.ts` || unplaced.includes(target)) continue;
        const to = roomAfter(target);
        if (to !== from && !allowed.includes(to))
          out.push(
            `${file}:${line} imports ${target}: ${name(from)} would import ${name(to)} (it may import ${allowed.map(name).join(', ') || 'no other room'})`,
          );
      }
    }
  }
  return out;
}

if (args.has('--check')) {
  if (movedAlready.length > 0) console.log(`rooms that exist already (the move has run): ${movedAlready.join(', ')}`);
  for (const f of unplaced) console.log(`not in the table: ${f}`);
  for (const f of strayFolders) console.log(`a folder the table does not know: ${f} (make it a room or add it to \`kept\`)`);
  if (movedAlready.length === 0) for (const f of gone) console.log(`in the table, not in the tree (left out of the move): ${f}`);
  if (unplaced.length + strayFolders.length === 0) console.log('every file is in the table');
  const against = importsAgainstTheFloors();
  for (const a of against) console.log(`against the floors: ${a}`);
  process.exit(unplaced.length + strayFolders.length + against.length > 0 ? 1 : 0);
}
if (movedAlready.length > 0) fail(`the rooms exist already (${movedAlready.join(', ')}): the move has run on this tree`);
if (strayFolders.length > 0) fail(`folders the table does not know (make each a room or add it to \`kept\`): ${strayFolders.join(', ')}`);
if (unplaced.length > 0) fail(`not in the table (give each a room in ROOMS, scripts/rooms/move-rooms.mjs):\n  ${unplaced.join('\n  ')}`);
for (const f of gone) process.stderr.write(`move-rooms: in the table, not in the tree, left out: ${f}\n`);
const floorsBroken = importsAgainstTheFloors();

const TOUCHED = ['src', 'test', 'bench', 'docs', 'examples', 'README.md', 'CONTRIBUTING.md'];
if (!args.has('--dry-run')) {
  const dirty = git('status', '--porcelain', '--', ...TOUCHED).trim();
  if (dirty !== '') fail(`uncommitted changes under ${TOUCHED.join(' ')}; commit or stash them first:\n${dirty}`);
}

/** Old path → new path of every file that moves (repository-relative, posix). */
const moves = new Map();
for (const { hall, files } of ROOMS)
  for (const [name, room] of Object.entries(files)) if (existsSync(`${hall}/${name}`)) moves.set(`${hall}/${name}`, `${hall}/${room}/${name}`);

/** The hall and room of a path: a room is the folder under the hall, '.' the files straight under it. */
function roomOf(path) {
  for (const entry of ROOMS) {
    if (!path.startsWith(`${entry.hall}/`)) continue;
    const rest = path.slice(entry.hall.length + 1);
    return { entry, room: rest.includes('/') ? rest.slice(0, rest.indexOf('/')) : '.' };
  }
  return null;
}

const newPathOf = (path) => moves.get(path) ?? path;
/** Where a path that named an old file (by .ts or .js) points now. */
function movedTarget(target) {
  const moved = moves.get(tsOf(target));
  return moved === undefined ? target : target.endsWith('.js') ? moved.replace(/\.ts$/, '.js') : moved;
}
function specifier(fromFile, to, trailingSlash) {
  let r = posix.relative(posix.dirname(fromFile), to);
  if (!r.startsWith('.')) r = `./${r}`;
  return trailingSlash && !r.endsWith('/') ? `${r}/` : r;
}

// ---------------------------------------------------------------- the specifiers

const sourceFiles = git('ls-files', '-z', '--', 'src', 'test', 'bench')
  .split('\0')
  .filter((f) => /\.(ts|mts|js|mjs)$/.test(f) && !f.endsWith('.d.ts') && existsSync(f));

const problems = [];
/** Room (hall/room) → old file (.ts) → name → true. */
const surfaces = new Map();
/** Old path → its text edits. */
const edits = new Map();
const edit = (file, start, end, text) => {
  if (!edits.has(file)) edits.set(file, []);
  edits.get(file).push({ start, end, text });
};

function need(roomKey, file, name) {
  if (!surfaces.has(roomKey)) surfaces.set(roomKey, new Map());
  const files = surfaces.get(roomKey);
  if (!files.has(file)) files.set(file, new Set());
  files.get(file).add(name);
}

const quoted = (literal, text) => {
  const q = literal.getText()[0];
  return `${q}${text}${q}`;
};

for (const oldFile of sourceFiles) {
  const newFile = newPathOf(oldFile);
  const text = read(oldFile);
  const kind = oldFile.endsWith('.ts') || oldFile.endsWith('.mts') ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const sf = ts.createSourceFile(oldFile, text, ts.ScriptTarget.Latest, true, kind);
  const at = (node) => `${oldFile}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;
  /** Redirected imports by their new specifier: merged into one when a file takes several files of one room. */
  const redirectedImports = new Map();

  const visitSpecifier = (literal, how, node) => {
    const spec = literal.text;
    if (!spec.startsWith('./') && !spec.startsWith('../')) return;
    const oldTarget = posix.normalize(posix.join(posix.dirname(oldFile), spec));
    const newTarget = movedTarget(oldTarget);
    if (newFile === oldFile && newTarget === oldTarget) return;
    let to = newTarget;
    const from = roomOf(newFile);
    const target = roomOf(tsOf(newTarget));
    const crossRoom =
      from !== null &&
      target !== null &&
      from.entry === target.entry &&
      target.room in target.entry.rooms &&
      from.room !== target.room &&
      posix.basename(newTarget) !== 'index.js';
    if (crossRoom) {
      const roomKey = `${target.entry.hall}/${target.room}`;
      const old = tsOf(oldTarget);
      if (how === 'import') {
        const clause = node.importClause;
        if (clause?.name !== undefined) problems.push(`${at(node)}: a default import across rooms`);
        else if (clause?.namedBindings !== undefined && !ts.isNamedImports(clause.namedBindings))
          problems.push(`${at(node)}: a namespace import across rooms (name what it takes)`);
        else for (const e of clause?.namedBindings?.elements ?? []) need(roomKey, old, (e.propertyName ?? e.name).text);
      } else if (how === 'export') {
        if (node.exportClause === undefined || !ts.isNamedExports(node.exportClause))
          problems.push(`${at(node)}: export * across rooms (name what it hands on)`);
        else for (const e of node.exportClause.elements) need(roomKey, old, (e.propertyName ?? e.name).text);
      } else if (how === 'type') {
        let q = node.qualifier;
        while (q !== undefined && ts.isQualifiedName(q)) q = q.left;
        if (q === undefined) problems.push(`${at(node)}: typeof import() across rooms`);
        else need(roomKey, old, q.text);
      } else problems.push(`${at(node)}: ${how === 'dynamic' ? 'import()' : 'new URL()'} of another room's file ${spec}: name it in the room's index by hand`);
      to = `${roomKey}/index.js`;
    }
    const next = specifier(newFile, to, spec.endsWith('/'));
    if (next === spec) return;
    if (crossRoom && how === 'import' && node.importClause?.namedBindings !== undefined) {
      if (!redirectedImports.has(next)) redirectedImports.set(next, []);
      redirectedImports.get(next).push(node);
    }
    edit(oldFile, literal.getStart(sf), literal.getEnd(), quoted(literal, next));
  };

  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) visitSpecifier(node.moduleSpecifier, 'import', node);
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier))
      visitSpecifier(node.moduleSpecifier, 'export', node);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] !== undefined) {
      const a = node.arguments[0];
      if (ts.isStringLiteral(a) || ts.isNoSubstitutionTemplateLiteral(a)) visitSpecifier(a, 'dynamic', node);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal))
      visitSpecifier(node.argument.literal, 'type', node);
    else if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'URL' &&
      node.arguments?.length === 2 &&
      ts.isStringLiteral(node.arguments[0]) &&
      node.arguments[1].getText(sf) === 'import.meta.url'
    )
      visitSpecifier(node.arguments[0], 'url', node);
    ts.forEachChild(node, visit);
  };
  visit(sf);

  // A file that takes several files of one room now takes them from one index: one import.
  for (const [spec, decls] of redirectedImports) {
    if (decls.length < 2) continue;
    const elements = [];
    for (const d of decls) {
      const wholeType = d.importClause.phaseModifier === ts.SyntaxKind.TypeKeyword;
      for (const e of d.importClause.namedBindings.elements) {
        const name = e.propertyName === undefined ? e.name.text : `${e.propertyName.text} as ${e.name.text}`;
        const element = { name, type: wholeType || e.isTypeOnly };
        if (!elements.some((x) => x.name === element.name && x.type === element.type)) elements.push(element);
      }
    }
    const allTypes = elements.every((e) => e.type);
    const list = elements.map((e) => (e.type && !allTypes ? `type ${e.name}` : e.name)).join(', ');
    const q = decls[0].moduleSpecifier.getText(sf)[0];
    const merged = `import ${allTypes ? 'type ' : ''}{ ${list} } from ${q}${spec}${q};`;
    const mine = edits.get(oldFile);
    const drop = new Set(decls.map((d) => d.moduleSpecifier.getStart(sf)));
    edits.set(
      oldFile,
      mine.filter((e) => !drop.has(e.start)),
    );
    edit(oldFile, decls[0].getStart(sf), decls[0].getEnd(), merged);
    for (const d of decls.slice(1)) edit(oldFile, d.getStart(sf), d.getEnd() + (text[d.getEnd()] === '\n' ? 1 : 0), '');
  }
}
if (problems.length > 0) fail(`cannot move mechanically:\n  ${problems.join('\n  ')}`);

// ---------------------------------------------------------------- each room's surface, value or type by the checker

function typeOnly(checker, symbol) {
  for (let s = symbol, hops = 0; s !== undefined && (s.flags & ts.SymbolFlags.Alias) !== 0 && hops < 64; hops++) {
    for (const d of s.declarations ?? []) {
      if (ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly)) return true;
      if (ts.isImportSpecifier(d) && (d.isTypeOnly || d.parent.parent.phaseModifier === ts.SyntaxKind.TypeKeyword)) return true;
      if (ts.isImportClause(d) && d.phaseModifier === ts.SyntaxKind.TypeKeyword) return true;
    }
    s = checker.getImmediateAliasedSymbol(s);
  }
  return false;
}

const config = ts.parseJsonConfigFileContent(ts.readConfigFile('tsconfig.json', ts.sys.readFile).config, ts.sys, ROOT);
const surfaceFiles = [...new Set([...surfaces.values()].flatMap((files) => [...files.keys()]))];
const program = ts.createProgram(
  surfaceFiles.map((f) => posix.join(ROOT, f)),
  { ...config.options, noEmit: true },
);
const checker = program.getTypeChecker();
/** Room → [{ file (its name within the room), values, types }]. */
const indexes = new Map();
for (const [roomKey, files] of surfaces) {
  /** Name → where it is exported from (one thing handed on by two files of the room is named once, from where it is declared). */
  const chosen = new Map();
  for (const [file, names] of files) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(posix.join(ROOT, file)));
    const exported = new Map(checker.getExportsOfModule(module).map((s) => [s.name, s]));
    for (const name of names) {
      const symbol = exported.get(name);
      if (symbol === undefined) fail(`${file} does not export ${name}, which another room imports`);
      const target = (symbol.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(symbol) : symbol;
      const value = (target.flags & ts.SymbolFlags.Value) !== 0 && !typeOnly(checker, symbol);
      const declaredHere = target.declarations?.some((d) => d.getSourceFile().fileName === posix.join(ROOT, file)) ?? false;
      const other = chosen.get(name);
      if (other !== undefined && other.target !== target) fail(`${roomKey}: two things named ${name}, in ${other.file} and ${file}`);
      if (other === undefined || (declaredHere && !other.declaredHere) || (value && !other.value)) chosen.set(name, { file, target, value, declaredHere });
    }
  }
  const byFile = new Map();
  for (const [name, { file, value }] of chosen) {
    if (!byFile.has(file)) byFile.set(file, { values: [], types: [] });
    byFile.get(file)[value ? 'values' : 'types'].push(name);
  }
  const order = (a, b) => a.localeCompare(b);
  indexes.set(
    roomKey,
    [...byFile]
      .sort(([a], [b]) => order(a, b))
      .map(([file, { values, types }]) => ({ file: posix.basename(file), values: values.sort(order), types: types.sort(order) })),
  );
}
for (const { hall, rooms } of ROOMS) for (const room of Object.keys(rooms)) if (!indexes.has(`${hall}/${room}`)) indexes.set(`${hall}/${room}`, []);

function indexText(roomKey, lines) {
  const { entry, room } = roomOf(`${roomKey}/index.ts`);
  const contract = entry.rooms[room]
    .split('\n')
    .map((l) => ` * ${l}`)
    .join('\n');
  const exports = lines.map(({ file, values, types }) => {
    const spec = `./${file.replace(/\.ts$/, '.js')}`;
    if (values.length === 0) return `export type { ${types.join(', ')} } from '${spec}';`;
    return `export { ${[...values, ...types.map((t) => `type ${t}`)].join(', ')} } from '${spec}';`;
  });
  return `/**
${contract}
 *
 * This index is the room's surface: the names the other rooms and ${entry.hall}/index.ts import from it, and no
 * more (a name comes here when another room needs it). Within the room, files import each other directly; no file
 * of the room imports this index.
 */
${exports.length === 0 ? 'export {};' : exports.join('\n')}
`;
}

// ---------------------------------------------------------------- paths named as text

const textRules = ROOMS.map(({ hall }) => {
  const short = hall.replace(/^src\//, '');
  const names = [...moves.keys()].filter((p) => posix.dirname(p) === hall).map((p) => posix.basename(p, '.ts'));
  const alternatives = names
    .sort((a, b) => b.length - a.length)
    .map((n) => n.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&'))
    .join('|');
  const newOf = (name) => posix.dirname(moves.get(`${hall}/${name}.ts`)).slice(hall.length + 1);
  return [
    // src/pipeline/x.ts, ../../src/pipeline/x.js, dist/src/pipeline/x.d.ts
    [new RegExp(`(?<![\\w-])src/${short}/(${alternatives})(\\.d\\.ts|\\.ts|\\.js)(?![\\w-])`, 'g'), (_, n, ext) => `src/${short}/${newOf(n)}/${n}${ext}`],
    // pipeline/x.ts in prose (test/pipeline/x.ts is preceded by a slash: another file)
    [new RegExp(`(?<![\\w./-])${short}/(${alternatives})(\\.d\\.ts|\\.ts|\\.js)(?![\\w-])`, 'g'), (_, n, ext) => `${short}/${newOf(n)}/${n}${ext}`],
  ];
}).flat();
const renamePaths = (text) => textRules.reduce((t, [re, to]) => t.replace(re, to), text);

// ---------------------------------------------------------------- the new contents

function applied(file) {
  let text = read(file);
  const mine = (edits.get(file) ?? []).sort((a, b) => b.start - a.start);
  for (let i = 1; i < mine.length; i++) if (mine[i].end > mine[i - 1].start) fail(`${file}: overlapping edits`);
  for (const e of mine) text = text.slice(0, e.start) + e.text + text.slice(e.end);
  return text;
}

/** New path → new text, for every file whose text changes. */
const writes = new Map();
const textFiles = git('ls-files', '-z', '--', ...TOUCHED)
  .split('\0')
  .filter((f) => TEXT_FILES.test(f) && !f.endsWith('.d.ts') && existsSync(f) && !TEXT_KEPT.some((re) => re.test(f)));
for (const file of new Set([...textFiles, ...edits.keys()])) {
  const before = read(file);
  const after = renamePaths(applied(file));
  if (after !== before || moves.has(file)) writes.set(newPathOf(file), after);
}
for (const [roomKey, lines] of indexes) writes.set(`${roomKey}/index.ts`, indexText(roomKey, lines));

// ---------------------------------------------------------------- report or do

console.log(`moves: ${moves.size} files`);
for (const [roomKey, lines] of [...indexes].sort()) {
  const names = lines.reduce((n, l) => n + l.values.length + l.types.length, 0);
  console.log(`  ${roomKey}/ (${[...moves.values()].filter((p) => posix.dirname(p) === roomKey).length} files): its index names ${names}`);
}
const newPaths = new Set(moves.values());
const rewritten = [...writes.keys()].filter((f) => !newPaths.has(f) && !indexes.has(posix.dirname(f)));
console.log(`rewrites: ${rewritten.length} files besides the moved ones`);
if (args.has('--dry-run')) {
  for (const [from, to] of moves) console.log(`git mv ${from} ${to}`);
  for (const f of rewritten.sort()) console.log(`rewrite ${f}`);
  for (const [roomKey, lines] of indexes) console.log(`\n--- ${roomKey}/index.ts\n${indexText(roomKey, lines)}`);
  process.exit(0);
}

for (const [from, to] of moves) {
  mkdirSync(posix.dirname(to), { recursive: true });
  git('mv', from, to);
}
for (const [file, text] of writes) writeFileSync(file, text);
const prettier = posix.join(ROOT, 'node_modules/.bin/prettier');
const written = [...writes.keys()];
const code = written.filter((f) => /\.(ts|mts|js|mjs)$/.test(f));
execFileSync(prettier, ['--write', '--log-level', 'warn', ...code], { stdio: 'inherit' });
git('add', '--', ...written);
for (const a of floorsBroken) process.stderr.write(`move-rooms: against the floors (the imports test will name it; mend it by hand): ${a}\n`);
console.log(`done: ${moves.size} files moved, ${written.length} written and staged. Next: npx tsc -p tsconfig.json, then the conventions tests.`);
