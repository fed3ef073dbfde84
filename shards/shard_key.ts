// The shard key {geography, theme, tier, faction} and routing of concrete keys to shards.
//
// Every field is a NATS-safe token or '*'. A key without '*' is *concrete*: it names one slice of
// the world. A shard's key is a *pattern*: a key matches it when every pattern field is '*' or
// equal to the key's field. Among the shards whose pattern matches, the most specific one owns
// the key (see routeKey for why there is never a tie).

import { z } from 'zod';
import { keyMatches, KEY_VALUE_PATTERN, KEY_WILDCARD, THEMES, TIERS, type Theme, type Tier } from '../catalogue/index.ts';

export const SHARD_KEY_FIELDS = ['geography', 'theme', 'tier', 'faction'] as const;
export type ShardKeyField = (typeof SHARD_KEY_FIELDS)[number];

/**
 * The weight of each field in a pattern's rank. Powers of two, so a rank is the bitmask of the
 * specified fields, and any field outweighs all the fields after it together: a pattern that
 * names the geography outranks every pattern that does not, whatever else they name.
 */
export const SHARD_KEY_FIELD_WEIGHTS: { readonly [F in ShardKeyField]: number } = {
  geography: 8,
  theme: 4,
  tier: 2,
  faction: 1,
};

export interface ShardKey {
  readonly geography: string;
  readonly theme: Theme | typeof KEY_WILDCARD;
  readonly tier: Tier | typeof KEY_WILDCARD;
  readonly faction: string;
}

const keyValueRegex = new RegExp(KEY_VALUE_PATTERN);

// Each field reports the value it got and what it accepts, so a caller can fix the request.
function openField(field: 'geography' | 'faction') {
  return z.string({ error: `must be a string: '*' or a token matching ${KEY_VALUE_PATTERN}` }).superRefine((v, ctx) => {
    if (v === KEY_WILDCARD || keyValueRegex.test(v)) return;
    ctx.addIssue({
      code: 'custom',
      message: `'${display(v)}' is not a valid ${field}; use '*' or a lowercase token matching ${KEY_VALUE_PATTERN} (no dots, spaces or NATS wildcards)`,
    });
  });
}

function closedField(field: 'theme' | 'tier', values: readonly string[]) {
  const accepted = [KEY_WILDCARD, ...values];
  const list = accepted.map((a) => `'${a}'`).join(', ');
  return z.string({ error: `must be a string: one of ${list}` }).superRefine((v, ctx) => {
    if (accepted.includes(v)) return;
    ctx.addIssue({ code: 'custom', message: `'${display(v)}' is not a known ${field}; use one of ${list}` });
  });
}

/** A shard key pattern: every field is '*' or a concrete token. */
export const ShardKeySchema = z.strictObject({
  geography: openField('geography'),
  theme: closedField('theme', THEMES),
  tier: closedField('tier', TIERS),
  faction: openField('faction'),
}) as unknown as z.ZodType<ShardKey>;

/** A concrete key: a shard key with no '*' field. */
export const ConcreteShardKeySchema = ShardKeySchema.superRefine((key, ctx) => {
  for (const field of SHARD_KEY_FIELDS) {
    if (key[field] === KEY_WILDCARD) {
      ctx.addIssue({ code: 'custom', path: [field], message: `${field} must be concrete here, not '*': a concrete key names one slice of the world` });
    }
  }
});

