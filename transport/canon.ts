// The message a canon row becomes on the wire (the JSON payload on its scene subject). The SQL that
// publishes inserted canon rows builds exactly this shape; the player client parses it with this schema.
import { z } from 'zod';

const token = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

export const RETENTION_CLASSES = ['ephemeral', 'standard', 'permanent'] as const;
export type RetentionClass = (typeof RETENTION_CLASSES)[number];

export const CanonMessageSchema = z.object({
  /** nimmer.canon.id: unique per row, the player's idempotency key together with the stream sequence. */
  canonId: z.number().int().positive(),
  eventUid: token,
  district: token,
  scene: token,
  slot: token.nullable(),
  participants: z.array(z.string().min(1)),
  retention: z.enum(RETENTION_CLASSES),
  body: z.unknown(),
  createdAt: z.string(),
});
export type CanonMessage = z.infer<typeof CanonMessageSchema>;
