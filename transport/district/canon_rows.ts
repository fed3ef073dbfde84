// nimmer.canon rows as the canon messages both paths carry (the JetStream payload shape).
import type { CanonMessage, RetentionClass } from '../canon.ts';

export const CANON_COLUMNS = 'c.id, c.event_uid, c.district, c.scene, c.slot, c.participants, c.retention, c.body, c.created_at';

export interface CanonRow {
  id: string; // bigint comes back as a string from pg
  event_uid: string;
  district: string;
  scene: string;
  slot: string | null;
  participants: string[];
  retention: RetentionClass;
  body: unknown;
  created_at: Date;
}

export function canonMessageOfRow(r: CanonRow): CanonMessage {
  const canonId = Number(r.id);
  if (!Number.isSafeInteger(canonId)) throw new Error(`canon id ${r.id} exceeds 2^53: the message schema carries it as a JSON number`);
  return {
    canonId,
    eventUid: r.event_uid,
    district: r.district,
    scene: r.scene,
    slot: r.slot,
    participants: r.participants,
    retention: r.retention,
    body: r.body,
    createdAt: r.created_at.toISOString(),
  };
}
