import { describe, expect, it } from 'vitest';
import {
  formatUid,
  isValidToken,
  newEventUid,
  parseUid,
  tryParseUid,
  UID_LENGTH_MAX,
  UID_PATTERN,
  UID_TOKEN_PATTERN,
  UidError,
  UidSchema,
  UidTokenSchema,
  type ParsedUid,
  type UidErrorCode,
} from './index.ts';

const rule = 'tokens are 1-64 characters of [A-Za-z0-9_-]';

function uidError(input: unknown): UidError {
  const result = tryParseUid(input);
  if (result.ok) throw new Error(`expected '${String(input)}' to be rejected`);
  expect(() => parseUid(input as string)).toThrow(UidError);
  return result.error;
}

describe('UID grammar: gm_event > district > scene > slot', () => {
  const levels: [string, ParsedUid][] = [
    ['ev-7af2', { level: 'event', gmEvent: 'ev-7af2' }],
    ['ev-7af2.d9c1', { level: 'district', gmEvent: 'ev-7af2', district: 'd9c1' }],
    ['ev-7af2.d9c1.s3e8', { level: 'scene', gmEvent: 'ev-7af2', district: 'd9c1', scene: 's3e8' }],
    ['ev-7af2.d9c1.s3e8.canon_audit', { level: 'slot', gmEvent: 'ev-7af2', district: 'd9c1', scene: 's3e8', slot: 'canon_audit' }],
  ];

  it.each(levels)('parses %s at its level, and formats it back', (text, parsed) => {
    expect(parseUid(text)).toEqual(parsed);
    expect(formatUid(parsed)).toBe(text);
    expect(parseUid(formatUid(parsed))).toEqual(parsed);
  });

  it('a higher-level UID is a prefix of its children', () => {
    const slot = parseUid('ev-1.old_harbour.bread_line.baker_plea');
    expect(formatUid({ gmEvent: slot.gmEvent })).toBe('ev-1');
    expect(formatUid({ gmEvent: slot.gmEvent, district: slot.district })).toBe('ev-1.old_harbour');
    expect(formatUid({ gmEvent: slot.gmEvent, district: slot.district, scene: slot.scene })).toBe('ev-1.old_harbour.bread_line');
  });

  it('accepts the longest UID and every allowed character', () => {
    const token = 'A-z_0'.repeat(12) + 'Zz-9';
    expect(token).toHaveLength(64);
    const uid = [token, token, token, token].join('.');
    expect(uid).toHaveLength(UID_LENGTH_MAX);
    expect(parseUid(uid).level).toBe('slot');
  });

  it('names the bad token, its position and the rule (the example from the design)', () => {
    const error = uidError('ev-1.a b');
    expect(error.message).toBe(`district token 'a b' at position 2 contains a space at character 2; ${rule}`);
    expect(error).toMatchObject({ code: 'whitespace', position: 2, token: 'a b', offset: 6, expected: UID_TOKEN_PATTERN });
  });

  const malformed: [string, unknown, UidErrorCode, number | undefined, string][] = [
    ['the empty string', '', 'empty', undefined, 'the UID is empty'],
    ['a leading dot', '.d1', 'empty_token', 1, 'gm_event token at position 1 is empty (the UID starts with a dot)'],
    ['a trailing dot', 'ev-1.d1.', 'empty_token', 3, 'scene token at position 3 is empty (the UID ends with a dot)'],
    ['two dots in a row', 'ev-1..s1', 'empty_token', 2, 'district token at position 2 is empty (two dots in a row at offset 4)'],
    ['a lone dot', '.', 'empty_token', 1, 'starts with a dot'],
    ['five levels', 'ev-1.d.s.slot.extra', 'too_many_levels', 5, "extra token 'extra' at position 5"],
    ['many levels', 'a.b.c.d.e.f.g.h', 'too_many_levels', 5, "extra token 'e' at position 5"],
    ['the * wildcard', 'ev-1.*', 'wildcard', 2, "district token '*' at position 2 contains the NATS wildcard '*'"],
    ['the > wildcard', 'ev-1.d1.>', 'wildcard', 3, "scene token '>' at position 3 contains the NATS wildcard '>'"],
    ['a wildcard inside a token', 'ev-1.d1.s*1', 'wildcard', 3, "contains the NATS wildcard '*' at character 2"],
    ['a space', 'ev 1', 'whitespace', 1, "gm_event token 'ev 1' at position 1 contains a space at character 3"],
    ['a tab', 'ev-1.d1.s1.\tslot', 'whitespace', 4, "slot token '\\tslot' at position 4 contains whitespace (U+0009) at character 1"],
    ['a newline', 'ev-1\n', 'whitespace', 1, 'contains whitespace (U+000A)'],
    ['a non-ASCII letter', 'ev-1.straße', 'non_ascii', 2, "contains the non-ASCII character 'ß' (U+00DF) at character 5"],
    ['an emoji', 'ev-1.d1.🙂', 'non_ascii', 3, 'U+1F642'],
    ['a too-long token', 'ev-1.' + 'x'.repeat(65), 'token_too_long', 2, 'is 65 characters long (at most 64)'],
    ['a huge token', 'y'.repeat(100_000), 'token_too_long', 1, 'is 100000 characters long'],
    ['a dollar sign', 'ev-1.$sys', 'invalid_char', 2, "contains '$' (U+0024) at character 1, which is not allowed"],
    ['a slash', 'ev-1/d1', 'invalid_char', 1, "'/' (U+002F)"],
    ['a control character', 'ev-1.d\u0000', 'invalid_char', 2, 'the control character U+0000'],
    ['a number', 42, 'not_a_string', undefined, 'a UID must be a string, got number'],
    ['null', null, 'not_a_string', undefined, 'got null'],
  ];

  it.each(malformed)('rejects %s', (_name, input, code, position, message) => {
    const error = uidError(input);
    expect(error.code).toBe(code);
    expect(error.position).toBe(position);
    expect(error.message).toContain(message);
    if (code !== 'empty' && code !== 'not_a_string' && code !== 'too_many_levels') expect(error.message).toContain(rule);
  });

  it('points the offset at the offending character', () => {
    expect(uidError('ev-1.d1.s*1').offset).toBe('ev-1.d1.s'.length);
    expect(uidError('ev-1..s1').offset).toBe(5);
    expect(uidError('ev-1.d.s.slot.extra').offset).toBe('ev-1.d.s.slot'.length);
  });

  it('keeps messages short for hostile input', () => {
    expect(uidError('z'.repeat(1_000_000)).message.length).toBeLessThan(200);
  });
});

