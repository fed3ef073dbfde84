// An OpenAI-compatible chat model (`POST /v1/chat/completions`): vLLM, llama.cpp server, Ollama,
// or the hosted API. One model name per tier (the small tier's adapters are served by the server).
import { z } from 'zod';
import type { ModelTier } from '../../catalogue/index.ts';
import { CLASSIFIER_KINDS, parseChoice, promptFor, type ModelAdapter, type SlotRequest, type SlotResult } from './model_adapter.ts';

export interface OpenAiAdapterOptions {
  readonly baseUrl: string;
  readonly apiKey?: string;
  readonly models: { readonly [T in ModelTier]: string };
  readonly timeoutMs: number;
  readonly maxTokens: number;
}

const ResponseSchema = z.object({
  model: z.string().optional(),
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1),
});

export class ModelHttpError extends Error {
  override readonly name = 'ModelHttpError';
}

export function openAiAdapter(o: OpenAiAdapterOptions): ModelAdapter {
  const url = `${o.baseUrl.replace(/\/+$/, '')}/v1/chat/completions`;
  return {
    name: 'openai',
    async generate(req: SlotRequest): Promise<SlotResult> {
      const model = o.models[req.tier];
      const classifier = CLASSIFIER_KINDS.includes(req.kind);
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
        body: JSON.stringify({ model, messages: promptFor(req), max_tokens: classifier ? 4 : o.maxTokens, temperature: 0 }),
        signal: AbortSignal.timeout(o.timeoutMs),
      });
      const body = await res.text();
      if (!res.ok) throw new ModelHttpError(`${url} answered ${res.status} for slot ${req.slotUid} (model ${model}): ${body.slice(0, 300)}`);
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw new ModelHttpError(`${url} answered non-JSON for slot ${req.slotUid}: ${body.slice(0, 300)}`);
      }
      const parsed = ResponseSchema.safeParse(json);
      if (!parsed.success) throw new ModelHttpError(`${url} answered an unexpected shape for slot ${req.slotUid}: ${parsed.error.message.slice(0, 300)}`);
      const text = parsed.data.choices[0]!.message.content ?? '';
      return { output: classifier ? parseChoice(text, req.choices) : text.trim(), model: parsed.data.model ?? model };
    },
  };
}
