// The relay's settings, validated, with every default in one place.
import { z } from 'zod';
import { EVENTS_STREAM } from '../subject.ts';

export const RelayConfigSchema = z.object({
  /** Postgres URL (a normal connection and a replication connection are opened to it). */
  pgUrl: z.string().min(1),
  natsServers: z.array(z.string().min(1)).min(1),
  /** Names this relay in logs and metrics (e.g. relay-1). */
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('relay'),
  /** The logical replication slot: it admits one active consumer, which makes the others standbys. */
  slotName: z.string().regex(/^[a-z0-9_]{1,63}$/).default('nimmer_relay'),
  publicationName: z.string().regex(/^[a-z0-9_]{1,63}$/).default('nimmer_relay'),
  /** Messages handed to JetStream and not yet acknowledged, at most. */
  inFlightMax: z.number().int().min(1).max(100_000).default(1024),
  /** How long JetStream may take to acknowledge one publish before the session restarts. */
  publishTimeoutMs: z.number().int().min(100).default(10_000),
  /** How often the confirmed position is sent to Postgres (it is also sent when Postgres asks). */
  statusIntervalMs: z.number().int().min(10).max(10_000).default(100),
  /** A standby retries taking the slot this often; also the pause after a failed session. */
  acquireRetryMs: z.number().int().min(10).max(60_000).default(500),
  /** After consecutive failed sessions (Postgres or NATS unreachable) the pause doubles from acquireRetryMs up to this. */
  failureRetryMaxMs: z.number().int().min(10).max(300_000).default(5_000),
  /** Journal rows stay at least this long after JetStream acknowledged them (nats-server 2.9.10 fsyncs every 2 min). */
  journalRetentionMs: z.number().int().min(0).default(10 * 60_000),
  /** How often the active relay prunes the journal and samples the slot's lag. */
  housekeepingIntervalMs: z.number().int().min(50).default(5_000),
  /** The stream canon lands in: its max_age is the login feed's (nimmer.participation) retention. */
  eventsStream: z.string().min(1).default(EVENTS_STREAM),
  /** Journal (and login-feed) rows deleted per statement, at most. */
  pruneBatchRows: z.number().int().min(1).default(50_000),
  /** Per-message stage times kept for the benchmark (stage_trace.ts), most recent first; 0 = off. */
  stageTraceCapacity: z.number().int().min(0).max(10_000_000).default(0),
});
export type RelayConfigInput = z.input<typeof RelayConfigSchema>;
export type RelayConfig = z.output<typeof RelayConfigSchema>;

export function parseRelayConfig(input: RelayConfigInput): RelayConfig {
  const r = RelayConfigSchema.safeParse(input);
  if (!r.success) throw new Error(`relay config: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}