describe('formatUid', () => {
  it('rejects a lower level without every level above it', () => {
    expect(() => formatUid({ gmEvent: 'ev-1', scene: 's1' })).toThrow(
      expect.objectContaining({ code: 'missing_level', message: expect.stringContaining("scene 's1' is given without a district") }),
    );
    expect(() => formatUid({ gmEvent: 'ev-1', district: 'd1', slot: 'x' })).toThrow(expect.objectContaining({ code: 'missing_level' }));
  });

  it('rejects tokens that would change the UID structure or a NATS subject', () => {
    const cases: [Parameters<typeof formatUid>[0], UidErrorCode, number][] = [
      [{ gmEvent: 'ev-1', district: 'a.b' }, 'separator_in_token', 2],
      [{ gmEvent: 'ev-1', district: 'd', scene: '>' }, 'wildcard', 3],
      [{ gmEvent: '' }, 'empty_token', 1],
      [{ gmEvent: 'ev-1', district: 'd', scene: 's', slot: 'a b' }, 'whitespace', 4],
    ];
    for (const [parts, code, position] of cases) {
      expect(() => formatUid(parts)).toThrow(expect.objectContaining({ name: 'UidError', code, position }));
    }
    expect(() => formatUid({ gmEvent: 'ev-1', district: 'a.b' })).toThrow(
      "district token 'a.b' at position 2 contains the separator '.' at character 2",
    );
  });
});

