import { describe, expect, it } from 'vitest';
import { THEMES, TIERS } from '../catalogue/index.ts';
import { createShard, emptyShardMap, type ShardMap } from './shard_map.ts';
import {
  ConcreteShardKeySchema,
  formatShardKey,
  parseConcreteShardKey,
  parseShardKey,
  patternContains,
  routeKey,
  SHARD_KEY_FIELDS,
  shardIdForKey,
  ShardKeyError,
  ShardKeySchema,
  shardKeysEqual,
  specificityRank,
  type ShardKey,
} from './shard_key.ts';
import { pick, prng, testSeeds } from './testing/fixtures.ts';

const key = (geography: string, theme: string, tier: string, faction: string): ShardKey => parseShardKey({ geography, theme, tier, faction });

describe('shard key schema', () => {
  it('accepts tokens and wildcards', () => {
    expect(ShardKeySchema.safeParse({ geography: 'north', theme: 'political', tier: '*', faction: 'crown' }).success).toBe(true);
    expect(ShardKeySchema.safeParse({ geography: '*', theme: '*', tier: '*', faction: '*' }).success).toBe(true);
  });

  it('names the field, the bad value and what is accepted', () => {
    expect(() => parseShardKey({ geography: 'north.east', theme: 'political', tier: '*', faction: '*' })).toThrow(
      /geography: 'north\.east' is not a valid geography; use '\*' or a lowercase token/,
    );
    expect(() => parseShardKey({ geography: 'north', theme: 'romance', tier: '*', faction: '*' })).toThrow(
      /theme: 'romance' is not a known theme; use one of '\*', 'political', 'economic', 'personal'/,
    );
    expect(() => parseShardKey({ geography: 'north', theme: '*', tier: '*', faction: 'a b' })).toThrow(ShardKeyError);
    expect(() => parseShardKey({ geography: 'north', theme: '*', tier: '*', faction: '>' })).toThrow(/faction/);
    expect(() => parseShardKey({ geography: 'north', theme: '*', tier: '*' })).toThrow(/faction: must be a string/);
    expect(() => parseShardKey({ geography: 'north', theme: '*', tier: '*', faction: '*', extra: 1 })).toThrow(ShardKeyError);
  });

  it('reports every bad field at once', () => {
    try {
      parseShardKey({ geography: 'A', theme: 'x', tier: 'y', faction: '' });
      expect.unreachable();
    } catch (e) {
      expect((e as ShardKeyError).issues).toHaveLength(4);
    }
  });

  it('a concrete key has no wildcard', () => {
    expect(parseConcreteShardKey({ geography: 'north', theme: 'political', tier: 'everyday', faction: 'crown' }).faction).toBe('crown');
    expect(() => parseConcreteShardKey({ geography: 'north', theme: '*', tier: 'everyday', faction: 'crown' })).toThrow(/theme must be concrete here/);
    expect(ConcreteShardKeySchema.safeParse({ geography: '*', theme: '*', tier: '*', faction: '*' }).error?.issues).toHaveLength(4);
  });
});

describe('specificity and containment', () => {
  it('ranks a pattern by the bitmask of its fields, geography(8) > theme(4) > tier(2) > faction(1)', () => {
    expect(specificityRank(key('*', '*', '*', '*'))).toBe(0);
    expect(specificityRank(key('*', '*', '*', 'crown'))).toBe(1);
    expect(specificityRank(key('*', '*', 'everyday', '*'))).toBe(2);
    expect(specificityRank(key('*', 'political', '*', '*'))).toBe(4);
    expect(specificityRank(key('north', '*', '*', '*'))).toBe(8);
    expect(specificityRank(key('north', 'political', 'everyday', 'crown'))).toBe(15);
    // A geography alone outranks every combination of the other three fields.
    expect(specificityRank(key('north', '*', '*', '*'))).toBeGreaterThan(specificityRank(key('*', 'political', 'everyday', 'crown')));
  });

  it('contains what it matches field by field', () => {
    const north = key('north', '*', '*', '*');
    expect(patternContains(north, key('north', 'political', 'everyday', 'crown'))).toBe(true);
    expect(patternContains(north, key('south', 'political', 'everyday', 'crown'))).toBe(false);
    expect(patternContains(north, key('north', 'political', '*', '*'))).toBe(true);
    expect(patternContains(key('north', 'political', '*', '*'), north)).toBe(false);
  });

  it('derives shard ids from the named fields', () => {
    expect(shardIdForKey(key('north', 'political', '*', '*'))).toBe('s-north-political');
    expect(shardIdForKey(key('*', '*', '*', '*'))).toBe('s-all');
    expect(formatShardKey(key('north', '*', 'major_arc', 'crown'))).toBe('north/*/major_arc/crown');
  });
});

