// The UID grammar: gm_event > district > scene > slot.
//
// A UID is 1 to 4 tokens joined by dots, highest level first:
//   <gmEvent>                         an event
//   <gmEvent>.<district>              a district of that event
//   <gmEvent>.<district>.<scene>      a scene in that district
//   <gmEvent>.<district>.<scene>.<slot>
// Each token is 1-64 characters of [A-Za-z0-9_-]: never a dot, a NATS wildcard (`*`, `>`),
// whitespace or a non-ASCII character, so every token is usable unchanged as a NATS subject
// token, a Postgres key and a path segment.

import { createHash } from 'node:crypto';

export const UID_LEVELS = ['event', 'district', 'scene', 'slot'] as const;
export type UidLevel = (typeof UID_LEVELS)[number];

export const UID_SEPARATOR = '.';
export const UID_TOKEN_LENGTH_MAX = 64;
/** Four maximal tokens and three separators. */
export const UID_LENGTH_MAX = UID_LEVELS.length * UID_TOKEN_LENGTH_MAX + UID_LEVELS.length - 1;

/** Anchored regex source for one token; POSIX-compatible, so Postgres `~` can use it as is. */
export const UID_TOKEN_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
/** Anchored regex source for a whole UID of any level. */
export const UID_PATTERN = '^[A-Za-z0-9_-]{1,64}([.][A-Za-z0-9_-]{1,64}){0,3}$';

/** The prefix of event tokens derived by newEventUid. */
export const EVENT_UID_PREFIX = 'ev-';

const tokenRegex = new RegExp(UID_TOKEN_PATTERN);
const tokenRule = `tokens are 1-${UID_TOKEN_LENGTH_MAX} characters of [A-Za-z0-9_-]`;
const grammar = '<gmEvent>[.<district>[.<scene>[.<slot>]]]';
const tokenNames: { readonly [L in UidLevel]: string } = {
  event: 'gm_event',
  district: 'district',
  scene: 'scene',
  slot: 'slot',
};

export type UidErrorCode =
  | 'not_a_string'
  | 'empty'
  | 'empty_token'
  | 'too_many_levels'
  | 'token_too_long'
  | 'separator_in_token'
  | 'wildcard'
  | 'whitespace'
  | 'non_ascii'
  | 'invalid_char'
  | 'missing_level'
  | 'invalid_seed';

/**
 * A UID or token that breaks the grammar. `position` is the 1-based token position (1 = gm_event),
 * `offset` the 0-based character offset in the input where the problem is, when they apply.
 */
export class UidError extends Error {
  override readonly name = 'UidError';
  readonly code: UidErrorCode;
  readonly position: number | undefined;
  readonly offset: number | undefined;
  readonly token: string | undefined;
  /** The pattern the input should have matched. */
  readonly expected: string;

  constructor(
    code: UidErrorCode,
    message: string,
    where: { position?: number; offset?: number; token?: string; expected?: string } = {},
  ) {
    super(message);
    this.code = code;
    this.position = where.position;
    this.offset = where.offset;
    this.token = where.token;
    this.expected = where.expected ?? UID_PATTERN;
  }
}

export interface UidParts {
  readonly gmEvent: string;
  readonly district?: string;
  readonly scene?: string;
  readonly slot?: string;
}

export interface ParsedUid extends UidParts {
  readonly level: UidLevel;
}

export function isValidToken(token: unknown): token is string {
  return typeof token === 'string' && tokenRegex.test(token);
}

interface TokenProblem {
  readonly code: UidErrorCode;
  /** Completes "<level> token '<t>' at position <n> …". */
  readonly detail: string;
  /** Offset of the offending character within the token. */
  readonly charIndex: number;
}

function hexOf(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = hexOf(ch);
  if (cp < 0x20 || cp === 0x7f) return `the control character ${hex}`;
  return `'${ch}' (${hex})`;
}

