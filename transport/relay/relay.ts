// The relay: committed nimmer.publish messages, from the WAL to JetStream. Run several: the logical slot
// admits one active consumer, so exactly one relay streams while the others wait as standbys and take the
// slot within acquireRetryMs once the active one's connection is gone (process death closes it at once).
// The active relay also prunes the journal, keeping rows for journalRetentionMs after JetStream acked them,
// and the login feed (nimmer.participation, when the player migrations are installed), keeping rows for
// the EVENTS stream's max_age: past it the stream holds none of the event's canon a login could replay.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import type { Completed } from './ack_window.ts';
import { parseRelayConfig, type RelayConfig, type RelayConfigInput } from './config.ts';
import { pruneParticipation } from '../player/login_feed.ts';
import { pruneJournal } from './journal.ts';
import { LatencyReservoir } from './latency.ts';
import { formatLsn, parseLsn, type Lsn } from './lsn.ts';
import { RelaySession, SlotBusyError } from './session.ts';
import { StageTrace } from './stage_trace.ts';
import { ensureRelaySlot, readSlot } from './slot.ts';

export type RelayRole = 'starting' | 'standby' | 'active' | 'stopped';

export interface RelayLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RelayStats {
  name: string;
  role: RelayRole;
  /** Messages handed to JetStream (re-sends included). */
  publishedTotal: number;
  ackedTotal: number;
  /** Acks that said duplicate: re-sends JetStream had already stored (after a restart or takeover). */
  duplicatesTotal: number;
  txnsConfirmedTotal: number;
  inFlight: number;
  queued: number;
  confirmedLsn: string;
  /** WAL bytes between the server's current position and the confirmed one (sampled each housekeeping round). */
  lagBytes: number;
  /** Commit (Postgres commit timestamp) → last JetStream ack of the transaction, recent transactions. */
  commitToAckMsP50: number;
  commitToAckMsP99: number;
  sessionsTotal: number;
  sessionFailuresTotal: number;
  journalPrunedTotal: number;
  /** Login-feed rows (nimmer.participation) pruned past the stream's max_age. */
  participationPrunedTotal: number;
  /** CPU time this process has used (user + system), for cost per message. */
  processCpuMs: number;
}

export class Relay {
  readonly config: RelayConfig;
  private role: RelayRole = 'starting';
  private nc: NatsConnection | null = null;
  private admin: pg.Client | null = null;
  private session: RelaySession | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private running: Promise<void> | null = null;
  readonly latency = new LatencyReservoir();
  /** Per-message stage times across sessions, when config.stageTraceCapacity > 0. */
  readonly trace: StageTrace | null;
  private confirmed: Lsn = 0n;
  private lagBytes = 0;
  private counters = { published: 0, acked: 0, duplicates: 0, txns: 0, sessions: 0, failures: 0, pruned: 0, participationPruned: 0 };
  /** (time, confirmed position) samples: a journal row may go once it was confirmed journalRetentionMs ago. */
  private confirmedSamples: Array<{ atMs: number; lsn: Lsn }> = [];

  constructor(
    config: RelayConfigInput,
    private readonly log: RelayLogger,
  ) {
    this.config = parseRelayConfig(config);
    this.trace = this.config.stageTraceCapacity > 0 ? new StageTrace(this.config.stageTraceCapacity) : null;
  }

