// Directors in the node process (issue 6): when the cluster has a Postgres, this node runs the
// director routines of the events of every shard it leads — under its Raft term, so a deposed
// leader's routines are fenced — and closes them through its own proposer. Starting never blocks
// the node: the register is migrated and the host started in the background, retried until
// Postgres answers.
import pg from 'pg';
import { defaultCatalogue } from '../../catalogue/index.ts';
import {
  acknowledgeDelivery,
  DeliveryFollower,
  DIRECTORS_MIGRATIONS,
  DirectorNodeHost,
  DirectorSupervisor,
  directorConfig,
  listenComposed,
  listenDelivered,
  PgRegisterStore,
  readRegisterSnapshot,
  type AckResult,
  type DirectorConfigInput,
  type GatewayResult,
  type HostedShardView,
  type RegisterSnapshot,
  type ShardGateway,
} from '../../directors/index.ts';
import { migrate, TRANSPORT_MIGRATIONS } from '../../transport/index.ts';
import type { GmCommand, GmResult } from '../index.ts';
import type { GmNode, NodeLogger } from './gm_node.ts';

const RETRY_START_MS = 2_000;

export interface Directing {
  /** Null until the register is reachable. */
  supervisor(): DirectorSupervisor | null;
  /** What Postgres knows about an event (register, flag, canon, acks, journal); throws while the register is unreachable. */
  snapshot(uid: string): Promise<RegisterSnapshot>;
  /** A player's delivery acknowledgement (idempotent). */
  acknowledge(uid: string, participant: string, canonIds?: readonly number[]): Promise<AckResult>;
  /** Routines waiting for delivery acknowledgements. */
  deliveryWaiting(): number;
  close(): Promise<void>;
}

function gatewayFor(node: GmNode): ShardGateway {
  const propose = async (shardId: string, cmd: GmCommand): Promise<GatewayResult> => {
    const hosted = node.hostedShard(shardId);
    if (!hosted) throw new Error(`shard ${shardId} is no longer hosted on node n${node.id}; the routine stops at its next fenced write`);
    const { result } = await node.proposeGm(hosted, cmd);
    const r = result as GmResult & { code?: string; message?: string };
    if (r.ok) return 'applied';
    if (r.code === 'conflict') return 'already';
    if (r.code === 'not_found') return 'unknown_event';
    throw new Error(`shard ${shardId} refused ${cmd.type}: ${r.message ?? r.code}`);
  };
  return {
    applyOutcome: (p) => propose(p.shard, { type: 'applyOutcome', commandId: p.commandId, eventUid: p.eventUid, outcome: p.outcome }),
    closeEvent: (p) => propose(p.shard, { type: 'closeEvent', commandId: p.commandId, eventUid: p.eventUid }),
  };
}

function shardViews(node: GmNode): HostedShardView[] {
  const views: HostedShardView[] = [];
  for (const id of node.hostedShardIds()) {
    const h = node.hostedShard(id);
    if (!h || h.closed || h.sm.initializedShardId === null || !node.raft.hasGroup(h.record.groupId)) continue;
    const st = node.raft.status(h.record.groupId);
    views.push({ id, leaderTerm: st.role === 'leader' ? st.term : null, version: h.sm.applied, events: () => Object.entries(h.sm.state().active) });
  }
  return views;
}

export function startDirecting(node: GmNode, postgresUrl: string, log: NodeLogger, configInput: DirectorConfigInput = {}): Directing {
  const config = directorConfig(configInput);
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 8 });
  pool.on('error', (e) => log.warn({ err: e.message }, 'directors: idle Postgres connection failed'));
  let supervisor: DirectorSupervisor | null = null;
  let stopListening: (() => Promise<void>) | null = null;
  let stopListeningDelivered: (() => Promise<void>) | null = null;
  let timer: NodeJS.Timeout | null = null;
  let journalTimer: NodeJS.Timeout | null = null;
  const follower = new DeliveryFollower(pool, {
    timeoutMs: config.deliveryTimeoutMs,
    pollMs: config.deliveryPollMs,
    batchMax: config.composedPollBatch,
    onEnd: (uid, end) => {
      if (end === 'partial') log.warn({ uid }, 'directors: delivery ended partial (not every participant acknowledged before the deadline); journalled');
    },
  });
  let closed = false;

  const start = async (): Promise<void> => {
    if (closed) return;
    try {
      const c = await pool.connect();
      try {
        await migrate(c, TRANSPORT_MIGRATIONS);
        await migrate(c, DIRECTORS_MIGRATIONS);
      } finally {
        c.release();
      }
      let host: DirectorNodeHost | null = null;
      const sup = new DirectorSupervisor({
        store: new PgRegisterStore(pool),
        gateway: gatewayFor(node),
        catalogue: () => node.catalogue() ?? defaultCatalogue(),
        config,
        onEscalate: (shard, e) => {
          log.error({ shard, err: e instanceof Error ? e.message : String(e) }, 'directors: shard exceeded the restart intensity; its routines stopped, restarting after a backoff');
          host?.escalated(shard);
        },
        onCrash: (uid, e) => log.warn({ uid, err: e instanceof Error ? e.message : String(e) }, 'directors: routine crashed; restarting from the register'),
        awaitDelivered: follower.awaitDelivered,
      });
      host = new DirectorNodeHost(sup, { escalationBackoffMs: config.escalationBackoffMs });
      stopListening = await listenComposed(postgresUrl, (uid) => sup.notifyComposed(uid), (e) => log.warn({ err: e.message }, 'directors: composed-notification listener failed; polling continues'));
      stopListeningDelivered = await listenDelivered(postgresUrl, follower, (e) => log.warn({ err: e.message }, 'directors: delivery-notification listener failed; polling continues'));
      if (closed) {
        sup.close();
        return;
      }
      supervisor = sup;
      const h = host;
      timer = setInterval(() => {
        try {
          h.reconcile(shardViews(node));
        } catch (e) {
          log.warn({ err: e instanceof Error ? e.message : String(e) }, 'directors: reconcile failed; retrying');
        }
      }, config.reconcileMs);
      // Every node prunes the journal (idempotent; bounded per pass).
      journalTimer = setInterval(() => {
        pool.query('SELECT nimmer.journal_prune($1, $2)', [config.journalWindowMs, config.journalPruneRowsMax]).catch((e: unknown) => log.warn({ err: e instanceof Error ? e.message : String(e) }, 'directors: journal pruning failed; retrying'));
      }, config.journalPruneMs);
      journalTimer.unref();
      log.info({ postgres: postgresUrl.replace(/:[^:@/]*@/, ':***@') }, 'directors started');
    } catch (e) {
      log.warn({ err: e instanceof Error ? e.message : String(e) }, `directors: the register is not reachable; retrying in ${RETRY_START_MS} ms`);
      setTimeout(() => void start(), RETRY_START_MS).unref();
    }
  };
  void start();

  return {
    supervisor: () => supervisor,
    snapshot: (uid) => readRegisterSnapshot(pool, uid),
    acknowledge: (uid, participant, canonIds) => acknowledgeDelivery(pool, uid, participant, canonIds),
    deliveryWaiting: () => follower.waiting,
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      if (journalTimer) clearInterval(journalTimer);
      follower.close();
      supervisor?.close();
      await stopListening?.().catch(() => undefined);
      await stopListeningDelivered?.().catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}
