/** Checks of numeric options, one way everywhere: (name, value), InvalidArgumentError with the name and what was given. */
import { InvalidArgumentError } from './errors.js';

/** What a part throws for a bad option, when it has a code of its own (capture: ERR_INVALID_CAPTURE_OPTION). */
export type OptionError = (message: string) => Error;
const invalidArgument: OptionError = (message) => new InvalidArgumentError(message);

/** A positive finite number, or ERR_INVALID_ARGUMENT (or the part's own error). */
export function positive(name: string, value: unknown, error: OptionError = invalidArgument): number {
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) throw error(`${name} must be a positive finite number, got ${String(value)}`);
  return value;
}

/** positive(), or null when absent. */
export function optionalPositive(name: string, value: unknown): number | null {
  return value === undefined || value === null ? null : positive(name, value);
}

/** A positive integer, or ERR_INVALID_ARGUMENT (or the part's own error). */
export function positiveInteger(name: string, value: unknown, error: OptionError = invalidArgument): number {
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= 1)) throw error(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}
