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
 *
 * Off a terminal (a service, a container, a pipe) it is a daemon: no view
 * unless asked for, and the log is JSON lines on stderr, where the service
 * manager or the container runtime collects it.
 *
 * The event loop is watched from a thread of its own (internal/loop-watch.ts,
 * ADR 0162): under systemd's Type=notify it says READY=1 once started,
 * STOPPING=1 at the first signal, and pings WatchdogSec= only while the loop
 * runs; it rewrites the heartbeat file (--heartbeat-file, default `heartbeat`
 * in the state directory) that `framesupplier watchdog` watches.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App, type AppHttpOptions } from '../app/index.js';
import { DEBIAN_VTEST, findSampleMedia, nativeDecoderUnavailable } from '../capture/index.js';
import { builtInExampleConfig, cameraMeasuresMotion, envOf, loadConfig, parseConfig, type HttpConfig } from '../config/index.js';
import { aborted } from '../internal/abort.js';
import { createLogger, isLogLevel, LOG_LEVELS, type Logger } from '../internal/logger.js';
import { reportFatalSignalsTo } from '../internal/fatal-report.js';
import { ensureStateDir, instanceId } from '../internal/state-dir.js';
import { HEARTBEAT_FILE } from '../internal/heartbeat.js';
import { LoopWatch } from '../internal/loop-watch.js';
import { notifyTarget } from '../internal/sd-notify.js';
import { motionPassesUnavailable } from '../motion/index.js';
import { frameMappingUnavailable } from '../shm/index.js';
import type { ResolvedConfig } from '../pipeline/index.js';
import { InvalidArgumentError } from '../supplier/index.js';
import { hostPort, parseCommandLine, timerFlag } from '../internal/args.js';
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
  if (sample === null)
    log.warn(
      "the sample clip (OpenCV's vtest.avi) is not installed: `apt install opencv-doc` installs it (or FRAMESUPPLIER_SAMPLE_MEDIA=/path/to/clip); using a test pattern, with nobody in it",
    );
  return { ...config, cameras, shmDir: `/dev/shm/framesupplier-example-${process.pid}` };
}

/** --heartbeat-file PATH|none, else `heartbeat` in the state directory; null (said once) when that cannot be made. */
function heartbeatFile(flag: string | undefined, log: Logger): string | null {
  if (flag === 'none') return null;
  if (flag !== undefined) {
    if (flag.length === 0) throw new InvalidArgumentError('--heartbeat-file must be a path or none');
    return flag;
  }
  try {
    return join(ensureStateDir(), HEARTBEAT_FILE);
  } catch (error) {
    log.warn({ code: 'ERR_STATE_DIR' }, `no heartbeat file for \`framesupplier watchdog\`: ${(error as Error).message}`);
    return null;
  }
}

function nonNegative(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(Number.isFinite(n) && n >= 0)) throw new InvalidArgumentError(`--${name} must be a non-negative number, got ${JSON.stringify(value)}`);
  return n;
}

/** The run command's flags (its help page lists each; a test checks it). */
export const RUN_FLAGS = {
  'log-level': { type: 'string' },
  'log-file': { type: 'string' },
  'log-format': { type: 'string' },
  view: { type: 'string' },
  'view-interval-ms': { type: 'string' },
  duration: { type: 'string' },
  http: { type: 'string' },
  'save-config': { type: 'boolean' },
  cluster: { type: 'string' },
  'node-id': { type: 'string' },
  capacity: { type: 'string' },
  'heartbeat-file': { type: 'string' },
} as const;

