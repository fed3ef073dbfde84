// A district coordinator (Option B): tails the stream to confirm canon rows reached JetStream; when the
// stream path is unhealthy it hands its district's unconfirmed rows to the fallback, which delivers
// each one to every participant over NATS core request/reply (online: now, with retries; offline:
// queued until the player announces itself at login). When its own delivery path is down it hands
// its deliveries to a live neighbour through Postgres, and it adopts a dead neighbour's deliveries.
// One active coordinator per district (a Postgres advisory lock); a second one waits as standby.
import { connect, errors as natsErrors, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import pg from 'pg';
import { CANON_COLUMNS, canonMessageOfRow, type CanonRow } from './canon_rows.ts';
import { DistrictConfigSchema, type DistrictConfig, type DistrictConfigInput } from './config.ts';
import { decideMode, initialHealth, retryDelayMs, type DistrictMode, type HealthState } from './health.ts';
import { DeliveryReplySchema, playerInboxSubject, PRESENCE_SUBJECT, PresenceSchema, type DeliveryRequest } from './package.ts';
import { StreamTail } from './tail.ts';

export interface CoordinatorStats {
  confirmedByStream: number;
  handedToFallback: number;
  delivered: number;
  duplicatesAtPlayer: number;
  queuedForLogin: number;
  retried: number;
  handedToNeighbour: number;
  adoptedFromNeighbour: number;
  /** Backlog rows of a neighbour without a live coordinator, delivered from here. */
  adoptedBacklog: number;
  modeSwitches: number;
  tickErrors: number;
}

/** What a host running many coordinators shares among them (host.ts). */
export interface SharedConnections {
  readonly pool: pg.Pool;
  readonly lockClient: pg.Client;
  readonly eventsNc: NatsConnection;
  readonly districtNc: NatsConnection;
}

type DeliveryRow = CanonRow & { player_id: string; attempts: number };
type Outcome = { kind: 'ok'; applied: number; duplicates: number } | { kind: 'offline' } | { kind: 'failed'; pathDown: boolean };

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const STANDBY_RETRY_TICKS = 10;

export class DistrictCoordinator {
  readonly config: DistrictConfig;
  readonly stats: CoordinatorStats = {
    confirmedByStream: 0, handedToFallback: 0, delivered: 0, duplicatesAtPlayer: 0, queuedForLogin: 0,
    retried: 0, handedToNeighbour: 0, adoptedFromNeighbour: 0, adoptedBacklog: 0, modeSwitches: 0, tickErrors: 0,
  };
  lastError: Error | null = null;

  private health: HealthState = initialHealth();
  private pathUp = true;
  private active = false;
  private stopped = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private lastProbeMs = 0;
  private lastLoginRecheckMs = 0;
  private standbyTicks = 0;
  private presence: Subscription | null = null;
  private readonly playersOnline = new Set<string>();

  private constructor(
    config: DistrictConfig,
    private readonly pool: pg.Pool,
    private readonly lockClient: pg.Client,
    private readonly eventsNc: NatsConnection,
    private readonly districtNc: NatsConnection,
    private readonly tail: StreamTail,
    /** False when the connections belong to a host running many coordinators (attach): stop() leaves them open. */
    private readonly ownsConnections = true,
  ) {
    this.config = config;
  }

  /**
   * A coordinator on connections shared with other districts' (see host.ts): one Postgres pool, one
   * session holding every district's advisory lock, one NATS connection per path. The owner of the
   * lock session calls lockLost() when it fails; stop() closes only this coordinator's own tail.
   */
  static attach(shared: SharedConnections, input: DistrictConfigInput): DistrictCoordinator {
    const config = DistrictConfigSchema.parse(input);
    const tail = new StreamTail(shared.eventsNc, config.stream, config.district, config.healthProbeTimeoutMs, config.tailExpiresMs);
    const c = new DistrictCoordinator(config, shared.pool, shared.lockClient, shared.eventsNc, shared.districtNc, tail, false);
    c.watchPath();
    c.presence = shared.districtNc.subscribe(PRESENCE_SUBJECT, { callback: (_e, m) => c.onPresence(m.data) });
    c.schedule(0);
    return c;
  }

  static async start(pgUrl: string, input: DistrictConfigInput): Promise<DistrictCoordinator> {
    const config = DistrictConfigSchema.parse(input);
    const pool = new pg.Pool({ connectionString: pgUrl, max: 4 });
    const lockClient = new pg.Client({ connectionString: pgUrl });
    const opened: { close(): Promise<void> }[] = [];
    try {
      await lockClient.connect();
      opened.push({ close: () => lockClient.end() });
      const natsOpts = { reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250, name: `district-${config.district}` };
      // No gossip: the district path is exactly the servers given (losing them IS losing the path).
      const districtNc = await connect({ ...natsOpts, servers: config.districtServers, ignoreClusterUpdates: true });
      opened.push(districtNc);
      const eventsNc = await connect({ ...natsOpts, servers: config.eventsServers });
      opened.push(eventsNc);
      const tail = new StreamTail(eventsNc, config.stream, config.district, config.healthProbeTimeoutMs, config.tailExpiresMs);
      const c = new DistrictCoordinator(config, pool, lockClient, eventsNc, districtNc, tail);
      lockClient.on('error', (e) => c.lockLost(e));
      c.watchPath();
      c.presence = districtNc.subscribe(PRESENCE_SUBJECT, { callback: (_e, m) => c.onPresence(m.data) });
      c.schedule(0);
      return c;
    } catch (e) {
      for (const o of opened.reverse()) await o.close().catch(() => undefined);
      await pool.end();
      throw e;
    }
  }

  get mode(): DistrictMode {
    return this.health.mode;
  }

  get isActive(): boolean {
    return this.active;
  }

  get ownPathUp(): boolean {
    return this.pathUp;
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.ticking;
    await this.tail.stop();
    this.presence?.unsubscribe();
    if (this.active && !this.ownsConnections) {
      // The shared session outlives this coordinator: give the district back so a standby can take it.
      await this.lockClient.query("SELECT pg_advisory_unlock(hashtext('nimmer.district.' || $1))", [this.config.district]).catch(() => undefined);
    }
    this.active = false;
    if (!this.ownsConnections) return;
    await this.districtNc.close().catch(() => undefined);
    await this.eventsNc.close().catch(() => undefined);
    await this.lockClient.end().catch(() => undefined);
    await this.pool.end();
  }

  /** Runs one tick now (tests and presence announcements); ticks never overlap. */
  async tickNow(): Promise<void> {
    if (this.ticking !== null) return this.ticking;
    this.ticking = this.tick()
      .catch((e: Error) => {
        this.stats.tickErrors++;
        this.lastError = e;
      })
      .finally(() => {
        this.ticking = null;
      });
    return this.ticking;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tickNow().then(() => this.schedule(this.config.tickMs));
    }, delayMs);
  }

  private async tick(): Promise<void> {
    if (!this.active && !(await this.tryBecomeActive())) return;
    const d = this.config.district;
    const now = Date.now();
    await this.pool.query(
      `INSERT INTO nimmer.district_coordinator (district, heartbeat_at, path_ok, mode) VALUES ($1, now(), $2, $3)
       ON CONFLICT (district) DO UPDATE SET heartbeat_at = now(), path_ok = $2, mode = $3`,
      [d, this.pathUp, this.health.mode],
    );
    await this.watchStream(now);
    const confirmed = this.tail.takeSeen();
    if (confirmed.length > 0) {
      const r = await this.pool.query('DELETE FROM nimmer.district_backlog WHERE canon_id = ANY($1::bigint[])', [confirmed]);
      this.stats.confirmedByStream += r.rowCount ?? 0;
    }
    const lag = await this.pool.query<{ age_ms: number | null }>(
      'SELECT (extract(epoch FROM clock_timestamp() - min(entered_at)) * 1000)::float8 AS age_ms FROM nimmer.district_backlog WHERE district = $1',
      [d],
    );
    const before = this.health.mode;
    this.health = decideMode(this.health, { nowMs: now, streamOk: this.tail.ok, oldestUnconfirmedAgeMs: lag.rows[0]?.age_ms ?? null }, this.config);
    if (this.health.mode !== before) this.stats.modeSwitches++;
    if (this.health.mode === 'fallback') await this.handToFallback();
    await this.adoptFromDeadNeighbours();
    if (!this.pathUp) await this.handToNeighbour();
    else await this.deliverDue(now);
  }

  private async tryBecomeActive(): Promise<boolean> {
    if (this.standbyTicks++ % STANDBY_RETRY_TICKS !== 0) return false;
    const r = await this.lockClient.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext('nimmer.district.' || $1)) AS ok", [this.config.district]);
    this.active = r.rows[0]?.ok === true;
    return this.active;
  }

  /** The session holding the district lock failed (called by whoever owns that session). */
  lockLost(e: Error): void {
    // The session holding the district lock is gone, so another coordinator may take over: stop acting.
    this.lastError = e;
    this.active = false;
    this.stopped = true;
  }

  private async watchStream(now: number): Promise<void> {
    if (now - this.lastProbeMs < this.config.healthProbeMs) return;
    this.lastProbeMs = now;
    const ok = await this.tail.probe();
    if (this.tail.needsRestart) await this.tail.stop();
    if (ok && !this.tail.running) {
      const r = await this.pool.query<{ t: Date | null }>('SELECT min(entered_at) AS t FROM nimmer.district_backlog WHERE district = $1', [this.config.district]);
      const oldest = r.rows[0]?.t ?? new Date(now);
      await this.tail.start(new Date(oldest.getTime() - this.config.tailStartMarginMs)).catch((e: Error) => (this.lastError = e));
    }
  }

  /** Moves unconfirmed backlog rows to per-participant deliveries, atomically. */
  private async handToFallback(): Promise<void> {
    this.stats.handedToFallback += await this.moveBacklog([this.config.district], 0);
  }

  /**
   * Backlog rows of `districts` older than `minAgeMs` become deliveries owned by this coordinator:
   * one statement, so a row is either still in the backlog or has its deliveries, never neither.
   */
  private async moveBacklog(districts: string[], minAgeMs: number): Promise<number> {
    const r = await this.pool.query(
      `WITH moved AS (
         DELETE FROM nimmer.district_backlog WHERE canon_id IN (
           SELECT canon_id FROM nimmer.district_backlog
           WHERE district = ANY($1::text[]) AND entered_at <= clock_timestamp() - make_interval(secs => $3::float8 / 1000)
           ORDER BY canon_id LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING canon_id)
       INSERT INTO nimmer.district_delivery (canon_id, player_id, district, owner_district)
       SELECT c.id, p, c.district, $4 FROM moved m JOIN nimmer.canon c ON c.id = m.canon_id, unnest(c.participants) AS p
       ON CONFLICT DO NOTHING`,
      [districts, this.config.backlogBatchMax, minAgeMs, this.config.district],
    );
    return r.rowCount ?? 0;
  }

  /** Our own path is down: a neighbour with a live path delivers for us. */
  private async handToNeighbour(): Promise<void> {
    if (this.config.neighbours.length === 0) return;
    const r = await this.pool.query(
      `UPDATE nimmer.district_delivery SET owner_district = n.district, next_attempt_at = now()
       FROM (SELECT district FROM nimmer.district_coordinator
             WHERE district = ANY($2::text[]) AND path_ok AND heartbeat_at > now() - make_interval(secs => $3::float8 / 1000)
             ORDER BY district LIMIT 1) n
       WHERE owner_district = $1`,
      [this.config.district, this.config.neighbours, this.config.heartbeatStaleMs],
    );
    this.stats.handedToNeighbour += r.rowCount ?? 0;
  }

  /** A neighbour whose coordinator stopped heartbeating leaves deliveries behind: take them. */
  private async adoptFromDeadNeighbours(): Promise<void> {
    if (this.config.neighbours.length === 0 || !this.pathUp) return;
    const r = await this.pool.query(
      `UPDATE nimmer.district_delivery SET owner_district = $1, next_attempt_at = now()
       WHERE owner_district IN (SELECT district FROM nimmer.district_coordinator
                                WHERE district = ANY($2::text[]) AND (heartbeat_at <= now() - make_interval(secs => $3::float8 / 1000) OR NOT path_ok))`,
      [this.config.district, this.config.neighbours, this.config.heartbeatStaleMs],
    );
    this.stats.adoptedFromNeighbour += r.rowCount ?? 0;
    // A neighbour with no live coordinator confirms nothing: its overdue backlog is delivered from here
    // (over-delivery at worst: players dedupe what the stream also brings).
    const dead = await this.pool.query<{ district: string }>(
      `SELECT district FROM nimmer.district_coordinator
       WHERE district = ANY($1::text[]) AND heartbeat_at <= now() - make_interval(secs => $2::float8 / 1000)`,
      [this.config.neighbours, this.config.heartbeatStaleMs],
    );
    if (dead.rows.length > 0) {
      this.stats.adoptedBacklog += await this.moveBacklog(dead.rows.map((x) => x.district), this.config.lagThresholdMs);
    }
  }

  private async deliverDue(now: number): Promise<void> {
    const d = this.config.district;
    if (now - this.lastLoginRecheckMs >= this.config.loginRecheckMs) {
      this.lastLoginRecheckMs = now;
      await this.pool.query(
        "DELETE FROM nimmer.district_delivery WHERE owner_district = $1 AND state = 'login' AND enqueued_at < now() - make_interval(secs => $2::float8 / 1000)",
        [d, this.config.loginQueueTtlMs],
      );
      await this.pool.query("UPDATE nimmer.district_delivery SET state = 'pending', attempts = 0, next_attempt_at = now() WHERE owner_district = $1 AND state = 'login'", [d]);
    }
    if (this.playersOnline.size > 0) {
      const online = [...this.playersOnline];
      this.playersOnline.clear();
      await this.pool.query(
        "UPDATE nimmer.district_delivery SET state = 'pending', attempts = 0, next_attempt_at = now() WHERE owner_district = $1 AND state = 'login' AND player_id = ANY($2::text[])",
        [d, online],
      );
    }
    const due = await this.pool.query<DeliveryRow>(
      `SELECT ${CANON_COLUMNS}, d.player_id, d.attempts FROM nimmer.district_delivery d JOIN nimmer.canon c ON c.id = d.canon_id
       WHERE d.owner_district = $1 AND d.state = 'pending' AND d.next_attempt_at <= now()
       ORDER BY d.canon_id LIMIT $2`,
      [d, this.config.deliveryRowsMax],
    );
    if (due.rows.length === 0) return;
    const byPlayer = new Map<string, DeliveryRow[]>();
    for (const row of due.rows) {
      const list = byPlayer.get(row.player_id) ?? [];
      if (list.length < this.config.packagesPerDeliveryMax) list.push(row);
      byPlayer.set(row.player_id, list);
    }
    const results = await Promise.all([...byPlayer].map(async ([player, rows]) => ({ player, rows, outcome: await this.deliver(player, rows) })));
    const done: { ids: string[]; players: string[] } = { ids: [], players: [] };
    const login: typeof done = { ids: [], players: [] };
    const retry = { ids: [] as string[], players: [] as string[], states: [] as string[], delaysMs: [] as number[] };
    for (const { player, rows, outcome } of results) {
      if (outcome.kind === 'ok') {
        this.stats.delivered += outcome.applied;
        this.stats.duplicatesAtPlayer += outcome.duplicates;
        for (const r of rows) done.ids.push(r.id), done.players.push(player);
      } else if (outcome.kind === 'offline') {
        this.stats.queuedForLogin += rows.length;
        for (const r of rows) login.ids.push(r.id), login.players.push(player);
      } else {
        if (outcome.pathDown) this.pathUp = false;
        this.stats.retried += rows.length;
        for (const r of rows) {
          retry.ids.push(r.id), retry.players.push(player);
          retry.states.push(r.attempts + 1 >= this.config.attemptsMax ? 'login' : 'pending');
          retry.delaysMs.push(retryDelayMs(r.attempts, this.config.retryBaseMs, this.config.retryMaxMs));
        }
      }
    }
    if (done.ids.length > 0) {
      await this.pool.query(
        'DELETE FROM nimmer.district_delivery d USING unnest($1::bigint[], $2::text[]) AS x(canon_id, player_id) WHERE d.canon_id = x.canon_id AND d.player_id = x.player_id',
        [done.ids, done.players],
      );
    }
    if (retry.ids.length > 0) {
      await this.pool.query(
        `UPDATE nimmer.district_delivery d SET attempts = d.attempts + 1, state = x.state,
           next_attempt_at = now() + make_interval(secs => x.delay_ms / 1000)
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[]) AS x(canon_id, player_id, state, delay_ms)
         WHERE d.canon_id = x.canon_id AND d.player_id = x.player_id`,
        [retry.ids, retry.players, retry.states, retry.delaysMs],
      );
    }
    if (login.ids.length > 0) {
      await this.pool.query(
        `UPDATE nimmer.district_delivery d SET state = 'login', enqueued_at = now() FROM unnest($1::bigint[], $2::text[]) AS x(canon_id, player_id)
         WHERE d.canon_id = x.canon_id AND d.player_id = x.player_id`,
        [login.ids, login.players],
      );
    }
  }

  private async deliver(player: string, rows: DeliveryRow[]): Promise<Outcome> {
    const request: DeliveryRequest = { district: this.config.district, packages: rows.map(canonMessageOfRow) };
    try {
      const reply = await this.districtNc.request(playerInboxSubject(player), encoder.encode(JSON.stringify(request)), { timeout: this.config.deliveryTimeoutMs });
      const parsed = DeliveryReplySchema.safeParse(JSON.parse(decoder.decode(reply.data)));
      if (!parsed.success || parsed.data.applied + parsed.data.duplicates !== rows.length) return { kind: 'failed', pathDown: false };
      return { kind: 'ok', applied: parsed.data.applied, duplicates: parsed.data.duplicates };
    } catch (e) {
      const noResponders = e instanceof natsErrors.NoRespondersError || (e instanceof natsErrors.RequestError && e.isNoResponders());
      if (noResponders) return { kind: 'offline' };
      return { kind: 'failed', pathDown: this.districtNc.isClosed() || !this.pathUp };
    }
  }

  /** Tracks our own delivery path from the connection's status events. */
  private watchPath(): void {
    void (async () => {
      for await (const s of this.districtNc.status()) {
        if (s.type === 'disconnect') this.pathUp = false;
        else if (s.type === 'reconnect') this.pathUp = true;
      }
    })();
  }

  private onPresence(data: Uint8Array): void {
    try {
      const p = PresenceSchema.parse(JSON.parse(decoder.decode(data)));
      this.playersOnline.add(p.playerId);
    } catch {
      // a malformed announcement changes nothing: the login recheck covers that player
    }
  }
}
