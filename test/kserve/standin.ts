/**
 * Starts test/kserve/standin/v2_standin.py (Debian's python3, with
 * python3-grpcio and protoc for --grpc): a stand-in answering as Triton,
 * KServe or MLServer do, on loopback; and sets its faults.
 */
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';

export const STANDIN = fileURLToPath(new URL('../../../test/kserve/standin/v2_standin.py', import.meta.url));
/** Debian's Python: python3-grpcio and python3-protobuf are its packages (scripts/setup.sh test). */
export const PYTHON = '/usr/bin/python3';

export type Flavour = 'triton' | 'kserve' | 'mlserver';

export interface Standin {
  readonly process: ManagedProcess;
  readonly url: string;
  readonly grpcUrl: string | null;
  faults(spec: { drop?: number; status?: number; count?: number }): Promise<void>;
  stats(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export async function startStandin(flavour: Flavour, options: { grpc?: boolean } = {}): Promise<Standin> {
  const child = spawnManaged(PYTHON, [STANDIN, '--flavour', flavour, ...(options.grpc === true ? ['--grpc'] : [])]);
  let stderr = '';
  child.child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const ports = await new Promise<{ http: number; grpc: number | null }>((resolve, reject) => {
    let text = '';
    child.child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n')[0];
      if (text.includes('\n') && line !== undefined) resolve(JSON.parse(line) as { http: number; grpc: number | null });
    });
    void child.exited.then((exit) => reject(new Error(`the stand-in exited: ${JSON.stringify(exit)} ${stderr}`)));
  });
  const url = `http://127.0.0.1:${ports.http}`;
  const call = (method: string, path: string, body?: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = request(`${url}${path}`, { method, headers: data === undefined ? {} : { 'content-length': String(data.byteLength) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
      });
      req.on('error', reject);
      req.end(data);
    });
  return {
    process: child,
    url,
    grpcUrl: ports.grpc === null ? null : `grpc://127.0.0.1:${ports.grpc}`,
    faults: async (spec) => void (await call('POST', '/standin/faults', spec)),
    stats: async () => (await call('GET', '/standin/stats')) as Record<string, number>,
    stop: async () => void (await child.stop(5_000)),
  };
}
