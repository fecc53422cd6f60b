/**
 * What a vlm config entry gives whoever talks to its endpoint: the camera's vlm worker (build-worker.ts) and
 * the camera's summaries (summaries.ts, ADR 0073) read its key and its endpoint budgets here, the same way,
 * so a summary asks under the worker's key and budgets.
 *
 * Contract: the key is read from the environment when called (a camera is built or its summaries first
 * asked), never kept here; an entry that names a variable which is unset or empty is ERR_VLM_API_KEY.
 */
import { VlmError, type EndpointLimits } from '../../workers/index.js';
import type { VlmConfig } from './config-types.js';

/** A vlm entry's API key, read from the environment now (null: it names none); unset or empty is ERR_VLM_API_KEY. */
export function vlmApiKey(where: string, config: VlmConfig): string | null {
  if (config.apiKeyEnv === undefined) return null;
  const apiKey = process.env[config.apiKeyEnv] ?? '';
  if (apiKey === '') throw new VlmError('ERR_VLM_API_KEY', `${where}: the environment variable ${config.apiKeyEnv} (vlm.apiKeyEnv) is not set`);
  return apiKey;
}

/** A vlm entry's endpoint budgets: what its worker and its camera's summaries ask the endpoint under. */
export function vlmEndpointLimits(config: VlmConfig): EndpointLimits {
  const endpoint = config.budgets.endpoint;
  return { perMinute: endpoint.perMinute ?? null, concurrency: endpoint.concurrency, tokensPerHour: endpoint.tokensPerHour ?? null };
}
