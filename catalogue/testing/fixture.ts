// A small valid catalogue document for tests; each call returns a fresh, mutable copy.

import type { CatalogueDocument } from '../schema.ts';

export function fixtureDocument(): CatalogueDocument {
  return structuredClone({
    version: 3,
    axes: [
      { id: 'order', min: 0, max: 100, target: 60, tolerance: 15, description: 'Order versus unrest.' },
      { id: 'prosperity', min: 0, max: 100, target: 50, tolerance: 10, description: 'Household wealth.', unit: 'points' },
    ],
    templates: [
      {
        id: 'market_festival',
        title: 'A market festival',
        theme: 'economic',
        tier: 'everyday',
        keys: [{ geography: '*', theme: 'economic', tier: 'everyday', faction: '*' }],
        effects: { prosperity: 8, order: 5 },
        participants: { min: 1, max: 50 },
        scenes: [
          {
            id: 'stalls',
            title: 'Stalls',
            slots: [
              { id: 'vendor_barks', kind: 'bark', modelTier: 'small_lora' },
              { id: 'canon_audit', kind: 'audit', modelTier: 'classifier' },
            ],
          },
        ],
      },
      {
        id: 'grain_riot',
        title: 'A grain riot',
        theme: 'economic',
        tier: 'everyday',
        keys: [{ geography: 'northmarch', theme: 'economic', tier: 'everyday', faction: 'crown' }],
        effects: { order: -15, prosperity: -4 },
        participants: { min: 3, max: 80 },
        scenes: [
          {
            id: 'bread_line',
            title: 'The empty bread line',
            slots: [{ id: 'baker_plea', kind: 'dialogue', modelTier: 'small_lora' }],
          },
          {
            id: 'granary',
            title: 'Storming the granary',
            slots: [
              { id: 'riot_narration', kind: 'narration', modelTier: 'deep' },
              { id: 'canon_audit', kind: 'audit', modelTier: 'classifier' },
            ],
          },
        ],
        cooldownTicks: 100,
        weight: 2,
      },
    ],
    flags: [
      { id: 'canon_conflict', description: 'Contradicts canon.', severity: 'block' },
      { id: 'repetition', description: 'Repeats recent lines.', severity: 'warn' },
    ],
  } satisfies CatalogueDocument);
}
