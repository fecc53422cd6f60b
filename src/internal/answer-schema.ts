/**
 * A model's answer schema (a vlm worker's `schema`, a camera's `summary.schema`), compiled one way: the vlm client
 * compiles it to check each answer, and the config's validator asks whether it compiles, so `config check` refuses
 * a schema the client would throw on when the worker is built or a summary asked. Not strict: a schema written
 * for a model's server may carry keywords Ajv does not know. Problems name keys and Ajv's words, never a value
 * from the schema.
 *
 * The same schema is compiled again and again in a process that runs for months: each config change through the
 * API validates the whole config anew, and each vlm worker built compiles its own. Ajv keeps every schema it
 * compiled (by object, and by `$id`), so each compile was kept for good, and a schema with an `$id` could be
 * compiled once only (the second threw "already exists": the worker built after `config check` passed it).
 * Its shared scope of generated code kept a little of each compile even once the schema was removed. Here each
 * schema text is compiled by an Ajv of its own, which goes with its validator (checked against the meta-schema
 * first by one Ajv for all, so each does not compile the meta-schema again), and the validator of the same schema
 * text is reused, a bounded number of them.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { RecentMap } from './recent-map.js';

const AJV_OPTIONS = { allErrors: false, strict: false } as const;
/** Checks schemas against the meta-schema; compiles none of them. */
const ajv = new Ajv(AJV_OPTIONS);
/** Each schema's own Ajv: the schema was checked against the meta-schema by `ajv` already. */
const OWN_OPTIONS = { ...AJV_OPTIONS, validateSchema: false } as const;

/** Compiled validators kept by their schema's JSON text, the least recently used let go first. */
export const ANSWER_SCHEMAS_KEPT = 64;
const compiled = new RecentMap<string, ValidateFunction>(ANSWER_SCHEMAS_KEPT);

/** The schema's validator; throws what Ajv throws for a schema it cannot use. */
export function compileAnswerSchema(schema: Record<string, unknown>): ValidateFunction {
  return compiledOf(schema, false);
}

/** The kept validator of the schema's text, or one compiled now (checked against the meta-schema unless `checked`). */
function compiledOf(schema: Record<string, unknown>, checked: boolean): ValidateFunction {
  const text = schemaText(schema);
  const known = compiled.use(text);
  if (known !== undefined) return known;
  if (!checked && !ajv.validateSchema(schema)) throw new Error(`schema is invalid: ${ajv.errorsText(ajv.errors)}`);
  const validate = new Ajv(OWN_OPTIONS).compile(schema);
  compiled.set(text, validate);
  return validate;
}

/**
 * The schema's JSON text, told apart where JSON cannot tell (YAML's .inf, -.inf and .nan are numbers JSON writes as
 * null): a non-finite number is written as a string marked by a leading NUL, and a string with one gets another.
 */
function schemaText(schema: Record<string, unknown>): string {
  return JSON.stringify(schema, (_key, value: unknown) => {
    if (typeof value === 'number' && !Number.isFinite(value)) return `\u0000${value}`;
    if (typeof value === 'string' && value.startsWith('\u0000')) return `\u0000${value}`;
    return value;
  });
}

/** Why the schema cannot be used as an answer schema, or null when it can. */
export function answerSchemaProblem(schema: Record<string, unknown>): string | null {
  if (!ajv.validateSchema(schema)) {
    const first = ajv.errors?.[0];
    const where = first?.instancePath === undefined || first.instancePath === '' ? '' : ` at ${first.instancePath.replace(/^\//, '').replaceAll('/', '.')}`;
    return `is not a JSON schema${where}: ${first?.message ?? 'invalid'}`;
  }
  try {
    compiledOf(schema, true); // checked just above
    return null;
  } catch {
    // A $ref it cannot resolve, and the like: Ajv's message quotes the schema's own strings.
    return 'is a JSON schema that cannot be compiled (a $ref that resolves to nothing?)';
  }
}
