/**
 * Flags and input files of the `framesupplier` commands (and the model server's entry), checked into the
 * project's errors: whatever a user types or names wrong comes back as
 * ERR_INVALID_ARGUMENT with a message that says which flag, never as Node's
 * bare ERR_PARSE_ARGS_*, ERR_OUT_OF_RANGE or ENOENT.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MAX_TIMER_MS } from './abort.js';
import { InvalidArgumentError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Node's parseArgs, with its errors (ERR_PARSE_ARGS_*) as ERR_INVALID_ARGUMENT. Every command parses through here. */
export function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    if (!String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) throw error;
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** The flags of a command (strict: an unknown flag or a stray argument is an error). */
export function parseFlags<T extends Options>(
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true }>>['values'] {
  return parseCommandLine({ args, options, strict: true }).values;
}

export function required(name: string, value: string | undefined): string {
  if (value === undefined || value.length === 0) throw new InvalidArgumentError(`--${name} is required`);
  return value;
}

/** An integer flag within [min, max] (default 1 to 2^53 − 1), or the fallback when absent (required without one). */
export function int(name: string, value: string | undefined, options: { min?: number; max?: number; fallback?: number } = {}): number {
  if (value === undefined) {
    if (options.fallback !== undefined) return options.fallback;
    throw new InvalidArgumentError(`--${name} is required`);
  }
  const min = options.min ?? 1;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  const n = value.trim().length === 0 ? Number.NaN : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new InvalidArgumentError(`--${name} must be an integer ${range}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * A flag that becomes a timer's wait, in ms or s: a non-negative number, or the fallback when absent. Past MAX_TIMER_MS
 * Node fires the timer after 1 ms (a --duration of weeks stopped at once), so the wait is refused, as --timeout-ms is.
 */
export function timerFlag(name: string, value: string | undefined, unit: 'ms' | 's', fallback: number): number {
  if (value === undefined) return fallback;
  const max = unit === 'ms' ? MAX_TIMER_MS : MAX_TIMER_MS / 1000;
  const n = value.trim().length === 0 ? Number.NaN : Number(value);
  if (!(n >= 0 && n <= max)) {
    const units = unit === 'ms' ? 'milliseconds' : 'seconds';
    throw new InvalidArgumentError(
      `--${name} must be a number from 0 to ${max} (${units}; about 24.8 days, the longest a timer waits), got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** The bytes of the file a flag names. */
export function readInput(name: string, path: string | undefined): Buffer {
  const file = required(name, path);
  try {
    return readFileSync(file);
  } catch (error) {
    throw new InvalidArgumentError(`--${name} ${JSON.stringify(file)} cannot be read: ${(error as Error).message}`);
  }
}

/**
 * A HOST:PORT flag ([IPv6]:PORT too) as { host, port }; `expected` completes
 * the message (examples, other accepted words).
 */
export function hostPort(flag: string, value: string, expected: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (match === null || port > 65535) throw new InvalidArgumentError(`--${flag} must be HOST:PORT ${expected}, got ${JSON.stringify(value)}`);
  return { host: match[1] ?? match[2]!, port };
}