describe('tokens', () => {
  it('isValidToken agrees with UID_TOKEN_PATTERN', () => {
    const re = new RegExp(UID_TOKEN_PATTERN);
    for (const t of ['a', 'A-b_9', '-', '_', 'x'.repeat(64), '', 'x'.repeat(65), 'a.b', 'a*', '>', 'a b', 'é', 'a\n']) {
      expect(isValidToken(t)).toBe(re.test(t));
    }
    expect(isValidToken(7)).toBe(false);
  });

  it('UID_PATTERN agrees with parseUid', () => {
    const re = new RegExp(UID_PATTERN);
    for (const s of ['a', 'a.b', 'a.b.c.d', 'a.b.c.d.e', 'a..b', '.a', 'a.', 'a.*', '']) {
      expect(re.test(s)).toBe(tryParseUid(s).ok);
    }
  });

  it('every valid token is a safe NATS subject token (seeded random strings)', () => {
    let state = 0x9e3779b9;
    const next = (): number => {
      state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      return state;
    };
    const alphabet = 'aZ09_-.*> \t$/éß\u0000';
    let valid = 0;
    for (let i = 0; i < 5_000; i++) {
      const length = next() % 8;
      let token = '';
      for (let j = 0; j < length; j++) token += alphabet[next() % alphabet.length];
      if (isValidToken(token)) {
        valid++;
        expect(token).not.toMatch(/[.*>\s]|[^\x21-\x7e]/);
        expect(parseUid(`ev-1.${token}`).district).toBe(token);
      } else {
        expect(() => formatUid({ gmEvent: 'ev-1', district: token })).toThrow(UidError);
      }
    }
    expect(valid).toBeGreaterThan(100);
  });

  it('zod schemas report the grammar error', () => {
    expect(UidTokenSchema.safeParse('old_harbour').success).toBe(true);
    expect(UidTokenSchema.safeParse('old harbour').success).toBe(false);
    expect(UidSchema.parse('ev-1.d1')).toEqual({ level: 'district', gmEvent: 'ev-1', district: 'd1' });
    const bad = UidSchema.safeParse('ev-1..s1');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toContain('district token at position 2 is empty');
  });
});

describe('newEventUid', () => {
  it('is deterministic and short', () => {
    const a = newEventUid({ shardId: 'shard-eu-political', logIndex: 42, term: 3 });
    expect(a).toBe(newEventUid({ shardId: 'shard-eu-political', logIndex: 42, term: 3 }));
    expect(a).toMatch(/^ev-[a-z2-7]{16}$/);
    expect(parseUid(a)).toEqual({ level: 'event', gmEvent: a });
  });

  it('pins the derivation (replicas of different builds must agree)', () => {
    expect(newEventUid({ shardId: 's1', logIndex: 42 })).toBe('ev-knb43cvoa63ncija');
  });

  it('differs for every part of the seed', () => {
    const base = { shardId: 's1', logIndex: 10, term: 2, ordinal: 0 };
    const uids = new Set([
      newEventUid(base),
      newEventUid({ ...base, shardId: 's2' }),
      newEventUid({ ...base, logIndex: 11 }),
      newEventUid({ ...base, term: 3 }),
      newEventUid({ ...base, ordinal: 1 }),
    ]);
    expect(uids.size).toBe(5);
    expect(newEventUid({ shardId: 's1', logIndex: 10 })).toBe(newEventUid({ shardId: 's1', logIndex: 10, term: 0, ordinal: 0 }));
  });

  it('does not collide over many log indexes and shards', () => {
    const seen = new Set<string>();
    for (let shard = 0; shard < 20; shard++) {
      for (let index = 1; index <= 2_000; index++) seen.add(newEventUid({ shardId: `shard-${shard}`, logIndex: index }));
    }
    expect(seen.size).toBe(40_000);
  });

  it('rejects seeds it cannot derive from', () => {
    const bad = [
      { shardId: '', logIndex: 1 },
      { shardId: 'x'.repeat(257), logIndex: 1 },
      { shardId: 's', logIndex: 0 },
      { shardId: 's', logIndex: 1.5 },
      { shardId: 's', logIndex: Number.NaN },
      { shardId: 's', logIndex: 1, term: -1 },
      { shardId: 's', logIndex: 1, ordinal: 2 ** 60 },
    ];
    for (const seed of bad) expect(() => newEventUid(seed)).toThrow(expect.objectContaining({ code: 'invalid_seed' }));
  });
});
