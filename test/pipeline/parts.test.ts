/**
 * The pipeline's parts on real suppliers: the shared workers' mux (its maxFps
 * gating with a clock the test drives, so no assertion depends on wall time),
 * the event hub, the built-in motion worker, model-server flags. (Gating of a
 * camera's workers is the subscription's: test/supplier/gating.test.ts; drop
 * alerts are the supervisor's: test/workers/supervisor.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FrameSupplier, type Frame } from '../../src/supplier/index.js';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { createLogger } from '../../src/internal/logger.js';
import { FrameMux, PipelineError, VisionSystem, type ResolvedConfig, type SystemEvent } from '../../src/pipeline/index.js';
import { EventHub } from '../../src/pipeline/base/events.js';
import { createHandler, handlerOptionsFromFlags } from '../../src/model-server/index.js';
import { ConfigError, configSchema } from '../../src/config/index.js';
import { modelServerArgs } from '../../src/pipeline/model-host/model-process.js';
import { motion } from '../../src/workers/builtin/motion.js';
import { summarize } from '../../src/cli/run-view.js';
import { ManualClock, rgbFrame } from '../supplier/helpers.js';
import { nextEvent, resolvedConfig } from './helpers.js';

/** One turn of the event loop: distribution, and the mux's reads of what was distributed, have run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function grayFrame(value: (x: number, y: number) => number, width = 64, height = 48, streamId = 'cam'): Frame {
  const payload = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) payload[y * width + x] = value(x, y);
  return Object.freeze({ seq: 1, payload, width, height, format: 'gray', streamId, captureTime: 0, wallTime: 0, decodedTime: 0, publishTime: 0 });
}

describe('pipeline parts', { timeout: 60_000 }, () => {
  describe('FrameMux (shared workers)', () => {
    it('serves cameras round-robin, one latest frame per camera, never a frame twice; delivered + drops + pending = published per camera', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 60 }), async (ops) => {
          const cameras = ['a', 'b', 'c'];
          const suppliers = cameras.map((id) => new FrameSupplier({ streamId: id }).start());
          const mux = new FrameMux({ name: 'vlm' });
          cameras.forEach((id, i) => mux.attach(id, suppliers[i]!));
          const reader = mux.reader();
          const latest = new Map<string, number>(); // the model: unread newest seq per camera
          let lastServed = -1;
          const seen = new Set<string>();
          for (const op of ops) {
            if (op >= 0) {
              const frame = suppliers[op]!.publish(rgbFrame());
              latest.set(cameras[op]!, frame.seq);
              await turn();
              continue;
            }
            if (latest.size === 0) continue; // a read would wait
            const frame = (await reader.read())!;
            let expected = -1;
            for (let k = 1; k <= cameras.length; k++) {
              const i = (lastServed + k) % cameras.length;
              if (latest.has(cameras[i]!)) {
                expected = i;
                break;
              }
            }
            assert.equal(frame.streamId, cameras[expected], 'the next camera after the last served that has a frame');
            assert.equal(frame.seq, latest.get(frame.streamId), "that camera's newest frame");
            const key = `${frame.streamId}#${frame.seq}`;
            assert.ok(!seen.has(key), 'never the same frame twice');
            seen.add(key);
            latest.delete(frame.streamId);
            lastServed = expected;
          }
          const figures = mux.stats();
          cameras.forEach((id, i) => {
            const f = figures[id]!;
            assert.equal(f.delivered + f.drops + (f.pending ? 1 : 0), suppliers[i]!.stats().published, id);
          });
          mux.close();
          for (const s of suppliers) void s.close();
        }),
        { numRuns: 60 },
      );
    });

    it('detaching a camera leaves the others served; a new reader starts from fresh slots; the reader ends with the mux', async () => {
      const a = new FrameSupplier({ streamId: 'a' }).start();
      const b = new FrameSupplier({ streamId: 'b' }).start();
      const mux = new FrameMux({ name: 'vlm' });
      mux.attach('a', a);
      mux.attach('b', b);
      let reader = mux.reader();
      a.publish(rgbFrame());
      b.publish(rgbFrame());
      await turn();
      mux.detach('a');
      assert.equal((await reader.read())?.streamId, 'b');
      assert.deepEqual(mux.cameras, ['b']);
      assert.equal(a.stats().workers.length, 0, "the camera's subscription is closed");
      b.publish(rgbFrame());
      await turn();
      reader = mux.reader(); // a restarted worker: the frame from before is not handed to it
      const next = reader.read();
      b.publish(rgbFrame());
      assert.equal((await next)?.seq, 3);
      const waiting = reader.read();
      mux.close();
      assert.equal(await waiting, null);
      void a.close();
      void b.close();
    });

    it('maxFps: a frame no sooner than 1/maxFps after the one before; slots overwritten within it or while the reader waits are gated, later ones (the worker late) drops', async () => {
      const clock = new ManualClock();
      const a = new FrameSupplier({ streamId: 'a' }).start();
      const b = new FrameSupplier({ streamId: 'b' }).start();
      const mux = new FrameMux({ name: 'vlm', clock });
      mux.attach('a', a);
      mux.attach('b', b);
      const reader = mux.reader('shared.vlm', { maxFps: 2 });
      const publish = async (supplier: FrameSupplier): Promise<void> => {
        supplier.publish(rgbFrame());
        await turn();
      };
      await publish(a);
      assert.equal((await reader.read())?.streamId, 'a'); // taken at 0: the next slot is at 500
      await publish(a);
      await publish(a); // overwrites a's slot within the interval: gated
      const next = reader.read();
      await publish(b);
      await publish(b); // overwrites b's slot while the reader waits for its slot: gated
      clock.advance(499);
      assert.deepEqual([reader.stats().delivered, reader.stats().waiting], [1, true], 'not before its slot');
      clock.advance(500);
      const taken = (await next)!;
      assert.deepEqual([taken.streamId, taken.seq], ['b', 2], 'the next camera after a, its newest frame');
      clock.advance(1_500); // the worker busy past its interval (which ended at 1 000)
      await publish(a); // overwrites a's slot (seq 3): a drop
      let figures = mux.stats();
      assert.deepEqual([figures.a!.gated, figures.a!.drops, figures.b!.gated, figures.b!.drops], [1, 1, 1, 0]);
      assert.equal((await reader.read())?.seq, 4, 'late: taken at once');
      const stats = reader.stats();
      assert.deepEqual([stats.delivered, stats.gated, stats.drops, stats.maxFps], [3, 2, 1, 2]);
      figures = mux.stats();
      for (const [camera, supplier] of [
        ['a', a],
        ['b', b],
      ] as const) {
        const f = figures[camera]!;
        assert.equal(f.delivered + f.drops + f.gated + (f.pending ? 1 : 0), supplier.stats().published, camera);
      }
      const waiting = reader.read(); // waits for its slot at 2 000
      await reader.close();
      assert.equal(await waiting, null);
      mux.close();
      void a.close();
      void b.close();
    });
  });

  describe('EventHub', () => {
    const event = (n: number): SystemEvent => ({ type: 'config-change', at: n, change: 'camera-added', camera: `c${n}`, worker: null, shared: false });

    it('calls listeners by type and for every type; a throwing listener is reported and the others still run', () => {
      const errors: unknown[] = [];
      const hub = new EventHub((error) => errors.push(error));
      const seen: string[] = [];
      const byType = (e: SystemEvent): void => void seen.push(`type:${e.at}`);
      hub.on('config-change', byType);
      hub.on('*', () => {
        throw new Error('bad sink');
      });
      hub.on('*', (e) => seen.push(`all:${e.at}`));
      hub.emit(event(1));
      hub.off('config-change', byType);
      hub.emit(event(2));
      assert.deepEqual(seen, ['type:1', 'all:1', 'all:2']);
      assert.equal(errors.length, 2);
    });

    it('an iterator keeps at most bufferSize events for a slow consumer and says how many it lost; it ends on abort and on close', async () => {
      const hub = new EventHub(() => undefined);
      const controller = new AbortController();
      const it = hub.events({ bufferSize: 2, signal: controller.signal })[Symbol.asyncIterator]();
      const first = it.next(); // registers the iterator
      hub.emit(event(1));
      assert.equal(((await first).value as SystemEvent).at, 1);
      for (let n = 2; n <= 6; n++) hub.emit(event(n));
      const lost = (await it.next()).value as SystemEvent;
      assert.ok(lost.type === 'events-lost' && lost.count === 3, 'the three oldest were dropped');
      assert.equal(((await it.next()).value as SystemEvent).at, 5);
      assert.equal(((await it.next()).value as SystemEvent).at, 6);
      controller.abort();
      assert.equal((await it.next()).done, true);

      const other = hub.events()[Symbol.asyncIterator]();
      const pending = other.next();
      hub.close();
      assert.equal((await pending).done, true);
      assert.equal((await hub.events()[Symbol.asyncIterator]().next()).done, true);
    });
  });

  it('builtin:motion: mean brightness, and the share of the picture that moved since the frame before', () => {
    const ctx = { signal: new AbortController().signal };
    const first = motion(
      grayFrame(() => 100),
      ctx,
    );
    assert.deepEqual([first.brightness, first.motion, first.change], [100, 0, 0]);
    const second = motion(
      grayFrame((x) => (x < 32 ? 200 : 100)),
      ctx,
    );
    assert.equal(second.brightness, 150);
    assert.equal(second.motion, 0.5);
    assert.equal(second.change, 50);
    assert.equal(
      motion(
        grayFrame(() => 100, 64, 48, 'other-cam'),
        ctx,
      ).motion,
      0,
      'per camera: another camera has no frame before',
    );
    assert.throws(() => motion({ ...grayFrame(() => 0), format: 'jpeg' }, ctx), /raw frames/);
    // Kept per run of the worker (its signal): a restart, or a camera added again, starts afresh, and a stopped run's
    // samples go with it (a map of ids kept every removed camera's).
    assert.equal(
      motion(
        grayFrame(() => 100),
        { signal: new AbortController().signal },
      ).motion,
      0,
      'a new run has no frame before',
    );
  });

  it("model servers: config keys become the handler's flags; a key of another handler is refused", () => {
    const resolved = { modelId: 'people', timeoutMs: 5_000, restart: { initialMs: 1_000, maxMs: 30_000 } };
    assert.deepEqual(modelServerArgs('people', { handler: 'person', threads: 2, minConfidence: 0.4, ...resolved }, '/run/p.sock', 'people', '/dev/shm/x'), [
      '--handler',
      'person',
      '--socket',
      '/run/p.sock',
      '--model-id',
      'people',
      '--shm-dir',
      '/dev/shm/x',
      '--threads',
      '2',
      '--min-confidence',
      '0.4',
    ]);
    // Not a Config (the schema refuses it): what a JS caller that bypassed src/config would pass.
    const mockWithThreads = { handler: 'mock', threads: 2, ...resolved } as unknown as Parameters<typeof modelServerArgs>[1];
    assert.throws(
      () => modelServerArgs('m', mockWithThreads, '/s', 'm', '/d'),
      (e: unknown) => e instanceof ConfigError && e.issues[0]?.path === 'models.m.threads' && /not an option of the mock handler/.test(e.issues[0].message),
    );
  });

  it('model servers: every option the config schema gives a handler reaches the model-server command, which takes it', () => {
    // The config schema, the flags the system passes and the flags the command takes must not drift apart.
    const examples: Record<string, Record<string, unknown>> = {
      person: {
        handler: 'person',
        threads: 2,
        minConfidence: 0.4,
        poseMaxPeople: 3,
        network: 'movenet-multipose',
        inputSize: 384,
        precision: 'int8',
        intraOpThreads: 2,
        executionProviders: ['cpu'],
        batch: 1,
      },
      onnx: {
        handler: 'onnx',
        model: '/m/yolo.onnx',
        classes: '/m/coco.txt',
        layout: 'v8',
        minConfidence: 0.25,
        iou: 0.45,
        inputSize: 640,
        threads: 2,
        intraOpThreads: 1,
        executionProviders: ['cuda', 'cpu'],
        batch: 8,
      },
      mock: { handler: 'mock', delayMs: 5, delayPerFrameMs: 0.3, batch: 16, inputSize: 320 },
    };
    type Variant = { properties: Record<string, unknown> };
    const models = (configSchema as unknown as { properties: { models: { patternProperties: Record<string, { anyOf: Variant[] }> } } }).properties.models;
    const variants = Object.values(models.patternProperties)[0]!.anyOf;
    assert.deepEqual(
      variants
        .map((v) => (v.properties.handler as { const?: string } | undefined)?.const)
        .filter(Boolean)
        .sort(),
      Object.keys(examples).sort(),
    );
    for (const variant of variants) {
      const handler = (variant.properties.handler as { const?: string } | undefined)?.const;
      if (handler === undefined) continue;
      const keys = Object.keys(variant.properties).filter((k) => !['handler', 'socket', 'modelId', 'timeoutMs', 'maxAgeMs', 'restart'].includes(k));
      assert.deepEqual(
        keys.filter((k) => !(k in examples[handler]!)),
        [],
        `${handler}: every schema key is exercised here`,
      );
      const args = modelServerArgs(handler, examples[handler] as never, '/s.sock', handler, '/d');
      const flags: Record<string, string> = {};
      for (let i = args.indexOf('--shm-dir') + 2; i < args.length; i += 2) flags[args[i]!.slice(2)] = args[i + 1]!;
      // The model server reads its flags back into the same options, through the same schema.
      const options = handlerOptionsFromFlags(handler, flags);
      for (const [key, value] of Object.entries(examples[handler]!)) assert.deepEqual((options as Record<string, unknown>)[key], value, `${handler}.${key}`);
      assert.doesNotThrow(() => createHandler(options), `${handler}: ${args.join(' ')}`);
    }
  });

  it('the view summarizes detections as class, count and confidences', () => {
    assert.equal(
      summarize({
        detections: [
          { class_name: 'person', confidence: 0.5 },
          { class_name: 'person', confidence: 0.91 },
        ],
      }),
      'person ×2 (0.91 0.50)',
    );
    assert.equal(summarize({ detections: [], error: { code: 'ERR_TIMEOUT' } }), 'error ERR_TIMEOUT');
    const keypoints = Array.from({ length: 17 }, () => [0.5, 0.5, 0.9]);
    assert.equal(
      summarize({
        detections: [
          { class_name: 'person', confidence: 0.7, keypoints },
          { class_name: 'person', confidence: 0.6 },
        ],
      }),
      'person ×2 (0.70 0.60), 1 pose',
    );
    assert.equal(summarize({ brightness: 118.25, motion: 0.0123 }), 'brightness 118.250  motion 0.012');
  });

  describe('VisionSystem, without child processes', () => {
    const isCode =
      (code: string) =>
      (error: unknown): boolean =>
        error instanceof PipelineError && error.code === code;

    it('start and close are idempotent, asyncDispose closes, calls after close are refused; a model it cannot run is refused at construction', async () => {
      const shmDir = `/dev/shm/framesupplier-parts-${process.pid}`;
      const system = new VisionSystem({ config: resolvedConfig({ shmDir, cameras: {} }), logger: createLogger({ level: 'silent' }) });
      const states: string[] = [];
      system.on('system-state', (e) => states.push(e.state));
      await Promise.all([system.start(), system.start()]);
      assert.equal(system.state, 'running');
      assert.ok(existsSync(system.runtimeDir) && existsSync(shmDir));
      await system[Symbol.asyncDispose]();
      await system.close();
      assert.deepEqual(states, ['starting', 'running', 'closing', 'closed']);
      assert.ok(!existsSync(system.runtimeDir) && !existsSync(shmDir), 'the directories it made are gone');
      await assert.rejects(system.start(), isCode('ERR_SYSTEM_CLOSED'));
      await assert.rejects(system.cameras.remove('x'), isCode('ERR_SYSTEM_CLOSED'));
      // Models src/config refuses, from a JS caller that bypassed it: the system refuses them too.
      const withModels = (models: unknown): ResolvedConfig => ({ ...resolvedConfig({ cameras: {} }), models: models as ResolvedConfig['models'] });
      assert.throws(
        () => new VisionSystem({ config: withModels({ m: { handler: 'mock', modelId: 'm', timeoutMs: 5_000, restart: {}, poseMaxPeople: 2 } }) }),
        (e: unknown) => e instanceof ConfigError && e.issues[0]?.path === 'models.m.poseMaxPeople',
      );
      assert.throws(
        () => new VisionSystem({ config: withModels({ m: {} }) }),
        (e: unknown) => e instanceof ConfigError && e.issues[0]?.path === 'models.m',
      );
    });

    it('a camera password reaches no log line, stats, event or error', async () => {
      // A port that refuses connections: the camera goes to backoff with an error.
      const port = await new Promise<number>((resolve) => {
        const probe = createServer().listen(0, '127.0.0.1', () => {
          const { port } = probe.address() as { port: number };
          probe.close(() => resolve(port));
        });
      });
      const log = join(tmpdir(), `framesupplier-secret-${process.pid}.log`);
      const shmDir = `/dev/shm/framesupplier-parts-${process.pid}`;
      const source = `rtsp://viewer:s3cr3t-pw@127.0.0.1:${port}/stream1`;
      const system = new VisionSystem({
        config: resolvedConfig({
          shmDir,
          cameras: {
            [`door-${process.pid}`]: {
              source,
              capture: { connectTimeoutMs: 2_000, backoff: { initialMs: 100, maxMs: 200 } },
              workers: [{ id: 'motion', module: 'builtin:motion' }],
            },
          },
        }),
        logger: createLogger({ level: 'trace', destination: log }),
      });
      const events: SystemEvent[] = [];
      system.on('*', (e) => events.push(e));
      const backoff = nextEvent(system, 'camera-state', (e) => e.state === 'backoff');
      await system.start();
      await backoff;
      const stats = JSON.stringify(system.stats());
      await assert.rejects(system.cameras.add(`door-${process.pid}`, { source }), (e: unknown) => !String((e as Error).message).includes('s3cr3t'));
      await system.close();
      assert.ok(stats.includes('viewer:***@'), 'the source is shown masked');
      for (const [what, text] of [
        ['stats', stats],
        ['events', JSON.stringify(events)],
        ['log', readFileSync(log, 'utf8')],
      ] as const) {
        assert.ok(!text.includes('s3cr3t'), `the password is in the ${what}`);
      }
      rmSync(log, { force: true });
    });
  });
});
