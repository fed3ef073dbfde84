// The closed vocabularies of the catalogue: themes, tiers, slot kinds, model tiers, severities,
// and the id grammars. Everything here is data other modules may rely on by value.

export const THEMES = ['political', 'economic', 'personal'] as const;
export type Theme = (typeof THEMES)[number];

export const TIERS = ['major_arc', 'everyday'] as const;
export type Tier = (typeof TIERS)[number];

/** The model tiers of the compositor budget: deep model, small model with trait-LoRAs, small classifiers. */
export const MODEL_TIERS = ['deep', 'small_lora', 'classifier'] as const;
export type ModelTier = (typeof MODEL_TIERS)[number];

/**
 * What a slot produces. Generative kinds write canon text; classifier kinds make a decision the
 * director and compositor act on (which voice speaks, which trait is salient, whether the audit
 * passes, which branch of a ternary gate is taken).
 */
export const SLOT_KINDS = ['dialogue', 'narration', 'bark', 'voice', 'salience', 'gate', 'audit'] as const;
export type SlotKind = (typeof SLOT_KINDS)[number];

/** Which model tiers may run each slot kind: text needs a generative model, decisions a classifier. */
export const SLOT_KIND_MODEL_TIERS: { readonly [K in SlotKind]: readonly ModelTier[] } = {
  dialogue: ['deep', 'small_lora'],
  narration: ['deep', 'small_lora'],
  bark: ['small_lora'],
  voice: ['classifier'],
  salience: ['classifier'],
  gate: ['classifier'],
  audit: ['classifier'],
};

export const SEVERITIES = ['info', 'warn', 'block'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A field of a template key pattern that matches any value. */
export const KEY_WILDCARD = '*';

/**
 * Ids of axes, templates, scenes, slots and flags: lowercase, starting with a letter. A strict
 * subset of both a NATS subject token and a UID token, so an id can appear in either unchanged.
 */
export const CATALOGUE_ID_PATTERN = '^[a-z][a-z0-9_]{0,31}$';
export const catalogueIdRegex = new RegExp(CATALOGUE_ID_PATTERN);

/** Concrete geography and faction values in key patterns (everything but the wildcard). */
export const KEY_VALUE_PATTERN = '^[a-z][a-z0-9_-]{0,63}$';
export const keyValueRegex = new RegExp(KEY_VALUE_PATTERN);
