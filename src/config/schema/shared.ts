/**
 * The bottom of the config schema (src/config/schema/, ADR 0149): what every section's module builds with, and
 * nothing about any one section. The symbol-keyed annotations the JSON Schema has no word for (a pattern's human
 * hint, a union's branch names and chooser, an object inherited whole, a key the resolver computes), the
 * SchemaNode shape that the resolver, the validator and the file's derivation read, and the small constructors
 * the sections share (ids and id-keyed maps, integers, milliseconds, fractions, string enums, closed objects).
 * Imports nothing of the schema: every section stands on it, and it on no section.
 */
import { Type, type TSchema, type SchemaOptions } from '@sinclair/typebox';
import { ID_PATTERN_SOURCE } from '../../internal/ids.js';

/** A human phrase for a pattern or a map's keys: "1–64 characters of A–Z a–z 0–9 _ -". */
export const HINT = Symbol('config.hint');
/** A union's branch name, for "applies only to module workers". */
export const KIND_NAME = Symbol('config.kindName');
/** A union's chooser: the branch index for a value, or why none fits. */
export const CHOOSE = Symbol('config.choose');
/** An object inherited as one value (a camera's crop replaces the default's, never half of it). */
export const ATOMIC = Symbol('config.atomic');
/** A required resolved key the resolver computes (a model's modelId is its key). */
export const COMPUTED = Symbol('config.computed');

export type Segment = string | number;
/** Why a union has no branch for a value: the message, at a path relative to the value. */
export interface NoChoice {
  readonly path?: readonly Segment[];
  readonly message: string;
  /** Also check the keys every branch shares (a bad criticality is worth reporting even without a kind). */
  readonly lenient: boolean;
}
export type Chooser = (value: unknown) => number | NoChoice;

/** A schema node as this module reads it: JSON Schema keywords plus the symbol annotations. */
export interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  enum?: unknown[];
  default?: unknown;
  [HINT]?: string;
  [KIND_NAME]?: string;
  [CHOOSE]?: Chooser;
  [ATOMIC]?: true;
  [COMPUTED]?: string;
  [key: string]: unknown;
}

export const node = (schema: TSchema): SchemaNode => schema;

export function annotate<T extends TSchema>(
  schema: T,
  annotations: Partial<Pick<SchemaNode, typeof HINT | typeof KIND_NAME | typeof CHOOSE | typeof ATOMIC | typeof COMPUTED>>,
): T {
  return Object.assign(schema, annotations);
}

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null &&
  typeof value === 'object' &&
  !Array.isArray(value) &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

export const ID_PATTERN = ID_PATTERN_SOURCE;
export const ID_HINT = '1–64 characters of A–Z a–z 0–9 _ -';
export const id = (description: string) => annotate(Type.String({ pattern: ID_PATTERN, description }), { [HINT]: ID_HINT });
export const idMap = <T extends TSchema>(what: string, value: T, options: SchemaOptions) =>
  annotate(Type.Record(Type.String({ pattern: ID_PATTERN }), value, { additionalProperties: false, ...options }), { [HINT]: `${what}: ${ID_HINT}` });
export const int = (min: number, max: number | undefined, options: SchemaOptions) =>
  Type.Integer({ minimum: min, ...(max === undefined ? {} : { maximum: max }), ...options });
export const ms = (description: string, defaultMs?: number) =>
  int(1, undefined, { description: `${description} (milliseconds)`, ...(defaultMs === undefined ? {} : { default: defaultMs }) });
export const fraction = (description: string) => Type.Number({ minimum: 0, maximum: 1, description });
export const closed = { additionalProperties: false } as const;