function tokenProblem(token: string): TokenProblem | undefined {
  if (token.length === 0) return { code: 'empty_token', detail: 'is empty', charIndex: 0 };
  // Length first: it is O(1) and bounds the scan below.
  if (token.length > UID_TOKEN_LENGTH_MAX) {
    return {
      code: 'token_too_long',
      detail: `is ${token.length} characters long (at most ${UID_TOKEN_LENGTH_MAX})`,
      charIndex: UID_TOKEN_LENGTH_MAX,
    };
  }
  if (tokenRegex.test(token)) return undefined;
  for (let i = 0; i < token.length; i++) {
    const ch = String.fromCodePoint(token.codePointAt(i) ?? 0);
    if (/^[A-Za-z0-9_-]$/.test(ch)) continue;
    if (ch === '.') return { code: 'separator_in_token', detail: `contains the separator '.' at character ${i + 1}`, charIndex: i };
    if (ch === '*' || ch === '>') {
      return { code: 'wildcard', detail: `contains the NATS wildcard '${ch}' at character ${i + 1}`, charIndex: i };
    }
    if (ch === ' ') return { code: 'whitespace', detail: `contains a space at character ${i + 1}`, charIndex: i };
    if (/^\s$/u.test(ch)) {
      return { code: 'whitespace', detail: `contains whitespace (${hexOf(ch)}) at character ${i + 1}`, charIndex: i };
    }
    if ((ch.codePointAt(0) ?? 0) > 0x7f) {
      return {
        code: 'non_ascii',
        detail: `contains the non-ASCII character ${describeChar(ch)} at character ${i + 1}`,
        charIndex: i,
      };
    }
    return { code: 'invalid_char', detail: `contains ${describeChar(ch)} at character ${i + 1}, which is not allowed`, charIndex: i };
  }
  throw new Error(`unreachable: token failed ${UID_TOKEN_PATTERN} without an offending character`);
}

/** Shows a token in a message: escaped, and cut short so a huge input never floods a log line. */
function display(token: string): string {
  const shown = token.length > 40 ? `${token.slice(0, 40)}…` : token;
  return JSON.stringify(shown).slice(1, -1);
}

function tokenError(level: UidLevel, position: number, tokenOffset: number, token: string, problem: TokenProblem, context: string): UidError {
  const name = tokenNames[level];
  const where = `${name} token '${display(token)}' at position ${position}`;
  const message =
    problem.code === 'empty_token' ? `${name} token at position ${position} is empty${context}; ${tokenRule}` : `${where} ${problem.detail}; ${tokenRule}`;
  return new UidError(problem.code, message, {
    position,
    offset: tokenOffset + problem.charIndex,
    token,
    expected: UID_TOKEN_PATTERN,
  });
}

function emptyTokenContext(position: number, tokenOffset: number, tokenCount: number): string {
  if (position === 1) return ' (the UID starts with a dot)';
  if (position === tokenCount) return ' (the UID ends with a dot)';
  return ` (two dots in a row at offset ${tokenOffset - 1})`;
}

export type UidParseResult = { readonly ok: true; readonly uid: ParsedUid } | { readonly ok: false; readonly error: UidError };

/** parseUid without exceptions, for hot paths and schema refinements. */
export function tryParseUid(input: unknown): UidParseResult {
  if (typeof input !== 'string') {
    const got = input === null ? 'null' : typeof input;
    return { ok: false, error: new UidError('not_a_string', `a UID must be a string, got ${got}; expected ${grammar}`) };
  }
  if (input.length === 0) {
    return { ok: false, error: new UidError('empty', `the UID is empty; expected ${grammar} where ${tokenRule}`, { offset: 0 }) };
  }
  // The split limit bounds the work on hostile input: one token past the last level is enough
  // to report it.
  const tokens = input.split(UID_SEPARATOR, UID_LEVELS.length + 1);
  let tokenOffset = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const position = i + 1;
    if (i === UID_LEVELS.length) {
      return {
        ok: false,
        error: new UidError(
          'too_many_levels',
          `the UID has more than ${UID_LEVELS.length} tokens: extra token '${display(token)}' at position ${position} (offset ${tokenOffset}); ` +
            `a UID is at most gm_event.district.scene.slot`,
          { position, offset: tokenOffset - 1, token },
        ),
      };
    }
    const problem = tokenProblem(token);
    if (problem !== undefined) {
      const context = problem.code === 'empty_token' ? emptyTokenContext(position, tokenOffset, tokens.length) : '';
      return { ok: false, error: tokenError(UID_LEVELS[i]!, position, tokenOffset, token, problem, context) };
    }
    tokenOffset += token.length + 1;
  }
  const [gmEvent, district, scene, slot] = tokens;
  const level = UID_LEVELS[tokens.length - 1]!;
  const uid: ParsedUid = {
    level,
    gmEvent: gmEvent!,
    ...(district === undefined ? {} : { district }),
    ...(scene === undefined ? {} : { scene }),
    ...(slot === undefined ? {} : { slot }),
  };
  return { ok: true, uid };
}

