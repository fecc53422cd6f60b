/**
 * The fair, latest-frame model server (protocol 2) on a real Unix socket with
 * real clients and many cameras: one waiting slot per camera served
 * round-robin, supersede order, a flooding camera that cannot starve
 * another, an urgent request (protocol 3) served before those waiting, stale frames refused without inference, the newest frame read at
 * take time, and version-1 requests still served. The handler is gated by
 * the test (one inference at a time), so every order is decided by the
 * server, not by timing.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { deferred, type Deferred } from '../../src/internal/abort.js';
import { encodeMessage, IpcError, MessageDecoder, ModelClient, type InferenceRequest, type InferenceResponse } from '../../src/ipc/index.js';
import { ModelServer, type InferenceHandler } from '../../src/models/index.js';
import { FrameStoreWriter, type FrameReference } from '../../src/shm/index.js';
import { eventually } from '../helpers/process.js';
import { workspace } from './fixtures.js';

const ws = workspace();
after(() => ws.cleanup());

interface Call {
  readonly camera: string;
  readonly frameId: number;
  /** The first byte of the frame the handler was given. */
  readonly firstByte: number;
  readonly release: Deferred<void>;
}

/** A handler whose every inference waits for the test to release it (until open()), and a log of the calls in order. */
function gatedHandler(): { handler: InferenceHandler; calls: Call[]; next: () => Promise<Call>; open: () => void } {
  const calls: Call[] = [];
  let arrived = deferred<void>();
  let taken = 0;
  let opened = false;
  const handler: InferenceHandler = {
    name: 'gated',
    modelId: 'gated',
    concurrency: 1,
    async infer(frame, request) {
      const call: Call = { camera: request.camera_id, frameId: request.frame_metadata.frame_id, firstByte: frame.data[0]!, release: deferred<void>() };
      calls.push(call);
      if (opened) call.release.resolve();
      arrived.resolve();
      await call.release.promise;
      return { detections: [] };
    },
  };
  /** The next call to reach the handler (already there, or the next to come). */
  const next = async (): Promise<Call> => {
    while (calls.length <= taken) {
      arrived = deferred<void>();
      await arrived.promise;
    }
    return calls[taken++]!;
  };
  /** Releases every call, now and to come. */
  const open = (): void => {
    opened = true;
    for (const call of calls) call.release.resolve();
  };
  return { handler, calls, next, open };
}

const NV12 = (64 * 48 * 3) / 2;

function store(
  camera: string,
  frames: number,
  wallTimeMs?: number,
): { writer: FrameStoreWriter; refs: FrameReference[]; write: (fill: number, wallTimeMs?: number) => FrameReference } {
  const writer = new FrameStoreWriter(`${camera}-${process.pid}`, { dir: ws.shmDir, slots: 8, slotBytes: NV12 });
  const write = (fill: number, wall?: number): FrameReference =>
    writer.write(new Uint8Array(NV12).fill(fill), { width: 64, height: 48, format: 'NV12', ...(wall === undefined ? {} : { wallTimeMs: wall }) });
  const refs = Array.from({ length: frames }, (_, i) => write(i + 1, wallTimeMs));
  return { writer, refs, write };
}

const request = (ref: FrameReference, camera: string, extra: Partial<InferenceRequest> = {}): InferenceRequest => ({
  ...ref,
  camera_id: camera,
  model_id: 'gated',
  timestamp: Date.now() / 1000,
  ...extra,
});

const show = (x: InferenceResponse | IpcError): string => (x instanceof IpcError ? `${x.code}: ${x.message}` : JSON.stringify(x));

/** Settles to the answer or the IpcError, so a test can look at rejections in order. */
const outcome = (p: Promise<InferenceResponse>): Promise<InferenceResponse | IpcError> =>
  p.then(
    (r) => r,
    (e: IpcError) => e,
  );

async function gatedServer(name: string, extra: { handlerTimeoutMs?: number } = {}) {
  const gate = gatedHandler();
  const socketPath = `${ws.dir}/${name}-${process.pid}.sock`;
  const server = await new ModelServer({ socketPath, shmDir: ws.shmDir, handler: gate.handler, ...extra }).start();
  return { ...gate, server, socketPath };
}

