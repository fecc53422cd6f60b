/**
 * XK, the transports: one `framesupplier model-server --handler mock --http
 * 127.0.0.1:0 --grpc 127.0.0.1:0` process, the same 768×576 NV12 frame sent
 * by c clients at once (c = 1, 8, 32), each sending its next request when its
 * answer arrives, over KServe v2 REST with binary tensors, REST with JSON
 * tensors, and gRPC (raw contents). The server's in-flight limit is raised
 * above 32 so the figures are the transports', not refusals. The mock handler
 * does no work: what is measured is each transport's cost per frame.
 *
 * Fields: transport, concurrency, width, height, requests, rps, ms_p50,
 * ms_p99, errors (each error's code counted in `codes`).
 */
import { performance } from 'node:perf_hooks';
import { frameTensor, kserveClient, type InferenceClient } from '../../src/kserve/index.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';
import { startModelServerWithLine, stopModelServer } from '../ipc/server.js';

const TRANSPORTS = ['rest-binary', 'rest-json', 'grpc'] as const;
export type Transport = (typeof TRANSPORTS)[number];

export async function xkTransports(options: { requests?: number; concurrency?: readonly number[]; transports?: readonly Transport[] } = {}): Promise<void> {
  const requests = options.requests ?? 640;
  const levels = options.concurrency ?? [1, 8, 32];
  const transports = options.transports ?? TRANSPORTS;
  const { server, line } = await startModelServerWithLine([
    '--handler',
    'mock',
    '--http',
    '127.0.0.1:0',
    '--grpc',
    '127.0.0.1:0',
    '--http-max-in-flight',
    '64',
  ]);
  const [width, height] = [768, 576];
  const input = frameTensor({ data: Buffer.alloc((width * height * 3) / 2, 128), width, height, format: 'NV12' });
  const outputs = [
    { name: 'DETECTIONS', binary: true },
    { name: 'CLASS_NAMES', binary: true },
  ];
  const clientFor = (transport: Transport): InferenceClient =>
    kserveClient({
      url: transport === 'grpc' ? `grpc://${String(line.grpc)}` : `http://${String(line.http)}`,
      model: 'mock',
      timeoutMs: 60_000,
      ...(transport === 'rest-json' ? { tensors: 'json' as const } : {}),
    });
  try {
    for (const concurrency of levels) {
      for (const transport of transports) {
        const clients = Array.from({ length: concurrency }, () => clientFor(transport));
        const codes: Record<string, number> = {};
        const times: number[] = [];
        const drive = async (client: InferenceClient, n: number, record: boolean): Promise<void> => {
          for (let i = 0; i < n; i++) {
            const t = performance.now();
            try {
              await client.infer({ inputs: [input], outputs, parameters: { camera_id: 'xk' } });
              if (record) times.push(performance.now() - t);
            } catch (error) {
              const code = (error as { code?: string }).code ?? 'other';
              if (record) codes[code] = (codes[code] ?? 0) + 1;
            }
          }
        };
        // Warm-up: every connection made, JIT warm.
        await Promise.all(clients.map((c) => drive(c, 4, false)));
        const each = Math.max(1, Math.round(requests / concurrency));
        const started = performance.now();
        await Promise.all(clients.map((c) => drive(c, each, true)));
        const seconds = (performance.now() - started) / 1000;
        for (const c of clients) c.close();
        const sorted = sortedCopy(times);
        const errors = Object.values(codes).reduce((a, b) => a + b, 0);
        emit({
          workload: 'XK',
          impl: 'framesupplier',
          handler: 'mock',
          transport,
          concurrency,
          width,
          height,
          format: 'NV12',
          requests: each * concurrency,
          rps: round((each * concurrency) / seconds),
          ms_p50: round(percentile(sorted, 50)),
          ms_p99: round(percentile(sorted, 99)),
          errors,
          ...(errors === 0 ? {} : { codes }),
        });
        log(`XK ${transport} c=${concurrency}: ${round((each * concurrency) / seconds)} req/s`);
      }
    }
  } finally {
    await stopModelServer(server);
  }
}
