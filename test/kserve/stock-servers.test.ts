/**
 * The remote-model worker against the stock servers' behaviour, not our own
 * server: a Python stand-in (test/kserve/standin/v2_standin.py, written from
 * the protocol documents) answering as Triton, KServe and MLServer do, over
 * REST and gRPC. Per flavour: results with the detections convention and with
 * a raw YOLO head; null where pydantic writes it; MLServer's refusal of binary
 * data met by JSON; an unknown model, a refused request, dropped connections
 * and busy answers, each reported with its code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KServeClient, KServeError, kserveClient } from '../../src/kserve/index.js';
import { FrameSupplier, type FrameInput } from '../../src/supplier/index.js';
import { kserveWorker, WorkerSupervisor, type KServeWorkerOptions, type SupervisedWorkerStats, type WorkerResult } from '../../src/workers/index.js';
import { nextEvent, publishUntil } from '../workers/helpers.js';
import { startStandin, type Flavour, type Standin } from './standin.js';

/** 64×48 RGB frames of value 50: the stand-in's detector answers confidence 50 / 255. */
const rgb = (): FrameInput => ({ payload: new Uint8Array(64 * 48 * 3).fill(50), width: 64, height: 48, format: 'rgb24' });
const CONFIDENCE = Math.round((50 / 255) * 1000) / 1000;

interface Output {
  detections: { class_name: string; confidence: number; bbox: number[] }[];
  error?: { code: string; message: string };
}

/** Runs one kserve worker on a supplier fed with frames until `until(results)` says enough; returns its results and stats. */
async function runWorker(
  options: KServeWorkerOptions,
  until: (outputs: Output[]) => boolean,
  policy: { maxRestarts: number } = { maxRestarts: 0 },
): Promise<{ outputs: Output[]; stats: SupervisedWorkerStats; failed: boolean }> {
  const supplier = new FrameSupplier({ streamId: 'cam' }).start();
  const supervisor = new WorkerSupervisor({ supplier });
  const outputs: Output[] = [];
  try {
    supervisor.add({
      id: 'remote',
      criticality: 'critical',
      restartPolicy: { maxRestarts: policy.maxRestarts, backoffMs: [100], healthyResetMs: 60_000 },
      kind: kserveWorker({ retry: { initialMs: 10, maxMs: 100 }, ...options }),
    });
    const enough = new Promise<boolean>((resolve) =>
      supervisor.on('result', (r: WorkerResult) => {
        outputs.push(r.output as Output);
        if (until(outputs)) resolve(false);
      }),
    );
    const failed = nextEvent(supervisor, 'failed').then(() => true);
    supervisor.start();
    const ended = await publishUntil(supplier, Promise.race([enough, failed]), rgb, 10);
    return { outputs, stats: supervisor.stats()[0]!, failed: ended };
  } finally {
    await supervisor.close();
    void supplier.close();
  }
}

/** The stand-in detector's one detection (FP32 on the wire: the confidence to float precision). */
function expectDetector(output: Output): void {
  const [d] = output.detections;
  assert.equal(output.detections.length, 1);
  assert.deepEqual([d!.class_name, d!.bbox], ['person', [0.25, 0.25, 0.75, 0.75]]);
  assert.ok(Math.abs(d!.confidence - CONFIDENCE) < 1e-6, String(d!.confidence));
}

const good = (o: Output): boolean => o.error === undefined && o.detections.length > 0;

