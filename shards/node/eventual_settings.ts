// The node's eventual-state settings: the replica's (consensus/crdt) plus how often shard leaders
// publish their equilibrium snapshot into the document. Defaults live in the schemas.
import { z } from 'zod';
import { CrdtSettingsSchema } from '../../consensus/crdt/index.ts';

export const EventualSettingsSchema = CrdtSettingsSchema.extend({
  /** A shard leader writes its equilibrium (when its (term, index) moved) at most this often. */
  publishMs: z.number().int().min(10).max(60_000).default(500),
  /** The document's name (one NATS subject token); nodes of one cluster share it. */
  doc: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('eventual'),
});

export type EventualSettings = z.output<typeof EventualSettingsSchema>;