describe('routeKey', () => {
  const map = {
    shards: [
      { id: 'world', key: key('*', '*', '*', '*') },
      { id: 'north', key: key('north', '*', '*', '*') },
      { id: 'north-political', key: key('north', 'political', '*', '*') },
      { id: 'crown', key: key('*', 'political', 'major_arc', 'crown') },
    ],
  };

  it('routes a concrete key to the most specific matching shard', () => {
    expect(routeKey(map, key('north', 'political', 'everyday', 'guild'))).toBe('north-political');
    expect(routeKey(map, key('north', 'economic', 'everyday', 'guild'))).toBe('north');
    expect(routeKey(map, key('south', 'economic', 'everyday', 'guild'))).toBe('world');
    expect(routeKey(map, key('south', 'political', 'major_arc', 'crown'))).toBe('crown');
    // geography outweighs theme+tier+faction: north beats the crown pattern.
    expect(routeKey(map, key('north', 'economic', 'major_arc', 'crown'))).toBe('north');
    expect(routeKey(map, key('north', 'political', 'major_arc', 'crown'))).toBe('north-political');
  });

  it('returns undefined when no shard matches', () => {
    expect(routeKey({ shards: [{ id: 'north', key: key('north', '*', '*', '*') }] }, key('south', 'political', 'everyday', 'x'))).toBeUndefined();
    expect(routeKey({ shards: [] }, key('south', 'political', 'everyday', 'x'))).toBeUndefined();
  });

  it('fails loudly on a map holding a duplicate key (which the shard map never does)', () => {
    const dup = { shards: [...map.shards, { id: 'north-again', key: key('north', '*', '*', '*') }] };
    expect(() => routeKey(dup, key('north', 'economic', 'everyday', 'guild'))).toThrow(/invariant/);
  });
});

// A small vocabulary, so random patterns often overlap.
const geographies = ['north', 'south', 'east'];
const factions = ['crown', 'guild', 'temple'];
const fieldValues: Record<(typeof SHARD_KEY_FIELDS)[number], readonly string[]> = {
  geography: geographies,
  theme: THEMES,
  tier: TIERS,
  faction: factions,
};

function allPatterns(): ShardKey[] {
  const out: ShardKey[] = [];
  for (const g of ['*', ...geographies])
    for (const th of ['*', ...THEMES]) for (const ti of ['*', ...TIERS]) for (const f of ['*', ...factions]) out.push(key(g, th, ti, f));
  return out;
}

function allConcreteKeys(): ShardKey[] {
  return allPatterns().filter((k) => SHARD_KEY_FIELDS.every((f) => k[f] !== '*'));
}

function randomPattern(rng: () => number): ShardKey {
  const field = (f: (typeof SHARD_KEY_FIELDS)[number]) => (rng() < 0.5 ? '*' : pick(rng, fieldValues[f]));
  return key(field('geography'), field('theme'), field('tier'), field('faction'));
}

describe('routing has no ties (the proof in routeKey, checked)', () => {
  it('two patterns with the same rank that match the same concrete key are equal (exhaustive over a small vocabulary)', () => {
    const patterns = allPatterns();
    const concrete = allConcreteKeys();
    let pairs = 0;
    for (const k of concrete) {
      const matching = patterns.filter((p) => patternContains(p, k));
      const byRank = new Map<number, ShardKey>();
      for (const p of matching) {
        const rank = specificityRank(p);
        const other = byRank.get(rank);
        if (other !== undefined) expect(shardKeysEqual(other, p), `${formatShardKey(other)} vs ${formatShardKey(p)} on ${formatShardKey(k)}`).toBe(true);
        byRank.set(rank, p);
        pairs++;
      }
      // Exactly one matching pattern per mask: all 16 masks are present.
      expect(byRank.size).toBe(16);
    }
    expect(pairs).toBe(concrete.length * 16);
  });

  it('random shard maps: duplicates are rejected and every key routes to the unique most specific match (seeded)', () => {
    const concrete = allConcreteKeys();
    for (const seed of testSeeds(200)) {
      const rng = prng(seed);
      const ctx = { index: 1, isNode: () => true };
      let map: ShardMap = emptyShardMap();
      const shardCount = 1 + Math.floor(rng() * 40);
      for (let i = 0; i < shardCount; i++) {
        const pattern = randomPattern(rng);
        const exists = map.shards.some((s) => shardKeysEqual(s.key, pattern));
        const change = createShard(map, { key: pattern, replicas: [1] }, { ...ctx, index: i + 1 });
        expect(change.ok, `seed ${seed}: create ${formatShardKey(pattern)} (exists: ${exists})`).toBe(!exists);
        if (!change.ok) {
          expect(change.code, `seed ${seed}`).toBe('conflict');
          continue;
        }
        map = change.map;
      }
      for (let q = 0; q < 50; q++) {
        const k = pick(rng, concrete);
        const matches = map.shards.filter((s) => patternContains(s.key, k));
        const ranks = matches.map((s) => specificityRank(s.key));
        expect(new Set(ranks).size, `seed ${seed}: ranks ${ranks.join(',')} on ${formatShardKey(k)}`).toBe(ranks.length);
        const routed = routeKey(map, k);
        if (matches.length === 0) {
          expect(routed, `seed ${seed}`).toBeUndefined();
          continue;
        }
        const winner = matches.reduce((a, b) => (specificityRank(a.key) >= specificityRank(b.key) ? a : b));
        expect(routed, `seed ${seed}: ${formatShardKey(k)}`).toBe(winner.id);
        // No matching shard refines the winner: the rank agrees with containment.
        for (const s of matches) {
          if (s.id === winner.id) continue;
          expect(patternContains(winner.key, s.key), `seed ${seed}: ${formatShardKey(s.key)} refines winner ${formatShardKey(winner.key)}`).toBe(false);
        }
      }
    }
  });
});
