// `nimmer up`'s settings: one zod schema, defaults in one place. The shape flags (nodes, shards,
// replicas) are optional: on a data dir that already holds a cluster, the stored shape applies.
import { z } from 'zod';
import { GmSettingsSchema, RaftSettingsSchema } from '../../shards/node/config.ts';

export const NODES_DEFAULT = 3;
export const SHARDS_DEFAULT = 4;
export const REPLICAS_DEFAULT = 3;
export const CONTROLLER_PORT_DEFAULT = 7070;
export const DATA_DIR_DEFAULT = './.nimmer';

const port = z.number().int().min(0).max(65_535);

export const UpOptionsSchema = z.strictObject({
  dataDir: z.string().min(1).default(DATA_DIR_DEFAULT),
  nodes: z.number().int().min(1).max(64).optional(),
  shards: z.number().int().min(1).max(256).optional(),
  replicas: z.number().int().min(1).max(9).optional(),
  /** The controller's port; 0 picks a free one. */
  port: port.default(CONTROLLER_PORT_DEFAULT),
  /** Every listener binds here. */
  host: z.string().min(1).default('127.0.0.1'),
  /** `embedded` or a postgres:// URL. */
  pg: z.string().min(1).default('embedded'),
  /** `local`, `local-cluster`, or nats:// URLs (comma-separated). */
  nats: z.string().min(1).default('local'),
  raft: RaftSettingsSchema.pick({ tickMs: true, electionTicks: true, heartbeatTicks: true })
    // Omitted: the node's default (shards/node/config.ts). A soak lowers it to see the log compacted within its run.
    .extend({ snapshotEveryEntries: z.number().int().min(1).optional(), walSegmentBytesMax: z.number().int().min(1024).optional(), walPreallocateBytes: z.number().int().min(0).optional() })
    .prefault({}),
  gm: GmSettingsSchema.prefault({}),
  /** Compositor worker processes (issue 6); 0 runs none (events then wait in the register). */
  compositors: z.number().int().min(0).max(64).default(1),
  /** Director settings passed to every node (directors/config.ts validates them there), e.g. { deliveryTimeoutMs }. */
  directors: z.record(z.string(), z.unknown()).default({}),
  /** Eventual-state (CRDT) settings passed to every node (shards/node/eventual_settings.ts validates them), e.g. { compactBytes }. */
  eventual: z.record(z.string(), z.unknown()).default({}),
  /** The transport's JetStream limits (omitted: transportStreams' defaults); a soak scales them down so pruning happens within its run. */
  streams: z
    .strictObject({
      eventsMaxAgeMs: z.number().int().min(1000).optional(),
      eventsMaxBytes: z.number().int().min(1024).optional(),
      districtsMaxAgeMs: z.number().int().min(1000).optional(),
      districtsMaxBytes: z.number().int().min(1024).optional(),
      /** JetStream refuses a duplicate window longer than max_age: scale it with eventsMaxAgeMs. */
      duplicateWindowMs: z.number().int().min(100).optional(),
    })
    .default({}),
  /** How long the relays keep journal rows after JetStream acknowledged them (omitted: the relay's default). */
  relayJournalRetentionMs: z.number().int().min(0).optional(),
  nodeReadyTimeoutMs: z.number().int().min(1).default(90_000),
  bootstrapTimeoutMs: z.number().int().min(1).default(90_000),
});

export type UpOptionsInput = z.input<typeof UpOptionsSchema>;
export type UpOptions = z.output<typeof UpOptionsSchema>;

export function parseUpOptions(input: UpOptionsInput): UpOptions {
  const r = UpOptionsSchema.safeParse(input);
  if (!r.success) {
    throw new Error(`invalid options: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}
