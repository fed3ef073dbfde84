// Many district coordinators in one process, on shared connections (one Postgres pool, one lock
// session, one NATS connection per path), as `nimmer up` runs them. Districts are data — an event
// names whichever it unfolds into — so the host discovers them: every district with canon waiting in
// the backlog, with deliveries, or with a coordinator row from an earlier run gets a coordinator,
// plus those configured up front. Bounded by `districtsMax` (the rest are counted, not served).
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { z } from 'zod';
import { DistrictConfigSchema } from './config.ts';
import { DistrictCoordinator, type CoordinatorStats, type SharedConnections } from './coordinator.ts';
import type { DistrictMode } from './health.ts';

const token = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

export const DistrictHostConfigSchema = z.strictObject({
  eventsServers: z.array(z.string().min(1)).min(1),
  /** The district (fallback) path; default the events servers. */
  districtServers: z.array(z.string().min(1)).min(1).optional(),
  /** Districts served from the start (others are discovered). */
  districts: z.array(token).max(1_000).default([]),
  districtsMax: z.number().int().min(1).max(1_000).default(64),
  discoverMs: z.number().int().min(10).max(600_000).default(1_000),
  /** Postgres connections shared by every coordinator of the host (plus one lock session). */
  poolMax: z.number().int().min(1).max(100).default(6),
  /** Settings every coordinator gets (tickMs, lagThresholdMs, …; see config.ts). */
  coordinator: DistrictConfigSchema.omit({ district: true, eventsServers: true, districtServers: true }).partial().default({}),
});
export type DistrictHostConfig = z.infer<typeof DistrictHostConfigSchema>;
export type DistrictHostConfigInput = z.input<typeof DistrictHostConfigSchema>;

export interface DistrictView {
  district: string;
  /** Which path delivers this district's canon now. */
  mode: DistrictMode;
  /** This host holds the district's lock (false: another host's coordinator is active, this one waits). */
  active: boolean;
  /** The coordinator's own delivery path (NATS) is up. */
  pathUp: boolean;
  stats: CoordinatorStats;
}

export interface DistrictHostView {
  districts: DistrictView[];
  /** Districts discovered beyond districtsMax (or not a valid token): nobody here serves them. */
  unserved: string[];
  lastError: string | null;
}

export class DistrictHost {
  private readonly coordinators = new Map<string, DistrictCoordinator>();
  private readonly unserved = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private discovering: Promise<void> | null = null;
  private stopped = false;
  private lastError: Error | null = null;

  private constructor(
    readonly config: DistrictHostConfig,
    private readonly shared: SharedConnections,
  ) {}

  static async start(pgUrl: string, input: DistrictHostConfigInput, name = 'district-host'): Promise<DistrictHost> {
    const config = DistrictHostConfigSchema.parse(input);
    const pool = new pg.Pool({ connectionString: pgUrl, max: config.poolMax });
    pool.on('error', () => undefined); // an idle connection dropped: the next query opens another
    const lockClient = new pg.Client({ connectionString: pgUrl });
    const opened: Array<{ close(): Promise<void> }> = [];
    try {
      await lockClient.connect();
      opened.push({ close: () => lockClient.end() });
      const natsOpts = { reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250, name };
      const districtNc: NatsConnection = await connect({ ...natsOpts, servers: config.districtServers ?? config.eventsServers, ignoreClusterUpdates: true });
      opened.push(districtNc);
      const eventsNc = config.districtServers === undefined ? districtNc : await connect({ ...natsOpts, servers: config.eventsServers });
      if (eventsNc !== districtNc) opened.push(eventsNc);
      const host = new DistrictHost(config, { pool, lockClient, eventsNc, districtNc });
      lockClient.on('error', (e) => {
        host.lastError = e;
        for (const c of host.coordinators.values()) c.lockLost(e);
      });
      for (const d of config.districts) host.serve(d);
      await host.discover();
      host.timer = setInterval(() => void host.discover(), config.discoverMs);
      return host;
    } catch (e) {
      for (const o of opened.reverse()) await o.close().catch(() => undefined);
      await pool.end();
      throw e;
    }
  }

  view(): DistrictHostView {
    return {
      districts: [...this.coordinators].map(([district, c]) => ({ district, mode: c.mode, active: c.isActive, pathUp: c.ownPathUp, stats: { ...c.stats } })),
      unserved: [...this.unserved],
      lastError: this.lastError?.message ?? null,
    };
  }

  /** Looks for districts with work and starts a coordinator for each new one; never overlaps. */
  discover(): Promise<void> {
    this.discovering ??= this.discoverOnce()
      .catch((e: Error) => {
        this.lastError = e;
      })
      .finally(() => (this.discovering = null));
    return this.discovering;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.discovering;
    await Promise.all([...this.coordinators.values()].map((c) => c.stop().catch(() => undefined)));
    const { districtNc, eventsNc, lockClient, pool } = this.shared;
    await districtNc.close().catch(() => undefined);
    if (eventsNc !== districtNc) await eventsNc.close().catch(() => undefined);
    await lockClient.end().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }

  private async discoverOnce(): Promise<void> {
    if (this.stopped) return;
    const r = await this.shared.pool.query<{ district: string }>(
      `SELECT district FROM nimmer.district_backlog
       UNION SELECT owner_district FROM nimmer.district_delivery
       UNION SELECT district FROM nimmer.district_coordinator`,
    );
    for (const { district } of r.rows) if (!this.stopped) this.serve(district);
  }

  private serve(district: string): void {
    if (this.coordinators.has(district) || this.unserved.has(district)) return;
    if (this.coordinators.size >= this.config.districtsMax || !token.safeParse(district).success) {
      this.unserved.add(district);
      return;
    }
    this.coordinators.set(
      district,
      DistrictCoordinator.attach(this.shared, {
        ...this.config.coordinator,
        district,
        eventsServers: this.config.eventsServers,
        districtServers: this.config.districtServers ?? this.config.eventsServers,
      }),
    );
  }
}
