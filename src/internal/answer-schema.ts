/**
 * A model's answer schema (a vlm worker's `schema`, a camera's `summary.schema`), compiled one way: the vlm client
 * compiles it to check each answer, and the config's validator asks whether it compiles, so `config check` refuses
 * a schema the client would throw on when the worker is built or a summary asked. Not strict: a schema written
 * for a model's server may carry keywords Ajv does not know. Problems name keys and Ajv's words, never a value
 * from the schema.
 */
import { Ajv, type ValidateFunction } from 'ajv';

const ajv = new Ajv({ allErrors: false, strict: false });

/** The schema's validator; throws what Ajv throws for a schema it cannot use. */
export function compileAnswerSchema(schema: Record<string, unknown>): ValidateFunction {
  return ajv.compile(schema);
}

/** Why the schema cannot be used as an answer schema, or null when it can. */
export function answerSchemaProblem(schema: Record<string, unknown>): string | null {
  if (!ajv.validateSchema(schema)) {
    const first = ajv.errors?.[0];
    const where = first?.instancePath === undefined || first.instancePath === '' ? '' : ` at ${first.instancePath.replace(/^\//, '').replaceAll('/', '.')}`;
    return `is not a JSON schema${where}: ${first?.message ?? 'invalid'}`;
  }
  try {
    compileAnswerSchema(schema);
    return null;
  } catch {
    // A $ref it cannot resolve, and the like: Ajv's message quotes the schema's own strings.
    return 'is a JSON schema that cannot be compiled (a $ref that resolves to nothing?)';
  }
}
