/**
 * Admission before it hurts (ADR 0042), through the HTTP API a user calls:
 * two cameras saturate one model thread (a 100 ms model, 10 frames a second
 * each); `POST /api/cameras/<third>?dryRun=true` predicts what the model
 * would then give each camera and who would miss their objective, and
 * changes nothing; the real addition that follows measures per-camera rates
 * within 20 % of the prediction. Bad dry runs get the codes the real change
 * would.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { HttpServer } from '../../src/http/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem, type Forecast, type ModelForecast, type SystemEvent } from '../../src/pipeline/index.js';
import { eventuallyAsync } from '../helpers/process.js';
import { nextResults, resolvedConfig, smallH264Clip } from './helpers.js';

const TOKEN = 'test-token-dry-run-0123456789';
const SHM_DIR = `/dev/shm/framesupplier-test-dry-run-${process.pid}`;
/** Every camera alike: 10 frames a second, one `high` worker on the shared model. */
const camera = () => ({
  source: 'lavfi:testsrc2=size=320x240:rate=10',
  capture: { output: { format: 'rgb24' } },
  workers: [{ id: 'detect', model: 'slow', criticality: 'high' }],
});

describe('a dry run of adding a camera predicts what the model gives each camera', { timeout: 240_000 }, () => {
  let system: VisionSystem;
  let server: HttpServer;
  let base: string;
  const changes: SystemEvent[] = [];

  const call = async (method: string, path: string, body: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const taken = (id: string): number => system.stats().cameras[id]?.workers.detect?.modelFrames?.taken ?? 0;

  before(async () => {
    system = new VisionSystem({
      config: resolvedConfig({
        shmDir: SHM_DIR,
        models: { slow: { handler: 'mock', delayMs: 100 } },
        cameras: { a: camera(), b: camera() },
      }),
      logger: createLogger({ level: 'silent' }),
      modelHealthIntervalMs: 500,
    });
    system.on('config-change', (e) => changes.push(e));
    const ready = Promise.all([nextResults(system, 'a', 'detect', 20), nextResults(system, 'b', 'detect', 20)]);
    await system.start();
    await ready;
    // Its cameras are test patterns (lavfi:), which the API takes only with allowExec (ADR 0098).
    server = new HttpServer({ system, token: TOKEN, port: 0, allowExec: true, logger: createLogger({ level: 'silent' }) });
    await server.start();
    base = `http://127.0.0.1:${server.port}`;
  });

  after(async () => {
    await server?.close();
    await system?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  it("predicts each camera's share of the saturated model within 20 % of what the real addition measures, and changes nothing", async () => {
    // The model's inference time reaches the system with a ping.
    await eventuallyAsync(
      async () => (system.stats().models.slow?.scheduling?.cameras.b?.inference_ms_p50 ?? null) !== null,
      'the model reports its inference time',
      30_000,
    );
    const dry = await call('POST', '/api/cameras/c?dryRun=true', camera());
    assert.equal(dry.status, 200, JSON.stringify(dry.json));
    const forecast = dry.json as unknown as Forecast;
    assert.equal(forecast.dryRun, true);
    assert.equal(forecast.change, 'camera-added');
    assert.equal(forecast.cameraFpsFrom, 'probed', 'ffprobe said the lavfi source runs at 10 frames a second');
    assert.ok(Math.abs(forecast.cameraFps - 10) < 0.01, `camera fps ${forecast.cameraFps}`);
    const model = forecast.models.slow as ModelForecast;
    assert.equal(model.threads, 1);
    assert.ok(model.capacityFps > 5 && model.capacityFps <= 10.5, `capacity ${model.capacityFps}`);
    assert.deepEqual(Object.keys(model.shares).sort(), ['a', 'b', 'c']);
    for (const id of ['a', 'b', 'c'])
      assert.ok(Math.abs(model.shares[id]!.thenFps - model.capacityFps / 3) < 0.01, `${id}: ${JSON.stringify(model.shares[id])}`);
    assert.equal(model.shares.c!.nowFps, null, 'the new camera gets nothing now');
    // high criticality tolerates 10 % skipped: at a third of the model each, every camera would miss.
    assert.deepEqual([...forecast.wouldMiss].sort(), ['a/detect', 'b/detect', 'c/detect']);
    // Nothing changed.
    assert.equal(system.stats().cameras.c, undefined);
    assert.deepEqual(changes, []);

    // The real addition, then each camera's frames taken per second over 15 s once it has settled.
    const added = await call('POST', '/api/cameras/c', camera());
    assert.equal(added.status, 201, JSON.stringify(added.json));
    await nextResults(system, 'c', 'detect', 10);
    const start = { at: performance.now(), a: taken('a'), b: taken('b'), c: taken('c') };
    await Promise.all([nextResults(system, 'a', 'detect', 40), nextResults(system, 'b', 'detect', 40), nextResults(system, 'c', 'detect', 40)]);
    const seconds = (performance.now() - start.at) / 1000;
    for (const id of ['a', 'b', 'c'] as const) {
      const measured = (taken(id) - start[id]) / seconds;
      const predicted = model.shares[id]!.thenFps;
      assert.ok(Math.abs(measured - predicted) <= 0.2 * predicted, `${id}: measured ${measured.toFixed(2)} frames/s, predicted ${predicted.toFixed(2)}`);
    }
  });

  it("a removed camera leaves the model's figures in stats(): the server's memory of it is not the system's to show", async () => {
    await eventuallyAsync(async () => (system.stats().models.slow?.scheduling?.cameras.c?.served ?? 0) > 0, 'the server reports camera c', 30_000);
    await system.cameras.remove('c');
    assert.equal(system.stats().models.slow?.scheduling?.cameras.c, undefined);
    assert.ok(system.stats().models.slow?.scheduling?.cameras.a !== undefined, 'the cameras it has stay');
  });

  it('a motion-gated camera is forecast at its expected activity share (ADR 0066), and says how many like it the model takes', async () => {
    const gated = { ...camera(), workers: [{ id: 'detect', model: 'slow', criticality: 'high', gate: 'motion' }] };
    const at = async (query: string): Promise<Forecast> => {
      const dry = await call('POST', `/api/cameras/g?dryRun=true${query}`, gated);
      assert.equal(dry.status, 200, JSON.stringify(dry.json));
      return dry.json as unknown as Forecast;
    };
    const fifth = await at('&activity=0.2');
    assert.equal(fifth.activity, 0.2);
    const worker = fifth.workers.find((w) => w.camera === 'g')!;
    assert.equal(worker.activity, 0.2);
    assert.ok(Math.abs(worker.demandFps! - fifth.cameraFps * 0.2) < 1e-9, `demand ${worker.demandFps} of ${fifth.cameraFps} fps`);
    assert.match(worker.note ?? '', /gated by motion: asks its rate 20 % of the time/);
    // The model is saturated by the ungated cameras already: none like it fits beside them.
    assert.equal(fifth.camerasLikeThis.slow, 0);
    const quiet = await at('');
    assert.equal(quiet.activity, 0.125, 'a quiet home by default');
    assert.ok(Math.abs(quiet.workers.find((w) => w.camera === 'g')!.demandFps! - quiet.cameraFps * 0.125) < 1e-9);
    const bad = await call('POST', '/api/cameras/g?dryRun=true&activity=2', gated);
    assert.equal(bad.status, 400);
    assert.equal((bad.json.error as { code: string }).code, 'ERR_HTTP_BAD_REQUEST');
    assert.equal(system.stats().cameras.g, undefined, 'nothing added');
  });

  it('a camera of two streams: what each would cost to decode, for whom, and the cheaper choice, measured by decoding a few of its frames (ADR 0114)', async () => {
    const main = await smallH264Clip(640, 360);
    const sub = await smallH264Clip(320, 180);
    const twoStreams = (worker: Record<string, unknown>) => ({
      source: main,
      streams: { sub: { source: sub, width: 320, height: 180 } },
      workers: [{ id: 'people', model: 'slow', maxFps: 2, gate: 'motion', ...worker }],
    });
    const at = async (entry: unknown): Promise<Forecast> => {
      const dry = await call('POST', '/api/cameras/s?dryRun=true', entry);
      assert.equal(dry.status, 200, JSON.stringify(dry.json));
      return dry.json as unknown as Forecast;
    };
    // As docs/configuration.md shows it: the gated detector and motion on the substream, main only on demand.
    const docs = (await at(twoStreams({}))).streams!;
    assert.deepEqual(
      docs.streams.map((s) => [s.stream, s.decoded, s.readers, s.width, s.height, s.msPerFrameFrom]),
      [
        ['main', 'on-demand', [], 640, 360, 'probed'],
        ['sub', 'all-the-time', ['motion', 'people'], 320, 180, 'probed'],
      ],
    );
    const [mainCost, subCost] = docs.streams.map((s) => s.cpuPctAllTheTime!);
    assert.ok(mainCost! > subCost! && subCost! > 0, `main ${mainCost} % of a core, sub ${subCost} %, decoded all the time`);
    assert.equal(docs.cpuPct, subCost, 'what it decodes all the time: the substream');
    assert.deepEqual(docs.cheaper, []);
    assert.match(
      docs.line,
      /^main 640×360 only on demand \(crops, snapshots; all the time it would be [\d.]+ % of a core \(probed\)\); sub 320×180 decoded all the time for motion, people: [\d.]+ % of a core \(probed\)$/,
    );
    // Pinned to main: main decoded all the time too, and the cheaper choice says what it would save.
    const pinned = (await at(twoStreams({ stream: 'main' }))).streams!;
    assert.deepEqual(
      pinned.streams.map((s) => [s.stream, s.decoded, s.readers]),
      [
        ['main', 'all-the-time', ['people']],
        ['sub', 'all-the-time', ['motion']],
      ],
    );
    assert.equal(pinned.cheaper.length, 1);
    assert.equal(pinned.cheaper[0]!.change, 'people on stream: auto (gated: it would read sub)');
    assert.ok(pinned.cheaper[0]!.savesCpuPct! > 0);
    assert.match(pinned.line, /; cheaper: people on stream: auto \(gated: it would read sub\), main then only on demand, saving about [\d.]+ % of a core$/);
    assert.equal(system.stats().cameras.s, undefined, 'nothing added');
  });

  it('a dry run says what the real change would: ERR_DUPLICATE_CAMERA, ERR_UNKNOWN_CAMERA, ERR_CONFIG; a bad dryRun flag is ERR_HTTP_BAD_REQUEST', async () => {
    const duplicate = await call('POST', '/api/cameras/a?dryRun=true', camera());
    assert.equal(duplicate.status, 409);
    assert.equal((duplicate.json.error as { code: string }).code, 'ERR_DUPLICATE_CAMERA');
    const unknown = await call('PUT', '/api/cameras/zz?dryRun=true', camera());
    assert.equal(unknown.status, 404);
    assert.equal((unknown.json.error as { code: string }).code, 'ERR_UNKNOWN_CAMERA');
    const bad = await call('POST', '/api/cameras/d?dryRun=true', { source: 'lavfi:testsrc2', workers: [{ id: 'x', model: 'nope' }] });
    assert.equal(bad.status, 400);
    assert.equal((bad.json.error as { code: string }).code, 'ERR_CONFIG');
    const badRatio = await call('POST', '/api/cameras/d?dryRun=true', {
      ...camera(),
      workers: [{ id: 'detect', model: 'slow', objective: { maxSkipRatio: 2 } }],
    });
    assert.equal(badRatio.status, 400);
    assert.equal((badRatio.json.error as { code: string }).code, 'ERR_CONFIG');
    assert.match((badRatio.json.error as { message: string }).message, /objective\.maxSkipRatio/);
    const badFlag = await call('POST', '/api/cameras/d?dryRun=maybe', camera());
    assert.equal(badFlag.status, 400);
    assert.equal((badFlag.json.error as { code: string }).code, 'ERR_HTTP_BAD_REQUEST');
    assert.equal(system.stats().cameras.d, undefined, 'nothing added');
    const replace = await call('PUT', '/api/cameras/a?dryRun=true', {
      ...camera(),
      workers: [{ id: 'detect', model: 'slow', criticality: 'high', maxFps: 1 }],
    });
    assert.equal(replace.status, 200, JSON.stringify(replace.json));
    const forecast = replace.json as unknown as Forecast;
    assert.equal(forecast.change, 'camera-replaced');
    assert.equal(forecast.cameraFpsFrom, 'measured');
    assert.equal((forecast.models.slow as ModelForecast).shares.a!.thenFps, 1, 'a asks 1 frame a second and gets it');
    assert.equal(system.stats().cameras.a?.workers.detect?.maxFps, null, 'nothing changed');
  });
});
