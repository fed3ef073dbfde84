// The wire protocol of the district path (Option B), shared by the coordinator and the player client:
// a delivery is a NATS core request to the player's inbox carrying whole canon messages (the same shape
// the JetStream path carries); the player answers only after the rows are committed in its SQLite.
import { z } from 'zod';
import { CanonMessageSchema } from '../canon.ts';
import { SUBJECT_ROOT } from '../subject.ts';

const playerId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/** The subject a player listens on for district deliveries (outside the EVENTS stream's subjects). */
export function playerInboxSubject(id: string): string {
  return `${SUBJECT_ROOT}.players.${playerId.parse(id)}.inbox`;
}

/** Players announce themselves here when they come online, so queued-for-login deliveries start at once. */
export const PRESENCE_SUBJECT = `${SUBJECT_ROOT}.presence.online`;

export const DeliveryRequestSchema = z.strictObject({
  district: z.string().min(1),
  packages: z.array(CanonMessageSchema).min(1),
});
export type DeliveryRequest = z.infer<typeof DeliveryRequestSchema>;

export const DeliveryReplySchema = z.strictObject({
  /** Canon ids committed by this delivery. */
  applied: z.number().int().min(0),
  /** Canon ids the player already had (from either path): acknowledged, not applied again. */
  duplicates: z.number().int().min(0),
});
export type DeliveryReply = z.infer<typeof DeliveryReplySchema>;

export const PresenceSchema = z.strictObject({ playerId });
