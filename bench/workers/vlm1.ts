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
 *
 * Objects (issue 46, ADR 0067): four objects confirmed together, the stand-in
 * holding each request 500 ms, rounds of four at 1280×720 and at 3840×2160
 * (10 fps): objects described / objects seen, how long each waited for the
 * model, and framesupplier's own time per ask: from the model being free to
 * the answer handed to the system (the worker's result, what the MQTT sink
 * and the dashboard publish: cutting and encoding the picture, sending,
 * parsing, the result made and emitted) less the wait for a frame newer than
 * the trigger and the stand-in's own time (as it measured it). The first ask
 * of a run is also given apart (a process's first request loads Node's HTTP
 * client).
 *
 * Frames (ADR 0072): objects described at their end from up to four crops
 * kept over their lives: pictures per ask and the own time per ask.
 *
 * Overhead also times a crop of a 4:2:0 (yuv420p) frame at 720p and 4K: only
 * the region's pixels are converted (regionRgb), against the conversion of
 * the whole frame a crop paid before.
 */
import { FakeVlmServer } from '../../test/helpers/vlm-server.js';
import { FrameSupplier, type FrameInput } from '../../src/supplier/index.js';
import { loadSharp, NOT_PRIVATE, packedRgb } from '../../src/pictures/index.js';
import {
  framePicture,
  VlmClient,
  vlmWorker,
  WorkerSupervisor,
  type VlmObject,
  type VlmObjectEvent,
  type VlmOutput,
  type VlmScene,
  type VlmWorkerOptions,
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
    const picture = await framePicture(f, { box: BOX, margin: 0.1, size: 512, quality: 80, privacy: NOT_PRIVATE });
    const t1 = performance.now();
    await framePicture(f, { box: null, size: 512, quality: 80, privacy: NOT_PRIVATE });
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
    ...(await yuvCrops(1280, 720, 100)),
    ...(await yuvCrops(3840, 2160, 40)),
  };
  emit(record);
  log(`VLM1 overhead: ${JSON.stringify(record)}`);
}

/** A crop of a yuv420p frame of noise (the object's box of the objects part): its region converted only, against the whole frame's conversion. */
async function yuvCrops(width: number, height: number, n: number): Promise<Record<string, unknown>> {
  const payload = new Uint8Array(width * height * 1.5);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
  const f = { payload, width, height, format: 'yuv420p' as const, seq: 1, streamId: 'bench', captureTime: 0, wallTime: 0, publishTime: 0 };
  const box = [0.1, 0.2, 0.25, 0.8] as const;
  const crop: number[] = [];
  const converted: number[] = [];
  for (let i = 0; i < n + 5; i++) {
    const t0 = performance.now();
    await framePicture(f, { box, margin: 0.1, size: 512, quality: 80, privacy: NOT_PRIVATE });
    const t1 = performance.now();
    packedRgb(payload, width, height, 'yuv420p');
    const t2 = performance.now();
    if (i < 5) continue;
    crop.push(t1 - t0);
    converted.push(t2 - t1);
  }
  const name = height === 2160 ? '4k' : '720p';
  return { ...summary(`yuvCrop${name}`, crop), ...summary(`yuvWholeConversion${name}`, converted) };
}

