/**
 * vlm workers (ADR 0050) against a stand-in chat server on real HTTP
 * (test/helpers/vlm-server.ts, written from the OpenAI and Ollama API docs):
 * the request carries the crop of the object's latest box cut from the
 * newest frame, at the asked size, the schema, and the key in the header
 * only; answers, streamed or not, become results with ages and tokens;
 * 429 pauses the endpoint (asks meanwhile skipped), 500 and a hang are
 * error results; the rate budget holds under a burst; a late answer is
 * marked stale; a hung endpoint never holds another worker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import sharp from 'sharp';
import { PendingObjects } from '../../src/workers/vlm/vlm-pending.js';
import { FrameSupplier, type FrameInput } from '../../src/supplier/index.js';
import { NOT_PRIVATE } from '../../src/pictures/index.js';
import {
  inProcessWorker,
  triggerOf,
  vlmImageEncodes,
  vlmWorker,
  WorkerSupervisor,
  type VlmObject,
  type VlmObjectEvent,
  type VlmOutput,
  type VlmScene,
  type VlmWorkerOptions,
  type WorkerResult,
} from '../../src/workers/index.js';
import { FakeVlmServer } from '../helpers/vlm-server.js';
import { buildWorkerKind } from '../../src/pipeline/camera/build-worker.js';
import { resolvedConfig } from '../pipeline/helpers.js';
import { checkNetworkCamera } from '../../src/config/index.js';
import { eventually } from '../helpers/process.js';

const W = 320;
const H = 240;
/** The red square's and the blue one's boxes, normalised. */
const RED: readonly [number, number, number, number] = [40 / W, 40 / H, 120 / W, 120 / H];
const BLUE: readonly [number, number, number, number] = [200 / W, 120 / H, 280 / W, 200 / H];
const KEY = 'sk-test-0123456789abcdefSECRET';

/** A white rgb24 frame with a red and a blue square (where RED and BLUE say). */
function squares(): FrameInput {
  const p = new Uint8Array(W * H * 3).fill(255);
  const fill = (box: readonly number[], rgb: readonly [number, number, number]): void => {
    for (let y = Math.round(box[1]! * H); y < Math.round(box[3]! * H); y++)
      for (let x = Math.round(box[0]! * W); x < Math.round(box[2]! * W); x++) p.set(rgb, (y * W + x) * 3);
  };
  fill(RED, [255, 0, 0]);
  fill(BLUE, [0, 0, 255]);
  return { payload: p, width: W, height: H, format: 'rgb24' };
}

const object = (id: string, label: string, box: readonly [number, number, number, number], zones: string[] = []): VlmObject => ({
  id,
  label,
  box,
  worker: 'detector',
  current_zones: zones,
  loitering_zones: [],
});

