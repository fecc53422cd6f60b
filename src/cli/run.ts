/**
 * `framesupplier run [config.yaml]`: runs a system from a config file, or the
 * built-in example without one (OpenCV's pedestrian clip as two cameras, a
 * person model server shared by both, a light worker per camera), with a live
 * view.
 *
 * Contract: SIGINT or SIGTERM ends it cleanly (captures stop, frames in flight
 * finish within the drain deadline, children end) and it exits 0; a second
 * signal ends it at once (children are killed with it). Logs never tear the
 * view: with the view on a terminal they go to a file (--log-file, else one
 * in the temp directory, named in the view), otherwise to stderr.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEBIAN_VTEST, findSampleMedia } from '../capture/index.js';
import { builtInExampleConfig, loadConfig } from '../config/index.js';
import { aborted } from '../internal/abort.js';
import { createLogger, isLogLevel, LOG_LEVELS, type Logger } from '../internal/logger.js';
import { VisionSystem, type ResolvedConfig } from '../pipeline/index.js';
import { InvalidArgumentError } from '../supplier/index.js';
import { ClusterNode } from '../cluster/index.js';
import { parseCommandLine } from './args.js';
import { RunView } from './run-view.js';

/** The built-in example (examples/config/example.yaml), with frame stores of its own run so two runs never share one. */
function example(log: Logger): ResolvedConfig {
  const config = builtInExampleConfig();
  const sample = findSampleMedia();
  const cameras = Object.fromEntries(
    Object.entries(config.cameras).map(([id, camera]) => {
      if (camera.source !== DEBIAN_VTEST || sample === DEBIAN_VTEST) return [id, camera];
      return [id, { ...camera, source: sample ?? 'lavfi:testsrc2=size=768x576:rate=10' }];
    }),
  );
  if (sample === null) log.warn("the sample clip (Debian's opencv-doc vtest.avi) is not installed: `npm start` installs it; using a test pattern, with nobody in it");
  return { ...config, cameras, shmDir: `/dev/shm/framesupplier-example-${process.pid}` };
}

function nonNegative(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(Number.isFinite(n) && n >= 0)) throw new InvalidArgumentError(`--${name} must be a non-negative number, got ${JSON.stringify(value)}`);
  return n;
}

export async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      'log-level': { type: 'string' },
      'log-file': { type: 'string' },
      view: { type: 'string' },
      'view-interval-ms': { type: 'string' },
      duration: { type: 'string' },
      cluster: { type: 'string' },
      'node-id': { type: 'string' },
      capacity: { type: 'string' },
    },
    strict: true,
  });
  if (positionals.length > 1) throw new InvalidArgumentError(`run takes one config file, got ${positionals.length}: ${positionals.join(' ')}`);
  const configPath = positionals[0];
  const config = configPath === undefined ? null : await loadConfig(configPath);
  const level = values['log-level'] ?? config?.logLevel ?? 'info';
  if (!isLogLevel(level)) throw new InvalidArgumentError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  const viewOption = values.view ?? 'auto';
  if (!['auto', 'tty', 'plain', 'none'].includes(viewOption)) throw new InvalidArgumentError(`--view must be auto, tty, plain or none, got ${JSON.stringify(viewOption)}`);
  const mode = viewOption === 'auto' ? (process.stdout.isTTY ? 'tty' : 'plain') : (viewOption as 'tty' | 'plain' | 'none');
  const durationS = nonNegative('duration', values.duration, 0);
  const intervalMs = values['view-interval-ms'] === undefined ? undefined : nonNegative('view-interval-ms', values['view-interval-ms'], 0) || undefined;

  // On a terminal, log lines written to it would tear the view: they go to a file instead.
  const logFile = values['log-file'] ?? (mode === 'tty' && process.stderr.isTTY ? join(tmpdir(), `framesupplier-run-${process.pid}.log`) : undefined);
  const log = createLogger({ level, ...(logFile === undefined ? {} : { destination: logFile }) });
  // Cluster mode (--cluster or a cluster: section): the file's cameras become the cluster's desired state; this node runs those it claims.
  const resolved = config ?? example(log);
  const clusterConfig = values.cluster === undefined ? resolved.cluster : { ...resolved.cluster, servers: values.cluster.split(','), capacity: resolved.cluster?.capacity ?? 1, leaseMs: resolved.cluster?.leaseMs ?? 6_000, marginMs: resolved.cluster?.marginMs ?? 1_000 };
  const system = new VisionSystem({ config: clusterConfig === undefined ? resolved : { ...resolved, cameras: {}, shared: {} }, logger: log });
  const cluster = clusterConfig === undefined ? null : new ClusterNode({
    servers: clusterConfig.servers,
    system,
    log,
    seed: resolved.cameras,
    capacity: values.capacity === undefined ? clusterConfig.capacity : nonNegative('capacity', values.capacity, 1),
    leaseMs: clusterConfig.leaseMs,
    marginMs: clusterConfig.marginMs,
    ...((values['node-id'] ?? clusterConfig.nodeId) === undefined ? {} : { nodeId: values['node-id'] ?? clusterConfig.nodeId }),
  });
  if (cluster === null && (values['node-id'] !== undefined || values.capacity !== undefined)) throw new InvalidArgumentError('--node-id and --capacity go with --cluster (or a cluster: section)');

  const stop = new AbortController();
  let view: RunView | null = null;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals === 1) {
      log.info(`${signal}: shutting down (again to end at once)`);
      stop.abort();
      return;
    }
    log.warn(`${signal} again: ending at once`);
    view?.stop();
    rmSync(system.runtimeDir, { recursive: true, force: true }); // its sockets; made by this run, not passed in
    // The 'exit' hook of src/process kills every child on the way out.
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await system.start();
    await cluster?.start();
    if (mode !== 'none') {
      view = new RunView(system, { out: process.stdout, mode, ...(intervalMs === undefined ? {} : { intervalMs }), ...(logFile === undefined ? {} : { logNote: logFile }) }).start();
    }
    const timer = durationS > 0 ? setTimeout(() => stop.abort(), durationS * 1000) : null;
    await aborted(stop.signal);
    if (timer !== null) clearTimeout(timer);
  } finally {
    view?.stop();
    view = null;
    await cluster?.close();
    await system.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}
