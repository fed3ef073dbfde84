import { describe, expect, it } from 'vitest';
import { catalogueIndex, defaultCatalogue, keyMatches, templatesForKey, validateCatalogue, type ShardKeyLike } from './index.ts';
import { fixtureDocument } from './testing/fixture.ts';

const key = (geography: string, theme: string, tier: string, faction: string): ShardKeyLike => ({ geography, theme, tier, faction });
const ids = (ts: readonly { id: string }[]): string[] => ts.map((t) => t.id);

describe('catalogueIndex', () => {
  it('maps every axis, template and flag by id', () => {
    const c = validateCatalogue(fixtureDocument());
    const index = catalogueIndex(c);
    expect(index.axes.get('order')?.target).toBe(60);
    expect(index.templates.get('grain_riot')?.weight).toBe(2);
    expect(index.flags.get('repetition')?.severity).toBe('warn');
    expect(index.axes.get('nope')).toBeUndefined();
    expect([index.axes.size, index.templates.size, index.flags.size]).toEqual([2, 2, 2]);
    expect(catalogueIndex(c)).toBe(index);
  });
});

describe('keyMatches', () => {
  const pattern = { geography: 'northmarch', theme: '*', tier: 'everyday', faction: '*' } as const;

  it("matches when each pattern field is '*' or equal", () => {
    expect(keyMatches(pattern, key('northmarch', 'economic', 'everyday', 'crown'))).toBe(true);
    expect(keyMatches(pattern, key('northmarch', 'political', 'everyday', 'temple'))).toBe(true);
    expect(keyMatches(pattern, key('saltcoast', 'economic', 'everyday', 'crown'))).toBe(false);
    expect(keyMatches(pattern, key('northmarch', 'economic', 'major_arc', 'crown'))).toBe(false);
  });

  it("matches a shard's own '*' field only with a '*' pattern field", () => {
    expect(keyMatches(pattern, key('*', 'economic', 'everyday', 'crown'))).toBe(false);
    expect(keyMatches(pattern, key('northmarch', '*', 'everyday', '*'))).toBe(true);
  });
});

describe('templatesForKey', () => {
  const c = validateCatalogue(fixtureDocument());

  it('returns the templates with a matching key, in id order', () => {
    expect(ids(templatesForKey(c, key('northmarch', 'economic', 'everyday', 'crown')))).toEqual(['grain_riot', 'market_festival']);
    expect(ids(templatesForKey(c, key('saltcoast', 'economic', 'everyday', 'crown')))).toEqual(['market_festival']);
    expect(ids(templatesForKey(c, key('northmarch', 'economic', 'everyday', 'temple')))).toEqual(['market_festival']);
    expect(ids(templatesForKey(c, key('northmarch', 'political', 'everyday', 'crown')))).toEqual([]);
    expect(ids(templatesForKey(c, key('*', 'economic', 'everyday', '*')))).toEqual(['market_festival']);
  });

  it('returns a template once when several of its keys match', () => {
    const doc = fixtureDocument();
    doc.templates[1]!.keys.push({ geography: '*', theme: 'economic', tier: '*', faction: 'crown' });
    const matched = templatesForKey(validateCatalogue(doc), key('northmarch', 'economic', 'everyday', 'crown'));
    expect(ids(matched)).toEqual(['grain_riot', 'market_festival']);
  });

  it('offers each shard of the default catalogue only its own theme and tier', () => {
    const d = defaultCatalogue();
    const shard = key('northmarch', 'political', 'everyday', 'crown');
    const matched = templatesForKey(d, shard);
    expect(ids(matched)).toEqual(expect.arrayContaining(['border_skirmish', 'heretics_sermon', 'spy_unmasked', 'envoy_visit']));
    expect(ids(matched)).not.toContain('coronation'); // major arc
    expect(ids(matched)).not.toContain('grain_riot'); // economic
    expect(ids(matched)).not.toContain('council_election'); // free cities or heartland only
    expect(matched.every((t) => t.theme === 'political' && t.tier === 'everyday')).toBe(true);
    expect(ids(templatesForKey(d, key('saltcoast', 'political', 'major_arc', 'crown')))).toContain('coronation');
  });
});
