import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../consensus/raft/rand.ts';
import { CanonMessageSchema } from '../canon.ts';
import { parseCanonMessage } from './canon_parse.ts';

const valid = { canonId: 7, eventUid: 'ev-1', district: 'd1', scene: 's1', slot: null, participants: ['p1'], retention: 'standard', body: { a: 1 }, createdAt: '2026-01-01T00:00:00Z' };

/** Mutations that each break or keep one rule of the schema. */
const mutations: ((m: Record<string, unknown>) => void)[] = [
  (m) => (m.canonId = 0), (m) => (m.canonId = 1.5), (m) => (m.canonId = '7'), (m) => (m.canonId = 2 ** 60),
  (m) => (m.eventUid = 'ev 1'), (m) => (m.eventUid = ''), (m) => (m.eventUid = 'x'.repeat(65)), (m) => (m.district = 5),
  (m) => (m.scene = 'a.b'), (m) => (m.slot = 'slot-1'), (m) => (m.slot = ''), (m) => delete m.slot,
  (m) => (m.participants = []), (m) => (m.participants = ['']), (m) => (m.participants = [1]), (m) => (m.participants = 'p1'),
  (m) => (m.retention = 'forever'), (m) => delete m.retention, (m) => delete m.body, (m) => (m.body = null),
  (m) => (m.createdAt = 5), (m) => (m.extra = true), (m) => delete m.createdAt,
];

describe('parseCanonMessage', () => {
  it('accepts and rejects exactly what CanonMessageSchema does (seeded combinations of mutations)', () => {
    const seed = 77;
    const random = seededRandom(seed);
    for (let i = 0; i < 2_000; i++) {
      const m: Record<string, unknown> = structuredClone(valid);
      const k = Math.floor(random() * 3);
      for (let j = 0; j < k; j++) mutations[Math.floor(random() * mutations.length)]!(m);
      const text = JSON.stringify(m);
      const zod = CanonMessageSchema.safeParse(JSON.parse(text));
      const fast = parseCanonMessage(text);
      expect(fast === null ? 'rejected' : 'accepted', `case ${i} (seed ${seed}): ${text}`).toBe(zod.success ? 'accepted' : 'rejected');
      if (zod.success) expect(fast).toEqual(zod.data);
    }
    expect(parseCanonMessage('not json')).toBeNull();
    expect(parseCanonMessage('[1]')).toBeNull();
  });
});