  stats(): RelayStats {
    return {
      name: this.config.name,
      role: this.role,
      publishedTotal: this.counters.published,
      ackedTotal: this.counters.acked,
      duplicatesTotal: this.counters.duplicates,
      txnsConfirmedTotal: this.counters.txns,
      inFlight: this.session?.inFlight ?? 0,
      queued: this.session?.queued ?? 0,
      confirmedLsn: formatLsn(this.confirmed),
      lagBytes: this.lagBytes,
      commitToAckMsP50: this.latency.quantile(0.5),
      commitToAckMsP99: this.latency.quantile(0.99),
      sessionsTotal: this.counters.sessions,
      sessionFailuresTotal: this.counters.failures,
      journalPrunedTotal: this.counters.pruned,
      participationPrunedTotal: this.counters.participationPruned,
      processCpuMs: (() => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      })(),
    };
  }

  get currentRole(): RelayRole {
    return this.role;
  }

  /** Runs until stop(): standby while another relay holds the slot, active otherwise. */
  start(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.session?.close();
    await this.running?.catch(() => undefined);
    await this.nc?.close().catch(() => undefined);
    await this.admin?.end().catch(() => undefined);
    this.trace?.close();
    this.role = 'stopped';
  }

  private async loop(): Promise<void> {
    let lastBusyPid: number | null = null;
    let failuresInRow = 0;
    while (!this.stopping) {
      let pauseMs = this.config.acquireRetryMs;
      const ackedBefore = this.counters.acked;
      try {
        await this.connectDependencies();
        const slot = await readSlot(this.admin!, this.config.slotName);
        if (slot === null) {
          await ensureRelaySlot(this.admin!, this.config.slotName);
          continue;
        }
        if (slot.active) {
          if (lastBusyPid !== slot.activePid) this.log.info({ activePid: slot.activePid }, 'standby: another relay holds the slot');
          lastBusyPid = slot.activePid;
          this.role = 'standby';
        } else {
          lastBusyPid = null;
          await this.runSession(parseLsn(slot.confirmedFlushLsn));
        }
        failuresInRow = 0;
      } catch (e) {
        if (e instanceof SlotBusyError) {
          this.role = 'standby';
          failuresInRow = 0;
        } else if (!this.stopping) {
          this.counters.failures++;
          // Postgres or NATS down (restart, failover, a stream electing its leader): back off exponentially so
          // relays do not hammer a server that is starting up, nor re-decode the slot in a tight loop. A session
          // that got JetStream acks was healthy: its failure starts the backoff over. The next session resumes
          // from the slot's confirmed position.
          if (this.counters.acked > ackedBefore) failuresInRow = 0;
          pauseMs = retryPauseMs(this.config.acquireRetryMs, this.config.failureRetryMaxMs, failuresInRow++);
          this.log.warn({ err: (e as Error).message, retryInMs: pauseMs }, 'relay session failed; retrying');
          await this.resetDependencies();
        }
      }
      if (!this.stopping) await this.sleep(pauseMs);
    }
  }

  private async connectDependencies(): Promise<void> {
    if (this.nc === null || this.nc.isClosed()) {
      this.nc = await connect({ servers: this.config.natsServers, name: `nimmer-${this.config.name}`, maxReconnectAttempts: -1 });
    }
    if (this.admin === null) {
      const admin = new pg.Client({ connectionString: this.config.pgUrl, application_name: `nimmer-${this.config.name}-admin` });
      admin.on('error', () => undefined); // surfaced by the next query
      await admin.connect();
      this.admin = admin;
    }
  }

  private async resetDependencies(): Promise<void> {
    const admin = this.admin;
    this.admin = null;
    await admin?.end().catch(() => undefined);
  }

  private async runSession(startLsn: Lsn): Promise<void> {
    const session = new RelaySession(this.config, this.nc!, startLsn, {
      onPublished: (n) => (this.counters.published += n),
      onAcked: (duplicate) => {
        this.counters.acked++;
        if (duplicate) this.counters.duplicates++;
      },
      onConfirmed: (done, confirmed) => this.onConfirmed(done, confirmed),
    }, this.trace);
    this.session = session;
    this.counters.sessions++;
    this.confirmed = startLsn;
    this.confirmedSamples = [];
    try {
      await session.start();
      this.role = 'active';
      this.log.info({ startLsn: formatLsn(startLsn) }, 'active: streaming from the slot');
      const housekeeping = setInterval(() => void this.housekeep(), this.config.housekeepingIntervalMs);
      const reason = await session.ended;
      clearInterval(housekeeping);
      if (!this.stopping) throw reason;
    } finally {
      await session.close();
      this.session = null;
      if (this.role === 'active') this.role = 'starting';
    }
  }

  private onConfirmed(done: Completed[], confirmed: Lsn): void {
    this.confirmed = confirmed;
    if (done.length === 0) return;
    const nowUs = BigInt(Date.now()) * 1000n;
    for (const t of done) {
      this.counters.txns++;
      if (t.messages > 0) this.latency.record(Number(nowUs - t.commitTimeUs) / 1000);
    }
  }

  private housekeeping = false;
  private async housekeep(): Promise<void> {
    if (this.housekeeping || this.admin === null || this.role !== 'active') return;
    this.housekeeping = true;
    try {
      const now = Date.now();
      this.confirmedSamples.push({ atMs: now, lsn: this.confirmed });
      let cutoff: Lsn | null = null;
      while (this.confirmedSamples.length > 0 && this.confirmedSamples[0]!.atMs <= now - this.config.journalRetentionMs) {
        cutoff = this.confirmedSamples.shift()!.lsn;
      }
      if (cutoff !== null && cutoff > 0n) this.counters.pruned += await pruneJournal(this.admin, cutoff, this.config.pruneBatchRows);
      await this.pruneLoginFeed();
      const r = await this.admin.query<{ lag: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS lag', [formatLsn(this.confirmed)]);
      this.lagBytes = Math.max(0, Number(r.rows[0]?.lag ?? 0));
    } catch (e) {
      if (!this.stopping) this.log.warn({ err: (e as Error).message }, 'housekeeping failed; retrying next round');
    } finally {
      this.housekeeping = false;
    }
  }

  /** The login feed's window is the stream's own max_age, read from the server (one source of truth). */
  private async pruneLoginFeed(): Promise<void> {
    const installed = await this.admin!.query<{ f: string | null }>("SELECT to_regproc('nimmer.participation_prune')::text AS f");
    if (installed.rows[0]?.f == null || this.nc === null) return;
    const maxAgeNs = (await (await jetstreamManager(this.nc)).streams.info(this.config.eventsStream)).config.max_age;
    // max_age 0 means the stream keeps messages forever: so does the feed.
    if (!(maxAgeNs > 0)) return;
    this.counters.participationPruned += await pruneParticipation(this.admin!, Math.ceil(maxAgeNs / 1e6), this.config.pruneBatchRows);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }
}

/** The pause after the `failuresInRow`-th consecutive failure (0-based): base, doubled each time, capped. */
export function retryPauseMs(baseMs: number, maxMs: number, failuresInRow: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(failuresInRow, 20));
}
