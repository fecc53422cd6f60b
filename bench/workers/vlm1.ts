/**
 * VLM1 (issue 34): a vlm worker's own cost per request, and how old its
 * answers are, against the stand-in chat server of the tests
 * (test/helpers/vlm-server.ts, OpenAI's shape, real HTTP on loopback).
 *
 * Overhead: per request outside the server, on a 1280×720 rgb24 frame:
 * the picture (crop of a 200×400 box with 10 % margin, scaled to 512,
 * JPEG q80; and the whole frame scaled to 512), the request (body built,
 * sent, answered at once by the stand-in, parsed): 200 requests each after
 * 20 of warm-up. The stand-in's own work (reading the body, decoding the
 * image to record it) is inside the request figure: an upper bound.
 *
 * Age: a camera of 1280×720 frames at 10 fps, the worker asked about a
 * tracked object's crop every 500 ms, the stand-in answering in 300 ms:
 * 40 answers' age at request (capture → request out) and at answer
 * (capture → answer in).
 */
import { FakeVlmServer } from '../../test/helpers/vlm-server.js';
import { FrameSupplier, type FrameInput } from '../../src/supplier/index.js';
import {
  framePicture,
  VlmClient,
  vlmWorker,
  WorkerSupervisor,
  type VlmObject,
  type VlmObjectEvent,
  type VlmOutput,
  type VlmScene,
  type WorkerResult,
} from '../../src/workers/index.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';

const W = 1280;
const H = 720;
const BOX: readonly [number, number, number, number] = [500 / W, 200 / H, 700 / W, 600 / H];

function frame(): FrameInput {
  const payload = new Uint8Array(W * H * 3);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24; // noise: JPEG's worst case
  return { payload, width: W, height: H, format: 'rgb24' };
}

function summary(name: string, values: number[]): Record<string, unknown> {
  const s = sortedCopy(values);
  return {
    [`${name}P50Ms`]: round(percentile(s, 50), 2),
    [`${name}P99Ms`]: round(percentile(s, 99), 2),
    [`${name}MeanMs`]: round(values.reduce((a, b) => a + b, 0) / values.length, 2),
  };
}

async function overhead(server: FakeVlmServer): Promise<void> {
  const input = frame();
  const f = { ...input, seq: 1, streamId: 'bench', captureTime: 0, wallTime: 0, publishTime: 0 };
  const client = new VlmClient({ api: 'openai', url: server.url('openai'), model: 'bench', apiKey: null });
  const crop: number[] = [];
  const whole: number[] = [];
  const request: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 220; i++) {
    const t0 = performance.now();
    const picture = await framePicture(f, { box: BOX, margin: 0.1, size: 512, quality: 80 });
    const t1 = performance.now();
    await framePicture(f, { box: null, size: 512, quality: 80 });
    const t2 = performance.now();
    await client.ask('Describe the person.', picture.jpeg, { timeoutMs: 10_000 });
    const t3 = performance.now();
    if (i < 20) continue;
    crop.push(t1 - t0);
    whole.push(t2 - t1);
    request.push(t3 - t2);
    bytes += picture.jpeg.byteLength;
  }
  const totals = crop.map((c, i) => c + request[i]!);
  const record = {
    bench: 'VLM1',
    part: 'overhead',
    frame: `${W}x${H} rgb24`,
    requests: crop.length,
    cropJpegBytes: Math.round(bytes / crop.length),
    ...summary('crop', crop),
    ...summary('wholeFrame', whole),
    ...summary('request', request),
    ...summary('total', totals),
  };
  emit(record);
  log(`VLM1 overhead: ${JSON.stringify(record)}`);
}

class BenchScene implements VlmScene {
  readonly #listeners = new Set<(e: VlmObjectEvent) => void>();
  readonly object: VlmObject = { id: 'o1', label: 'person', box: BOX, worker: 'det', current_zones: [], loitering_zones: [] };
  onObjectEvent(_camera: string, listener: (e: VlmObjectEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  liveObjects(): readonly VlmObject[] {
    return [this.object];
  }
  fire(): void {
    for (const l of this.#listeners) l({ type: 'new', before: this.object, after: this.object });
  }
}

async function age(server: FakeVlmServer): Promise<void> {
  server.latencyMs = 300;
  const scene = new BenchScene();
  const supplier = new FrameSupplier({ streamId: 'bench' }).start();
  const supervisor = new WorkerSupervisor({ supplier });
  const kind = vlmWorker({
    camera: 'bench',
    api: 'openai',
    url: server.url('openai'),
    model: 'bench',
    apiKey: null,
    prompt: { name: 'describe', text: 'Describe the {{label}}.' },
    image: { crop: true, margin: 0.1, size: 512, quality: 80 },
    timeoutMs: 10_000,
    triggers: { objects: { on: ['new'] }, intervalS: null },
    budgets: { maxAgeMs: 2_000, staleAfterMs: 1_000, perMinute: null, endpoint: { perMinute: null, concurrency: 1 } },
    scene,
  });
  supervisor.add({ id: 'vlm', kind, criticality: 'best-effort' });
  const outputs: VlmOutput[] = [];
  const done = new Promise<void>((resolve) =>
    supervisor.on('result', (r: WorkerResult) => {
      outputs.push(r.output as VlmOutput);
      if (outputs.length >= 40) resolve();
    }),
  );
  const input = frame();
  supplier.publish(input);
  const frames = setInterval(() => supplier.publish(input), 100);
  supervisor.start();
  const asks = setInterval(() => scene.fire(), 500);
  await done;
  clearInterval(asks);
  clearInterval(frames);
  await supervisor.close();
  await supplier.close();
  const errors = outputs.filter((o) => o.error !== undefined).length;
  const answered = outputs.filter((o) => o.error === undefined);
  const record = {
    bench: 'VLM1',
    part: 'age',
    serverMs: 300,
    fps: 10,
    answers: answered.length,
    errors,
    stale: answered.filter((o) => o.stale).length,
    ...summary(
      'ageAtRequest',
      answered.map((o) => o.ageAtRequestMs),
    ),
    ...summary(
      'ageAtAnswer',
      answered.map((o) => o.ageAtAnswerMs),
    ),
    skipped: kind.counts().skipped,
  };
  emit(record);
  log(`VLM1 age: ${JSON.stringify(record)}`);
}

export async function vlm1(): Promise<void> {
  const server = await new FakeVlmServer().start();
  try {
    await overhead(server);
    await age(server);
  } finally {
    await server.close();
  }
}
