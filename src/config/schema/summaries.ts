/**
 * The config schema's summaries section (src/pipeline/base/summaries.ts, ADR 0073): a camera's `summary:`, summaries
 * of a stretch of its time asked about to its vlm worker's model, with the levels every summary says and the
 * prompt used when the config sets none. Stands on the schema's shared parts alone.
 */
import { Type, type Static } from '@sinclair/typebox';
import { closed, id, int, ms } from './shared.js';

/** A summary's level: the three every summary says (a user's schema may add fields, never levels). */
export const SUMMARY_LEVELS = ['none', 'notice', 'alert'] as const;
/** What a camera's summaries ask when the config sets no prompt. */
export const DEFAULT_SUMMARY_PROMPT =
  'You watch the camera "{{camera}}". Between {{from}} and {{to}} its tracker saw the {{count}} objects listed below (times are UTC); ' +
  'the pictures that follow are the snapshots the list names, in that order. Write a short title and a summary of what happened, ' +
  'and a level: none (nothing worth a look), notice (worth a look later) or alert (someone should look now).\n{{events}}';
export const SummarySchema = Type.Object(
  {
    worker: Type.Optional(
      id(
        "The camera's vlm worker whose server, model, API key and endpoint budgets summaries use (they count in its endpoint's figures). Default: the camera's only vlm worker.",
      ),
    ),
    prompt: Type.String({
      minLength: 1,
      maxLength: 8_000,
      default: DEFAULT_SUMMARY_PROMPT,
      description:
        'The prompt, a template: {{camera}}, {{from}}, {{to}} (ISO 8601, UTC), {{count}} (events in the window), {{events}} (the events listed, one a line).',
    }),
    schema: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'A JSON schema of an object: its properties (and required) are added to title, summary and level, which keep their own; the answer must fit the whole.',
      }),
    ),
    maxEvents: int(1, 500, { default: 50, description: 'Most events listed in the prompt (the best scores, in time order); the rest are counted.' }),
    maxImages: int(0, 32, { default: 6, description: "Most snapshots sent (the listed events' with the best scores); 0: none, the list alone." }),
    image: Type.Object(
      {
        size: int(32, 4096, { default: 512, description: 'Longest side of each snapshot sent (pixels; never enlarged).' }),
        quality: int(1, 100, { default: 80, description: 'JPEG quality.' }),
      },
      { ...closed, default: {}, description: 'The snapshots sent.' },
    ),
    maxWindowS: int(60, 2_592_000, {
      default: 86_400,
      description: 'Longest window a summary may cover (seconds); a longer one is refused (ERR_SUMMARY_WINDOW).',
    }),
    timeoutMs: Type.Optional(ms("Longest a summary's ask may take, headers and body. Default: the worker's vlm.timeoutMs")),
  },
  {
    ...closed,
    description:
      "Summaries of a stretch of this camera's time (POST /api/cameras/<id>/summary, MQTT, Home Assistant's button): its events and their snapshots asked about to its vlm worker's model (docs/configuration.md, Summaries).",
  },
);
export type SummaryConfig = Static<typeof SummarySchema>;
