/**
 * `framesupplier watchdog [config.yaml]`: the watch from outside (app/outside-watch.ts, ADR 0163), a process of
 * its own (its own systemd unit, docs/care.md): it watches the heartbeat file `framesupplier run` rewrites while
 * its event loop runs and raises every care camera's silence alarm (reason `system-down`) on the config's MQTT
 * broker and/or a webhook when the heartbeat stops for the silence; it clears when the heartbeat comes back.
 *
 * Contract: the config is read as `run` reads it (its mqtt section, its care cameras); the silence is --silence,
 * else the shortest of the care workers', else 30 s. With neither MQTT nor --webhook it refuses to start
 * (ERR_INVALID_ARGUMENT): an alarm only in its own log would reach nobody. SIGINT or SIGTERM ends it (exit 0),
 * `stopped` on its MQTT availability.
 */
import { join } from 'node:path';
import { createOutsideWatch } from '../app/index.js';
import { loadConfig } from '../config/index.js';
import { aborted } from '../internal/abort.js';
import { parseCommandLine } from '../internal/args.js';
import { HEARTBEAT_FILE } from '../internal/heartbeat.js';
import { createLogger, isLogLevel, LOG_LEVELS } from '../internal/logger.js';
import { instanceId, stateDir } from '../internal/state-dir.js';
import { InvalidArgumentError } from '../supplier/index.js';

/** The watchdog command's flags (its help page lists each; a test checks it). */
export const WATCHDOG_FLAGS = {
  'heartbeat-file': { type: 'string' },
  silence: { type: 'string' },
  webhook: { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
} as const;

export async function watchdogCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: WATCHDOG_FLAGS, strict: true });
  if (positionals.length !== 1) throw new InvalidArgumentError(`watchdog takes the config file \`run\` runs, got ${positionals.length} arguments`);
  const config = await loadConfig(positionals[0]!);
  const level = values['log-level'] ?? config.logLevel ?? 'info';
  if (!isLogLevel(level)) throw new InvalidArgumentError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  const format = values['log-format'];
  if (format !== undefined && format !== 'json' && format !== 'pretty')
    throw new InvalidArgumentError(`--log-format must be json or pretty, got ${JSON.stringify(format)}`);
  const log = createLogger({ level, ...(format === undefined ? {} : { pretty: format === 'pretty' }) });

  const webhook = values.webhook ?? null;
  if (webhook !== null && !/^https?:\/\//.test(webhook)) throw new InvalidArgumentError('--webhook must be an http:// or https:// URL');
  if (config.mqtt === undefined && webhook === null)
    throw new InvalidArgumentError('the config has no mqtt: section and no --webhook was given: the alarm would reach nobody');
  const heartbeatFile = values['heartbeat-file'] ?? join(stateDir(), HEARTBEAT_FILE);
  const watch = await createOutsideWatch({
    cameras: config.cameras,
    mqtt: config.mqtt,
    clientId: () => `framesupplier-${instanceId()}`,
    heartbeatFile,
    ...(values.silence === undefined ? {} : { silenceSeconds: silenceSeconds(values.silence) }),
    webhook,
    log,
  });
  if (watch.cameras.length === 0) log.warn('no camera of the config is care-critical (care:): the alarm goes to the webhook only, with no camera');
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    watch.start();
    log.info(
      { heartbeatFile, silenceSeconds: watch.silenceMs / 1000, cameras: watch.cameras.map((c) => c.id) },
      'watchdog: watching framesupplier from outside',
    );
    await aborted(stop.signal);
  } finally {
    await watch.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}

/** --silence S: at least a second. */
function silenceSeconds(flag: string): number {
  const n = Number(flag);
  if (!(Number.isFinite(n) && n >= 1)) throw new InvalidArgumentError(`--silence must be a number of seconds, at least 1, got ${JSON.stringify(flag)}`);
  return n;
}
