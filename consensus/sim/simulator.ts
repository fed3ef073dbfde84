// The deterministic simulation of a Raft cluster (in the spirit of TigerBeetle's VOPR and etcd's
// and CockroachDB's random tests). One seeded PRNG drives everything: the cluster shape, Raft's
// timeouts, the network, the disk, the clients and the nemesis. Time is simulated; a run is a
// pure function of its options, so any failure replays exactly from its seed.
//
// A run has two phases. The fault phase processes `steps` events while the nemesis partitions,
// crashes, reconfigures and transfers leadership. The liveness phase then heals everything and
// requires a leader, progress, and convergence within bounded simulated time. Invariants are
// checked after every event of both phases; the client history is checked for linearizability
// at the end.
import { checkOperations, kvModel, type KvOutput } from '../check/index.ts';
import { encodeConfChange, isMember, ProposalDroppedError } from '../raft/index.ts';
import type { ConfState, Entry, Message, ReplicaId } from '../raft/index.ts';
import { ClientPool, type ClientRequest } from './clients.ts';
import { EventQueue } from './event-queue.ts';
import { InvariantChecker, SimViolation } from './invariants.ts';
import { decodeCommand, encodeCommand, type KvCommand, type KvResult } from './kv.ts';
import { chooseConfChange, describeConfState, isJoint, members } from './membership.ts';
import { cloneMessage, SimNetwork, type PartitionKind } from './network.ts';
import { SimNode, type NodeHost, type PendingRead, type RaftKnobs } from './node.ts';
import { FAULT_PROFILES, replayCommand, resolveSimOptions, type FaultProfile, type ResolvedSimOptions, type SimBug, type SimOptions } from './options.ts';
import { pickWeighted, SimRandom } from './prng.ts';
import { newStats, type SimStats } from './stats.ts';

type SimEvent =
  | { kind: 'tick'; id: ReplicaId; incarnation: number }
  | { kind: 'fsync'; id: ReplicaId; incarnation: number }
  | { kind: 'deliver'; m: Message; fromIncarnation: number }
  | { kind: 'restart'; id: ReplicaId }
  | { kind: 'stop'; id: ReplicaId; removedAt: number; remaining: ReplicaId[] }
  | { kind: 'unstall'; id: ReplicaId; incarnation: number }
  | { kind: 'nemesis' }
  | { kind: 'admin' }
  | { kind: 'clientWake'; clientId: number }
  | { kind: 'requestArrive'; requestId: number; target: ReplicaId }
  | { kind: 'reply'; requestId: number; outcome: AttemptOutcome; output: KvOutput | undefined }
  | { kind: 'retry'; requestId: number }
  | { kind: 'requestTimeout'; requestId: number };

/** What a replica answered to one attempt: done, definitely not done, or connection lost (unknown). */
type AttemptOutcome = 'ok' | 'fail' | 'unknown';

export interface SimHooks {
  /** Receives a line per event and decision (the --verbose trace). */
  trace?: (line: string) => void;
}

/** Base tick length; each node's clock drifts a little around it. */
const TICK_MS = 10;
const CLOCK_DRIFT_MAX = 0.05;
/**
 * Liveness bounds, in election timeouts (electionTick ticks, doubled for the randomised spread).
 * Without pre-vote, a candidate whose log is behind keeps disrupting the one that can win, and
 * split rounds can repeat: 15 rounds were seen once in 12,000 seeds, so the bound allows 20.
 */
const LIVENESS_LEADER_ELECTION_TIMEOUTS = 20;
const LIVENESS_CONVERGENCE_ELECTION_TIMEOUTS = 40;
/** A client retries a request without an answer on another replica, with the same command id. */
const CLIENT_RETRIES_MAX = 2;
const CLIENT_RETRY_MS_MIN = 80;
const CLIENT_RETRY_MS_MAX = 200;

/** Runs one simulation; throws SimViolation (with the seed, step and replay command) on any failure. */
export function runSimulation(options: SimOptions, hooks: SimHooks = {}): SimStats {
  return new Simulation(resolveSimOptions(options), hooks).run();
}

class Simulation implements NodeHost {
  readonly random: SimRandom;
  readonly profile: FaultProfile;
  readonly bug: SimBug | undefined;
  readonly checker: InvariantChecker;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly network: SimNetwork;
  private readonly nodes = new Map<ReplicaId, SimNode>();
  private readonly tickPeriodMs = new Map<ReplicaId, number>();
  private readonly knobs: RaftKnobs;
  private readonly clients: ClientPool;
  private readonly stats: SimStats;
  private readonly traceLine: ((line: string) => void) | undefined;
  private nowMs = 0;
  private step = 0;
  private phase: 'faults' | 'liveness' = 'faults';
  private readonly nodesInitial: number;
  private readonly shrinkBias: number;
  private nextNodeId: ReplicaId;
  /** The configuration after the highest applied conf change (all replicas apply the same ones). */
  private clusterConfig: ConfState;
  private clusterConfigIndex: number;
  /** The index of the conf change that removed each former member. */
  private readonly removedAt = new Map<ReplicaId, number>();
  /** `${clientId}:${seq}` → the index where the command first took effect. */
  private readonly effects = new Map<string, number>();
  private pendingTransfer: { target: ReplicaId; term: number; untilMs: number } | undefined;
  private livenessStartMs = 0;
  private leaderSeenMs: number | undefined;
  private barrier: ClientRequest | undefined;
  private barrierOk = false;

