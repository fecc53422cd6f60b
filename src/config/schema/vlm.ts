/**
 * The config schema's vlm section (src/workers/vlm/vlm-worker.ts, ADR 0050): a vision-language model asked about the
 * freshest pixels, what a camera worker's `vlm:` takes (server, prompt, picture, triggers, budgets). The vlm
 * worker's own settings (its criticality's default) are with the other workers' (workers.ts). Stands on the
 * schema's shared parts alone.
 */
import { Type, type Static } from '@sinclair/typebox';
import { annotate, closed, HINT, ID_HINT, ID_PATTERN, int, ms, StringEnum } from './shared.js';

const VLM_TRIGGERS = ['new', 'zone', 'loitering', 'end', 'fall'] as const;
const perMinute = (description: string) => Type.Optional(int(1, 100_000, { description }));
export const VlmSchema = Type.Object(
  {
    api: StringEnum(['openai', 'ollama'] as const, {
      description: "openai: any OpenAI-compatible chat-completions server (vLLM, llama.cpp's server, LM Studio, OpenAI); ollama: Ollama's own /api/chat.",
    }),
    url: Type.String({
      pattern: '^https?://',
      description: 'openai: the base URL /chat/completions follows (http://gpu-box:8000/v1); ollama: the server (http://gpu-box:11434).',
    }),
    model: Type.String({ minLength: 1, maxLength: 256, description: "The model's name on that server." }),
    apiKeyEnv: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
        description: 'The environment variable holding the API key, sent as Authorization: Bearer. Never logged. Default: no key.',
      }),
    ),
    name: annotate(
      Type.String({ pattern: ID_PATTERN, default: 'describe', description: "The prompt's name: in every answer, and the Home Assistant sensor's." }),
      {
        [HINT]: ID_HINT,
      },
    ),
    prompt: Type.String({
      minLength: 1,
      maxLength: 8_000,
      description:
        'The prompt, a template: {{camera}}, {{zone}}, {{label}}, {{object_id}}, {{time}}, {{boxes}} (the tracked objects now), {{frames}} (how many pictures the request carries).',
    }),
    schema: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'A JSON schema the answer must fit (response_format json_schema / Ollama format); the answer is parsed and checked against it.',
      }),
    ),
    image: Type.Object(
      {
        crop: Type.Boolean({ default: true, description: "An object's trigger sends the crop of its latest box (false: the whole frame)." }),
        margin: Type.Number({ minimum: 0, maximum: 2, default: 0.1, description: "Added around a crop, as a share of the box's width and height." }),
        size: int(32, 4096, { default: 512, description: 'Longest side of the picture sent (pixels; never enlarged).' }),
        quality: int(1, 100, { default: 80, description: 'JPEG quality.' }),
      },
      { ...closed, default: {}, description: 'The picture sent.' },
    ),
    maxTokens: Type.Optional(int(1, 100_000, { description: "max_tokens (Ollama: num_predict). Default: the server's." })),
    stream: Type.Boolean({ default: false, description: 'Ask for a streamed answer (assembled before it is emitted).' }),
    timeoutMs: ms('Longest an ask may take, headers and body', 30_000),
    pending: int(1, 1_000, {
      default: 16,
      description: 'Most objects waiting for the model at once (one entry per object); a trigger beyond it is skipped (pending-full).',
    }),
    frames: Type.Object(
      {
        max: int(1, 16, {
          default: 1,
          description:
            'Most pictures of one object in one ask (ADR 0072): above 1, crops of the objects its triggers may describe are kept over their lives (spread in time, the best-scored of each stretch) and sent oldest first, the freshest last; `end` is described from the kept crops alone. 1: one picture.',
        }),
        everyMs: ms('Least time between two crops kept of one object (the gap doubles as its life grows, so its crops stay spread)', 1_000),
      },
      { ...closed, default: {}, description: 'Several pictures of one object in one ask (needs triggers.objects).' },
    ),
    triggers: Type.Object(
      {
        objects: Type.Optional(
          Type.Object(
            {
              of: Type.Optional(
                annotate(Type.String({ pattern: ID_PATTERN, description: "The tracking worker whose objects count. Default: any of the camera's." }), {
                  [HINT]: ID_HINT,
                }),
              ),
              labels: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, description: 'Only these labels. Default: every label.' })),
              on: Type.Array(StringEnum(VLM_TRIGGERS), {
                minItems: 1,
                uniqueItems: true,
                default: ['new'],
                description:
                  'new: a new object; zone: it enters a zone; loitering: it starts loitering; end: its event ends (the best snapshot is sent); fall: a fall or person-down alert about a person (asked first; the answer is added to the alert as its confirmation, docs/care.md).',
              }),
              zones: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, description: 'zone, loitering: only these zones.' })),
            },
            { ...closed, description: "Ask when the camera's tracked objects do something." },
          ),
        ),
        intervalS: Type.Optional(Type.Number({ minimum: 1, maximum: 86_400, description: 'Also ask about the whole frame every this many seconds.' })),
      },
      { ...closed, default: {}, description: 'When to ask: objects, an interval, or both (neither: the worker never asks).' },
    ),
    budgets: Type.Object(
      {
        maxAgeMs: ms('Age budget at request: an older frame is replaced by a newer one, or the ask skipped', 2_000),
        staleAfterMs: Type.Optional(
          Type.Number({
            exclusiveMinimum: 0,
            maximum: 86_400_000,
            description: 'An answer arriving later than this after capture is marked stale. Default: never.',
          }),
        ),
        perMinute: perMinute('Asks a minute of this worker, at most; the rest are skipped and counted. Default: no limit.'),
        endpoint: Type.Object(
          {
            perMinute: perMinute('Asks a minute to this server and model from every worker, at most. Default: no limit.'),
            concurrency: int(1, 1_000, { default: 1, description: 'Asks at once to this server and model from every worker.' }),
            tokensPerHour: Type.Optional(
              int(1, 1_000_000_000, {
                description:
                  "Tokens an hour (prompt and completion, the server's usage fields) to this server and model from every worker; asks over it are skipped and counted (endpoint-tokens). Default: no limit.",
              }),
            ),
          },
          { ...closed, default: {}, description: 'Shared by every worker asking the same url and model (the tighter setting holds).' },
        ),
      },
      { ...closed, default: {}, description: 'Every ask over a budget is skipped and counted; frames are never queued, objects wait (pending).' },
    ),
  },
  { ...closed, description: 'A vision-language model asked about the freshest pixels (docs/configuration.md, VLM workers).' },
);
export type VlmConfig = Static<typeof VlmSchema>;