export class ShardKeyError extends Error {
  override readonly name = 'ShardKeyError';
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid shard key: ${issues.join('; ')}`);
    this.issues = issues;
  }
}

function issueText(issue: z.core.$ZodIssue): string {
  return issue.path.length === 0 ? issue.message : `${issue.path.map(String).join('.')}: ${issue.message}`;
}

/** Parses a shard key pattern; throws ShardKeyError listing every bad field. */
export function parseShardKey(input: unknown): ShardKey {
  const parsed = ShardKeySchema.safeParse(input);
  if (!parsed.success) throw new ShardKeyError(parsed.error.issues.map(issueText));
  return parsed.data;
}

/** Parses a concrete shard key; throws ShardKeyError listing every bad field. */
export function parseConcreteShardKey(input: unknown): ShardKey {
  const parsed = ConcreteShardKeySchema.safeParse(input);
  if (!parsed.success) throw new ShardKeyError(parsed.error.issues.map(issueText));
  return parsed.data;
}

export function isConcreteShardKey(key: ShardKey): boolean {
  return SHARD_KEY_FIELDS.every((f) => key[f] !== KEY_WILDCARD);
}

/** The bitmask of the fields a pattern specifies, weighted by SHARD_KEY_FIELD_WEIGHTS (0..15). */
export function specificityRank(pattern: ShardKey): number {
  let rank = 0;
  for (const field of SHARD_KEY_FIELDS) if (pattern[field] !== KEY_WILDCARD) rank += SHARD_KEY_FIELD_WEIGHTS[field];
  return rank;
}

/**
 * Whether `key` falls within `pattern`: every pattern field is '*' or equal to the key's field.
 * A '*' in `key` is matched only by a '*' in the pattern, so for two patterns this is containment:
 * `patternContains(parent, child)` holds when every key the child matches, the parent matches too.
 */
export function patternContains(pattern: ShardKey, key: ShardKey): boolean {
  // The catalogue's template matching has exactly these semantics; one definition, one behaviour.
  return keyMatches(pattern, key);
}

export function shardKeysEqual(a: ShardKey, b: ShardKey): boolean {
  return SHARD_KEY_FIELDS.every((f) => a[f] === b[f]);
}

/** `north/political/*\/crown`: the fields in priority order, for messages and logs. */
export function formatShardKey(key: ShardKey): string {
  return SHARD_KEY_FIELDS.map((f) => key[f]).join('/');
}

/** A shard id derived from a key: `s-` and the specified fields (`s-north-political`), `s-all` for all '*'. */
export function shardIdForKey(key: ShardKey): string {
  const named = SHARD_KEY_FIELDS.map((f) => key[f]).filter((v) => v !== KEY_WILDCARD);
  return named.length === 0 ? 's-all' : `s-${named.join('-')}`;
}

export interface RoutableShard {
  readonly id: string;
  readonly key: ShardKey;
}

/**
 * The id of the shard that owns `key`: among the shards whose pattern matches it, the one of
 * highest specificityRank; undefined when none matches. `key` is normally concrete; a '*' in it is
 * matched only by a '*' pattern field, and the argument below holds unchanged.
 *
 * Why there is never a tie. Let P match key k and let m be P's mask (the set of fields P
 * specifies). For a field f in m, P[f] ≠ '*', so matching forces P[f] = k[f]; for f not in m,
 * P[f] = '*'. P is therefore a function of (m, k) alone: two patterns with the same mask that
 * match the same key are field-by-field equal. The shard map rejects a second shard with an
 * existing key, so at most one matching shard has each mask, and since ranks are distinct
 * integers for distinct masks (a bitmask), the highest rank among the matches is held by exactly
 * one shard. The rank also agrees with containment: if P is strictly contained in Q (P more
 * specific), P's mask is a strict superset of Q's, hence P's rank is strictly greater — the
 * winner is never a pattern that a more specific matching pattern refines.
 */
export function routeKey(shardMap: { readonly shards: readonly RoutableShard[] }, key: ShardKey): string | undefined {
  let best: RoutableShard | undefined;
  let bestRank = -1;
  for (const shard of shardMap.shards) {
    if (!patternContains(shard.key, key)) continue;
    const rank = specificityRank(shard.key);
    if (rank === bestRank) {
      // Only possible if the map holds two shards with one key, which the shard map rejects.
      throw new Error(
        `invariant: shards '${best?.id}' and '${shard.id}' both match ${formatShardKey(key)} with rank ${rank}; ` +
          `their keys ${formatShardKey(best!.key)} and ${formatShardKey(shard.key)} must be equal, and duplicate keys are rejected`,
      );
    }
    if (rank > bestRank) {
      best = shard;
      bestRank = rank;
    }
  }
  return best?.id;
}

function display(v: string): string {
  const shown = v.length > 40 ? `${v.slice(0, 40)}…` : v;
  return JSON.stringify(shown).slice(1, -1);
}