/** A scene the test drives: it fires object events and says which objects live. */
class TestScene implements VlmScene {
  readonly #listeners = new Set<(e: VlmObjectEvent) => void>();
  live: VlmObject[] = [];
  onObjectEvent(_camera: string, listener: (e: VlmObjectEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  liveObjects(): readonly VlmObject[] {
    return this.live;
  }
  fire(type: VlmObjectEvent['type'], o: VlmObject, before: VlmObject = o): void {
    for (const l of this.#listeners) l({ type, before, after: o });
  }
}

function options(server: FakeVlmServer, scene: VlmScene, more: Partial<VlmWorkerOptions> = {}): VlmWorkerOptions {
  return {
    camera: 'cam',
    api: 'openai',
    url: server.url('openai'),
    model: 'llava',
    apiKey: KEY,
    prompt: { name: 'describe', text: 'What is the {{label}} {{object_id}} on {{camera}} doing?' },
    image: { crop: true, margin: 0, size: 64, quality: 90 },
    timeoutMs: 5_000,
    triggers: { objects: { on: ['new'] }, intervalS: null },
    budgets: { maxAgeMs: 2_000, staleAfterMs: null, perMinute: null, endpoint: { perMinute: null, concurrency: 4 } },
    scene,
    privacy: NOT_PRIVATE,
    ...more,
  };
}

interface Rig {
  readonly supplier: FrameSupplier;
  readonly supervisor: WorkerSupervisor;
  readonly results: WorkerResult[];
  readonly logs: string[];
  /** The next result of `worker`. */
  next(worker?: string): Promise<VlmOutput>;
  close(): Promise<void>;
}

/** A camera publishing the squares every 20 ms, and a supervisor with the given workers. */
function rig(workers: { id: string; kind: ReturnType<typeof vlmWorker> | ReturnType<typeof inProcessWorker> }[]): Rig {
  const supplier = new FrameSupplier({ streamId: 'cam' }).start();
  const logs: string[] = [];
  const supervisor = new WorkerSupervisor({ supplier, log: (workerId, line) => logs.push(`${workerId}: ${line}`) });
  const results: WorkerResult[] = [];
  const waiting: { worker: string; resolve: (o: VlmOutput) => void }[] = [];
  supervisor.on('result', (r: WorkerResult) => {
    results.push(r);
    const i = waiting.findIndex((w) => w.worker === r.workerId);
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(r.output as VlmOutput);
  });
  for (const w of workers) supervisor.add({ id: w.id, kind: w.kind, criticality: 'best-effort' });
  supplier.publish(squares());
  const timer = setInterval(() => supplier.publish(squares()), 20);
  supervisor.start();
  return {
    supplier,
    supervisor,
    results,
    logs,
    next: (worker = 'vlm') => new Promise((resolve) => waiting.push({ worker, resolve })),
    close: async () => {
      clearInterval(timer);
      await supervisor.close();
      await supplier.close();
    },
  };
}

/** Mean colour of a JPEG, and its size. */
async function colourOf(jpeg: Buffer): Promise<{ r: number; g: number; b: number; width: number; height: number }> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  let r = 0;
  let g = 0;
  let b = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    r += data[i]!;
    g += data[i + 1]!;
    b += data[i + 2]!;
  }
  const n = data.length / info.channels;
  return { r: r / n, g: g / n, b: b / n, width: info.width, height: info.height };
}

describe('vlm workers', { timeout: 180_000 }, () => {
  let server: FakeVlmServer;
  before(async () => {
    server = await new FakeVlmServer({ apiKey: KEY }).start();
  });
  after(() => server.close());

  it('openai, a new red object: the crop of its latest box in the newest frame, at the asked size, the schema, the key in the header only; the parsed answer with ages and tokens', async () => {
    const scene = new TestScene();
    const schema = {
      type: 'object',
      properties: { colour: { type: 'string' }, person: { type: 'boolean' } },
      required: ['colour', 'person'],
      additionalProperties: false,
    };
    server.answer = () => JSON.stringify({ colour: 'red', person: false });
    const kind = vlmWorker(options(server, scene, { prompt: { name: 'colour', text: 'Colour of the {{label}}?', schema } }));
    const r = rig([{ id: 'vlm', kind }]);
    try {
      const red = object('obj-1', 'red', RED);
      scene.live = [red, object('obj-2', 'blue', BLUE)];
      const answered = r.next();
      const sent = server.requests.length;
      scene.fire('new', red);
      const out = await answered;
      const request = server.requests[sent]!;
      assert.equal(out.error, undefined, JSON.stringify(out.error));
      assert.deepEqual(out.answer, { colour: 'red', person: false });
      // The prompt's name, under the field named for it; `prompt` (deprecated) says the same until 0.2.0.
      assert.equal(out.promptName, 'colour');
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- the deprecated field is what is checked here
      assert.equal(out.prompt, 'colour');
      assert.deepEqual(out.trigger, { kind: 'new', objectId: 'obj-1', label: 'red', zone: null });
      assert.deepEqual(out.tokens, { prompt: 120, completion: 1 });
      assert.ok(out.ageAtRequestMs >= 0 && out.ageAtRequestMs <= 2_000, `age at request ${out.ageAtRequestMs}`);
      assert.ok(out.ageAtAnswerMs >= out.ageAtRequestMs);
      assert.equal(out.stale, false);
      // The picture: the red square, 80×80 px scaled to the asked 64.
      const picture = await colourOf(request.jpeg!);
      assert.deepEqual([picture.width, picture.height], [64, 64]);
      assert.ok(picture.r > 200 && picture.g < 60 && picture.b < 60, `the crop is red: ${JSON.stringify(picture)}`);
      assert.deepEqual(out.image, { width: 64, height: 64, region: [40, 40, 80, 80], source: 'frame', stream: 'main', fallback: null });
      assert.equal(out.frames.length, 1, 'one picture without frames.max');
      assert.deepEqual([out.frames[0]!.source, out.frames[0]!.captureTime], ['frame', out.captureTime]);
      // The request: OpenAI's shape, the schema, the prompt rendered.
      const body = request.body as { messages: { content: { type: string; text?: string }[] }[]; response_format: unknown; stream: boolean };
      assert.equal(body.messages[0]!.content[0]!.text, 'Colour of the red?');
      assert.deepEqual(body.response_format, { type: 'json_schema', json_schema: { name: 'colour', schema, strict: true } });
      assert.equal(body.stream, false);
      // The key: in the Authorization header, nowhere else.
      assert.equal(request.headers.authorization, `Bearer ${KEY}`);
      assert.ok(!JSON.stringify(request.body).includes(KEY));
      assert.ok(!JSON.stringify(r.results).includes(KEY), 'no result carries the key');
      assert.ok(!JSON.stringify(r.supervisor.stats()).includes(KEY), 'the stats do not carry the key');
      assert.ok(!r.logs.join('\n').includes(KEY), 'no log line carries the key');
    } finally {
      await r.close();
    }
  });

  it('frames.max 3 (ADR 0072): a zone entry asks with two crops kept over the life, then the freshest, oldest first, in one message; the crops go with the object', async () => {
    const scene = new TestScene();
    const kind = vlmWorker(
      options(server, scene, { frames: { max: 3, everyMs: 40 }, triggers: { objects: { labels: ['red'], on: ['zone'] }, intervalS: null } }),
    );
    const r = rig([{ id: 'vlm', kind }]);
    try {
      const seen = (o: VlmObject, score: number): VlmObject => ({ ...o, frame_time: Date.now() / 1000, score });
      let red = seen(object('obj-k', 'red', RED), 0.7);
      const blue = object('obj-b', 'blue', BLUE);
      scene.live = [red, blue];
      scene.fire('new', red);
      scene.fire('new', blue);
      // The tracker sees them again and again: a crop of red kept each time its last is 40 ms old (one per frame read).
      let updates = 0;
      await eventually(() => {
        red = seen(red, 0.7 + ++updates / 10_000);
        scene.live = [red, blue];
        scene.fire('update', red);
        scene.fire('update', blue);
        return kind.counts().kept.crops >= 4;
      }, 'four crops of red kept');
      assert.equal(kind.counts().kept.objects, 1, 'the blue object is not one this worker describes: none of it kept');
      const answered = r.next();
      const sent = server.requests.length;
      const outside = red;
      red = { ...seen(red, 0.9), current_zones: ['porch'] };
      scene.live = [red];
      scene.fire('update', red, outside);
      const out = await answered;
      assert.equal(out.error, undefined, JSON.stringify(out.error));
      assert.deepEqual([out.trigger.kind, out.trigger.zone], ['zone', 'porch']);
      assert.equal(server.requests[sent]!.jpegs.length, 3, 'three pictures in one request');
      assert.deepEqual(
        out.frames.map((f) => f.source),
        ['kept', 'kept', 'frame'],
      );
      const times = out.frames.map((f) => f.captureTime!);
      assert.ok(times[0]! < times[1]! && times[1]! < times[2]!, `oldest first: ${times.join(', ')}`);
      assert.equal(times[2], out.captureTime, 'the freshest is the frame read for the ask');
      assert.equal(out.frames[2]!.score, 0.9);
      for (const jpeg of server.requests[sent]!.jpegs) {
        const picture = await colourOf(jpeg);
        assert.ok(picture.r > 200 && picture.g < 60 && picture.b < 60, `each picture is the red crop: ${JSON.stringify(picture)}`);
      }
      // It ends with no ask of it waiting: its crops go.
      scene.live = [];
      scene.fire('end', red);
      assert.deepEqual(kind.counts().kept, { ...kind.counts().kept, objects: 0, crops: 0, bytes: 0 });
    } finally {
      await r.close();
    }
  });

  it("ollama, streamed, with a schema: the image in the message's images, the schema as format; the blue object's crop is blue", async () => {
    const scene = new TestScene();
    const schema = { type: 'object', properties: { colour: { type: 'string' } }, required: ['colour'] };
    server.answer = () => '{"colour": "blue"}';
    const kind = vlmWorker(
      options(server, scene, { api: 'ollama', url: server.url('ollama'), stream: true, maxTokens: 50, prompt: { name: 'colour', text: 'Colour?', schema } }),
    );
    const r = rig([{ id: 'vlm', kind }]);
    try {
      const blue = object('obj-2', 'blue', BLUE);
      scene.live = [blue];
      const answered = r.next();
      const sent = server.requests.length;
      scene.fire('new', blue);
      const out = await answered;
      const request = server.requests[sent]!;
      assert.equal(out.error, undefined, JSON.stringify(out.error));
      assert.deepEqual(out.answer, { colour: 'blue' });
      assert.deepEqual(out.tokens, { prompt: 120, completion: 2 });
      const body = request.body as { format: unknown; stream: boolean; options: unknown; messages: { content: string; images: string[] }[] };
      assert.deepEqual([body.format, body.stream, body.options, body.messages[0]!.content], [schema, true, { num_predict: 50 }, 'Colour?']);
      const picture = await colourOf(request.jpeg!);
      assert.ok(picture.b > 200 && picture.r < 60, `the crop is blue: ${JSON.stringify(picture)}`);
    } finally {
      await r.close();
    }
  });

  it('openai streamed: the deltas put together, the usage chunk read; an interval trigger asks about the whole frame', async () => {
    const scene = new TestScene();
    server.answer = () => 'two squares, one red and one blue';
    const kind = vlmWorker(options(server, scene, { stream: true, triggers: { objects: null, intervalS: 1 } }));
    const r = rig([{ id: 'vlm', kind }]);
    try {
      const out = await r.next();
      assert.equal(out.answer, 'two squares, one red and one blue');
      assert.deepEqual(out.tokens, { prompt: 120, completion: 7 });
      assert.deepEqual([out.trigger.kind, out.image.width, out.image.height], ['interval', 64, 48]);
      assert.equal((server.requests.at(-1)!.body as { stream_options?: unknown }).stream_options !== undefined, true);
    } finally {
      await r.close();
    }
  });

  it('429 with Retry-After: an error result, and the endpoint paused: asks meanwhile skipped (no request); 500: an error result, the next ask answered', async () => {
    const scene = new TestScene();
    const red = object('obj-1', 'red', RED);
    scene.live = [red];
    const local = await new FakeVlmServer().start();
    try {
      const kind = vlmWorker(options(local, scene, { apiKey: null }));
      const r = rig([{ id: 'vlm', kind }]);
      try {
        local.mode = 'rate429';
        local.retryAfterS = 30;
        const answered = r.next();
        scene.fire('new', red);
        const out = await answered;
        assert.equal(out.error?.code, 'ERR_VLM_RATE_LIMITED');
        const before = local.requests.length;
        scene.fire('new', red);
        assert.equal(kind.counts().skipped['endpoint-paused'], 1, 'skipped while the endpoint is paused');
        assert.equal(local.requests.length, before, 'nothing sent');
        assert.equal(local.requests[0]!.headers.authorization, undefined, 'no key configured: no header');
      } finally {
        await r.close();
      }
      // A second worker on another endpoint (a fresh server: its own budget) for the 500.
      const other = await new FakeVlmServer().start();
      const kind2 = vlmWorker(options(other, scene, { apiKey: null }));
      const r2 = rig([{ id: 'vlm', kind: kind2 }]);
      try {
        other.mode = 'error500';
        let answered = r2.next();
        scene.fire('new', red);
        let out = await answered;
        assert.equal(out.error?.code, 'ERR_VLM_SERVER');
        other.mode = 'ok';
        answered = r2.next();
        scene.fire('new', red);
        out = await answered;
        assert.equal(out.error, undefined);
        assert.equal(r2.supervisor.stats()[0]!.state, 'running', 'a 500 is no crash');
      } finally {
        await r2.close();
        await other.close();
      }
    } finally {
      await local.close();
    }
  });

  it('the rate budget under a burst of 50 events: 5 a minute sent, the rest skipped and counted, none queued', async () => {
    const scene = new TestScene();
    const red = object('obj-1', 'red', RED);
    scene.live = [red];
    const local = await new FakeVlmServer().start();
    const kind = vlmWorker(
      options(local, scene, { apiKey: null, budgets: { maxAgeMs: 2_000, staleAfterMs: null, perMinute: 5, endpoint: { perMinute: null, concurrency: 1 } } }),
    );
    const r = rig([{ id: 'vlm', kind }]);
    try {
      // All at once: one goes, 49 find the worker busy; only what was sent was encoded.
      const encodesBefore = vlmImageEncodes();
      const first = r.next();
      for (let i = 0; i < 50; i++) scene.fire('new', red);
      await first;
      assert.deepEqual([kind.counts().sent, kind.counts().skipped.busy], [1, 49]);
      // One after another: 4 more within the minute, then every one skipped by the rate.
      for (let i = 0; i < 50; i++) {
        const skipped = totalSkipped(kind.counts());
        scene.fire('new', red);
        // Admitted (not skipped at once): its answer is waited for before the next event.
        if (totalSkipped(kind.counts()) === skipped) await r.next();
      }
      const counts = kind.counts();
      assert.equal(counts.sent, 5);
      assert.equal(counts.skipped['worker-rate'], 46);
      assert.equal(local.requests.length, 5, 'only what was sent reached the server');
      assert.equal(counts.triggers, 100);
      assert.equal(vlmImageEncodes() - encodesBefore, 5, 'no picture encoded for a skipped ask');
    } finally {
      await r.close();
      await local.close();
    }
  });

  it('an answer later than staleAfterMs is marked stale', async () => {
    const scene = new TestScene();
    const red = object('obj-1', 'red', RED);
    scene.live = [red];
    const local = await new FakeVlmServer().start();
    local.latencyMs = 300;
    const kind = vlmWorker(
      options(local, scene, { apiKey: null, budgets: { maxAgeMs: 2_000, staleAfterMs: 150, perMinute: null, endpoint: { perMinute: null, concurrency: 1 } } }),
    );
    const r = rig([{ id: 'vlm', kind }]);
    try {
      const answered = r.next();
      scene.fire('new', red);
      const out = await answered;
      assert.equal(out.stale, true);
      assert.ok(out.ageAtAnswerMs > 150 && out.latencyMs >= 290, JSON.stringify(out));
      assert.equal(kind.counts().stale, 1);
    } finally {
      await r.close();
      await local.close();
    }
  });

  it('a hung endpoint for 10 s: an ERR_VLM_TIMEOUT result at the timeout, asks meanwhile skipped, and the camera’s other worker undisturbed', async () => {
    const scene = new TestScene();
    const red = object('obj-1', 'red', RED);
    scene.live = [red];
    const local = await new FakeVlmServer().start();
    local.mode = 'hang';
    const kind = vlmWorker(options(local, scene, { apiKey: null, timeoutMs: 10_000 }));
    let detections = 0;
    const detector = inProcessWorker(() => ({ detections: [], n: ++detections }));
    const r = rig([
      { id: 'vlm', kind },
      { id: 'detector', kind: detector },
    ]);
    try {
      const answered = r.next();
      const requested = new Promise((resolve) => local.once('request', resolve));
      scene.fire('new', red);
      await requested;
      const startedAt = Date.now();
      const atStart = detections;
      scene.fire('new', red);
      const out = await answered;
      const heldMs = Date.now() - startedAt;
      assert.equal(out.error?.code, 'ERR_VLM_TIMEOUT');
      assert.ok(heldMs >= 9_000, `held ${heldMs} ms`);
      assert.equal(kind.counts().skipped.busy, 1);
      // 20 ms frames for 10 s: the detector kept reading (a loaded machine gives it fewer, never none).
      assert.ok(detections - atStart > 100, `the detector ran ${detections - atStart} times meanwhile`);
      assert.equal(r.supervisor.stats().find((s) => s.workerId === 'detector')!.state, 'running');
    } finally {
      await r.close();
      await local.close();
    }
  });
});

describe('vlm pending objects (ADR 0067)', { timeout: 120_000 }, () => {
  it('the pending set (property): one entry per object, never over its capacity, taken by priority then oldest trigger, each trigger added, merged or refused', () => {
    const kinds = ['new', 'zone', 'loitering', 'end'] as const;
    const rank = { zone: 0, loitering: 0, new: 1, end: 2, interval: 3 } as const;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('add' as const), id: fc.integer({ min: 0, max: 9 }), kind: fc.constantFrom(...kinds) }),
            fc.record({ op: fc.constant('take' as const) }),
          ),
          {
            maxLength: 60,
          },
        ),
        (capacity, ops) => {
          const set = new PendingObjects(capacity);
          // The model: key → [best rank, first time].
          const model = new Map<string, { rank: number; at: number }>();
          let now = 0;
          for (const op of ops) {
            now++;
            if (op.op === 'add') {
              const key = `o${op.id}`;
              const outcome = set.add({ kind: op.kind, object: { ...object(key, 'red', RED) }, zone: null }, now);
              const had = model.get(key);
              if (had !== undefined) {
                assert.equal(outcome, 'merged');
                had.rank = Math.min(had.rank, rank[op.kind]);
              } else if (model.size >= capacity) assert.equal(outcome, 'full');
              else {
                assert.equal(outcome, 'added');
                model.set(key, { rank: rank[op.kind], at: now });
              }
            } else {
              const entry = set.peek();
              if (model.size === 0) assert.equal(entry, null);
              else {
                const best = [...model.entries()].sort((a, b) => a[1].rank - b[1].rank || a[1].at - b[1].at)[0]!;
                assert.equal(entry?.key, best[0]);
                set.delete(entry);
                model.delete(best[0]);
              }
            }
            assert.equal(set.size, model.size);
            assert.ok(set.size <= capacity);
          }
        },
      ),
    );
  });

  it('four objects confirmed on the same frame: each described exactly once, oldest first, each from a frame newer than its trigger; tokens summed as the server counted them', async () => {
    const scene = new TestScene();
    const local = await new FakeVlmServer().start();
    local.latencyMs = 200;
    const kind = vlmWorker(options(local, scene, { apiKey: null }));
    const r = rig([{ id: 'vlm', kind }]);
    try {
      // The detection's frame: no newer than now, when the objects are confirmed.
      const seen = Date.now();
      const objects = ['a', 'b', 'c', 'd'].map((id) => ({
        ...object(id, id === 'b' || id === 'd' ? 'blue' : 'red', id === 'b' || id === 'd' ? BLUE : RED),
        frame_time: seen / 1000,
      }));
      scene.live = objects;
      const outs: VlmOutput[] = [];
      const all = new Promise<void>((resolve) => {
        const take = (): void => {
          void r.next().then((o) => {
            outs.push(o);
            if (outs.length < 4) take();
            else resolve();
          });
        };
        take();
      });
      for (const o of objects) scene.fire('new', o);
      assert.equal(kind.counts().pending?.now, 3, 'one asked, three waiting');
      await all;
      assert.deepEqual(
        outs.map((o) => o.trigger.objectId),
        ['a', 'b', 'c', 'd'],
        'each once, oldest trigger first',
      );
      for (const o of outs) {
        assert.equal(o.error, undefined);
        assert.ok(o.captureTime > seen, `the crop's frame (${o.captureTime}) is newer than the trigger's (${seen})`);
        assert.ok(o.captureTime >= o.triggeredAt - 40, 'cut when the model was free, not when triggered');
      }
      assert.ok(outs[3]!.timing.pendingMs >= 3 * 150, `the fourth waited for three answers: ${outs[3]!.timing.pendingMs} ms`);
      const counts = kind.counts();
      assert.deepEqual([counts.triggers, counts.sent, counts.answered, counts.pending?.now], [4, 4, 4, 0]);
      assert.ok(counts.pending!.waitMs.p99! >= 450);
      assert.deepEqual([counts.tokens!.prompt, counts.tokens!.completion], [local.tokens.prompt, local.tokens.completion]);
      assert.equal(counts.tokens!.endpoint.prompt, local.tokens.prompt, "the endpoint's sum (one worker) is the server's too");
    } finally {
      await r.close();
      await local.close();
    }
  });

  it('an object that ends while it waits is described from its best snapshot; past the worker maxAgeMs of its end it is dropped (ended-late); a full pending set drops the new trigger', async () => {
    const snapshot = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 0, g: 200, b: 0 } } })
      .jpeg()
      .toBuffer();
    const scene = new (class extends TestScene {
      snapshot(): Promise<Buffer | null> {
        return Promise.resolve(snapshot);
      }
    })();
    const local = await new FakeVlmServer().start();
    local.latencyMs = 300;
    const kind = vlmWorker(options(local, scene, { apiKey: null, pending: 2, endedMaxAgeMs: 5_000 }));
    const r = rig([{ id: 'vlm', kind }]);
    try {
      const red = object('red', 'red', RED);
      const blue = object('blue', 'blue', BLUE);
      const third = object('third', 'red', RED);
      const fourth = object('fourth', 'red', RED);
      scene.live = [red, blue, third, fourth];
      const first = r.next();
      scene.fire('new', red); // asked at once
      scene.fire('new', blue); // waits
      scene.fire('new', third); // waits
      scene.fire('new', fourth); // the set holds 2: dropped
      assert.equal(kind.counts().skipped['pending-full'], 1);
      scene.live = [red, third];
      scene.fire('end', blue);
      assert.equal((await first).trigger.objectId, 'red');
      const second = await r.next();
      assert.deepEqual([second.trigger.objectId, second.trigger.kind, second.image.source], ['blue', 'new', 'snapshot']);
      const picture = await colourOf(local.requests[1]!.jpeg!);
      assert.ok(picture.g > 150 && picture.r < 60, 'the green snapshot was sent');
      assert.equal((await r.next()).trigger.objectId, 'third');
    } finally {
      await r.close();
    }
    const strict = vlmWorker(options(local, scene, { apiKey: null, endedMaxAgeMs: 100 }));
    const r2 = rig([{ id: 'vlm', kind: strict }]);
    try {
      const red = object('red2', 'red', RED);
      const blue = object('blue2', 'blue', BLUE);
      scene.live = [red, blue];
      const first = r2.next();
      scene.fire('new', red);
      scene.fire('new', blue);
      scene.fire('end', blue);
      await first;
      assert.equal(strict.counts().skipped['ended-late'], 1, 'ended 300 ms before the model was free, over its 100 ms');
      assert.equal(strict.counts().sent, 1);
    } finally {
      await r2.close();
      await local.close();
    }
  });

  it('tokens an hour per endpoint: once spent, asks are skipped (endpoint-tokens) and counted', async () => {
    const scene = new TestScene();
    const local = await new FakeVlmServer().start();
    const kind = vlmWorker(
      options(local, scene, {
        apiKey: null,
        budgets: { maxAgeMs: 2_000, staleAfterMs: null, perMinute: null, endpoint: { perMinute: null, concurrency: 1, tokensPerHour: 200 } },
      }),
    );
    const r = rig([{ id: 'vlm', kind }]);
    try {
      const red = object('obj-1', 'red', RED);
      scene.live = [0, 1, 9].map((i) => ({ ...red, id: `obj-${i}` }));
      for (let i = 0; i < 2; i++) {
        const answered = r.next();
        scene.fire('new', { ...red, id: `obj-${i}` });
        assert.equal((await answered).error, undefined);
      }
      scene.fire('new', { ...red, id: 'obj-9' });
      const counts = kind.counts();
      assert.equal(counts.skipped['endpoint-tokens'], 1);
      assert.equal(counts.sent, 2, 'the second went with 126 of 200 spent; the third found 252');
      assert.deepEqual([counts.tokens!.endpoint.lastHour, counts.tokens!.endpoint.perHour], [local.tokens.prompt + local.tokens.completion, 200]);
    } finally {
      await r.close();
      await local.close();
    }
  });
});