export async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: RUN_FLAGS,
    strict: true,
  });
  if (positionals.length > 1) throw new InvalidArgumentError(`run takes one config file, got ${positionals.length}: ${positionals.join(' ')}`);
  const configPath = positionals[0];
  const config = configPath === undefined ? null : await loadConfig(configPath);
  const level = values['log-level'] ?? config?.logLevel ?? 'info';
  if (!isLogLevel(level)) throw new InvalidArgumentError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  const viewOption = values.view ?? 'auto';
  if (!['auto', 'tty', 'plain', 'none'].includes(viewOption))
    throw new InvalidArgumentError(`--view must be auto, tty, plain or none, got ${JSON.stringify(viewOption)}`);
  const mode = viewOption === 'auto' ? (process.stdout.isTTY ? 'tty' : 'none') : (viewOption as 'tty' | 'plain' | 'none');
  const format = values['log-format'];
  if (format !== undefined && format !== 'json' && format !== 'pretty')
    throw new InvalidArgumentError(`--log-format must be json or pretty, got ${JSON.stringify(format)}`);
  const durationS = timerFlag('duration', values.duration, 's', 0);
  const intervalMs = timerFlag('view-interval-ms', values['view-interval-ms'], 'ms', 0) || undefined;

  // On a terminal, log lines written to it would tear the view: they go to a file instead.
  const logFile = values['log-file'] ?? (mode === 'tty' && process.stderr.isTTY ? join(tmpdir(), `framesupplier-run-${process.pid}.log`) : undefined);
  const log = createLogger({
    level,
    ...(logFile === undefined ? {} : { destination: logFile }),
    ...(format === undefined ? {} : { pretty: format === 'pretty' }),
  });
  // A fault in native code (libav on a decoder's thread) or an abort() then leaves a line in the log saying where.
  reportFatalSignalsTo(log);
  const resolved = withClusterFlags(config ?? example(log), values.cluster, values['node-id'], values.capacity);
  const http = httpSettings(config, configPath, values.http, values['save-config'] === true);
  warnWithoutAddons(log, resolved);
  // Before anything else runs: the loop's own watch, so a start that hangs stops the pings too.
  const loopWatch = new LoopWatch({ notify: notifyTarget(), heartbeatFile: heartbeatFile(values['heartbeat-file'], log), log });
  loopWatch.start();
  const app = createApp(resolved, { logger: log, http, instanceId: () => instanceId(), ...(config === null ? {} : { env: envOf(config) }) });

  const stop = new AbortController();
  let view: RunView | null = null;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals === 1) {
      loopWatch.stopping();
      log.info(`${signal}: shutting down (again to end at once)`);
      stop.abort();
      return;
    }
    log.warn(`${signal} again: ending at once`);
    void view?.close();
    rmSync(app.system.runtimeDir, { recursive: true, force: true }); // its sockets; made by this run, not passed in
    // The 'exit' hook of src/process kills every child on the way out.
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await app.start();
    loopWatch.ready();
    const dashboard = printDashboard(app, process.stdout.isTTY === true);
    if (mode !== 'none') {
      view = new RunView(app.system, {
        out: process.stdout,
        mode,
        ...(intervalMs === undefined ? {} : { intervalMs }),
        ...(logFile === undefined ? {} : { logNote: logFile }),
        ...(dashboard === undefined ? {} : { dashboard }),
      }).start();
    }
    const timer = durationS > 0 ? setTimeout(() => stop.abort(), durationS * 1000) : null;
    await aborted(stop.signal);
    if (timer !== null) clearTimeout(timer);
  } finally {
    void view?.close();
    view = null;
    loopWatch.stopping();
    await app.close();
    await loopWatch.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}

/**
 * Said once at warn, with why and what to install, when an addon does not load:
 * the decoder for cameras that could use it, the mapper for started models,
 * motion's C passes for cameras that measure motion.
 */
function warnWithoutAddons(log: Logger, config: ResolvedConfig): void {
  const decoding = Object.values(config.cameras).some((camera) => camera.capture.decoder !== 'ffmpeg');
  const decoder = decoding ? nativeDecoderUnavailable() : null;
  if (decoder !== null) log.warn({ addon: 'framesupplier_decoder' }, `capture uses ffmpeg processes: ${decoder}`);
  const serving = Object.values(config.models).some((model) => 'handler' in model);
  const mapper = serving ? frameMappingUnavailable() : null;
  if (mapper !== null) log.warn({ addon: 'framesupplier_shm' }, `model servers read copied frames: ${mapper}`);
  const measuring = Object.values(config.cameras).some(cameraMeasuresMotion);
  const motion = measuring ? motionPassesUnavailable() : null;
  if (motion !== null) log.warn({ addon: 'framesupplier_shm' }, `motion runs its JavaScript passes (the same answers, several times the CPU): ${motion}`);
}

