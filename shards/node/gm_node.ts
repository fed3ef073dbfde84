// The node process's core: hosts this node's replicas of the meta group and of the shard groups
// on the multi-raft runtime, keeps the hosted groups in line with the shard map, and runs the
// leader-side duties (initialise shards, follow catalogue bumps, move replicas, the GM tick).
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Catalogue } from '../../catalogue/index.ts';
import { defaultCatalogue, validateCatalogue } from '../../catalogue/index.ts';
import type { RaftNode } from '../../consensus/runtime/index.ts';
import { IndeterminateError, nodeName, openRaftNode, UnavailableError } from '../../consensus/runtime/index.ts';
import type { GmCommand, GmResult, MetaCommand, MetaResult, ShardRecord } from '../index.ts';
import { decideNextEvent, encodeCommand, GmStateMachine, MetaStateMachine, proposeEventCommandFor } from '../index.ts';
import type { ClusterConfig } from './config.ts';
import { metaVotersOf, peerAddress } from './config.ts';
import { pickLeaderTransfer, type LedGroupView } from './leader_balance.ts';

export const META_GROUP_ID = 1;

export interface NodeLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

interface HostedShard {
  record: ShardRecord;
  sm: GmStateMachine;
  /** Set when this node stops hosting the replica (a move took it away); see proposeGm. */
  closed: boolean;
}

export class GmNode {
  readonly id: number;
  readonly config: ClusterConfig;
  raft!: RaftNode;
  readonly meta = new MetaStateMachine();
  private readonly shards = new Map<string, HostedShard>();
  private readonly log: NodeLogger;
  private dutyTimer: NodeJS.Timeout | undefined;
  private gmTimer: NodeJS.Timeout | undefined;
  private dutyRunning = false;
  private closed = false;
  private metaAppliedSeen = -1;
  private catalogueCache: { version: number; catalogue: Catalogue } | undefined;
  /** Shards whose conf change this leader proposed and is waiting to see applied. */
  private readonly moveInFlight = new Map<string, number>();
  /** Not before this (ms since epoch): the first balance waits an interval after start, so elections settle. */
  private leaderBalanceNextMs = Date.now();

  constructor(id: number, config: ClusterConfig, log: NodeLogger) {
    if (!config.nodes.some((n) => n.id === id)) throw new Error(`node ${id} is not in the cluster config (nodes: ${config.nodes.map((n) => n.id).join(', ')})`);
    this.id = id;
    this.config = config;
    this.log = log;
  }

  async start(): Promise<void> {
    const self = this.config.nodes.find((n) => n.id === this.id)!;
    const peers: Record<number, { host: string; port: number }> = {};
    for (const n of this.config.nodes) if (n.id !== this.id) peers[n.id] = peerAddress(this.config, this.id, n.id);
    this.raft = await openRaftNode({
      nodeId: this.id,
      dataDir: path.join(this.config.dataDir, 'nodes', `n${this.id}`),
      listen: { host: self.raft.host, port: self.raft.port },
      peers,
      tickMs: this.config.raft.tickMs,
      electionTicks: this.config.raft.electionTicks,
      heartbeatTicks: this.config.raft.heartbeatTicks,
      snapshotEveryEntries: this.config.raft.snapshotEveryEntries,
      proposalTimeoutMs: this.config.raft.proposalTimeoutMs,
      wal: {
        ...(this.config.raft.walSegmentBytesMax !== undefined ? { segmentBytesMax: this.config.raft.walSegmentBytesMax } : {}),
        ...(this.config.raft.walPreallocateBytes !== undefined ? { preallocateBytes: this.config.raft.walPreallocateBytes } : {}),
      },
      seed: this.id,
      onFatal: (e) => this.log.error({ err: e.message }, 'raft runtime stopped after a storage failure'),
      onTransportLog: (e) => {
        if (e.level === 'warn') this.log.warn({ event: e.event, peer: e.peer }, e.message);
      },
    });
    const voters = metaVotersOf(this.config);
    const learners = this.config.nodes.map((n) => n.id).filter((id) => !voters.includes(id));
    this.raft.openGroup(META_GROUP_ID, this.meta, { voters, learners });
    // Shard groups recovered from disk reopen once the meta state (replayed from the log) names them.
    this.dutyTimer = setInterval(() => void this.duties(), 100);
    if (this.config.gm.enabled) this.gmTimer = setInterval(() => void this.gmTick(), this.config.gm.tickMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.dutyTimer) clearInterval(this.dutyTimer);
    if (this.gmTimer) clearInterval(this.gmTimer);
    await this.raft?.close();
  }

