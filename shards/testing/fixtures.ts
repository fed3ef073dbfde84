// Test helpers: a seeded PRNG, a driver that feeds commands to a state machine with increasing
// Raft indexes, and a small catalogue built for equilibrium tests.

import { validateCatalogue, type Catalogue, type CatalogueDocument } from '../../catalogue/index.ts';
import { seededRandom } from '../../consensus/raft/index.ts';
import type { StateMachine } from '../../consensus/runtime/index.ts';
import { encodeCommand, type GmCommand, type MetaCommand } from '../commands.ts';

/** A seeded PRNG (mulberry32, the Raft core's), so a failing randomized test replays from its seed. */
export const prng = (seed: number): (() => number) => seededRandom(seed);

export function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

/** Seeds for randomized tests: NIMMER_SEED=<n> replays one; otherwise `count` fixed seeds. */
export function testSeeds(count: number): number[] {
  const fixed = process.env.NIMMER_SEED;
  if (fixed !== undefined && fixed !== '') return [Number(fixed)];
  return Array.from({ length: count }, (_, i) => 1000 + i);
}

/** Applies commands at increasing indexes, as the Raft runtime would after they commit. */
export class Driver<R> {
  index = 0;
  constructor(
    readonly sm: StateMachine<R>,
    readonly term = 1,
  ) {}

  apply(cmd: MetaCommand | GmCommand): R {
    return this.sm.apply({ index: ++this.index, term: this.term, data: encodeCommand(cmd) });
  }

  /** Raw bytes, for commands that are not valid commands. */
  applyBytes(data: Uint8Array): R {
    return this.sm.apply({ index: ++this.index, term: this.term, data });
  }

  applyJson(value: unknown): R {
    return this.applyBytes(new TextEncoder().encode(JSON.stringify(value)));
  }
}

export function snapshotText(sm: { snapshot(): Uint8Array }): string {
  return new TextDecoder().decode(sm.snapshot());
}

const scenes = [
  {
    id: 'main',
    title: 'Main',
    slots: [
      { id: 'narration', kind: 'narration' as const, modelTier: 'deep' as const },
      { id: 'canon_audit', kind: 'audit' as const, modelTier: 'classifier' as const },
    ],
  },
];

type TemplateSpec = {
  id: string;
  effects: Record<string, number>;
  theme?: 'political' | 'economic' | 'personal';
  tier?: 'major_arc' | 'everyday';
  keys?: { geography: string; faction: string }[];
  weight?: number;
};

/** Axes order and prosperity (0..100, tolerance 10), templates as given (default key: everywhere). */
export function testCatalogueDocument(version: number, templates: readonly TemplateSpec[]): CatalogueDocument {
  return {
    version,
    axes: [
      { id: 'order', min: 0, max: 100, target: 50, tolerance: 10, description: 'Order versus unrest.' },
      { id: 'prosperity', min: 0, max: 100, target: 50, tolerance: 10, description: 'Household wealth.' },
    ],
    templates: templates.map((t) => {
      const theme = t.theme ?? 'political';
      const tier = t.tier ?? 'everyday';
      return {
        id: t.id,
        title: t.id,
        theme,
        tier,
        keys: (t.keys ?? [{ geography: '*', faction: '*' }]).map((k) => ({ ...k, theme, tier })),
        effects: t.effects,
        participants: { min: 0, max: 10 },
        scenes,
        ...(t.weight === undefined ? {} : { weight: t.weight }),
      };
    }),
    flags: [{ id: 'canon_conflict', description: 'Contradicts canon.', severity: 'block' }],
  };
}

export function testCatalogue(templates: readonly TemplateSpec[], version = 1): Catalogue {
  return validateCatalogue(testCatalogueDocument(version, templates));
}
