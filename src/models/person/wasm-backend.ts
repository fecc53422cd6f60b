/**
 * TF.js's WebAssembly backend for a model thread: the SIMD build on the
 * calling thread (the default), or the threaded SIMD build with `threads`
 * XNNPACK threads (Emscripten pthreads on worker_threads).
 *
 * The package ships the threaded build but turns it off under Node (its
 * WASM_HAS_MULTITHREAD_SUPPORT flag is false when IS_NODE) and, when forced,
 * starts its pthread workers from blob: URLs that Node's Worker cannot load.
 * So the threaded case registers the backend itself: the same BackendWasm
 * over the package's threaded factory, its worker script written to a
 * temporary file (removed once the workers have loaded it) and its main
 * script by path. TF.js also caps XNNPACK at half the logical cores
 * (os.cpus().length / 2: one thread on a 2-vCPU machine, whatever is asked),
 * so os.cpus is widened while the module starts, on this thread only (each
 * worker thread has its own `os` module object). ADR 0017 has the figures.
 *
 * One backend per thread and process-wide per thread: call once, before
 * loading a model.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm, getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);

interface EmscriptenModule {
  cwrap(name: string, returns: string | null, args: string[]): (...args: number[]) => number;
}
type WasmFactory = (config: { locateFile: (path: string, prefix: string) => string; mainScriptUrlOrBlob: string }) => Promise<EmscriptenModule>;

/** Initialises the `wasm` backend on this thread; returns the XNNPACK threads it runs with. */
export async function initWasmBackend(threads = 1): Promise<number> {
  if (threads > 1) registerThreaded(threads);
  await tf.setBackend('wasm');
  await tf.ready();
  return threads > 1 ? getThreadsCount() : 1;
}

function registerThreaded(threads: number): void {
  const wasmOut = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '..', 'wasm-out');
  const mainScript = join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
  const factory = require(mainScript) as WasmFactory;
  const { wasmWorkerContents } = require(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  setThreadsCount(threads);
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      const dir = mkdtempSync(join(os.tmpdir(), 'framesupplier-tfjs-'));
      const workerScript = join(dir, 'pthread-worker.cjs');
      // As the package does for its blob: the template literal's newlines are escapes inside string literals.
      writeFileSync(workerScript, wasmWorkerContents.replace(/\n/g, '\\n'));
      const cpus = os.cpus;
      const one = cpus()[0]!;
      os.cpus = () => Array.from({ length: 2 * threads }, () => one);
      try {
        const module = await factory({
          locateFile: (path, prefix) =>
            path.endsWith('.worker.js') ? workerScript : path.endsWith('.wasm') ? join(wasmOut, 'tfjs-backend-wasm-threaded-simd.wasm') : prefix + path,
          mainScriptUrlOrBlob: mainScript,
        });
        // The bridge the package's own init() sets up.
        Object.assign(module, {
          tfjs: {
            init: module.cwrap('init', null, []),
            initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
            getThreadsCount: module.cwrap('get_threads_count', 'number', []),
            registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
            disposeData: module.cwrap('dispose_data', null, ['number']),
            dispose: module.cwrap('dispose', null, []),
          },
        });
        return new BackendWasm(module as unknown as ConstructorParameters<typeof BackendWasm>[0]);
      } finally {
        os.cpus = cpus;
        // Every pthread worker has loaded the script by the time the module is ready.
        rmSync(dir, { recursive: true, force: true });
      }
    },
    2,
  );
}