describe('fair model server: one waiting slot per camera, round-robin', { timeout: 120_000 }, () => {
  it("serves the waiting cameras round-robin; a newer request takes its camera's place and turn, the older one answered ERR_SUPERSEDED at once", async () => {
    const { server, socketPath, next } = await gatedServer('rr');
    const { writer, refs } = store('rr', 4);
    const cameras = Array.from({ length: 8 }, (_, i) => `cam_${i}`);
    // One connection per request (the protocol's simplest flow), so answers are not held behind each other.
    const client = new ModelClient({ socketPath, mode: 'per-request' });
    try {
      const blocker = outcome(client.infer(request(refs[0]!, 'blocker')));
      const first = await next();
      assert.equal(first.camera, 'blocker');
      const firstRound = cameras.map((c) => outcome(client.infer(request(refs[0]!, c))));
      await eventually(() => server.stats().waiting === cameras.length, 'every camera waiting');
      // cam_3 and cam_5 send newer requests: theirs are superseded at once, while the handler is still busy.
      const newer3 = outcome(client.infer(request(refs[1]!, 'cam_3')));
      const newer5 = outcome(client.infer(request(refs[2]!, 'cam_5')));
      for (const i of [3, 5]) {
        const old = await firstRound[i]!;
        assert.ok(old instanceof IpcError && old.code === 'ERR_SUPERSEDED', `cam_${i}'s older request: ${show(old)}`);
      }
      assert.equal(server.stats().running, 1, 'answered while the handler was still busy');
      assert.deepEqual([server.stats().cameras.cam_3!.superseded, server.stats().cameras.cam_5!.superseded], [1, 1]);
      // Release one inference at a time: the order is the order the cameras began waiting, cam_3 and cam_5 in their old turns.
      first.release.resolve();
      const order: string[] = [];
      for (let i = 0; i < cameras.length; i++) {
        const call = await next();
        order.push(`${call.camera}#${call.frameId}`);
        call.release.resolve();
      }
      const ids = refs.map((r) => r.frame_metadata.frame_id);
      assert.deepEqual(
        order,
        cameras.map((c) => `${c}#${c === 'cam_3' ? ids[1] : c === 'cam_5' ? ids[2] : ids[0]}`),
      );
      assert.equal(((await blocker) as InferenceResponse).error, null);
      for (const answer of [await newer3, await newer5, ...(await Promise.all(firstRound.filter((_, i) => i !== 3 && i !== 5)))]) {
        assert.ok(!(answer instanceof IpcError), show(answer));
        assert.equal(answer.error, null);
      }
    } finally {
      client.close();
      writer.close();
      await server.close();
    }
  });

  it('a camera flooding requests cannot starve another: they alternate, and only the flooder is superseded', async () => {
    const { server, socketPath, next, open } = await gatedServer('flood');
    const { writer, refs } = store('flood', 1);
    const client = new ModelClient({ socketPath, mode: 'per-request' });
    try {
      const floods: Promise<InferenceResponse | IpcError>[] = [];
      const flood = (n: number): void => {
        for (let i = 0; i < n; i++) floods.push(outcome(client.infer(request(refs[0]!, 'flooder'))));
      };
      flood(1);
      let running = await next();
      const served: string[] = [];
      const quiet: Promise<InferenceResponse | IpcError>[] = [];
      const quietServed = (): number => served.filter((s) => s.startsWith('quiet')).length;
      for (let round = 0; round < 12; round++) {
        // The quiet camera has one request in flight at a time, as a model-client worker does; the flooder sends 10 per round.
        if (quiet.length === quietServed()) quiet.push(outcome(client.infer({ ...request(refs[0]!, 'quiet'), request_id: round })));
        flood(10);
        const waiting = quiet.length > quietServed() ? 2 : 1;
        await eventually(
          () => server.stats().cameras.flooder!.superseded >= 9 * (round + 1) && server.stats().waiting === waiting,
          "the round's requests read",
        );
        running.release.resolve();
        running = await next();
        served.push(running.camera === 'quiet' ? `quiet#${quietServed()}` : 'flooder');
      }
      running.release.resolve();
      // Never the flooder twice in a row while the quiet camera waited: they alternate.
      const kinds = served.map((s) => s.split('#')[0]);
      for (let i = 1; i < kinds.length; i++) assert.ok(!(kinds[i] === 'flooder' && kinds[i - 1] === 'flooder'), served.join(' '));
      assert.ok(kinds.filter((k) => k === 'quiet').length >= 5, served.join(' '));
      const figures = server.stats().cameras;
      assert.equal(figures.quiet!.superseded, 0);
      assert.ok(figures.flooder!.superseded >= 100);
      // Everything still waiting is answered once the gate opens.
      open();
      for (const q of await Promise.all(quiet)) assert.ok(!(q instanceof IpcError) && q.error === null, show(q));
      for (const f of await Promise.all(floods)) assert.ok(!(f instanceof IpcError) || f.code === 'ERR_SUPERSEDED', show(f));
    } finally {
      client.close();
      writer.close();
      await server.close();
    }
  });
});

