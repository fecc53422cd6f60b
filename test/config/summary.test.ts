/**
 * A camera's summaries in the config (ADR 0073): the `summary` section with its defaults, the vlm worker it
 * asks (named, or the camera's only one), what the schema cannot say refused at its path and line (no vlm
 * worker to ask, several and none named, a name that is not one, a user schema that is not an object's), and
 * the line `config check` prints for it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainSummaries, parseConfig, summaryWorkerOf, DEFAULT_SUMMARY_PROMPT } from '../../src/config/index.js';
import { issuesOf, printed, yaml } from './helpers.js';

const vlm = (id: string): string =>
  `  - { id: ${id}, vlm: { api: openai, url: "http://user:pw@gpu:8000/v1", model: llava, prompt: hi, budgets: { endpoint: { tokensPerHour: 5000 } } } }`;
const file = (...lines: string[]): string => yaml('cameras:', '  yard:', '    source: rtsp://10.0.0.5/main', ...lines.map((l) => `    ${l}`));

describe('config: summaries', { timeout: 30_000 }, () => {
  it('takes a summary section with its defaults; it asks the only vlm worker, or the one named; config check says so', () => {
    const config = parseConfig(yaml(file('workers:', vlm('describe'), 'summary: {}'), 'events: { database: /tmp/events.db }'));
    const yard = config.cameras.yard!;
    assert.deepEqual(yard.summary, { prompt: DEFAULT_SUMMARY_PROMPT, maxEvents: 50, maxImages: 6, image: { size: 512, quality: 80 }, maxWindowS: 86_400 });
    assert.equal(summaryWorkerOf(yard), 'describe');
    assert.deepEqual(explainSummaries(config), [
      "camera yard: summaries (POST /api/cameras/yard/summary, MQTT yard/summarize, Home Assistant's button: the last hour) ask worker describe's llava at http://user:***@gpu:8000/v1, within its 5000 tokens an hour, about up to 50 events and 6 snapshots of a window of at most 86400 s; events and summaries in /tmp/events.db",
    ]);
    const named = parseConfig(file('workers:', vlm('a'), vlm('b'), 'summary: { worker: b, maxImages: 0 }'));
    assert.equal(summaryWorkerOf(named.cameras.yard!), 'b');
    assert.match(
      explainSummaries(named)[0]!,
      /ask worker b's llava .* and 0 snapshots .*; no events store \(an events section\): every summary is refused with ERR_SUMMARY_NO_STORE$/,
    );
    assert.deepEqual(explainSummaries(parseConfig(file('workers:', vlm('a')))), [], 'no summary section, no line');
  });

  it('refuses a summary with no vlm worker to ask, several and none named, a name that is none, a schema not an object’s, at its path and line', () => {
    assert.deepEqual(printed(issuesOf(file('workers: []', 'summary: {}'))), [
      'cameras.yard.summary: summaries ask a vlm worker of the camera, and it has none: add one (its server, model and budgets are what summaries use) (line 5)',
    ]);
    assert.deepEqual(printed(issuesOf(file('workers:', vlm('a'), vlm('b'), 'summary: { maxEvents: 5 }'))), [
      'cameras.yard.summary: the camera has several vlm workers ("a", "b"): name the one summaries ask in summary.worker (line 7)',
    ]);
    assert.deepEqual(printed(issuesOf(file('workers:', vlm('a'), 'summary: { worker: c, schema: { type: array, required: 3 } }'))), [
      'cameras.yard.summary.worker: names no vlm worker of this camera (vlm workers: "a") (line 6)',
      'cameras.yard.summary.schema.type: must be "object": its properties are added to title, summary and level (line 6)',
      'cameras.yard.summary.schema.required: must be a list of property names (line 6)',
    ]);
  });
});
