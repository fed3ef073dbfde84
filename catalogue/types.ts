// The validated, immutable shape of a catalogue. validateCatalogue() is the only producer; every
// object it returns is deeply frozen, so one catalogue can be shared by every shard in a process.

import type { ModelTier, Severity, SlotKind, Theme, Tier } from './vocabulary.ts';

/** One dimension of a shard's equilibrium, e.g. `order` from unrest (min) to order (max). */
export interface TraitAxis {
  readonly id: string;
  readonly min: number;
  readonly max: number;
  /** The default equilibrium target; a shard may override it. */
  readonly target: number;
  /** How far from the target the value may drift before the GM acts. */
  readonly tolerance: number;
  readonly description: string;
  readonly unit?: string;
}

/** Which shards a template applies to: each field is `'*'` or must equal the shard key's field. */
export interface TemplateKey {
  readonly geography: string;
  readonly theme: Theme | '*';
  readonly tier: Tier | '*';
  readonly faction: string;
}

export interface TemplateSlot {
  readonly id: string;
  readonly kind: SlotKind;
  readonly modelTier: ModelTier;
}

export interface TemplateScene {
  readonly id: string;
  readonly title: string;
  readonly slots: readonly TemplateSlot[];
}

export interface ParticipantRange {
  readonly min: number;
  readonly max: number;
}

export interface EventTemplate {
  readonly id: string;
  readonly title: string;
  readonly description?: string;
  readonly theme: Theme;
  readonly tier: Tier;
  readonly keys: readonly TemplateKey[];
  /** Expected change of each axis when the event completes successfully (axis id → delta). */
  readonly effects: Readonly<Record<string, number>>;
  readonly participants: ParticipantRange;
  /** In the order the director plays them. */
  readonly scenes: readonly TemplateScene[];
  /** Minimum GM ticks between two firings of this template on one shard (0: none). */
  readonly cooldownTicks: number;
  /** Relative preference among templates that move the equilibrium equally well. */
  readonly weight: number;
}

/** A finding the audit slots may raise on composed canon. `block` keeps it from being published. */
export interface VerifierFlag {
  readonly id: string;
  readonly description: string;
  readonly severity: Severity;
}

/** Arrays are sorted by id; scenes and slots keep their authored order. */
export interface Catalogue {
  readonly version: number;
  readonly axes: readonly TraitAxis[];
  readonly templates: readonly EventTemplate[];
  readonly flags: readonly VerifierFlag[];
}

/** The concrete key of a shard (from the shard map). Any field may be `'*'` for a shard owning all values. */
export interface ShardKeyLike {
  readonly geography: string;
  readonly theme: string;
  readonly tier: string;
  readonly faction: string;
}
