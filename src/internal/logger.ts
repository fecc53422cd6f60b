/**
 * The system's logger: pino, JSON lines by default (levels by name: "warn",
 * not 40, for log collectors that read JSON), readable lines (pino-pretty)
 * when the destination is a terminal. Child loggers carry the camera, worker or
 * model they speak for. Writes are synchronous so nothing is lost when the
 * process exits right after a line (shutdown, a second Ctrl-C).
 *
 * Nothing secret is logged by construction: callers log ids and the capture's
 * masked source display, never a configuration's source URL, env or token.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pino, type Logger as PinoLogger } from 'pino';
import { makeDirectories } from './directories.js';
import type PinoPretty from 'pino-pretty';
import { InvalidArgumentError } from './errors.js';

export type Logger = PinoLogger;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

export interface LoggerOptions {
  /** Default 'info'. */
  readonly level?: LogLevel;
  /** 'stderr' (default), 'stdout', or a file path (appended to; its directory is created). */
  readonly destination?: string;
  /** Readable lines instead of JSON. 'auto' (default): readable on a terminal, JSON otherwise (files are always JSON). */
  readonly pretty?: boolean | 'auto';
  /** Fields on every line (e.g. { name: 'framesupplier' }). */
  readonly base?: Record<string, unknown>;
}

/** The descriptor each logger made here writes to (logDescriptor()). */
const descriptors = new WeakMap<Logger, number>();

/** A logger per the options; `silent` discards everything. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  if (!isLogLevel(level)) throw new InvalidArgumentError(`log level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  const destination = options.destination ?? 'stderr';
  let fd: number;
  let tty: boolean;
  if (destination === 'stderr' || destination === 'stdout') {
    fd = destination === 'stderr' ? 2 : 1;
    tty = (destination === 'stderr' ? process.stderr : process.stdout).isTTY === true;
  } else {
    fd = openLogFile(destination);
    tty = false;
  }
  const readable = options.pretty === 'auto' || options.pretty === undefined ? tty : options.pretty;
  const pinoOptions = {
    level,
    base: options.base ?? null,
    timestamp: pino.stdTimeFunctions.isoTime,
    // Readable lines colour the level by its number; JSON says it by name.
    ...(readable ? {} : { formatters: { level: (label: string) => ({ level: label }) } }),
  };
  let logger: Logger;
  if (readable) {
    // Loaded for readable lines only (a terminal): a service or a container writing JSON does not carry it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    logger = pino(pinoOptions, pretty({ destination: fd, sync: true, colorize: tty, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  } else {
    logger = pino(pinoOptions, pino.destination({ dest: fd, sync: true }));
  }
  descriptors.set(logger, fd);
  return logger;
}

/** The descriptor a logger made by createLogger writes to (2, stderr, for any other): where a last word outside pino goes. */
export function logDescriptor(logger: Logger): number {
  return descriptors.get(logger) ?? 2;
}

/**
 * A log file opened for appending, its directory made; else ERR_INVALID_ARGUMENT naming it and why, for the path is the
 * user's (--log-file). The empty write finds a file that opens but refuses every write (/proc/version: EIO), which would
 * otherwise fail at the first line, as a crash far from the flag.
 */
function openLogFile(path: string): number {
  let fd: number | undefined;
  try {
    makeDirectories(dirname(path));
    fd = openSync(path, 'a', 0o600);
    writeSync(fd, new Uint8Array(0));
    return fd;
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    throw new InvalidArgumentError(`the log file ${JSON.stringify(path)} cannot be written: ${(error as Error).message}`);
  }
}

/** pino's level numbers, for a child's line that carries one. */
const LEVEL_OF_NUMBER: Readonly<Record<number, LogLevel>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** Fields of a child's line its parent's logger writes itself. */
const OWN_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/**
 * One line of a child process's log, into this log: a JSON line with a level
 * (a name, or pino's number) keeps its level, message and fields; anything
 * else is logged at info as it is. `fields` tag it (e.g. { stream: 'stderr' }).
 */
export function relayLogLine(log: Logger, line: string, fields: Record<string, unknown> = {}): void {
  let parsed: unknown = null;
  if (line.startsWith('{')) {
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = null;
    }
  }
  const record = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  const level =
    record === null ? undefined : typeof record.level === 'number' ? LEVEL_OF_NUMBER[record.level] : isLogLevel(record.level) ? record.level : undefined;
  if (record === null || level === undefined || level === 'silent') {
    log.info(fields, line);
    return;
  }
  const rest = Object.fromEntries(Object.entries(record).filter(([key]) => !OWN_FIELDS.has(key)));
  log[level]({ ...fields, ...rest }, typeof record.msg === 'string' ? record.msg : '');
}

/** A logger that writes nothing: the default of library objects given none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
