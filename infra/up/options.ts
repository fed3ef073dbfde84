// `nimmer up`'s settings: one zod schema, defaults in one place. The shape flags (nodes, shards,
// replicas) are optional: on a data dir that already holds a cluster, the stored shape applies.
import { z } from 'zod';
import { GmSettingsSchema, RaftSettingsSchema } from '../../shards/node/config.ts';

export const NODES_DEFAULT = 3;
export const SHARDS_DEFAULT = 4;
export const REPLICAS_DEFAULT = 3;
export const CONTROLLER_PORT_DEFAULT = 7070;
export const DATA_DIR_DEFAULT = './.nimmer';
export const COMPOSITORS_MIN_DEFAULT = 1;
export const COMPOSITORS_MAX_DEFAULT = 4;

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
  /** A fixed number of compositor worker processes (issue 6); 0 runs none (events then wait in the register). Overrides min/max. */
  compositors: z.number().int().min(0).max(64).optional(),
  /** The autoscaled pool's bounds: workers follow the register's queue depth between them. */
  compositorsMin: z.number().int().min(0).max(64).default(COMPOSITORS_MIN_DEFAULT),
  compositorsMax: z.number().int().min(1).max(64).default(COMPOSITORS_MAX_DEFAULT),
  /** Autoscaling knobs (compositor/autoscale_policy.ts: upPerWorker, downPerWorker, stepMax, upCooldownMs, downStableMs). */
  compositorPolicy: z.record(z.string(), z.unknown()).default({}),
  /** How often the pool reads the queue depth. */
  compositorPoolIntervalMs: z.number().int().min(10).max(60_000).default(1_000),
  /** Each compositor's settings (compositor/config.ts validates them there), e.g. { adapter: { kind: 'builtin', slotDelayMs: 50 } }. */
  compositorConfig: z.record(z.string(), z.unknown()).default({}),
  /** District host settings (transport/district/host.ts), e.g. { coordinator: { lagThresholdMs: 1000 } }. */
  districts: z.record(z.string(), z.unknown()).optional(),
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

/** The compositor pool's bounds: `compositors` fixes both; otherwise min..max (min ≤ max). */
export function compositorBounds(o: UpOptions): { min: number; max: number } {
  if (o.compositors !== undefined) return { min: o.compositors, max: o.compositors };
  if (o.compositorsMin > o.compositorsMax) throw new Error(`--compositors-min ${o.compositorsMin} is more than --compositors-max ${o.compositorsMax}`);
  return { min: o.compositorsMin, max: o.compositorsMax };
}

export function parseUpOptions(input: UpOptionsInput): UpOptions {
  const r = UpOptionsSchema.safeParse(input);
  if (!r.success) {
    throw new Error(`invalid options: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}
