/**
 * Each rule once (issue 42): a worker entry's `track` setting is read in one
 * place, trackOptionsOf (src/config/schema/workers.ts), which the validator (a
 * cascade's `every` needs a tracking worker) and the system (the worker's
 * profile) both call. Read with TypeScript's parser: no other `x.track`,
 * `x?.track` or `x['track']` in src/. Not readings of the setting: a
 * profile's `track` (made by that one reading, carried on each result), and
 * src/objects, where a track is a tracked object. The camera pipeline's own
 * reading beside it, as it was at 807036d, must be found.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { parseTs, readRepoFile, repoFiles, where } from '../helpers/repo.js';

const THE_READING = 'src/config/schema/workers.ts';

/** The readings of `track` in a file, as `file:line text`, but for a profile's. */
function trackReadings(file: ts.SourceFile): string[] {
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    let object: ts.Expression | null = null;
    if (ts.isPropertyAccessExpression(node) && node.name.text === 'track') object = node.expression;
    else if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression) && node.argumentExpression.text === 'track')
      object = node.expression;
    const owner = object === null ? '' : ts.isPropertyAccessExpression(object) ? object.name.text : object.getText();
    if (object !== null && !/profile$/i.test(owner)) out.push(`${where(node)} ${node.getText()}`);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

describe("a worker's track setting is read once", { timeout: 30_000 }, () => {
  it('trackOptionsOf is the one reading in src/', () => {
    const files = repoFiles('src', ['.ts']).filter((path) => !path.endsWith('.d.ts') && !path.startsWith('src/objects/'));
    const readings = files.flatMap((path) => trackReadings(parseTs(path, readRepoFile(path))));
    assert.ok(readings.length > 0 && readings.every((r) => r.startsWith(`${THE_READING}:`)), readings.join('\n'));
    const text = readRepoFile(THE_READING);
    assert.match(text, /export function trackOptionsOf\(/);
  });

  it("finds the camera pipeline's second reading as it was, and lets a profile's be", () => {
    const planted = (text: string): string[] => trackReadings(parseTs('src/pipeline/camera/camera-pipeline.ts', text));
    assert.deepEqual(planted('if (crops.every !== undefined && (of.track === undefined || of.track === false)) fail();'), [
      'src/pipeline/camera/camera-pipeline.ts:1 of.track',
      'src/pipeline/camera/camera-pipeline.ts:1 of.track',
    ]);
    assert.deepEqual(planted("const t = worker?.['track'];"), ["src/pipeline/camera/camera-pipeline.ts:1 worker?.['track']"]);
    assert.deepEqual(planted('const t = result.profile.track; const u = profile.track;'), []);
  });
});
