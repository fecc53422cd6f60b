/**
 * The config schema's floors (ADR 0149), read from the sources: the schema is one module per section under
 * src/config/schema/, with the parts every section shares at the bottom (shared.ts), the sections above it, and
 * the assembly on top (src/config/schema.ts, which derives the file's JSON Schema and is the schema's surface
 * for the rest of src/). SECTION_FLOORS says which modules of src/config/schema/ each may import; a section
 * never imports the assembly nor another file of src/config; and only the assembly imports a section, so
 * nothing is imported back and forth. A new section module needs its row here and in ADR 0149.
 */
import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import { describe, it } from 'node:test';
import { relativeImports, repoFiles } from '../helpers/repo.js';

const SECTIONS_DIR = 'src/config/schema';
const ASSEMBLY = 'src/config/schema.ts';

/** Section module → the modules of src/config/schema/ it may import (by file name, without .ts). */
const SECTION_FLOORS: Readonly<Record<string, readonly string[]>> = {
  shared: [],
  capture: ['shared'],
  objects: ['shared'],
  falls: ['shared'],
  care: ['shared'],
  gate: ['shared'],
  vlm: ['shared'],
  summaries: ['shared'],
  models: ['shared'],
  mqtt: ['shared'],
  http: ['shared'],
  metrics: ['shared'],
  cluster: ['shared'],
  workers: ['shared', 'objects', 'falls', 'care', 'gate', 'vlm'],
  cameras: ['shared', 'capture', 'workers', 'objects', 'summaries', 'care'],
};

const sectionOf = (path: string): string | null => (dirname(path) === SECTIONS_DIR ? basename(path, '.ts') : null);

/** What a file's imports break of the schema's floors. `text` stands in for the file's own (the self-test plants through it). */
function floorProblems(path: string, text?: string): string[] {
  const problems: string[] = [];
  const from = sectionOf(path);
  for (const { line, target } of relativeImports(path, text)) {
    const at = `${path}:${line}`;
    const to = sectionOf(target);
    if (from !== null) {
      if (to !== null && to !== from && !SECTION_FLOORS[from]?.includes(to))
        problems.push(`${at} imports ${target}: ${from} may import ${SECTION_FLOORS[from]?.join(', ') || 'no other section'}`);
      else if (to === null && target.startsWith('src/config/'))
        problems.push(`${at} imports ${target}: a section stands on the schema's own modules, never on the rest of src/config (the assembly included)`);
    } else if (to !== null && path !== ASSEMBLY)
      problems.push(`${at} reaches into ${target}: import ${ASSEMBLY.replace(/\.ts$/, '.js')}, the schema's surface`);
  }
  return problems;
}

describe("the config schema's floors (ADR 0149)", { timeout: 30_000 }, () => {
  const sources = repoFiles('src', ['.ts']).filter((f) => !f.endsWith('.d.ts'));

  it('every section module is on the map, and every row has its module', () => {
    const found = sources.map(sectionOf).filter((s): s is string => s !== null);
    assert.deepEqual(
      found.filter((s) => !(s in SECTION_FLOORS)),
      [],
      'a new section module: give it a row in SECTION_FLOORS and in ADR 0149',
    );
    assert.deepEqual(
      Object.keys(SECTION_FLOORS).filter((s) => !found.includes(s)),
      [],
    );
  });

  it('each section imports only the modules below it; only the assembly imports a section', () => {
    assert.deepEqual(
      sources.flatMap((f) => floorProblems(f)),
      [],
    );
  });

  // Checked on the real tree too: `import { CameraSchema } from './cameras.js'` planted into
  // src/config/schema/workers.ts made the test above name its line (workers may import shared, objects, ...); reverted.
  it('the rule catches what it must (planted violations)', () => {
    const cases: readonly (readonly [path: string, text: string, problems: number, why: string])[] = [
      ['src/config/schema/cameras.ts', "import { WorkerSchema } from './workers.js';", 0, 'down a floor'],
      ['src/config/schema/gate.ts', "import { closed } from './shared.js';", 0, 'the shared parts'],
      ['src/config/schema/gate.ts', "import { ID_PATTERN_SOURCE } from '../../internal/ids.js';", 0, 'below src/config'],
      ['src/config/schema.ts', "export { CameraSchema } from './schema/cameras.js';", 0, 'the assembly takes every section'],
      ['src/config/schema/shared.ts', "import { CaptureSchema } from './capture.js';", 1, 'the bottom imports a section'],
      ['src/config/schema/workers.ts', "import type { CameraConfig } from './cameras.js';", 1, 'up a floor, a type import too'],
      ['src/config/schema/models.ts', "export { MqttSchema } from './mqtt.js';", 1, 'a sideways re-export'],
      ['src/config/schema/capture.ts', "const m = await import('./cameras.js');", 1, 'a lazy import upward'],
      ['src/config/schema/cameras.ts', "import { ConfigSchema } from '../schema.js';", 1, 'a section imports the assembly'],
      ['src/config/schema/objects.ts', "import { isPlainObject } from '../load.js';", 1, 'a section imports the rest of src/config'],
      ['src/config/validate.ts', "import { WorkerSchema } from './schema/workers.js';", 1, 'past the assembly'],
      ['src/config/validate.ts', "import { WorkerSchema } from './schema.js';", 0, 'through the assembly'],
    ];
    for (const [path, text, count, why] of cases) assert.equal(floorProblems(path, text).length, count, `${why}: ${path}: ${text}`);
  });
});