  // --- reads of local state --------------------------------------------------------------------

  hostedShard(id: string): HostedShard | undefined {
    return this.shards.get(id);
  }

  hostedShardIds(): string[] {
    return [...this.shards.keys()];
  }

  catalogue(): Catalogue | undefined {
    const version = this.meta.catalogueVersion();
    if (version === 0) return undefined;
    if (this.catalogueCache?.version !== version) {
      const stored = this.meta.catalogueView()!;
      this.catalogueCache = { version: stored.version, catalogue: validateCatalogue(stored.document) };
    }
    return this.catalogueCache.catalogue;
  }

  // --- commands --------------------------------------------------------------------------------

  async proposeMeta(cmd: MetaCommand): Promise<{ result: MetaResult; index: number; term: number }> {
    const r = await this.raft.propose(META_GROUP_ID, encodeCommand(cmd));
    return { result: r.result as MetaResult, index: r.index, term: r.term };
  }

  async proposeGm(shard: HostedShard, cmd: GmCommand): Promise<{ result: GmResult; index: number; term: number }> {
    try {
      const r = await this.raft.propose(shard.record.groupId, encodeCommand(cmd));
      return { result: r.result as GmResult, index: r.index, term: r.term };
    } catch (e) {
      // Closing a group fails its pending proposals as "unavailable", but they were already handed
      // to the leader (a replica removed by a move still forwards) and may commit: a 503 would be a
      // lie. They are in doubt; the client must treat them as 504.
      if (e instanceof UnavailableError && shard.closed) {
        throw new IndeterminateError(`shard ${shard.record.id} stopped being hosted on node n${this.id} (moved) while the proposal was in flight; it may still take effect`);
      }
      throw e;
    }
  }

  /** A linearizable read barrier on the meta group. */
  async metaBarrier(): Promise<void> {
    await this.raft.readIndex(META_GROUP_ID);
  }

  // --- keeping hosted groups in line with the shard map ------------------------------------------

  private reconcile(): void {
    const map = this.meta.shardMapView();
    const wanted = new Map<string, ShardRecord>();
    for (const s of map.shards) {
      if (s.replicas.includes(this.id) || (s.targetReplicas ?? []).includes(this.id)) wanted.set(s.id, s);
    }
    for (const [id, record] of wanted) {
      const hosted = this.shards.get(id);
      if (hosted) {
        hosted.record = record;
        continue;
      }
      const { dedupEntriesMax, outcomeRecordsMax } = this.config.gm;
      const sm = new GmStateMachine({ ...(dedupEntriesMax !== undefined ? { dedupEntriesMax } : {}), ...(outcomeRecordsMax !== undefined ? { outcomeRecordsMax } : {}) });
      // Founders bootstrap the group with identical first entries (ignored when the WAL already
      // has the group); a replica added by a move starts empty and learns from the leader.
      const founding = record.founders.includes(this.id);
      this.raft.openGroup(record.groupId, sm, { voters: founding ? [...record.founders] : [] });
      this.shards.set(id, { record, sm, closed: false });
      this.log.info({ shard: id, groupId: record.groupId, founding }, 'hosting shard replica');
    }
    for (const [id, hosted] of this.shards) {
      if (wanted.has(id)) continue;
      hosted.closed = true;
      this.raft.closeGroup(hosted.record.groupId);
      this.shards.delete(id);
      this.log.info({ shard: id, groupId: hosted.record.groupId }, 'stopped hosting shard replica');
    }
  }