describe('the kserve worker against the stock servers (stand-ins)', { timeout: 300_000 }, () => {
  for (const flavour of ['triton', 'kserve', 'mlserver'] as Flavour[]) {
    describe(`the kserve worker against a ${flavour} stand-in`, () => {
      let standin: Standin;

      before(async () => {
        standin = await startStandin(flavour, { grpc: true });
      });

      after(async () => {
        await standin?.stop();
      });

      it('detections convention: results, asking only for the outputs the metadata lists', async () => {
        const before = await standin.stats();
        const { outputs, stats } = await runWorker({ url: standin.url, model: 'detector' }, (o) => o.some(good));
        expectDetector(outputs.find(good)!);
        assert.equal(stats.state, 'running');
        assert.equal(stats.restarts, 0);
        const after = await standin.stats();
        if (flavour === 'mlserver') {
          // No binary extension: the first binary request is refused (422), the frame goes again as JSON, and JSON it stays.
          assert.ok(after.json_requests! > before.json_requests!, JSON.stringify(after));
          assert.equal(after.binary_requests, before.binary_requests);
        } else {
          assert.ok(after.binary_requests! > before.binary_requests!, JSON.stringify(after));
          assert.equal(after.json_requests, before.json_requests);
        }
        assert.equal(after.refused, before.refused, 'no request was refused for an unknown output');
      });

      it('the client reads null model_version, id and parameters, and falls back to JSON only where binary is refused', async () => {
        const client = new KServeClient({ url: standin.url, model: 'detector' });
        const frame = { name: 'image', datatype: 'UINT8' as const, shape: [1, 2, 2, 3], data: new Uint8Array(12).fill(255) };
        const response = await client.infer({ inputs: [frame], outputs: [{ name: 'DETECTIONS', binary: true }] });
        assert.equal(response.model_name, 'detector');
        assert.equal(response.model_version, flavour === 'triton' ? '1' : undefined);
        assert.equal(client.encoding, flavour === 'mlserver' ? 'json' : 'binary');
        assert.deepEqual(
          response.outputs.map((o) => o.name),
          ['DETECTIONS'],
        );
        // An output the model does not have: Triton and KServe refuse it (400), MLServer leaves it out.
        const asked = client.infer({ inputs: [frame], outputs: [{ name: 'KEYPOINTS', binary: true }] });
        if (flavour === 'mlserver') assert.deepEqual((await asked).outputs, []);
        else await assert.rejects(asked, (e: unknown) => e instanceof KServeError && e.code === 'ERR_KSERVE_REJECTED' && /KEYPOINTS/.test(e.message));
        client.close();
      });

      it('yolo convention: a letterboxed FP32 frame, the raw head asked for as binary, decoded here', async () => {
        const { outputs } = await runWorker({ url: standin.url, model: 'yolo', outputs: 'yolo', classNames: ['a', 'b'] }, (o) => o.some(good));
        const result = outputs.find(good)!;
        assert.equal(result.detections.length, 1);
        assert.equal(result.detections[0]!.class_name, 'b');
        assert.equal(result.detections[0]!.confidence, 0.9);
      });

      it('an unknown model is ERR_UNKNOWN_MODEL: the worker crashes with that code and ends failed, never silent', async () => {
        // In a system the worker also has a way to wait for the model's health (never ready here): the 404 is not waited on.
        const { stats, failed } = await runWorker({ url: standin.url, model: 'nope', waitForServer: () => new Promise<boolean>(() => undefined) }, () => false);
        assert.equal(failed, true);
        assert.deepEqual([stats.state, stats.lastExit?.code], ['failed', 'ERR_UNKNOWN_MODEL']);
        assert.match(stats.lastExit!.message, /nope/);
      });

      it('a request the server refuses whatever the frame (a shape its model does not take) is ERR_KSERVE_REJECTED: an error result, then the crash', async () => {
        const { outputs, stats, failed } = await runWorker({ url: standin.url, model: 'detector4' }, () => false);
        assert.equal(failed, true);
        assert.deepEqual([stats.state, stats.lastExit?.code], ['failed', 'ERR_KSERVE_REJECTED']);
        assert.equal(outputs[0]!.error?.code, 'ERR_KSERVE_REJECTED');
        assert.match(outputs[0]!.error.message, /unexpected shape/);
      });

      it('dropped connections and busy answers: error results with their codes, retried with backoff, then results again; never a restart', async () => {
        await standin.faults({ drop: 3 });
        let run = await runWorker({ url: standin.url, model: 'detector' }, (o) => o.some(good));
        assert.deepEqual(
          run.outputs.filter((o) => o.error !== undefined).map((o) => o.error!.code),
          ['ERR_CONNECTION_LOST', 'ERR_CONNECTION_LOST', 'ERR_CONNECTION_LOST'],
        );
        assert.deepEqual([run.stats.state, run.stats.restarts], ['running', 0]);
        await standin.faults({ status: 503, count: 2 });
        run = await runWorker({ url: standin.url, model: 'detector' }, (o) => o.some(good));
        assert.deepEqual(
          run.outputs.filter((o) => o.error !== undefined).map((o) => o.error!.code),
          ['ERR_KSERVE_BUSY', 'ERR_KSERVE_BUSY'],
        );
        assert.deepEqual([run.stats.state, run.stats.restarts], ['running', 0]);
      });

      it('over gRPC (grpc://): results, an unknown model as ERR_UNKNOWN_MODEL, busy and dropped calls retried', async () => {
        const grpcUrl = standin.grpcUrl!;
        const { outputs } = await runWorker({ url: grpcUrl, model: 'detector' }, (o) => o.some(good));
        expectDetector(outputs.find(good)!);
        const yolo = await runWorker({ url: grpcUrl, model: 'yolo', outputs: 'yolo', classNames: ['a', 'b'] }, (o) => o.some(good));
        assert.equal(yolo.outputs.find(good)!.detections[0]!.class_name, 'b');
        const unknown = await runWorker({ url: grpcUrl, model: 'nope' }, () => false);
        assert.deepEqual([unknown.stats.state, unknown.stats.lastExit?.code], ['failed', 'ERR_UNKNOWN_MODEL']);
        const client = kserveClient({ url: grpcUrl, model: 'detector' });
        const frame = { name: 'image', datatype: 'UINT8' as const, shape: [1, 2, 2, 3], data: new Uint8Array(12) };
        if (flavour !== 'mlserver')
          await assert.rejects(
            client.infer({ inputs: [frame], outputs: [{ name: 'KEYPOINTS', binary: true }] }),
            (e: unknown) => e instanceof KServeError && e.code === 'ERR_KSERVE_REJECTED',
          );
        client.close();
        await standin.faults({ drop: 1, status: 503, count: 1 });
        const faulty = await runWorker({ url: grpcUrl, model: 'detector' }, (o) => o.some(good));
        assert.deepEqual(
          faulty.outputs.filter((o) => o.error !== undefined).map((o) => o.error!.code),
          ['ERR_SERVER_UNAVAILABLE', 'ERR_KSERVE_BUSY'],
        );
        assert.deepEqual([faulty.stats.state, faulty.stats.restarts], ['running', 0]);
      });
    });
  }
});