describe('vlm triggers and refusals', { timeout: 120_000 }, () => {
  it('triggerOf: new, zone entry, loitering and end, filtered by worker, label and zone', () => {
    const o = (zones: string[], loitering: string[] = [], worker = 'detector', label = 'person'): VlmObject => ({
      id: 'x',
      label,
      box: RED,
      worker,
      current_zones: zones,
      loitering_zones: loitering,
    });
    const on = { on: ['new', 'zone', 'loitering', 'end'] as const };
    assert.deepEqual(triggerOf({ type: 'new', before: o([]), after: o([]) }, on)?.kind, 'new');
    assert.deepEqual(triggerOf({ type: 'update', before: o([]), after: o(['porch']) }, on), { kind: 'zone', object: o(['porch']), zone: 'porch' });
    assert.equal(triggerOf({ type: 'update', before: o(['porch']), after: o(['porch']) }, on), null, 'still in the zone: no trigger');
    assert.equal(triggerOf({ type: 'update', before: o(['porch']), after: o(['porch'], ['porch']) }, on)?.kind, 'loitering');
    assert.equal(triggerOf({ type: 'end', before: o([]), after: o([]) }, on)?.kind, 'end');
    assert.equal(triggerOf({ type: 'update', before: o([]), after: o(['drive']) }, { ...on, zones: ['porch'] }), null, 'another zone');
    assert.equal(triggerOf({ type: 'new', before: o([]), after: o([], [], 'other') }, { ...on, of: 'detector' }), null, 'another worker');
    assert.equal(triggerOf({ type: 'new', before: o([]), after: o([], [], 'detector', 'car') }, { ...on, labels: ['person'] }), null, 'another label');
  });

  it('a vlm entry whose apiKeyEnv is not set is refused when its camera is built (ERR_VLM_API_KEY), the variable named', async () => {
    const config = resolvedConfig({
      cameras: {
        c: {
          source: 'lavfi:testsrc',
          workers: [{ id: 'v', vlm: { api: 'ollama', url: 'http://127.0.0.1:1', model: 'm', prompt: 'p', apiKeyEnv: 'VLM_TEST_UNSET_KEY' } }],
        },
      },
    });
    delete process.env.VLM_TEST_UNSET_KEY;
    await assert.rejects(buildWorkerKind('camera c, worker v', 'c.v', config.cameras.c!.workers[0]!, { models: new Map(), shmDir: '/tmp' }), {
      code: 'ERR_VLM_API_KEY',
      message: /VLM_TEST_UNSET_KEY/,
    });
    assert.equal(config.cameras.c!.workers[0]!.criticality, 'best-effort', 'best-effort unless configured');
  });

  it('from the network, a vlm apiKeyEnv is held to the reference rule: a variable the file does not reference is refused', () => {
    const entry = (name: string) => ({
      source: 'rtsp://cam.local/s',
      workers: [{ id: 'v', vlm: { api: 'openai', url: 'http://x.example/v1', model: 'm', prompt: 'p', apiKeyEnv: name } }],
    });
    const policy = { allowExec: false, references: { names: ['VLM_KEY'], prefixes: ['CAM_'] } };
    assert.deepEqual(checkNetworkCamera(entry('MQTT_PASSWORD'), policy)?.path, 'workers.0.vlm.apiKeyEnv');
    assert.equal(checkNetworkCamera(entry('VLM_KEY'), policy), null);
    assert.equal(checkNetworkCamera(entry('CAM_VLM'), policy), null);
  });

  it('end with a stored snapshot: the snapshot is what is asked about; 401: the worker stops with ERR_VLM_UNAUTHORIZED', async () => {
    const server = await new FakeVlmServer({ apiKey: KEY }).start();
    const snapshot = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 0, g: 200, b: 0 } } })
      .jpeg()
      .toBuffer();
    const scene = new (class extends TestScene {
      snapshot(): Promise<Buffer | null> {
        return Promise.resolve(snapshot);
      }
    })();
    const red = object('obj-1', 'red', RED);
    const kind = vlmWorker(options(server, scene, { triggers: { objects: { on: ['end'] }, intervalS: null } }));
    const r = rig([{ id: 'vlm', kind }]);
    try {
      const answered = r.next();
      scene.fire('end', red);
      const out = await answered;
      assert.equal(out.error, undefined);
      assert.deepEqual([out.image.source, out.image.width, out.image.height], ['snapshot', 64, 43]);
      const picture = await colourOf(server.requests.at(-1)!.jpeg!);
      assert.ok(picture.g > 150 && picture.r < 60, 'the green snapshot was sent');
    } finally {
      await r.close();
    }
    const wrong = vlmWorker(options(server, scene, { apiKey: 'not-the-key', triggers: { objects: { on: ['new'] }, intervalS: null } }));
    const r2 = rig([{ id: 'vlm', kind: wrong }]);
    try {
      const failed = new Promise<{ lastExit: { code: string } }>((resolve) => r2.supervisor.once('failed', resolve));
      scene.live = [red];
      scene.fire('new', red);
      const exit = await failed;
      assert.equal(exit.lastExit.code, 'ERR_VLM_UNAUTHORIZED');
      assert.ok(!JSON.stringify(exit).includes('not-the-key'), 'the key is not in the exit');
    } finally {
      await r2.close();
      await server.close();
    }
  });
});

function totalSkipped(counts: { skipped: Readonly<Record<string, number>> }): number {
  return Object.values(counts.skipped).reduce((a, b) => a + b, 0);
}