  /** Leader duties, every 100 ms: cheap checks, proposals only when something is due. */
  private async duties(): Promise<void> {
    if (this.dutyRunning || this.closed) return;
    this.dutyRunning = true;
    try {
      const metaApplied = this.meta.applied;
      if (metaApplied !== this.metaAppliedSeen) {
        this.metaAppliedSeen = metaApplied;
        this.reconcile();
      }
      if (this.raft.leaderOf(META_GROUP_ID) === this.id) {
        await this.registerAllNodes();
        if (this.meta.catalogueVersion() === 0) {
          // A new cluster starts from the catalogue shipped in the repo (version 1).
          await this.proposeMeta({ type: 'setCatalogue', commandId: 'catalogue-default', catalogue: defaultCatalogue() });
        }
      }
      const catalogue = this.catalogue();
      for (const shard of this.shards.values()) {
        if (this.raft.status(shard.record.groupId).role !== 'leader') continue;
        await this.shardLeaderDuties(shard, catalogue);
      }
      this.balanceLeaders();
    } catch (e) {
      if (!(e instanceof UnavailableError || e instanceof IndeterminateError)) this.log.warn({ err: (e as Error).message }, 'leader duty failed; will retry');
    } finally {
      this.dutyRunning = false;
    }
  }

  /** At most one leadership hand-over per leaderBalanceIntervalMs (shards/node/leader_balance.ts). */
  private balanceLeaders(): void {
    const every = this.config.raft.leaderBalanceIntervalMs;
    const now = Date.now();
    if (every === 0 || now < this.leaderBalanceNextMs) return;
    this.leaderBalanceNextMs = now + every;
    const views: LedGroupView[] = [];
    const shardOfGroup = new Map<number, string>();
    for (const shard of this.shards.values()) {
      // A shard being moved changes its voters: the move's own steps decide its leadership meanwhile.
      if (shard.closed || shard.record.state === 'moving') continue;
      const st = this.raft.status(shard.record.groupId);
      views.push({ groupId: shard.record.groupId, leader: st.leader, voters: st.config.voters });
      shardOfGroup.set(shard.record.groupId, shard.record.id);
    }
    const pick = pickLeaderTransfer(this.id, views, (groupId, to) => {
      if (!this.raft.isPeerUp(to)) return false;
      const st = this.raft.status(groupId);
      return (this.raft.progressOf(groupId)?.[to]?.match ?? -1) >= st.lastIndex;
    });
    if (pick === null) return;
    this.log.info({ shard: shardOfGroup.get(pick.groupId), groupId: pick.groupId, to: nodeName(pick.to) }, 'leader balance: handing the shard to a replica that leads fewer');
    this.raft.transferLeader(pick.groupId, pick.to);
  }

  private async registerAllNodes(): Promise<void> {
    const known = new Set(this.meta.nodes().map((n) => n.id));
    for (const n of this.config.nodes) {
      if (known.has(n.id)) continue;
      await this.proposeMeta({ type: 'registerNode', commandId: `register-n${n.id}`, id: n.id, raftAddress: `${n.raft.host}:${n.raft.port}`, httpUrl: `http://${n.http.host}:${n.http.port}` });
    }
  }

  private async shardLeaderDuties(shard: HostedShard, catalogue: Catalogue | undefined): Promise<void> {
    const id = shard.record.id;
    const version = this.meta.catalogueVersion();
    const axes = () => catalogue!.axes.map((a) => ({ id: a.id, min: a.min, max: a.max, target: a.target, tolerance: a.tolerance }));
    if (catalogue && shard.sm.initializedShardId === null) {
      await this.proposeGm(shard, { type: 'init', commandId: `init-${id}-g${shard.record.groupId}`, shardId: id, groupId: shard.record.groupId, catalogueVersion: version, axes: axes() });
      return;
    }
    if (catalogue && shard.sm.initializedShardId !== null && shard.sm.version < version) {
      await this.proposeGm(shard, { type: 'setCatalogueVersion', commandId: `catalogue-${id}-v${version}`, version, axes: axes() });
    }
    if (shard.record.state === 'moving' && shard.record.targetReplicas) await this.stepMove(shard);
  }