describe('fair model server: urgent requests (protocol 3)', { timeout: 120_000 }, () => {
  it('an urgent request goes before the cameras already waiting, never interrupts the running one, keeps its urgency when replaced, and is counted', async () => {
    const { server, socketPath, next, open } = await gatedServer('urgent');
    const { writer, refs } = store('urgent', 2);
    const client = new ModelClient({ socketPath, mode: 'per-request' });
    try {
      const answers = [outcome(client.infer(request(refs[0]!, 'busy')))];
      const running = await next();
      for (const camera of ['a', 'b', 'c']) answers.push(outcome(client.infer(request(refs[0]!, camera))));
      await eventually(() => server.stats().waiting === 3, 'three cameras waiting');
      const onset = outcome(client.infer(request(refs[0]!, 'onset', { urgent: true })));
      await eventually(() => server.stats().waiting === 4, 'the onset waiting');
      // Its camera's newer frame replaces it before its turn: the onset is still unanswered, so the newer one is urgent too.
      const newer = outcome(client.infer(request(refs[1]!, 'onset', { urgent: false })));
      const replaced = await onset;
      assert.ok(replaced instanceof IpcError && replaced.code === 'ERR_SUPERSEDED', show(replaced));
      assert.equal(server.stats().running, 1, 'the running inference goes on');
      running.release.resolve();
      const order: string[] = [];
      for (let i = 0; i < 4; i++) {
        const call = await next();
        order.push(`${call.camera}#${call.frameId}`);
        call.release.resolve();
      }
      const ids = refs.map((r) => r.frame_metadata.frame_id);
      assert.deepEqual(order, [`onset#${ids[1]}`, `a#${ids[0]}`, `b#${ids[0]}`, `c#${ids[0]}`]);
      open();
      for (const answer of [await newer, ...(await Promise.all(answers))]) assert.ok(!(answer instanceof IpcError) && answer.error === null, show(answer));
      const pong = await client.ping();
      assert.equal(pong.protocol, 3);
      assert.deepEqual([pong.cameras!.onset!.served, pong.cameras!.onset!.urgent, pong.cameras!.onset!.superseded], [1, 1, 1]);
      assert.deepEqual(
        ['busy', 'a', 'b', 'c'].map((c) => pong.cameras![c]!.urgent),
        [0, 0, 0, 0],
      );
      assert.equal(server.stats().cameras.onset!.urgent, 1);
    } finally {
      client.close();
      writer.close();
      await server.close();
    }
  });
});