/** The worker every part asks with: one ask at a time to the stand-in, a 512 px crop of the object; `on` and staleAfterMs as the part needs. */
function workerOptions(
  server: FakeVlmServer,
  scene: VlmScene,
  part: { readonly staleAfterMs: number | null; readonly on?: readonly ('new' | 'end')[]; readonly frames?: VlmWorkerOptions['frames'] },
): VlmWorkerOptions {
  return {
    camera: 'bench',
    api: 'openai',
    url: server.url('openai'),
    model: 'bench',
    apiKey: null,
    prompt: { name: 'describe', text: 'Describe the {{label}}.' },
    image: { crop: true, margin: 0.1, size: 512, quality: 80 },
    timeoutMs: 10_000,
    triggers: { objects: { on: part.on ?? ['new'] }, intervalS: null },
    budgets: { maxAgeMs: 2_000, staleAfterMs: part.staleAfterMs, perMinute: null, endpoint: { perMinute: null, concurrency: 1 } },
    scene,
    privacy: NOT_PRIVATE,
    ...(part.frames === undefined ? {} : { frames: part.frames }),
  };
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
  const kind = vlmWorker(workerOptions(server, scene, { staleAfterMs: 1_000 }));
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

/** A scene of `n` objects a round, each confirmed together: new ids every round. */
class RoundScene implements VlmScene {
  readonly #listeners = new Set<(e: VlmObjectEvent) => void>();
  live: VlmObject[] = [];
  onObjectEvent(_camera: string, listener: (e: VlmObjectEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  liveObjects(): readonly VlmObject[] {
    return this.live;
  }
  /** Every live object seen again now (a tracker update): its frame time moves on. */
  update(): void {
    const frameTime = Date.now() / 1000;
    this.live = this.live.map((o) => ({ ...o, frame_time: frameTime }));
    for (const o of this.live) for (const l of this.#listeners) l({ type: 'update', before: o, after: o });
  }
  /** Every live object ends. */
  end(): void {
    const ended = this.live;
    this.live = [];
    for (const o of ended) for (const l of this.#listeners) l({ type: 'end', before: o, after: o });
  }
  round(round: number, n: number): void {
    const frameTime = Date.now() / 1000;
    this.live = Array.from({ length: n }, (_, i) => ({
      id: `r${round}-o${i}`,
      label: 'person',
      box: [0.1 + 0.2 * i, 0.2, 0.25 + 0.2 * i, 0.8] as const,
      worker: 'det',
      current_zones: [],
      loitering_zones: [],
      frame_time: frameTime,
      score: 0.6 + 0.05 * i,
    }));
    for (const o of this.live) for (const l of this.#listeners) l({ type: 'new', before: o, after: o });
  }
}

/**
 * A vlm worker asking the stand-in (its own latency) about the objects of a RoundScene, over a camera publishing
 * a noise picture of width × height ten times a second: what the objects and frames parts run.
 */
async function roundsRun(width: number, height: number, latencyMs: number, part: Parameters<typeof workerOptions>[2]) {
  const server = await new FakeVlmServer().start();
  server.latencyMs = latencyMs;
  const scene = new RoundScene();
  const supplier = new FrameSupplier({ streamId: 'bench' }).start();
  const supervisor = new WorkerSupervisor({ supplier });
  const kind = vlmWorker(workerOptions(server, scene, part));
  supervisor.add({ id: 'vlm', kind, criticality: 'best-effort' });
  const outputs: VlmOutput[] = [];
  /** When each result reached the supervisor's listeners: the answer handed to the system (Date.now(), the worker's clock). */
  const handedAt: number[] = [];
  let wanted = 0;
  let reached: (() => void) | null = null;
  supervisor.on('result', (r: WorkerResult) => {
    handedAt.push(Date.now());
    outputs.push(r.output as VlmOutput);
    if (outputs.length >= wanted) reached?.();
  });
  const payload = new Uint8Array(width * height * 3);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
  const input: FrameInput = { payload, width, height, format: 'rgb24' };
  supplier.publish(input);
  const frames = setInterval(() => supplier.publish(input), 100);
  // The app loads sharp before its cameras run when it tracks objects (src/app): objects do not arrive at the worker's start.
  await loadSharp();
  supervisor.start();
  return {
    server,
    scene,
    kind,
    outputs,
    /**
     * framesupplier's own time per answered ask, in answer order (asks go one at a time, so the stand-in's times are
     * in the same order): from the model being free (trigger + pending) to the answer handed to the system, less the
     * wait for a fresh frame and the stand-in's own time.
     */
    own(): number[] {
      return outputs.flatMap((o, i) =>
        o.error !== undefined ? [] : [handedAt[i]! - (o.triggeredAt + o.timing.pendingMs) - o.timing.frameMs - (server.serverMs[i] ?? 0)],
      );
    },
    /** Resolves once `total` answers came (call it before the round that brings them). */
    answers(total: number): Promise<void> {
      wanted = total;
      return new Promise<void>((resolve) => (reached = resolve));
    },
    async close(): Promise<void> {
      clearInterval(frames);
      await supervisor.close();
      await supplier.close();
      await server.close();
    },
  };
}

async function objects(width: number, height: number, rounds: number): Promise<void> {
  const run = await roundsRun(width, height, 500, { staleAfterMs: null });
  const { scene, kind } = run;
  const seen = rounds * 4;
  for (let round = 0; round < rounds; round++) {
    const done = run.answers((round + 1) * 4);
    scene.round(round, 4);
    await done;
  }
  await run.close();
  const answered = run.outputs.filter((o) => o.error === undefined);
  const described = new Set(answered.map((o) => o.trigger.objectId)).size;
  const own = run.own();
  const record = {
    bench: 'VLM1',
    part: 'objects',
    frame: `${width}x${height} rgb24`,
    serverMs: 500,
    objectsSeen: seen,
    objectsDescribed: described,
    describedShare: round(described / seen, 3),
    newerThanTrigger: answered.filter((o) => o.triggerCaptureTime !== null && o.captureTime > o.triggerCaptureTime).length,
    ...summary(
      'pending',
      answered.map((o) => o.timing.pendingMs),
    ),
    ...summary(
      'frameWait',
      answered.map((o) => o.timing.frameMs),
    ),
    ...summary('own', own),
    ownFirstMs: round(own[0] ?? NaN, 2),
    ownMaxMs: round(Math.max(...own), 2),
    skipped: Object.fromEntries(Object.entries(kind.counts().skipped).filter(([, n]) => n > 0)),
  };
  emit(record);
  log(`VLM1 objects: ${JSON.stringify(record)}`);
}

/**
 * Several pictures an ask (ADR 0072): rounds of four objects seen for 2 s (a tracker update every 250 ms), each
 * described at its end from up to 4 crops kept over its life (one every 500 ms at most): pictures per ask, and
 * framesupplier's own time per ask (its picture and request less the stand-in's time), the kept crops' bytes.
 */
async function severalFrames(width: number, height: number, rounds: number): Promise<void> {
  const run = await roundsRun(width, height, 100, { staleAfterMs: null, on: ['end'], frames: { max: 4, everyMs: 500 } });
  const { scene, kind } = run;
  let keptBytes = 0;
  for (let round = 0; round < rounds; round++) {
    const done = run.answers((round + 1) * 4);
    scene.round(round, 4);
    for (let t = 0; t < 8; t++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      scene.update();
      keptBytes = Math.max(keptBytes, kind.counts().kept.bytes);
    }
    scene.end();
    await done;
  }
  await run.close();
  const answered = run.outputs.filter((o) => o.error === undefined);
  const perAsk = answered.map((o) => o.frames.length);
  const own = run.own();
  const record = {
    bench: 'VLM1',
    part: 'frames',
    frame: `${width}x${height} rgb24`,
    asks: answered.length,
    framesMax: 4,
    framesPerAskMean: round(perAsk.reduce((a, b) => a + b, 0) / Math.max(1, perAsk.length), 2),
    framesPerAskMin: Math.min(...perAsk),
    keptCropsCut: kind.counts().kept.cut,
    keptBytesPeak: keptBytes,
    ...summary('own', own),
  };
  emit(record);
  log(`VLM1 frames: ${JSON.stringify(record)}`);
}

export async function vlm1(): Promise<void> {
  await objects(1280, 720, 10);
  await objects(3840, 2160, 5);
  await severalFrames(1280, 720, 5);
  const server = await new FakeVlmServer().start();
  try {
    await overhead(server);
    await age(server);
  } finally {
    await server.close();
  }
}