  /**
   * Moves the group toward the target replicas one membership change at a time: add a missing
   * replica as a learner, promote it once it has caught up, then remove replicas not in the
   * target; when the configuration equals the target, record finishMove in the meta group.
   */
  private async stepMove(shard: HostedShard): Promise<void> {
    const g = shard.record.groupId;
    const target = shard.record.targetReplicas!;
    const st = this.raft.status(g);
    const pending = this.moveInFlight.get(shard.record.id);
    if (pending !== undefined && st.appliedIndex < pending) return;
    const conf = st.config;
    if (conf.votersOutgoing.length > 0) return; // a joint configuration is being left
    const voters = new Set(conf.voters);
    const learners = new Set(conf.learners);
    const progress = this.raft.progressOf(g);
    for (const n of target) {
      if (voters.has(n)) continue;
      if (!learners.has(n)) {
        this.raft.proposeConfChange(g, { transition: 'auto', changes: [{ type: 'addLearner', replica: n }] });
        this.moveInFlight.set(shard.record.id, st.lastIndex + 1);
        this.log.info({ shard: shard.record.id, replica: n }, 'move: adding learner');
        return;
      }
      const pr = progress?.[n];
      if (pr && pr.match >= st.commitIndex) {
        this.raft.proposeConfChange(g, { transition: 'auto', changes: [{ type: 'addVoter', replica: n }] });
        this.moveInFlight.set(shard.record.id, st.lastIndex + 1);
        this.log.info({ shard: shard.record.id, replica: n }, 'move: promoting caught-up learner');
      }
      return;
    }
    for (const n of voters) {
      if (target.includes(n)) continue;
      if (n === this.id) {
        // Hand leadership to a target replica first; the new leader removes us.
        const to = target.find((t) => voters.has(t) && t !== this.id);
        if (to !== undefined) this.raft.transferLeader(g, to);
        return;
      }
      this.raft.proposeConfChange(g, { transition: 'auto', changes: [{ type: 'removeVoter', replica: n }] });
      this.moveInFlight.set(shard.record.id, st.lastIndex + 1);
      this.log.info({ shard: shard.record.id, replica: n }, 'move: removing replica');
      return;
    }
    for (const n of learners) {
      if (target.includes(n)) continue;
      this.raft.proposeConfChange(g, { transition: 'auto', changes: [{ type: 'removeVoter', replica: n }] });
      this.moveInFlight.set(shard.record.id, st.lastIndex + 1);
      return;
    }
    this.moveInFlight.delete(shard.record.id);
    await this.proposeMeta({ type: 'finishMove', commandId: `finish-move-${shard.record.id}-m${this.meta.shardMap().version}`, shard: shard.record.id });
  }

  /** The GM tick: on each shard this node leads, propose the event that reduces deviation most. */
  private async gmTick(): Promise<void> {
    if (this.closed) return;
    const catalogue = this.catalogue();
    if (!catalogue) return;
    for (const shard of this.shards.values()) {
      try {
        if (this.raft.status(shard.record.groupId).role !== 'leader') continue;
        const st = shard.sm.state();
        if (st.shardId === null) continue;
        const decision = decideNextEvent(st, catalogue, shard.record.key, { budgetActiveEventsMax: this.config.gm.budgetActiveEventsMax });
        if (!decision) continue;
        // The command id is a function of the state the decision was made on: a retried tick
        // before the state moves proposes the same command, which the state machine deduplicates.
        await this.proposeGm(shard, proposeEventCommandFor(decision, `gm-${shard.record.id}-${st.appliedIndex}`));
      } catch (e) {
        if (!(e instanceof UnavailableError || e instanceof IndeterminateError)) this.log.warn({ shard: shard.record.id, err: (e as Error).message }, 'GM tick failed');
      }
    }
  }
}

export function newCommandId(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}
