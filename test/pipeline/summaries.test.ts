/**
 * Summaries of a stretch of a camera's time (ADR 0073), through a whole VisionSystem: events recorded into a
 * real events store (SQLite, snapshot JPEGs beside it) go, with the best of their snapshots, to a stand-in
 * OpenAI-compatible server (test/helpers/vlm-server.ts) as the camera's vlm worker would ask it; the answer
 * (title, summary, level and the user's own field) is kept with its window and emitted. Every bad request gets
 * its code and leaves the system as it was: a window that is not one, an unknown camera, a camera without
 * summaries, no store, a second ask while one runs, a server that fails or hangs, the endpoint's tokens an
 * hour spent (the summaries' tokens count there, and in the worker's endpoint figures). The window's rule
 * holds for any window (fast-check). The key is only ever in the request's header.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import sharp from 'sharp';
import { createLogger } from '../../src/internal/logger.js';
import { EventStore, type TrackedObject } from '../../src/objects/index.js';
import { summarySchema, summaryWindow, VisionSystem, type Summary } from '../../src/pipeline/index.js';
import { FakeVlmServer } from '../helpers/vlm-server.js';
import { nextEvent, resolvedConfig } from './helpers.js';

const KEY = 'sk-summary-test-0a1b2c3d4e5f-SECRET';
const SOURCE = 'lavfi:color=c=gray:size=64x48:rate=2';

function trackedObject(camera: string, id: string, label: string, start: number, end: number | null, score: number, snapshot: boolean): TrackedObject {
  return {
    id,
    camera,
    label,
    score,
    top_score: score,
    box: [0.1, 0.1, 0.4, 0.5],
    frame_time: end ?? start,
    current_zones: [],
    entered_zones: label === 'red' ? ['door'] : [],
    start_time: start,
    end_time: end,
    has_snapshot: snapshot,
    stationary: false,
    frame_age_ms: 10,
    worker: 'detector',
    loitering_zones: [],
    velocity: [0, 0],
    zone_time: {},
    snapshot: null,
  };
}

async function solid(r: number, g: number, b: number): Promise<Buffer> {
  return await sharp({ create: { width: 160, height: 120, channels: 3, background: { r, g, b } } })
    .jpeg()
    .toBuffer();
}

async function meanColour(jpeg: Buffer): Promise<[number, number, number]> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const sum = [0, 0, 0];
  for (let i = 0; i < data.length; i += info.channels) for (let c = 0; c < 3; c++) sum[c]! += data[i + c]!;
  const n = data.length / info.channels;
  return [sum[0]! / n, sum[1]! / n, sum[2]! / n];
}

/** A system with camera `yard` (a vlm worker that never asks by itself, and summaries) and `plain` (none). */
function systemFor(url: string, model: string, options: { tokensPerHour?: number; timeoutMs?: number } = {}): VisionSystem {
  return new VisionSystem({
    config: resolvedConfig({
      cameras: {
        yard: {
          source: SOURCE,
          workers: [
            {
              id: 'vlm',
              vlm: {
                api: 'openai',
                url,
                model,
                apiKeyEnv: 'SUMMARY_TEST_KEY',
                prompt: 'What is this?',
                budgets: { endpoint: { concurrency: 1, ...(options.tokensPerHour === undefined ? {} : { tokensPerHour: options.tokensPerHour }) } },
              },
            },
          ],
          summary: {
            prompt: 'Camera {{camera}} from {{from}} to {{to}}: {{count}} events.\n{{events}}',
            schema: { properties: { people: { type: 'integer', minimum: 0 } }, required: ['people'] },
            maxImages: 2,
            maxWindowS: 7_200,
            image: { size: 64 },
            ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
          },
        },
        plain: { source: SOURCE },
      },
    }),
    logger: createLogger({ level: 'silent' }),
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    assert.ok(!message.includes(KEY), `no message carries the key: ${message}`);
    return code ?? `no code: ${message}`;
  }
  return 'resolved';
}

describe('summaries of a stretch of time', { timeout: 120_000 }, () => {
  let server: FakeVlmServer;
  let dir: string;
  let store: EventStore;
  const now = Date.now() / 1000;
  const ids = {
    red: `${Math.floor(now - 600)}.000001-red001`,
    blue: `${Math.floor(now - 500)}.000002-blu002`,
    green: `${Math.floor(now - 400)}.000003-grn003`,
  };

  before(async () => {
    process.env.SUMMARY_TEST_KEY = KEY;
    server = await new FakeVlmServer({ apiKey: KEY }).start();
    dir = mkdtempSync(join(tmpdir(), 'summaries-'));
    store = new EventStore({ database: join(dir, 'events.db') });
    await store.start();
    const record = (o: TrackedObject): void => store.record({ type: 'end', before: o, after: o });
    // In the window: red (best score, a snapshot), blue (a snapshot), green (a snapshot, the lowest score), and one still in view.
    record(trackedObject('yard', ids.red, 'red', now - 600, now - 590, 0.9, true));
    record(trackedObject('yard', ids.blue, 'blue', now - 500, now - 480, 0.8, true));
    record(trackedObject('yard', ids.green, 'green', now - 400, now - 395, 0.5, true));
    record(trackedObject('yard', `${Math.floor(now - 100)}.000004-wht004`, 'white', now - 100, null, 0.6, false));
    // Outside it: ended before it began, and another camera's.
    record(trackedObject('yard', `${Math.floor(now - 5_000)}.000005-pur005`, 'purple', now - 5_000, now - 4_000, 0.99, true));
    record(trackedObject('plain', `${Math.floor(now - 300)}.000006-yel006`, 'yellow', now - 300, now - 290, 0.99, true));
    await store.saveSnapshot(ids.red, await solid(255, 0, 0));
    await store.saveSnapshot(ids.blue, await solid(0, 0, 255));
    await store.saveSnapshot(ids.green, await solid(0, 255, 0));
  });
  after(async () => {
    await store.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.SUMMARY_TEST_KEY;
  });

  it("a window's events and their best snapshots go to the model; the answer is kept with its window, emitted, and its tokens counted at the endpoint", async () => {
    const system = systemFor(server.url('openai'), 'summary-main');
    system.summaries.setStore(store);
    await system.start();
    try {
      server.mode = 'ok';
      server.answer = () => JSON.stringify({ title: 'Three squares', summary: 'Red, blue and green passed by.', level: 'notice', people: 0 });
      const before = server.requests.length;
      const emitted = nextEvent(system, 'summary');
      const summary = await system.summaries.ask('yard', { lastSeconds: 3_600 }, { via: 'test' });
      assert.equal(server.requests.length, before + 1, 'one request');
      const request = server.requests.at(-1)!;
      assert.equal(request.headers.authorization, `Bearer ${KEY}`, 'the key in the header');
      assert.ok(!request.prompt.includes(KEY));
      // the prompt: the camera, the count, the events in start order, nothing outside the window or of another camera
      assert.match(request.prompt, /^Camera yard from .+Z to .+Z: 4 events\./);
      const order = ['red', 'blue', 'green', 'white'].map((label) => request.prompt.indexOf(`. ${label} (score`));
      assert.ok(
        order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1]!)),
        `listed in start order: ${request.prompt}`,
      );
      assert.ok(!request.prompt.includes('purple') && !request.prompt.includes('yellow'), 'nothing outside the window, nor of another camera');
      assert.match(request.prompt, /red \(score 0\.90\).*zones: door; picture 1/);
      assert.match(request.prompt, /blue \(score 0\.80\).*; picture 2/);
      assert.match(request.prompt, /white \(score 0\.60\) from .+ still in view/);
      // the pictures: the two best scores' snapshots (maxImages 2), scaled to 64, in the order the list names them
      assert.equal(request.jpegs.length, 2);
      const [first, second] = await Promise.all(request.jpegs.map(meanColour));
      assert.ok(first![0] > 200 && first![2] < 60, `picture 1 is red's snapshot: ${first!.join(', ')}`);
      assert.ok(second![2] > 200 && second![0] < 60, `picture 2 is blue's snapshot: ${second!.join(', ')}`);
      assert.equal((await sharp(request.jpegs[0]).metadata()).width, 64);
      // the schema asked for: title, summary, level, and the user's field
      const asked = (request.body.response_format as { json_schema: { schema: { required: string[]; properties: Record<string, unknown> } } }).json_schema
        .schema;
      assert.deepEqual(new Set(asked.required), new Set(['people', 'title', 'summary', 'level']));

      assert.deepEqual(
        [summary.title, summary.summary, summary.level, summary.answer.people],
        ['Three squares', 'Red, blue and green passed by.', 'notice', 0],
      );
      assert.deepEqual(summary.events, { total: 4, listed: [ids.red, ids.blue, ids.green, summary.events.listed[3]], snapshots: [ids.red, ids.blue] });
      assert.ok(Math.abs(summary.to - summary.from - 3_600) < 1e-6 && Math.abs(summary.to - Date.now() / 1000) < 5);
      const words = JSON.stringify({ title: 'Three squares', summary: 'Red, blue and green passed by.', level: 'notice', people: 0 }).split(/\s+/).length;
      assert.deepEqual(summary.tokens, { prompt: 120, completion: words }, "the answer's usage");
      assert.equal(summary.via, 'test');
      assert.equal(summary.model, 'summary-main');
      // kept, with its window; emitted
      assert.deepEqual(store.summaries<Summary>({ camera: 'yard' })[0], JSON.parse(JSON.stringify(summary)));
      assert.deepEqual(system.summaries.list({ camera: 'yard' })[0]?.id, summary.id);
      assert.equal((await emitted).summary.id, summary.id);
      // the summaries' tokens are the endpoint's, in the worker's endpoint figures: as the server counted them
      const endpoint = system.stats().cameras.yard!.workers.vlm!.asks!.tokens?.endpoint;
      assert.deepEqual([endpoint?.prompt, endpoint?.completion], [server.tokens.prompt, server.tokens.completion]);
      assert.equal(system.summaries.available('yard'), true);
      assert.equal(system.summaries.available('plain'), false);
    } finally {
      await system.close();
    }
  });

  it('a window with no events is summarised without asking anyone', async () => {
    const system = systemFor(server.url('openai'), 'summary-empty');
    system.summaries.setStore(store);
    await system.start();
    try {
      const before = server.requests.length;
      const summary = await system.summaries.ask('yard', { from: new Date((now - 7_000) * 1000).toISOString(), to: now - 6_000 });
      assert.equal(server.requests.length, before, 'no request');
      assert.deepEqual([summary.level, summary.model, summary.events.total, summary.tokens.prompt], ['none', null, 0, null]);
    } finally {
      await system.close();
    }
  });

  it('bad requests each get their code, and change nothing: a window that is not one, an unknown camera, no summaries, no store', async () => {
    const system = systemFor(server.url('openai'), 'summary-bad');
    await system.start();
    try {
      const before = server.requests.length;
      assert.equal(await codeOf(system.summaries.ask('yard', { lastSeconds: 60 })), 'ERR_SUMMARY_NO_STORE', 'no store set');
      assert.throws(() => system.summaries.list(), { code: 'ERR_SUMMARY_NO_STORE' });
      system.summaries.setStore(store);
      const now = Date.now() / 1000;
      for (const window of [
        undefined,
        null,
        [],
        {},
        { lastSeconds: 0 },
        { lastSeconds: -5 },
        { lastSeconds: '60' },
        { lastSeconds: 7_201 },
        { lastSeconds: 60, from: now - 100 },
        { from: 'yesterday' },
        { from: now - 100, to: now - 200 },
        { from: now + 100 },
        { from: (now - 100) * 1000 },
        { from: now - 10_000, to: now },
        { to: now },
        { lastSeconds: 60, extra: true },
      ])
        assert.equal(await codeOf(system.summaries.ask('yard', window)), 'ERR_SUMMARY_WINDOW', JSON.stringify(window));
      assert.equal(await codeOf(system.summaries.ask('nowhere', { lastSeconds: 60 })), 'ERR_UNKNOWN_CAMERA');
      assert.equal(await codeOf(system.summaries.ask('plain', { lastSeconds: 60 })), 'ERR_SUMMARY_NOT_CONFIGURED');
      assert.equal(server.requests.length, before, 'no request went');
      assert.equal(system.state, 'running');
      assert.equal(system.stats().cameras.yard!.workers.vlm!.state, 'running');
    } finally {
      await system.close();
    }
  });

  it('the endpoint failing, hanging, and out of tokens: each its code, one ask at a time per camera, and the next ask works', async () => {
    // 400 tokens an hour: each answer here costs 120 and a few, so the fourth ask finds them spent.
    const system = systemFor(server.url('openai'), 'summary-fail', { tokensPerHour: 400, timeoutMs: 1_500 });
    system.summaries.setStore(store);
    await system.start();
    try {
      server.answer = () => JSON.stringify({ title: 'Squares', summary: 'Squares passed.', level: 'none', people: 0 });
      server.mode = 'error500';
      assert.equal(await codeOf(system.summaries.ask('yard', { lastSeconds: 3_600 })), 'ERR_VLM_SERVER');
      server.mode = 'hang';
      const hung = system.summaries.ask('yard', { lastSeconds: 3_600 });
      assert.equal(await codeOf(system.summaries.ask('yard', { lastSeconds: 3_600 })), 'ERR_SUMMARY_BUSY', 'one at a time per camera');
      assert.equal(await codeOf(hung), 'ERR_VLM_TIMEOUT');
      server.mode = 'ok';
      server.answer = () => JSON.stringify({ title: 'Squares', summary: 'Squares passed.' });
      const paid = { ...server.tokens };
      assert.equal(await codeOf(system.summaries.ask('yard', { lastSeconds: 3_600 })), 'ERR_VLM_ANSWER', 'an answer without its level does not fit the schema');
      // ...and was paid for: the failures before it brought no usage, this one did, and the endpoint counts it as the server did
      const endpoint = system.stats().cameras.yard!.workers.vlm!.asks!.tokens!.endpoint;
      assert.deepEqual([endpoint.prompt, endpoint.completion], [server.tokens.prompt - paid.prompt, server.tokens.completion - paid.completion]);
      server.answer = () => JSON.stringify({ title: 'Squares', summary: 'Squares passed.', level: 'none', people: 0 });
      // each answer costs 120 and a few, until the hour's are spent
      for (let spent = 0; spent < 400;) {
        const summary = await system.summaries.ask('yard', { lastSeconds: 3_600 });
        assert.equal(summary.level, 'none');
        spent = system.stats().cameras.yard!.workers.vlm!.asks!.tokens!.endpoint.lastHour;
      }
      const before = server.requests.length;
      const refused = system.summaries.ask('yard', { lastSeconds: 3_600 });
      await assert.rejects(refused, (error: { code?: string; reason?: string }) => error.code === 'ERR_SUMMARY_BUDGET' && error.reason === 'endpoint-tokens');
      assert.equal(server.requests.length, before, 'nothing sent over the budget');
      assert.equal(system.state, 'running');
      assert.equal(system.stats().cameras.yard!.workers.vlm!.state, 'running');
    } finally {
      server.mode = 'ok';
      await system.close();
    }
  });

  it('the window: any from before to within the longest window is taken as given; anything else is ERR_SUMMARY_WINDOW (fast-check)', () => {
    const nowS = 1_800_000_000;
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: nowS * 2, noNaN: true }),
        fc.double({ min: 1, max: nowS * 2, noNaN: true }),
        fc.integer({ min: 60, max: 86_400 }),
        (from, to, max) => {
          let window: { from: number; to: number } | null = null;
          try {
            window = summaryWindow({ from, to }, nowS, max);
          } catch (error) {
            assert.equal((error as { code?: string }).code, 'ERR_SUMMARY_WINDOW');
          }
          const cappedTo = Math.min(to, nowS);
          const valid = from < nowS && from < cappedTo && cappedTo - from <= max;
          assert.equal(window !== null, valid, JSON.stringify({ from, to, max }));
          if (window !== null) assert.deepEqual(window, { from, to: cappedTo });
        },
      ),
    );
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), (seconds) => {
        const valid = seconds > 0 && seconds <= 3_600;
        let ok = true;
        try {
          const w = summaryWindow({ lastSeconds: seconds }, nowS, 3_600);
          assert.deepEqual(w, { from: nowS - seconds, to: nowS });
        } catch {
          ok = false;
        }
        assert.equal(ok, valid);
      }),
    );
  });

  it("the user's schema adds fields; title, summary and level keep their own", () => {
    const schema = summarySchema({
      type: 'object',
      properties: { level: { type: 'string' }, people: { type: 'integer' } },
      required: ['people'],
      additionalProperties: false,
    });
    assert.deepEqual((schema.properties as Record<string, { enum?: string[] }>).level?.enum, ['none', 'notice', 'alert']);
    assert.deepEqual(schema.required, ['people', 'title', 'summary', 'level']);
    assert.equal(schema.additionalProperties, false);
  });
});