describe('fair model server: frames read at take time', { timeout: 120_000 }, () => {
  it('a frame older than max_age_ms when taken is ERR_FRAME_STALE without inference; without a budget, or within it, it is served', async () => {
    const { server, socketPath, calls, next } = await gatedServer('stale');
    const old = store('stale-old', 1, Date.now() - 60_000);
    const fresh = store('stale-fresh', 1);
    const client = new ModelClient({ socketPath });
    try {
      const stale = await outcome(client.infer(request(old.refs[0]!, 'cam_old', { max_age_ms: 1_000 })));
      assert.ok(stale instanceof IpcError && stale.code === 'ERR_FRAME_STALE', show(stale));
      assert.equal(stale.frameId, old.refs[0]!.frame_metadata.frame_id, 'the answer names the stale frame');
      assert.equal(calls.length, 0, 'no inference');
      assert.equal(server.stats().cameras.cam_old!.stale, 1);
      // The same frame without a budget (a version-1 request), and a fresh frame within its budget: served.
      for (const [ref, extra] of [
        [old.refs[0]!, {}],
        [fresh.refs[0]!, { max_age_ms: 60_000 }],
      ] as const) {
        const answer = client.infer(request(ref, 'cam_old', extra));
        (await next()).release.resolve();
        assert.equal((await answer).error, null);
      }
    } finally {
      client.close();
      old.writer.close();
      fresh.writer.close();
      await server.close();
    }
  });

  it('the handler timeout counts inference only: a request that waited longer than it is still served', async () => {
    const { server, socketPath, next } = await gatedServer('timeout', { handlerTimeoutMs: 300 });
    const { writer, refs } = store('timeout', 1);
    const client = new ModelClient({ socketPath, mode: 'per-request' });
    try {
      // Two inferences that never finish: each is answered ERR_TIMEOUT after 300 ms, and the third waits for both.
      const hung = ['hung_a', 'hung_b'].map((c) => outcome(client.infer(request(refs[0]!, c))));
      const waited = outcome(client.infer(request(refs[0]!, 'patient')));
      await next();
      await next();
      const last = await next();
      last.release.resolve();
      for (const h of await Promise.all(hung)) assert.ok(h instanceof IpcError && h.code === 'ERR_TIMEOUT');
      const answer = await waited;
      assert.ok(!(answer instanceof IpcError), show(answer));
      assert.equal(answer.error, null);
      assert.ok((answer.metadata.wait_ms as number) > 300, `waited ${String(answer.metadata.wait_ms)} ms, longer than the handler timeout`);
    } finally {
      client.close();
      writer.close();
      await server.close();
    }
  });

  it('frame_select newest is answered with the newest frame when taken; exact with its own; a newest request names the oldest frame it accepts', async () => {
    const { server, socketPath, next } = await gatedServer('newest');
    const { writer, refs, write } = store('newest', 2);
    const client = new ModelClient({ socketPath, mode: 'per-request' });
    try {
      const blocker = client.infer(request(refs[0]!, 'blocker'));
      const busy = await next();
      const newest = client.infer(request(refs[0]!, 'cam_n', { frame_select: 'newest' }));
      const exact = client.infer(request(refs[1]!, 'cam_e'));
      await eventually(() => server.stats().waiting === 2, 'both waiting');
      // Written while they wait: only the newest-frame request sees them.
      write(30);
      const newestRef = write(40);
      busy.release.resolve();
      const n = await next();
      assert.deepEqual(
        [n.camera, n.frameId, n.firstByte],
        ['cam_n', newestRef.frame_metadata.frame_id, 40],
        'the handler got the newest frame, read when taken',
      );
      n.release.resolve();
      const e = await next();
      assert.deepEqual([e.camera, e.frameId, e.firstByte], ['cam_e', refs[1]!.frame_metadata.frame_id, 2]);
      e.release.resolve();
      assert.equal((await newest).frame_id, newestRef.frame_metadata.frame_id, 'the answer names the frame used');
      assert.equal((await exact).frame_id, refs[1]!.frame_metadata.frame_id);
      await blocker;
      // Nothing as new as the frame named: not found (never an older frame).
      const tooNew = { ...newestRef, frame_metadata: { ...newestRef.frame_metadata, frame_id: newestRef.frame_metadata.frame_id + 5 } };
      await assert.rejects(client.infer(request(tooNew, 'cam_n', { frame_select: 'newest' })), { code: 'ERR_FRAME_NOT_FOUND' });
      await assert.rejects(client.infer(request(refs[0]!, 'cam_n', { frame_select: 'latest' as never })), { code: 'ERR_SCHEMA', field: 'frame_select' });
      await assert.rejects(client.infer(request(refs[0]!, 'cam_n', { max_age_ms: 0 })), { code: 'ERR_SCHEMA', field: 'max_age_ms' });
    } finally {
      client.close();
      writer.close();
      await server.close();
    }
  });

  it("frame_select newest passes over frames of another size written while it waits (the camera's stream switched): the newest of its own size, else ERR_FRAME_OVERWRITTEN; exact keeps ERR_SCHEMA", async () => {
    const { server, socketPath, next, open, calls } = await gatedServer('newest-size');
    const { writer, refs, write } = store('newest-size', 1);
    const half = (fill: number): FrameReference => writer.write(new Uint8Array((32 * 24 * 3) / 2).fill(fill), { width: 32, height: 24, format: 'NV12' });
    const client = new ModelClient({ socketPath, mode: 'per-request' });
    try {
      const blocker = client.infer(request(refs[0]!, 'blocker'));
      await next();
      const waiting = outcome(client.infer(request(refs[0]!, 'cam_n', { frame_select: 'newest' })));
      await eventually(() => server.stats().waiting === 1, 'waiting');
      // While it waits, one more frame of its size, then the camera's other stream's frames (newer, half the size).
      const own = write(30);
      half(50);
      half(51);
      open();
      const answer = await waiting;
      assert.ok(!(answer instanceof IpcError), show(answer));
      assert.equal(answer.frame_id, own.frame_metadata.frame_id, 'the newest frame of the size asked about');
      const n = calls.find((c) => c.camera === 'cam_n');
      assert.deepEqual([n?.frameId, n?.firstByte], [own.frame_metadata.frame_id, 30], 'the handler got that frame');
      await blocker;
      // Frames of the other size over every slot: none of the size asked about is left as new as the frame named.
      let other = half(60);
      for (let i = 1; i < 8; i++) other = half(60 + i);
      await assert.rejects(client.infer(request(own, 'cam_n', { frame_select: 'newest' })), { code: 'ERR_FRAME_OVERWRITTEN' });
      // Its size asked about: served (the newest of that size).
      assert.equal(
        (
          await client.infer(
            request(refs[0]!, 'cam_n', { frame_select: 'newest', frame_metadata: { ...own.frame_metadata, frame_id: 1, width: 32, height: 24 } }),
          )
        ).frame_id,
        other.frame_metadata.frame_id,
      );
      // A frame there, described with another size, is the client's mistake, newest or exact.
      const wrong = { ...own.frame_metadata, frame_id: other.frame_metadata.frame_id };
      for (const frame_select of ['exact', 'newest'] as const)
        await assert.rejects(client.infer(request(own, 'cam_n', { frame_select, frame_metadata: wrong })), { code: 'ERR_SCHEMA', field: 'frame_metadata' });
    } finally {
      client.close();
      writer.close();
      await server.close();
    }
  });

  it('a version-1 request (raw bytes, no new field) is served as before; the pong says protocol 3 and carries per-camera figures', async () => {
    const { server, socketPath, next } = await gatedServer('v1');
    const { writer, refs } = store('v1', 1);
    const socket = (await import('node:net')).connect(socketPath);
    const decoder = new MessageDecoder();
    const answers: unknown[] = [];
    let got = deferred<void>();
    socket.on('data', (chunk: Buffer) => {
      for (const d of decoder.push(chunk)) if (d.ok) answers.push(d.message);
      got.resolve();
    });
    try {
      await new Promise((r) => socket.once('connect', r));
      const v1 = {
        frame_reference: refs[0]!.frame_reference,
        frame_metadata: refs[0]!.frame_metadata,
        camera_id: 'camera_1',
        model_id: 'gated',
        timestamp: 1735598400.123,
        request_id: 7,
      };
      socket.write(encodeMessage(v1));
      (await next()).release.resolve();
      while (answers.length < 1) {
        await got.promise;
        got = deferred<void>();
      }
      const answer = answers[0] as InferenceResponse;
      assert.deepEqual([answer.request_id, answer.error, answer.frame_id, answer.camera_id], [7, null, refs[0]!.frame_metadata.frame_id, 'camera_1']);
      assert.equal(typeof answer.metadata.inference_time_ms, 'number');
      const client = new ModelClient({ socketPath });
      const pong = await client.ping();
      client.close();
      assert.deepEqual([pong.protocol, pong.concurrency, pong.running, pong.waiting], [3, 1, 0, 0]);
      const figures = pong.cameras!.camera_1!;
      assert.deepEqual([figures.served, figures.urgent, figures.superseded, figures.stale], [1, 0, 0, 0]);
      for (const key of ['wait_ms_p50', 'wait_ms_p99', 'inference_ms_p50', 'inference_ms_p99'] as const) assert.equal(typeof figures[key], 'number', key);
    } finally {
      socket.destroy();
      writer.close();
      await server.close();
    }
  });
});
