/** Checks of numeric options, one way everywhere: (name, value), InvalidArgumentError with the name and what was given. */
import { InvalidArgumentError } from './errors.js';

/** A positive finite number, or ERR_INVALID_ARGUMENT. */
export function positive(name: string, value: unknown): number {
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value)))
    throw new InvalidArgumentError(`${name} must be a positive finite number, got ${String(value)}`);
  return value;
}

/** positive(), or null when absent. */
export function optionalPositive(name: string, value: unknown): number | null {
  return value === undefined || value === null ? null : positive(name, value);
}

/** A positive integer, or ERR_INVALID_ARGUMENT. */
export function positiveInteger(name: string, value: unknown): number {
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= 1))
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}