  constructor(
    private readonly o: ResolvedSimOptions,
    hooks: SimHooks,
  ) {
    this.random = new SimRandom(o.seed);
    this.profile = FAULT_PROFILES[o.faultProfile];
    this.bug = o.bug;
    this.traceLine = hooks.trace;
    this.stats = newStats(o.seed);
    this.checker = new InvariantChecker({
      fail: (invariant, detail) => {
        throw this.violation(invariant, detail);
      },
      checkAckDurability: o.checkAckDurability,
    });
    const r = this.random;
    const p = this.profile;
    // The run's shape, drawn first so that it depends on the seed alone.
    this.nodesInitial = o.nodes ?? (r.chance(0.5) ? 3 : 5);
    const electionTick = r.between(4, 10);
    this.knobs = {
      electionTick,
      heartbeatTick: r.between(1, Math.max(1, Math.floor(electionTick / 2))),
      preVote: r.chance(0.5),
      checkQuorum: r.chance(0.5),
      inflightMsgsMax: r.pick([1, 4, 16, 256]),
      messageBytesMax: r.pick([64, 512, 1 << 20]),
      committedBytesPerReadyMax: r.pick([64, 1024, 64 << 20]),
      uncommittedBytesMax: r.pick([512, 4096, 64 << 20]),
      disableProposalForwarding: r.chance(0.1),
      stepDownOnRemoval: true,
      readOnlyOption: 'safe',
      asyncStorageWrites: o.storageWrites === 'async' || (o.storageWrites === 'mixed' && o.seed % 2 === 1),
      applyBeforeDurable: false,
    };
    // Half the pipelined runs apply before durable, as the runtime does (from the seed, not the
    // PRNG, so the other knobs drawn for a seed stay what they were).
    this.knobs.applyBeforeDurable = this.knobs.asyncStorageWrites && Math.floor(o.seed / 2) % 2 === 0;
    // A removed leader that does not step down keeps leading until the operator stops it.
    this.knobs.stepDownOnRemoval = r.chance(0.8);
    if (o.leaseReads && this.knobs.checkQuorum && r.chance(0.5)) this.knobs.readOnlyOption = 'leaseBased';
    this.shrinkBias = r.pick([0.3, 0.5, 0.7, 0.9]);
    this.network = new SimNetwork(r, SimNetwork.faultsOf(p));
    this.clients = new ClientPool(r, r.between(p.clientsMin, p.clientsMax), r.between(p.keysMin, p.keysMax));
    this.nextNodeId = this.nodesInitial + 1;
    const voters = Array.from({ length: this.nodesInitial }, (_, i) => i + 1);
    this.clusterConfig = { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    this.clusterConfigIndex = this.nodesInitial;
    const k = this.knobs;
    this.stats.nodesInitial = this.nodesInitial;
    this.stats.raft = { heartbeatTick: k.heartbeatTick, electionTick: k.electionTick, preVote: k.preVote, checkQuorum: k.checkQuorum, inflightMsgsMax: k.inflightMsgsMax, asyncStorageWrites: k.asyncStorageWrites, applyBeforeDurable: k.applyBeforeDurable };
  }

  run(): SimStats {
    const wallStartMs = performance.now();
    try {
      this.bootstrap();
      while (this.step < this.o.steps) this.processNext();
      this.stats.steps = this.step;
      this.enterLiveness();
      this.runLiveness();
      this.stats.livenessSteps = this.step - this.stats.steps;
      this.finalChecks();
      this.checkHistory();
    } catch (e) {
      if (e instanceof SimViolation) throw e;
      const err = e as Error;
      throw this.violation(err.name === 'AssertionError' ? 'raft-assertion' : 'no-exception', `${err.name}: ${err.message}\n${err.stack ?? ''}`);
    }
    this.fillStats();
    this.stats.wallMs = performance.now() - wallStartMs;
    return this.stats;
  }

  private violation(invariant: string, detail: string): SimViolation {
    const v = new SimViolation(invariant, detail, this.o.seed, this.step, replayCommand(this.o));
    this.trace(() => `VIOLATION ${invariant}: ${detail}`);
    return v;
  }

  private fail(invariant: string, detail: string): never {
    throw this.violation(invariant, detail);
  }

  trace(line: () => string): void {
    if (this.traceLine) this.traceLine(`${this.nowMs.toFixed(1).padStart(9)}ms #${String(this.step).padStart(6)} ${line()}`);
  }

  // --- setup -------------------------------------------------------------------------------------

  /** Initial replicas share a log whose first entries add each voter, so a replica that joins later can replay it. */
  private bootstrap(): void {
    const voters = this.clusterConfig.voters;
    const entries: Entry[] = voters.map((v, i) => ({
      term: 1,
      index: i + 1,
      type: 'confChange',
      data: encodeConfChange({ transition: 'auto', changes: [{ type: 'addVoter', replica: v }] }),
    }));
    for (const id of voters) {
      const node = this.createNode(id);
      node.storage.append(entries);
      node.storage.setHardState({ term: 1, vote: 0, commit: entries.length });
      this.startNode(node);
    }
    for (const c of this.clients.clientIds) this.queue.push(this.random.between(0, 50), { kind: 'clientWake', clientId: c });
    this.queue.push(this.random.between(this.profile.nemesisIntervalMsMin, this.profile.nemesisIntervalMsMax), { kind: 'nemesis' });
    this.trace(() => `start: ${voters.length} voters, ${JSON.stringify(this.knobs)}, ${this.clients.clientIds.length} clients on ${this.clients.keys.length} keys`);
  }

  private createNode(id: ReplicaId): SimNode {
    const p = this.profile;
    const node = new SimNode(id, this, this.knobs, this.random.between(p.snapshotEveryEntriesMin, p.snapshotEveryEntriesMax));
    this.nodes.set(id, node);
    this.tickPeriodMs.set(id, TICK_MS * (1 - CLOCK_DRIFT_MAX + 2 * CLOCK_DRIFT_MAX * this.random.float()));
    this.stats.nodesCreated++;
    return node;
  }

  private startNode(node: SimNode): void {
    node.start();
    const period = this.tickPeriodMs.get(node.id)!;
    this.queue.push(this.nowMs + period * this.random.float(), { kind: 'tick', id: node.id, incarnation: node.incarnation });
    node.pump();
  }

  // --- the event loop ----------------------------------------------------------------------------

  private processNext(): void {
    const next = this.queue.pop();
    if (!next) this.fail('no-deadlock', 'no event is scheduled');
    this.nowMs = next.atMs;
    this.step++;
    const kind = next.event.kind === 'deliver' ? `deliver:${next.event.m.type}` : next.event.kind;
    this.stats.eventsByKind[kind] = (this.stats.eventsByKind[kind] ?? 0) + 1;
    this.handle(next.event);
    this.afterStep();
  }

  /** The node of a per-node event, if it is still the same running incarnation. */
  private live(id: ReplicaId, incarnation: number): SimNode | undefined {
    const n = this.nodes.get(id);
    return n && n.isUp && n.incarnation === incarnation ? n : undefined;
  }

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case 'tick': {
        const n = this.live(ev.id, ev.incarnation);
        if (!n) return;
        n.tick();
        this.queue.push(this.nowMs + this.tickPeriodMs.get(n.id)!, ev);
        return;
      }
      case 'fsync': {
        const n = this.live(ev.id, ev.incarnation);
        if (!n) return;
        this.trace(() => `n${n.id} fsync done`);
        n.fsyncDone();
        return;
      }
      case 'deliver':
        this.deliver(ev.m, ev.fromIncarnation);
        return;
      case 'restart': {
        const n = this.nodes.get(ev.id)!;
        if (n.status !== 'down') return;
        this.stats.restarts++;
        this.startNode(n);
        this.trace(() => `n${n.id} restarted (incarnation ${n.incarnation}): ${this.describeNode(n)}`);
        return;
      }
      case 'stop': {
        const n = this.nodes.get(ev.id)!;
        if (n.status === 'stopped') return;
        if (!this.removalIsDurable(ev.removedAt, ev.remaining) || this.handOffLeadership(n)) {
          this.queue.push(this.nowMs + 50, ev);
          return;
        }
        this.trace(() => `n${n.id} stops: removed from the configuration at index ${ev.removedAt}`);
        this.crashNode(n, 'stopped');
        return;
      }
      case 'unstall': {
        const n = this.live(ev.id, ev.incarnation);
        if (n) n.fsyncFactor = 1;
        return;
      }
      case 'nemesis':
        if (this.phase !== 'faults') return;
        this.nemesis();
        this.queue.push(this.nowMs + this.random.between(this.profile.nemesisIntervalMsMin, this.profile.nemesisIntervalMsMax), ev);
        return;
      case 'admin':
        this.livenessAdmin();
        this.queue.push(this.nowMs + 50, ev);
        return;
      case 'clientWake':
        this.clientWake(ev.clientId);
        return;
      case 'requestArrive':
        this.requestArrive(this.clients.requests[ev.requestId], ev.target);
        return;
      case 'reply':
        this.replyArrive(this.clients.requests[ev.requestId], ev.outcome, ev.output);
        return;
      case 'retry': {
        const req = this.clients.requests[ev.requestId];
        if (req.status !== 'pending' || req.attempts > CLIENT_RETRIES_MAX) return;
        this.sendAttempt(req);
        this.queue.push(this.nowMs + this.random.between(CLIENT_RETRY_MS_MIN, CLIENT_RETRY_MS_MAX), ev);
        return;
      }
      case 'requestTimeout': {
        const req = this.clients.requests[ev.requestId];
        if (this.clients.complete(req, 'info')) this.afterCompletion(req);
        return;
      }
    }
  }

  /** Per-step invariants over every running node. */
  private afterStep(): void {
    const up: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.isUp) up.push(n);
    this.checker.setRunning(up);
    for (const n of up) this.checker.observe(n);
    const t = this.pendingTransfer;
    if (t) {
      const target = this.nodes.get(t.target);
      if (target?.isUp && target.rn.role === 'leader' && target.rn.raft.term > t.term) {
        this.stats.transfersCompleted++;
        this.pendingTransfer = undefined;
      } else if (this.nowMs > t.untilMs) {
        this.pendingTransfer = undefined;
      }
    }
  }

  // --- network -------------------------------------------------------------------------------------

  send(from: SimNode, m: Message): void {
    this.checker.onSend(from, m);
    if (m.to === from.id) throw new Error(`node ${from.id} sent a ${m.type} to itself`);
    this.stats.messagesByType[m.type] = (this.stats.messagesByType[m.type] ?? 0) + 1;
    const delays = this.network.plan();
    if (delays.length === 0) {
      this.lost(m, from, from.incarnation);
      return;
    }
    for (const d of delays) this.queue.push(this.nowMs + d, { kind: 'deliver', m: cloneMessage(m), fromIncarnation: from.incarnation });
  }

  private deliver(m: Message, fromIncarnation: number): void {
    this.network.arrived();
    const target = this.nodes.get(m.to);
    if (!this.network.canDeliver(m.from, m.to)) {
      this.network.stats.droppedPartition++;
      this.lost(m, this.nodes.get(m.from), fromIncarnation);
      return;
    }
    if (!target || !target.isUp) {
      this.network.stats.droppedTargetDown++;
      this.lost(m, this.nodes.get(m.from), fromIncarnation);
      return;
    }
    this.network.stats.delivered++;
    this.trace(() => `deliver ${describeMessage(m)}`);
    target.step(m);
    if (m.type === 'snap') {
      this.stats.snapshotsSent++;
      const sender = this.nodes.get(m.from);
      if (sender && sender.isUp && sender.incarnation === fromIncarnation) {
        sender.rn.reportSnapshot(m.to, true);
        sender.pump();
      }
    }
  }

  /** A message was lost: the sender's transport may notice (and must, for a snapshot). */
  private lost(m: Message, sender: SimNode | undefined, fromIncarnation: number): void {
    if (!sender || !sender.isUp || sender.incarnation !== fromIncarnation) return;
    if (m.type === 'snap') sender.rn.reportSnapshot(m.to, false);
    else if (this.random.chance(this.profile.reportUnreachableProbability)) sender.rn.reportUnreachable(m.to);
    else return;
    sender.pump();
  }

  scheduleFsync(node: SimNode, delayMs: number): void {
    this.queue.push(this.nowMs + delayMs, { kind: 'fsync', id: node.id, incarnation: node.incarnation });
  }

  // --- what nodes report ---------------------------------------------------------------------------

  onCommandApplied(node: SimNode, index: number, cmd: KvCommand, result: KvResult, duplicate: boolean): void {
    this.stats.entriesApplied++;
    if (duplicate) return;
    const key = `${cmd.clientId}:${cmd.seq}`;
    if (!this.effects.has(key)) this.effects.set(key, index);
    const requestId = node.waiters.get(key);
    if (requestId === undefined) return;
    node.waiters.delete(key);
    const req = this.clients.requests[requestId];
    if (req.status === 'pending') req.appliedIndex = index;
    this.reply(req, 'ok', { ok: result.ok });
  }

  onConfChangeApplied(node: SimNode, index: number, before: ConfState, after: ConfState): void {
    if (index > this.clusterConfigIndex) {
      const wasJoint = isJoint(this.clusterConfig);
      for (const id of members(this.clusterConfig)) if (!isMember(after, id)) this.removedAt.set(id, index);
      this.clusterConfig = structuredClone(after);
      this.clusterConfigIndex = index;
      this.stats.confChangesApplied++;
      if (!wasJoint && isJoint(after)) this.stats.jointEntered++;
      if (wasJoint && !isJoint(after)) this.stats.jointLeft++;
      if (after.voters.length === 1 && !isJoint(after)) this.stats.singleVoterConfigs++;
      this.trace(() => `config at index ${index}: ${describeConfState(after)}`);
    }
    if (index > this.nodesInitial && isMember(before, node.id) && !isMember(after, node.id)) {
      // A replica that applies its own removal shuts down (as an etcd member does), once the
      // remaining voters know durably that the removal committed; sooner, a joint configuration
      // could be left needing the vote of a replica that is gone.
      const remaining = [...after.voters, ...after.votersOutgoing];
      this.queue.push(this.nowMs + this.random.between(1, 50), { kind: 'stop', id: node.id, removedAt: index, remaining });
    }
  }

  onReadServed(node: SimNode, read: PendingRead, value: number | null): void {
    this.stats.readIndexServed++;
    this.reply(this.clients.requests[read.requestId], 'ok', { ok: true, value });
  }

  onSnapshotEvent(_node: SimNode, kind: 'created' | 'installed' | 'compacted'): void {
    if (kind === 'created') this.stats.snapshotsCreated++;
    else if (kind === 'installed') this.stats.snapshotsInstalled++;
    else this.stats.compactions++;
  }

  // --- clients -------------------------------------------------------------------------------------

  private clientWake(clientId: number): void {
    if (this.phase !== 'faults' || !this.clients.isIdle(clientId)) return;
    this.dispatch(this.clients.invoke(clientId), undefined);
  }

  /** Sends a new request's first attempt and arms its retry and timeout timers. */
  private dispatch(req: ClientRequest, target: ReplicaId | undefined): void {
    this.trace(() => `client ${req.clientId}: ${JSON.stringify(req.input)} (request ${req.requestId})`);
    this.sendAttempt(req, target);
    const p = this.profile;
    this.queue.push(this.nowMs + this.random.between(CLIENT_RETRY_MS_MIN, CLIENT_RETRY_MS_MAX), { kind: 'retry', requestId: req.requestId });
    this.queue.push(this.nowMs + p.clientTimeoutMs, { kind: 'requestTimeout', requestId: req.requestId });
  }

  private sendAttempt(req: ClientRequest, target = this.chooseTarget(req.targets[req.targets.length - 1])): void {
    req.attempts++;
    req.targets.push(target);
    this.trace(() => `client ${req.clientId} request ${req.requestId} attempt ${req.attempts} → n${target}`);
    const p = this.profile;
    if (this.phase === 'faults' && this.random.chance(p.requestLossProbability)) return; // lost: this attempt's outcome stays unknown
    this.queue.push(this.nowMs + this.random.between(p.latencyMsMin, p.latencyMsMax), { kind: 'requestArrive', requestId: req.requestId, target });
  }

  /** Mostly a running member (other than the last one tried); sometimes any replica, even a crashed one. */
  private chooseTarget(avoid: ReplicaId | undefined): ReplicaId {
    if (this.random.chance(0.85)) {
      const up = members(this.clusterConfig).filter((id) => id !== avoid && this.nodes.get(id)?.isUp);
      if (up.length > 0) return this.random.pick(up);
    }
    return this.random.pick([...this.nodes.keys()]);
  }

  private requestArrive(req: ClientRequest, target: ReplicaId): void {
    if (req.status !== 'pending') return;
    const node = this.nodes.get(target);
    if (!node || !node.isUp) {
      this.reply(req, 'fail'); // connection refused: nothing happened
      return;
    }
    const cmd = req.command;
    if (cmd !== undefined) {
      const key = `${cmd.clientId}:${cmd.seq}`;
      node.waiters.set(key, req.requestId);
      if (!node.propose(encodeCommand(cmd))) {
        node.waiters.delete(key);
        this.stats.proposalsDropped++;
        this.reply(req, 'fail');
      }
      return;
    }
    const key = req.input.key;
    if (this.bug === 'staleRead') {
      this.reply(req, 'ok', { ok: true, value: node.sm.read(key) });
      return;
    }
    const read = { requestId: req.requestId, key, committedAtRequest: this.checker.committedIndexMax, index: undefined };
    if (!node.readIndex(read)) this.reply(req, 'fail');
  }

  private reply(req: ClientRequest, outcome: AttemptOutcome, output?: KvOutput): void {
    if (req.status !== 'pending') return;
    const p = this.profile;
    if (this.phase === 'faults' && this.random.chance(p.requestLossProbability)) return; // the client will retry or time out
    this.queue.push(this.nowMs + this.random.between(p.latencyMsMin, p.latencyMsMax), { kind: 'reply', requestId: req.requestId, outcome, output });
  }

  /**
   * A replica's answer to one attempt. The request failed only when every attempt definitely
   * failed: an attempt that was lost, or whose connection broke, may still take effect.
   */
  private replyArrive(req: ClientRequest, outcome: AttemptOutcome, output: KvOutput | undefined): void {
    if (req.status !== 'pending') return;
    if (outcome === 'ok') {
      this.clients.complete(req, 'ok', output);
      this.afterCompletion(req);
      return;
    }
    if (outcome === 'unknown') return;
    req.attemptsFailed++;
    if (req.attemptsFailed < req.attempts) return;
    if (req.attempts <= CLIENT_RETRIES_MAX && this.phase === 'faults') {
      this.sendAttempt(req);
      return;
    }
    this.clients.complete(req, 'fail');
    this.afterCompletion(req);
  }

  private afterCompletion(req: ClientRequest): void {
    this.trace(() => `client ${req.clientId} request ${req.requestId} ${req.status}`);
    if (req === this.barrier && req.status === 'ok') this.barrierOk = true;
    if (this.phase === 'faults') {
      // After a failure, back off: the cluster is likely without a leader for a while.
      const thinkMs = req.status === 'fail' ? this.random.between(10, 60) : this.random.between(0, this.profile.clientThinkMsMax);
      this.queue.push(this.nowMs + thinkMs, { kind: 'clientWake', clientId: req.clientId });
    }
  }

  // --- the nemesis ---------------------------------------------------------------------------------

  private nemesis(): void {
    const action = pickWeighted(this.random, this.profile.nemesisWeights);
    switch (action) {
      case 'partition':
        return this.partition();
      case 'heal':
        if (this.network.partitioned) this.trace(() => 'heal network');
        this.network.heal();
        this.network.calm();
        return;
      case 'crash':
        return this.crashSomeNode();
      case 'confChange':
        return this.changeMembership();
      case 'transferLeader':
        return this.transferLeader();
      case 'diskStall': {
        const n = this.randomUpNode();
        if (!n) return;
        n.fsyncFactor = this.profile.diskStallFactor;
        this.queue.push(this.nowMs + this.random.between(50, 300), { kind: 'unstall', id: n.id, incarnation: n.incarnation });
        this.trace(() => `n${n.id} disk stalls`);
        return;
      }
      case 'networkWeather': {
        const w = this.network.weather();
        this.trace(() => `network weather: ${w}`);
        return;
      }
      case 'quiet':
        return;
    }
  }

  private runningIds(): ReplicaId[] {
    return [...this.nodes.values()].filter((n) => n.status !== 'stopped').map((n) => n.id);
  }

  private randomUpNode(): SimNode | undefined {
    const up = [...this.nodes.values()].filter((n) => n.isUp);
    return up.length > 0 ? this.random.pick(up) : undefined;
  }

  /** The running leader of the highest term, if any. */
  private currentLeader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.isUp && n.rn.role === 'leader' && (!best || n.rn.raft.term > best.rn.raft.term)) best = n;
    }
    return best;
  }

  private partition(): void {
    const ids = this.runningIds();
    if (ids.length < 2) return;
    let kind: PartitionKind = this.random.pick(['halves', 'oneWay', 'isolate', 'majorityRing', 'bridge'] as const);
    if (kind === 'majorityRing' && ids.length <= 3) kind = 'bridge';
    const leader = this.currentLeader();
    const focus = leader && this.random.chance(0.5) ? leader.id : undefined;
    const description = this.network.partition(kind, ids, focus);
    this.stats.partitions++;
    this.trace(() => `partition: ${description}`);
  }

  private crashSomeNode(): void {
    const running = this.runningIds();
    const down = [...this.nodes.values()].filter((n) => n.status === 'down').length;
    if (down >= Math.floor(running.length / 2) + 1) return;
    // Bias toward the interesting moments: the leader, or a replica whose fsync is in flight.
    const leader = this.currentLeader();
    const syncing = [...this.nodes.values()].filter((n) => n.isUp && n.fsyncInFlight);
    const roll = this.random.float();
    const victim = roll < 0.3 && leader ? leader : roll < 0.6 && syncing.length > 0 ? this.random.pick(syncing) : this.randomUpNode();
    if (!victim) return;
    this.crashNode(victim, 'down');
    this.queue.push(this.nowMs + this.random.between(this.profile.downtimeMsMin, this.profile.downtimeMsMax), { kind: 'restart', id: victim.id });
  }

  private crashNode(node: SimNode, status: 'down' | 'stopped'): void {
    // Clients connected to it see their connection reset: the outcome is unknown.
    for (const requestId of node.waiters.values()) this.reply(this.clients.requests[requestId], 'unknown');
    for (const read of node.reads.values()) this.reply(this.clients.requests[read.requestId], 'unknown');
    const before = this.describeNode(node);
    const outcome = node.crash(status);
    if (status === 'down') {
      this.stats.crashes++;
      if (outcome.batchesKept > 0 || outcome.tornEntriesKept > 0) this.stats.tornWrites++;
      this.stats.unsyncedLost += outcome.batchesLost;
    }
    this.trace(() => `n${node.id} ${status === 'down' ? 'crashes' : 'stopped'} (was ${before}); unsynced: ${JSON.stringify(outcome)}`);
  }

  private changeMembership(): void {
    const p = this.profile;
    const newId = this.nodes.size < p.nodesMax ? this.nextNodeId : undefined;
    const plan = chooseConfChange(this.random, this.clusterConfig, { votersMin: p.votersMin, votersMax: p.votersMax, newId, shrinkBias: this.shrinkBias });
    if (!plan) return;
    if (plan.newNode !== undefined) {
      this.nextNodeId++;
      this.startNode(this.createNode(plan.newNode));
    }
    this.proposeConfChange(plan.cc, plan.description);
  }

  private proposeConfChange(cc: Parameters<SimNode['rn']['proposeConfChange']>[0], description: string): void {
    const leader = this.currentLeader();
    const proposer = leader && this.random.chance(0.7) ? leader : this.randomUpNode();
    if (!proposer) return;
    this.stats.confChangesProposed++;
    this.trace(() => `propose conf change via n${proposer.id}: ${description}`);
    try {
      proposer.rn.proposeConfChange(cc);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
    proposer.pump();
  }

  private transferLeader(): void {
    const leader = this.currentLeader();
    if (!leader) return;
    const candidates = leader.confState.voters.filter((v) => v !== leader.id);
    if (candidates.length === 0) return;
    const target = this.random.pick(candidates);
    this.stats.transfersRequested++;
    this.pendingTransfer = { target, term: leader.rn.raft.term, untilMs: this.nowMs + 4 * this.electionTimeoutMs() };
    this.trace(() => `transfer leadership n${leader.id} → n${target}`);
    leader.rn.transferLeader(target);
    leader.pump();
  }

  /**
   * Before a removed replica that still leads shuts down, it hands leadership to a voter of the
   * configuration (as an etcd member transfers leadership when it stops). True while it leads.
   */
  private handOffLeadership(n: SimNode): boolean {
    if (!n.isUp || n.rn.role !== 'leader') return false;
    const voters = this.clusterConfig.voters.filter((id) => id !== n.id && this.nodes.get(id)?.isUp);
    if (voters.length > 0 && n.rn.raft.leadTransferee === 0) {
      const target = this.random.pick(voters);
      this.trace(() => `n${n.id} (removed, still leading) transfers leadership to n${target}`);
      n.rn.transferLeader(target);
      n.pump();
    }
    return true;
  }

  /** Do all the remaining voters hold a durable commit index at or past the removal? */
  private removalIsDurable(removedAt: number, remaining: ReplicaId[]): boolean {
    for (const id of remaining) {
      const n = this.nodes.get(id);
      if (n && n.status !== 'stopped' && n.storage.initialState().hardState.commit < removedAt) return false;
    }
    return true;
  }

  private electionTimeoutMs(): number {
    return 2 * this.knobs.electionTick * TICK_MS;
  }

  // --- the liveness phase --------------------------------------------------------------------------

  private enterLiveness(): void {
    this.phase = 'liveness';
    this.livenessStartMs = this.nowMs;
    this.network.heal();
    this.network.quiesceFaults();
    for (const n of this.nodes.values()) {
      n.fsyncFactor = 1;
      if (n.status === 'down') {
        this.stats.restarts++;
        this.startNode(n);
      }
    }
    this.queue.push(this.nowMs, { kind: 'admin' });
    this.trace(() => `liveness phase: healed, every crashed node restarted; config ${describeConfState(this.clusterConfig)}`);
  }

  /** The operator during the liveness phase: stops removed replicas, leaves joint configs, writes a barrier. */
  private livenessAdmin(): void {
    const cs = this.clusterConfig;
    for (const n of this.nodes.values()) {
      const removedAt = this.removedAt.get(n.id);
      if (!n.isUp || removedAt === undefined || isMember(cs, n.id)) continue;
      if (this.handOffLeadership(n) || !this.removalIsDurable(removedAt, [...cs.voters, ...cs.votersOutgoing])) continue;
      this.trace(() => `n${n.id} stops: removed from the configuration at index ${removedAt}`);
      this.crashNode(n, 'stopped');
    }
    if (isJoint(this.clusterConfig) && !this.clusterConfig.autoLeave) this.proposeConfChange({ transition: 'auto', changes: [] }, 'leave joint');
    const leader = this.currentLeader();
    // A leader that was demoted or removed without stepping down hands over to a voter.
    if (leader && !cs.voters.includes(leader.id) && !cs.votersOutgoing.includes(leader.id)) this.handOffLeadership(leader);
    // Progress: a write through the leader of the configuration must commit.
    const voterLeader = this.memberLeader();
    if (voterLeader && !this.barrierOk && (this.barrier === undefined || this.barrier.status !== 'pending')) {
      const clientId = this.clients.clientIds.find((c) => this.clients.isIdle(c));
      if (clientId !== undefined) {
        this.barrier = this.clients.invoke(clientId, 'write');
        this.dispatch(this.barrier, voterLeader.id);
      }
    }
  }

  private runLiveness(): void {
    const leaderBoundMs = LIVENESS_LEADER_ELECTION_TIMEOUTS * this.electionTimeoutMs();
    const convergenceBoundMs = LIVENESS_CONVERGENCE_ELECTION_TIMEOUTS * this.electionTimeoutMs() + 2 * this.profile.clientTimeoutMs;
    for (;;) {
      if (this.leaderSeenMs === undefined && this.memberLeader() !== undefined) this.leaderSeenMs = this.nowMs;
      if (this.converged()) return;
      const elapsedMs = this.nowMs - this.livenessStartMs;
      if (this.leaderSeenMs === undefined && elapsedMs > leaderBoundMs) {
        this.fail('liveness-leader', `no leader ${elapsedMs.toFixed(0)}ms after healing (bound ${leaderBoundMs}ms)\n${this.describeCluster()}`);
      }
      if (elapsedMs > convergenceBoundMs) {
        this.fail('liveness-convergence', `not converged ${elapsedMs.toFixed(0)}ms after healing (bound ${convergenceBoundMs}ms)\n${this.describeCluster()}`);
      }
      this.processNext();
    }
  }

  /** The leader among the current voters, of the highest term. */
  private memberLeader(): SimNode | undefined {
    const l = this.currentLeader();
    return l && (this.clusterConfig.voters.includes(l.id) || this.clusterConfig.votersOutgoing.includes(l.id)) ? l : undefined;
  }

  private converged(): boolean {
    if (!this.barrierOk || this.clients.pendingCount > 0 || isJoint(this.clusterConfig)) return false;
    const leader = this.memberLeader();
    if (!leader) return false;
    const log = leader.rn.raft.raftLog;
    const commit = log.committed;
    if (commit !== log.lastIndex()) return false;
    const ms = members(this.clusterConfig).map((id) => this.nodes.get(id));
    for (const n of ms) {
      if (!n || !n.isUp || n.fsyncInFlight) return false;
      const l = n.rn.raft.raftLog;
      if (l.committed !== commit || l.lastIndex() !== commit || n.sm.appliedIndex !== commit) return false;
    }
    const digest = leader.sm.digest();
    for (const n of ms) {
      if (n!.sm.digest() !== digest) this.fail('convergence', `node ${n!.id} applied ${commit} like the leader but its state differs:\n${n!.sm.digest()}\nvs leader ${leader.id}:\n${digest}`);
    }
    return true;
  }

  // --- final checks --------------------------------------------------------------------------------

  private finalChecks(): void {
    const ms = members(this.clusterConfig).map((id) => this.nodes.get(id)!);
    for (const req of this.clients.requests) {
      const cmd = req.command;
      if (cmd === undefined) continue;
      const key = `${cmd.clientId}:${cmd.seq}`;
      const effect = this.effects.get(key);
      if (req.status === 'ok') {
        const index = req.appliedIndex;
        const committed = index === undefined ? undefined : this.checker.committedAt(index);
        const data = committed?.data;
        const at = data === undefined || data.byteLength === 0 ? undefined : decodeCommand(data);
        if (index === undefined || at === undefined || at.clientId !== cmd.clientId || at.seq !== cmd.seq) {
          this.fail('acknowledged-write-committed', `request ${req.requestId} (${key}) was acknowledged at index ${index} but the committed entry there is ${JSON.stringify(at)}`);
        }
        for (const n of ms) {
          if (n.sm.appliedIndex < index) this.fail('acknowledged-write-everywhere', `node ${n.id} applied ${n.sm.appliedIndex} < ${index}, where request ${req.requestId} took effect`);
        }
      } else if (req.status === 'fail') {
        if (effect !== undefined) this.fail('failed-op-no-effect', `request ${req.requestId} (${key}) failed but took effect at index ${effect}`);
      } else if (req.status === 'info' && effect !== undefined) {
        this.stats.ops.infoTookEffect++;
      } else if (req.status === 'pending') {
        this.fail('requests-resolved', `request ${req.requestId} is still pending after convergence`);
      }
    }
  }

  private checkHistory(): void {
    if (!this.o.checkLinearizability) return;
    const startMs = performance.now();
    const history = this.clients.recorder.operations();
    const r = checkOperations(kvModel, history, { stepsMax: this.o.linearizabilityStepsMax, timeoutMs: 600_000 });
    this.stats.linearizabilityMs = performance.now() - startMs;
    if (r.result === 'illegal') this.fail('linearizability', r.explanation.message);
    this.stats.linearizability = r.result;
  }

  private fillStats(): void {
    const s = this.stats;
    s.simulatedMs = this.nowMs;
    s.elections = this.checker.elections;
    s.leaderIds = this.checker.leaderIds.size;
    s.termMax = this.checker.termMax;
    s.commitIndex = this.checker.committedIndexMax;
    s.votersFinal = this.clusterConfig.voters.length;
    s.learnersFinal = this.clusterConfig.learners.length;
    s.network = { ...this.network.stats };
    const c = this.clients.counts;
    s.ops = { ...s.ops, ok: c.ok, fail: c.fail, info: c.info, reads: c.reads, writes: c.writes, cas: c.cas, casSwapped: c.casSwapped };
  }

  // --- descriptions --------------------------------------------------------------------------------

  private describeNode(n: SimNode): string {
    if (!n.isUp) return `n${n.id} ${n.status}`;
    const r = n.rn.raft;
    const hs = n.storage.initialState().hardState;
    return (
      `n${n.id} ${r.state} term ${r.term} vote ${r.vote} lead ${r.lead} commit ${r.raftLog.committed} applied ${n.sm.appliedIndex} ` +
      `log [${r.raftLog.firstIndex()}, ${r.raftLog.lastIndex()}] durable (term ${hs.term} vote ${hs.vote} commit ${hs.commit} last ${n.storage.lastIndex()}) ` +
      `config ${describeConfState(n.confState)}${n.fsyncInFlight ? ' fsync-in-flight' : ''}`
    );
  }

  private describeCluster(): string {
    const lines = [...this.nodes.values()].map((n) => `  ${this.describeNode(n)}`);
    lines.push(`  cluster config (index ${this.clusterConfigIndex}): ${describeConfState(this.clusterConfig)}`);
    lines.push(`  clients pending ${this.clients.pendingCount}, barrier ${this.barrierOk ? 'ok' : (this.barrier?.status ?? 'not sent')}`);
    return lines.join('\n');
  }
}

function describeMessage(m: Message): string {
  let s = `${m.type} ${m.from}→${m.to} t${m.term}`;
  if (m.type === 'app') s += ` prev (${m.index}, t${m.logTerm}) entries ${m.entries.length} commit ${m.commit}`;
  else if (m.type === 'appResp') s += ` index ${m.index}${m.reject ? ` reject hint ${m.rejectHint}` : ''}`;
  else if (m.type === 'vote' || m.type === 'preVote') s += ` last (${m.index}, t${m.logTerm})`;
  else if (m.type === 'voteResp' || m.type === 'preVoteResp') s += m.reject ? ' rejected' : ' granted';
  else if (m.type === 'heartbeat') s += ` commit ${m.commit}`;
  else if (m.type === 'snap') s += ` snapshot (${m.snapshot?.metadata.index}, t${m.snapshot?.metadata.term})`;
  return s;
}
