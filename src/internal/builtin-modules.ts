/**
 * The module workers shipped with framesupplier (`module: builtin:NAME`): one
 * list, which the config's validation offers and the worker kind loads from
 * src/workers/builtin/NAME.js. On the ground floor because both read it and
 * neither may import the other.
 */
export const BUILTIN_MODULES = ['motion'] as const;
