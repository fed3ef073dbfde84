// One interface for every model behind a slot. A generative slot (dialogue, narration, bark) asks
// for text; a classifier slot asks for a decision among given choices (audit: pass/warn/block).
import type { ModelTier, SlotKind } from '../../catalogue/index.ts';

export interface SlotRequest {
  readonly eventUid: string;
  readonly slotUid: string;
  readonly kind: SlotKind;
  readonly tier: ModelTier;
  readonly templateTitle: string;
  readonly sceneTitle: string;
  readonly participants: readonly string[];
  /** For classifier slots: the answers allowed, the first being the default. */
  readonly choices: readonly string[];
}

export interface SlotResult {
  /** Generated text (generative slots) or the chosen answer (classifier slots, one of `choices`). */
  readonly output: string;
  /** The model that produced it, for the canon row. */
  readonly model: string;
}

export interface ModelAdapter {
  readonly name: string;
  generate(req: SlotRequest): Promise<SlotResult>;
}

export const CLASSIFIER_KINDS: readonly SlotKind[] = ['voice', 'salience', 'gate', 'audit'];

/** The chat messages a slot becomes for a chat model. */
export function promptFor(req: SlotRequest): Array<{ role: 'system' | 'user'; content: string }> {
  const who = req.participants.length === 0 ? 'no players present' : `players present: ${req.participants.slice(0, 20).join(', ')}`;
  if (CLASSIFIER_KINDS.includes(req.kind)) {
    return [
      { role: 'system', content: `You are a ${req.kind} classifier for a narrative game master. Answer with exactly one of: ${req.choices.join(', ')}.` },
      { role: 'user', content: `Event: ${req.templateTitle}. Scene: ${req.sceneTitle}. ${who}. Slot ${req.slotUid}.` },
    ];
  }
  return [
    { role: 'system', content: `You write ${req.kind} for non-player characters in a medieval city. Stay in character; two sentences at most.` },
    { role: 'user', content: `Event: ${req.templateTitle}. Scene: ${req.sceneTitle}. ${who}.` },
  ];
}

/** A classifier's answer mapped onto its choices: exact (case-insensitive) first word, else the default (first) choice. */
export function parseChoice(text: string, choices: readonly string[]): string {
  const word = text.trim().split(/\s+/)[0]?.replace(/[^A-Za-z0-9_-]/g, '').toLowerCase() ?? '';
  return choices.find((c) => c.toLowerCase() === word) ?? choices[0]!;
}
