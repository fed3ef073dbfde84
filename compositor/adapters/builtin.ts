// The default model: deterministic, no network. Output is a function of the slot UID and its
// inputs (sha256), so the same event composes to the same canon on any worker, any number of times.
import { createHash } from 'node:crypto';
import { CLASSIFIER_KINDS, type ModelAdapter, type SlotRequest, type SlotResult } from './model_adapter.ts';

const OPENINGS = ['Hear me', 'Mark my words', 'By the old stones', 'Quiet now', 'Look there', 'Friends', 'Listen well', 'So it begins'];
const MIDDLES = ['the city holds its breath', 'the bells will not wait', 'every coin has two faces', 'the crowd remembers', 'the watch is watching', 'no one leaves unchanged'];
const ENDINGS = ['and so it is.', 'mark the day.', 'or so they say.', 'before the lamps are lit.', 'whatever the cost.', 'as it was foretold.'];

function digest(req: SlotRequest): Buffer {
  return createHash('sha256').update(JSON.stringify([req.slotUid, req.kind, req.tier, req.templateTitle, req.sceneTitle, req.participants, req.choices])).digest();
}

/** Audits pass mostly: warn 1 in 8, block 1 in 32, by the hash — so outcomes vary, deterministically. */
function auditChoice(h: Buffer, choices: readonly string[]): string {
  const x = h.readUInt16BE(4) % 32;
  const want = x === 0 ? 'block' : x < 5 ? 'warn' : 'pass';
  return choices.includes(want) ? want : choices[0]!;
}

export function builtinAdapter(slotDelayMs = 0): ModelAdapter {
  return {
    name: 'builtin',
    async generate(req: SlotRequest): Promise<SlotResult> {
      if (slotDelayMs > 0) await new Promise((r) => setTimeout(r, slotDelayMs));
      const h = digest(req);
      const model = `builtin-${req.tier}`;
      if (CLASSIFIER_KINDS.includes(req.kind)) {
        if (req.choices.length === 0) throw new Error(`classifier slot ${req.slotUid} has no choices`);
        const output = req.kind === 'audit' ? auditChoice(h, req.choices) : req.choices[h.readUInt32BE(0) % req.choices.length]!;
        return { output, model };
      }
      const speaker = req.participants.length > 0 ? `${req.participants[h.readUInt32BE(8) % req.participants.length]}, ` : '';
      const text = `${OPENINGS[h[0]! % OPENINGS.length]}, ${speaker}${MIDDLES[h[1]! % MIDDLES.length]} at ${req.sceneTitle.toLowerCase()} — ${ENDINGS[h[2]! % ENDINGS.length]}`;
      return { output: req.kind === 'bark' ? text.slice(0, 120) : text, model };
    },
  };
}
