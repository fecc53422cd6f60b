/**
 * A model server's handler from its options as the config names them
 * (src/config HANDLER_OPTIONS: the one source of the config's keys, the
 * model server's flags and the arguments the system passes). Options come
 * through the config's own schema, so a flag is checked exactly as the same
 * key in a config file is, defaults and all; what is wrong is
 * ERR_INVALID_ARGUMENT naming the flag.
 */
import { ConfigError, HANDLER_OPTIONS, HANDLERS, handlerOptionFlag, parseConfig, type ModelConfig } from '../config/index.js';
import { createMockHandler, createOnnxHandler, createPersonHandler, type ExecutionProvider, type InferenceHandler } from '../models/index.js';
import { InvalidArgumentError } from '../supplier/index.js';

export type HandlerName = (typeof HANDLERS)[number];
type StartedModel = Extract<ModelConfig, { readonly handler: string }>;

export function isHandlerName(name: string): name is HandlerName {
  return (HANDLERS as readonly string[]).includes(name);
}

/** Every handler option's flag, for the flag parser: --min-confidence and so on. */
export function handlerFlags(): Record<string, { type: 'string' }> {
  const flags: Record<string, { type: 'string' }> = {};
  for (const options of Object.values(HANDLER_OPTIONS)) for (const key of Object.keys(options)) flags[handlerOptionFlag(key).slice(2)] = { type: 'string' };
  return flags;
}

/**
 * The handler's options from its flags (strings), checked by the config
 * schema as a `models:` entry would be. A flag of another handler is refused.
 */
export function handlerOptionsFromFlags(handler: string, flags: Readonly<Record<string, string | undefined>>): StartedModel {
  if (!isHandlerName(handler)) throw new InvalidArgumentError(`unknown handler ${JSON.stringify(handler)}: available: ${HANDLERS.join(', ')}`);
  const own = HANDLER_OPTIONS[handler];
  const entry: Record<string, unknown> = { handler };
  for (const options of Object.values(HANDLER_OPTIONS)) {
    for (const key of Object.keys(options)) {
      const flag = handlerOptionFlag(key).slice(2);
      const value = flags[flag];
      if (value === undefined) continue;
      if (own[key] === undefined) throw new InvalidArgumentError(`--${flag} is not an option of the ${handler} handler`);
      // Numbers as numbers: the schema says which keys take one, and refuses what does not fit.
      // Lists as comma-separated values (--execution-providers cuda,cpu).
      entry[key] =
        own[key] === 'number' && value.trim() !== '' && Number.isFinite(Number(value))
          ? Number(value)
          : own[key] === 'list'
            ? value.split(',').map((v) => v.trim())
            : value;
    }
  }
  try {
    const config = parseConfig(JSON.stringify({ cameras: {}, models: { [handler]: entry } }), { env: {}, fileName: 'model-server' });
    return config.models[handler] as StartedModel;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const prefix = `models.${handler}.`;
    const lines = error.issues.map((issue) => {
      const key = issue.path.startsWith(prefix) ? issue.path.slice(prefix.length).split(/[.[]/)[0]! : '';
      return `${key === '' ? '' : `${handlerOptionFlag(key)}: `}${issue.message}`;
    });
    throw new InvalidArgumentError(`the ${handler} handler's options: ${lines.join('; ')}`);
  }
}

/** The handler a model server runs, from its checked options. */
export function createHandler(options: StartedModel, extras: { readonly modelId?: string; readonly touch?: 'pages' | 'none' } = {}): InferenceHandler {
  const modelId = extras.modelId === undefined ? {} : { modelId: extras.modelId };
  const o = options as Record<string, unknown>;
  const given = <T>(key: string, as: string = key): Record<string, T> => (o[key] === undefined ? {} : { [as]: o[key] as T });
  switch (options.handler) {
    case 'mock':
      return createMockHandler({
        ...modelId,
        delayMs: (o.delayMs as number | undefined) ?? 0,
        touch: extras.touch ?? 'pages',
        ...given<number>('inputSize'),
        ...given<number>('batch', 'maxBatch'),
        ...given<number>('delayPerFrameMs'),
      });
    case 'person':
      return createPersonHandler({
        ...modelId,
        ...given<number>('threads'),
        ...given<number>('minConfidence'),
        ...given<number>('poseMaxPeople'),
        ...given<'centernet'>('network'),
        ...given<number>('inputSize'),
        ...given<'int8'>('precision'),
        ...given<number>('batch', 'maxBatch'),
        ...given<number>('intraOpThreads'),
        ...given<readonly ExecutionProvider[]>('executionProviders'),
      });
    case 'onnx':
      return createOnnxHandler({
        ...modelId,
        modelPath: o.model as string,
        layout: (o.layout as 'auto' | undefined) ?? 'auto',
        ...given<string>('classes', 'classNamesPath'),
        ...given<number>('inputSize'),
        ...given<number>('minConfidence'),
        ...given<number>('iou', 'iouThreshold'),
        ...given<number>('threads'),
        ...given<number>('batch', 'maxBatch'),
        ...given<number>('intraOpThreads'),
        ...given<readonly ExecutionProvider[]>('executionProviders'),
      });
    default:
      throw new InvalidArgumentError(`unknown handler ${JSON.stringify((options as { handler: string }).handler)}`);
  }
}
