// Picks the model adapter a config names.
import type { AdapterConfig } from '../config.ts';
import { builtinAdapter } from './builtin.ts';
import type { ModelAdapter } from './model_adapter.ts';
import { openAiAdapter } from './openai.ts';

export function adapterFor(config: AdapterConfig): ModelAdapter {
  if (config.kind === 'builtin') return builtinAdapter(config.slotDelayMs);
  return openAiAdapter({ baseUrl: config.baseUrl, models: config.models, timeoutMs: config.timeoutMs, maxTokens: config.maxTokens, ...(config.apiKey ? { apiKey: config.apiKey } : {}) });
}
