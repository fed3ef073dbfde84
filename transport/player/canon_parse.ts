// The apply path's parser for canon messages: the same rules as CanonMessageSchema (the spec; a test
// checks they agree), written out by hand because zod costs ~13 µs a message here, which alone would
// cap replay below the 80k msg/s target.
import type { CanonMessage, RetentionClass } from '../canon.ts';
import { RETENTION_CLASSES } from '../canon.ts';

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
const retention = new Set<string>(RETENTION_CLASSES);

const isToken = (v: unknown): v is string => typeof v === 'string' && TOKEN.test(v);

/** The canon message in `text`, or null when it is not one (malformed JSON or shape). */
export function parseCanonMessage(text: string): CanonMessage | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const m = v as Record<string, unknown>;
  if (!Number.isSafeInteger(m.canonId) || (m.canonId as number) <= 0) return null;
  if (!isToken(m.eventUid) || !isToken(m.district) || !isToken(m.scene)) return null;
  if (m.slot !== null && !isToken(m.slot)) return null;
  if (!Array.isArray(m.participants) || !m.participants.every((p) => typeof p === 'string' && p.length > 0)) return null;
  if (typeof m.retention !== 'string' || !retention.has(m.retention)) return null;
  if (typeof m.createdAt !== 'string') return null;
  if (!('body' in m)) return null;
  for (const k in m) if (!KNOWN_KEYS.has(k)) delete m[k]; // zod's object() strips unknown keys too (JSON.parse gives no inherited keys)
  return m as unknown as CanonMessage;
}

const KNOWN_KEYS = new Set(['canonId', 'eventUid', 'district', 'scene', 'slot', 'participants', 'retention', 'body', 'createdAt']);

const decoder = new TextDecoder();
/** The retention column's integer code of each class (what the SQLite rows hold). */
export const RETENTION_CODE: Record<RetentionClass, number> = { ephemeral: 0, standard: 1, permanent: 2 };

/** What the apply needs of a canon message (the rest stays in its bytes). */
export interface ParsedCanon {
  canonId: number;
  /** The event the message names (normally the subscription's). */
  eventUid: string;
  /** RETENTION_CODE of its class. */
  retention: number;
  /** Whether its participants list the player. */
  forPlayer: boolean;
}

/** Parses a stream message's bytes for the apply of `playerId`'s store; null when it is malformed. */
export function parseForStore(data: Uint8Array, playerId: string): ParsedCanon | null {
  const m = parseCanonMessage(decoder.decode(data));
  if (m === null) return null;
  return { canonId: m.canonId, eventUid: m.eventUid, retention: RETENTION_CODE[m.retention], forPlayer: m.participants.includes(playerId) };
}
