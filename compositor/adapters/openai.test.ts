import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAiAdapter } from './openai.ts';
import type { SlotRequest } from './model_adapter.ts';

// A local OpenAI-compatible server: answers chat completions, records what it was sent.
let server: FastifyInstance;
let baseUrl: string;
const seen: Array<{ auth: string | undefined; body: { model: string; messages: Array<{ role: string; content: string }>; max_tokens: number } }> = [];
let mode: 'ok' | 'error' | 'garbage' = 'ok';

beforeAll(async () => {
  server = Fastify();
  server.post('/v1/chat/completions', async (req, reply) => {
    const body = req.body as (typeof seen)[number]['body'];
    seen.push({ auth: req.headers.authorization, body });
    if (mode === 'error') return reply.status(503).send({ error: { message: 'model overloaded' } });
    if (mode === 'garbage') return reply.send({ nope: true });
    const classifier = body.messages[0]!.content.includes('classifier');
    const content = classifier ? 'Warn.' : `(${body.model}) The herald clears his throat.`;
    return { id: 'x', object: 'chat.completion', model: body.model, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] };
  });
  baseUrl = await server.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await server.close();
});

const adapter = () => openAiAdapter({ baseUrl, apiKey: 'sk-test', models: { deep: 'big-70b', small_lora: 'small-8b+lora', classifier: 'tiny-cls' }, timeoutMs: 5_000, maxTokens: 64 });
const req = (over: Partial<SlotRequest> = {}): SlotRequest => ({
  eventUid: 'ev-x',
  slotUid: 'ev-x.d.s.herald',
  kind: 'dialogue',
  tier: 'deep',
  templateTitle: 'A coronation',
  sceneTitle: 'The procession',
  participants: ['p1'],
  choices: [],
  ...over,
});

describe('OpenAI-compatible adapter (against a local server)', () => {
  it('POSTs /v1/chat/completions with the tier model, the prompt and the API key; returns the text', async () => {
    mode = 'ok';
    const r = await adapter().generate(req());
    expect(r).toEqual({ output: '(big-70b) The herald clears his throat.', model: 'big-70b' });
    const last = seen.at(-1)!;
    expect(last.auth).toBe('Bearer sk-test');
    expect(last.body.model).toBe('big-70b');
    expect(last.body.max_tokens).toBe(64);
    expect(last.body.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(last.body.messages[1]!.content).toContain('The procession');
  });

  it('a demoted slot uses the model of the tier it runs on', async () => {
    mode = 'ok';
    await adapter().generate(req({ tier: 'small_lora' }));
    expect(seen.at(-1)!.body.model).toBe('small-8b+lora');
  });

  it('maps a classifier answer onto its choices', async () => {
    mode = 'ok';
    const r = await adapter().generate(req({ kind: 'audit', tier: 'classifier', choices: ['pass', 'warn', 'block'] }));
    expect(r.output).toBe('warn');
    expect(seen.at(-1)!.body.messages[0]!.content).toContain('pass, warn, block');
  });

  it('an HTTP error or an unexpected body is an error naming the server and the slot (the event stays waiting)', async () => {
    mode = 'error';
    await expect(adapter().generate(req())).rejects.toThrow(/answered 503 for slot ev-x\.d\.s\.herald/);
    mode = 'garbage';
    await expect(adapter().generate(req())).rejects.toThrow(/unexpected shape/);
  });
});