/** Parses a UID of any level; throws UidError naming the bad token, its position and the rule. */
export function parseUid(input: string): ParsedUid {
  const result = tryParseUid(input);
  if (!result.ok) throw result.error;
  return result.uid;
}

/**
 * Writes the UID of the lowest level given. Every level above a given one must be given too
 * (a scene without its district is an error); every token must be valid.
 */
export function formatUid(parts: UidParts): string {
  const values = [parts.gmEvent, parts.district, parts.scene, parts.slot];
  const tokens: string[] = [];
  let missing: UidLevel | undefined;
  for (let i = 0; i < UID_LEVELS.length; i++) {
    const level = UID_LEVELS[i]!;
    const value: unknown = values[i];
    if (value === undefined) {
      missing ??= level;
      continue;
    }
    if (missing !== undefined) {
      throw new UidError(
        'missing_level',
        `${tokenNames[level]} '${display(String(value))}' is given without a ${tokenNames[missing]}; ` +
          `a UID names every level above its own (${grammar})`,
        { position: i + 1 },
      );
    }
    if (typeof value !== 'string') {
      throw new UidError('not_a_string', `${tokenNames[level]} token at position ${i + 1} must be a string, got ${typeof value}`, {
        position: i + 1,
        expected: UID_TOKEN_PATTERN,
      });
    }
    const problem = tokenProblem(value);
    if (problem !== undefined) throw tokenError(level, i + 1, tokens.join(UID_SEPARATOR).length + (i > 0 ? 1 : 0), value, problem, '');
    tokens.push(value);
  }
  return tokens.join(UID_SEPARATOR);
}

/** What a GM shard knows, deterministically, when it applies the command that creates an event. */
export interface EventUidSeed {
  /** The id of the shard (its Raft group) that owns the event. */
  readonly shardId: string;
  /** The Raft log index of the entry that created the event (≥ 1). */
  readonly logIndex: number;
  /** The term of that entry; 0 when not known. */
  readonly term?: number;
  /** The event's position among several created by one entry; 0 when there is one. */
  readonly ordinal?: number;
}

const seedShardIdCharsMax = 256;
const eventUidHashBytes = 10; // 80 bits: a collision is expected only after ~2^40 events.
const base32Alphabet = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += base32Alphabet[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += base32Alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

function seedInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new UidError('invalid_seed', `event UID seed: ${name} must be a safe integer ≥ ${min}, got ${String(value)}`, {
      expected: `integer ≥ ${min}`,
    });
  }
  return value;
}

/**
 * Derives the event token for an event created by a committed Raft entry: `ev-` followed by 16
 * lowercase base32 characters of sha256 over the seed. Pure: every replica applying the same entry
 * derives the same UID, and different (shard, index, term, ordinal) give different UIDs.
 */
export function newEventUid(seed: EventUidSeed): string {
  const { shardId } = seed;
  if (typeof shardId !== 'string' || shardId.length === 0 || shardId.length > seedShardIdCharsMax) {
    throw new UidError('invalid_seed', `event UID seed: shardId must be a string of 1-${seedShardIdCharsMax} characters`, {
      expected: `1-${seedShardIdCharsMax} characters`,
    });
  }
  const logIndex = seedInteger('logIndex', seed.logIndex, 1);
  const term = seedInteger('term', seed.term ?? 0, 0);
  const ordinal = seedInteger('ordinal', seed.ordinal ?? 0, 0);
  // JSON of an array is an unambiguous encoding of the seed; the tag versions the derivation.
  const material = JSON.stringify(['nimmer/event-uid/v1', shardId, logIndex, term, ordinal]);
  const digest = createHash('sha256').update(material, 'utf8').digest();
  const token = EVENT_UID_PREFIX + base32(digest.subarray(0, eventUidHashBytes));
  if (!tokenRegex.test(token)) throw new Error(`invariant: derived event token '${token}' breaks ${UID_TOKEN_PATTERN}`);
  return token;
}
