/**
 * A camera's model served by another node over the v2 protocol, with real
 * processes and sockets: `framesupplier model-server --handler person --http
 * 127.0.0.1:0 --grpc 127.0.0.1:0` (no Unix socket) is the "GPU box"; a
 * VisionSystem whose config names it as a `kserve` model, by its REST URL or
 * its grpc:// one, gets people on vtest.avi through it.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { nextResults, resolvedConfig, vtest } from '../pipeline/helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const CAMERA = `remote-${process.pid}`;
const SHM_DIR = `/dev/shm/framesupplier-kserve-test-${process.pid}`;

describe('a remote model over KServe v2', { timeout: 120_000 }, () => {
  let gpuBox: ManagedProcess;
  let url: string;
  let grpcUrl: string;
  let system: VisionSystem | undefined;

  before(async () => {
    gpuBox = spawnManaged(process.execPath, [MAIN, 'model-server', '--handler', 'person', '--threads', '1', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0']);
    const listening = await new Promise<{ http: string; grpc: string }>((resolve, reject) => {
      let text = '';
      gpuBox.child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const line = text.split('\n').find((l) => l.includes('"http"'));
        if (line !== undefined) resolve(JSON.parse(line) as { http: string; grpc: string });
      });
      void gpuBox.exited.then((exit) => reject(new Error(`model-server exited: ${JSON.stringify(exit)}`)));
    });
    url = `http://${listening.http}`;
    grpcUrl = `grpc://${listening.grpc}`;
  });

  after(async () => {
    await system?.close();
    await gpuBox?.stop(5_000);
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  for (const transport of ['REST', 'gRPC'] as const)
    it(`a camera whose model is another node's server gets people on vtest.avi, over ${transport}`, async () => {
      await system?.close();
      const config = resolvedConfig({
        shmDir: SHM_DIR,
        models: { remote: { kserve: { url: transport === 'REST' ? url : grpcUrl, model: 'person' }, timeoutMs: 30_000 } },
        cameras: {
          [CAMERA]: { source: vtest(), capture: { output: { format: 'rgb24', width: 384 }, loop: true }, workers: [{ id: 'people', model: 'remote' }] },
        },
      });
      system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }), modelHealthIntervalMs: 1_000 });
      // Results with people (a frame or two may have none).
      const people = new Promise<unknown>((resolve) => {
        system!.on('result', (e) => {
          const output = e.output as { detections?: { class_name: string }[] };
          if (e.camera === CAMERA && (output.detections?.length ?? 0) > 0) resolve(output);
        });
      });
      await system.start();
      const [first] = await nextResults(system, CAMERA, 'people');
      assert.ok(!('error' in (first!.output as object)) || (first!.output as { error: unknown }).error === undefined, JSON.stringify(first!.output));
      const output = (await people) as { detections: { class_name: string; confidence: number; bbox: number[] }[] };
      assert.equal(output.detections[0]!.class_name, 'person');
      assert.ok(output.detections[0]!.bbox.every((v) => v >= 0 && v <= 1));
      const model = system.stats().models.remote;
      assert.equal(model?.state, 'ready');
      assert.ok(!model.socket.includes('@'));
      // What the remote model did with the frames delivered (ADR 0040): one request at a time, each frame read settled once.
      const worker = system.stats().cameras[CAMERA]!.workers.people!;
      const frames = worker.modelFrames!;
      assert.ok(frames.taken >= 1, JSON.stringify(frames));
      // Read in the result's own turn: the next frame may be handed over already and not yet in the worker's ledger.
      const unsettled = worker.totals.delivered - (frames.taken + frames.skipped + frames.inFlight);
      assert.ok(unsettled === 0 || unsettled === 1, `${JSON.stringify(frames)} vs delivered ${worker.totals.delivered}`);
      assert.ok(frames.inFlight <= 1, 'one frame in flight at most');
      assert.equal(frames.skips.overwritten, 0, 'a KServe worker reads no frame while its request is out');
    });
});