/**
 * --cluster, --node-id and --capacity over the file's cluster: section; a
 * --cluster without one gets the section's defaults from the schema.
 */
function withClusterFlags(config: ResolvedConfig, servers: string | undefined, nodeId: string | undefined, capacity: string | undefined): ResolvedConfig {
  if (servers === undefined && config.cluster === undefined) {
    if (nodeId !== undefined || capacity !== undefined) throw new InvalidArgumentError('--node-id and --capacity go with --cluster (or a cluster: section)');
    return config;
  }
  const cluster = {
    ...(config.cluster ?? {}),
    ...(servers === undefined ? {} : { servers: servers.split(',') }),
    ...(nodeId === undefined ? {} : { nodeId }),
    ...(capacity === undefined ? {} : { capacity: nonNegative('capacity', capacity, 1) }),
  };
  return { ...config, cluster: parseConfig(JSON.stringify({ cameras: {}, cluster }), { env: {} }).cluster! };
}

/**
 * The dashboard's address line. The token goes only to a terminal, once,
 * when it was just made; off a terminal (a container, a service unit) stdout
 * is the log, so it says where the token file is instead. Returns the view's
 * note.
 */
function printDashboard(app: App, terminal: boolean): string | undefined {
  const dashboard = app.dashboard;
  if (dashboard === null) return undefined;
  const { url, token } = dashboard;
  const where =
    token.source === 'generated' ? `token in ${token.file ?? '?'}` : `token from ${token.source === 'env' ? 'FRAMESUPPLIER_HTTP_TOKEN' : 'the config'}`;
  if (token.created && terminal) {
    process.stdout.write(`dashboard: ${url}#token=${token.value}\n  (the API token, printed this once; it is kept in ${token.file ?? '?'})\n`);
  } else if (token.created) {
    process.stdout.write(
      `dashboard: ${url} (a new API token is in ${token.file ?? '?'}: open ${url}#token=<the token> once to keep it in the browser's tab)\n`,
    );
  } else {
    process.stdout.write(`dashboard: ${url} (${where})\n`);
  }
  return `${url} (${where})`;
}

// ---------------------------------------------------------------- the HTTP control plane and dashboard (src/http)

/** The config file's http section, --http HOST:PORT|off, --save-config; the built-in example serves on 127.0.0.1:8080. */
function httpSettings(config: ResolvedConfig | null, configPath: string | undefined, flag: string | undefined, saveFlag: boolean): AppHttpOptions | null {
  if (saveFlag && configPath === undefined) throw new InvalidArgumentError('--save-config needs a config file to save to');
  if (flag === 'off') return null;
  const base: HttpConfig | undefined = config === null ? parseConfig('{cameras: {}, http: {}}', { env: {} }).http : config.http;
  let host = base?.host;
  let port = base?.port;
  if (flag !== undefined) {
    ({ host, port } = hostPort('http', flag, '(e.g. 127.0.0.1:8080, [::1]:8080) or off'));
  }
  if (base === undefined && flag === undefined) {
    if (saveFlag)
      throw new InvalidArgumentError('--save-config saves changes made through the HTTP API: give the config file an http: section, or --http HOST:PORT');
    return null;
  }
  const resolved = parseConfig(JSON.stringify({ cameras: {}, http: { ...(base ?? {}), host, port } }), { env: {} }).http!;
  const save = saveFlag || resolved.saveConfig;
  return {
    config: resolved,
    ...(save && configPath !== undefined ? { saveConfigPath: configPath } : {}),
    fallbackToFreePort: config === null && flag === undefined,
  };
}
