// A node of the multi-raft runtime: hosts many Raft groups, drives their ticks and a pipelined
// Ready loop (etcd's async storage writes: hand the writes to the WAL, send the leader's appends,
// apply what is durable and committed, and go on while the fsync runs; one fsync covers every
// group's writes), and carries every group's messages over one TCP link per peer node.
import { decodeMessage, encodeMessage, encodeMessages, CodecError } from '../codec/index.ts';
import type { ConfChange, ConfState, Message, Ready, ReplicaId } from '../raft/index.ts';
import { assert, decodeConfChange, emptyConfState, isMember, NONE, ProposalDroppedError } from '../raft/index.ts';
import type { PeerAddress, Frame } from '../transport/index.ts';
import { Transport } from '../transport/index.ts';
import { decodeEnvelope, encodeEnvelope, newEnvelopeHeader, readEnvelopeHeader } from './envelope.ts';
import { IndeterminateError, UnavailableError, UnknownGroupError } from './errors.ts';
import type { GroupOptions, ProposalWaiter, ReadWaiter, RecoveredState } from './group.ts';
import { Group } from './group.ts';
import type { RuntimeOptions } from './options.ts';
import { nodePhase, resolveRuntimeOptions } from './options.ts';
import type { StateMachine } from './state_machine.ts';
import type { DurableLog } from './durable_log.ts';
import { RuntimeMetrics } from './metrics.ts';
import { ProposalLatency } from './latency.ts';

export function nodeName(id: ReplicaId): string {
  return `n${id}`;
}

export function parseNodeName(name: string): ReplicaId | undefined {
  const m = /^n([1-9][0-9]{0,8})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Explicit limit: Ready batches waiting for the disk (each is one loop round; fsyncs fold them). */
const PENDING_WRITES_MAX = 1_000_000;
/** Loop rounds run back to back in microtasks before yielding to I/O. */
const LOOP_ROUNDS_CHAINED_MAX = 8;

interface PendingWrite {
  batch: Array<[Group, Ready]>;
  /** Its writes are durable (or it wrote nothing that needs an fsync). */
  durable: boolean;
}

export interface GroupStatus {
  groupId: number;
  role: string;
  leader: ReplicaId;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  quiesced: boolean;
  config: ConfState;
}

export class RaftNode {
  readonly id: ReplicaId;
  readonly options: ReturnType<typeof resolveRuntimeOptions>;
  readonly metrics = new RuntimeMetrics();
  /** Where this node's slow proposals waited. */
  readonly latency = new ProposalLatency();
  private readonly groups = new Map<number, Group>();
  private readonly wal: DurableLog;
  private readonly recovered: Map<number, RecoveredState>;
  private transport: Transport | undefined;
  private readonly dirty = new Set<Group>();
  private loopScheduled = false;
  /** A round is queued as a microtask (runSoon). */
  private roundQueued = false;
  /** Ready batches handed to the WAL whose completion has not run yet, oldest first. */
  private readonly pendingWrites: PendingWrite[] = [];
  /** The latest WAL sync asked for (calls joining one fsync share its promise). */
  private syncInFlight: Promise<void> | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private seq = 0;
  private closed = false;
  private fatal: Error | undefined;
  private readonly peerUp = new Map<ReplicaId, boolean>();
  /** A group was bootstrapped: the next batch must fsync even if no Ready asks for it. */
  private bootstrapPending = false;
  /** Reused by applyEntries: parsing an entry's envelope allocates nothing. */
  private readonly envelopeHeader = newEnvelopeHeader();

  constructor(options: RuntimeOptions, wal: DurableLog, recovered: Map<number, RecoveredState>) {
    this.options = resolveRuntimeOptions(options);
    this.id = this.options.nodeId;
    this.wal = wal;
    this.recovered = recovered;
  }

  /** Groups that have durable state on this node (to be reopened after a restart). */
  recoveredGroupIds(): number[] {
    return [...this.recovered.keys()].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    const peers: Record<string, PeerAddress> = {};
    for (const [id, addr] of Object.entries(this.options.peers)) if (Number(id) !== this.id) peers[nodeName(Number(id))] = addr;
    this.transport = new Transport({
      nodeId: nodeName(this.id),
      listen: this.options.listen,
      peers,
      limits: {
        frameBytesMax: this.options.frameBytesMax,
        batchBytesMax: this.options.frameBytesMax + 64 * 1024,
        queueBytesMax: Math.max(64 * 1024 * 1024, 2 * this.options.frameBytesMax),
        ...this.options.transportLimits,
      },
      onFrames: (from, frames) => this.onFrames(from, frames),
      onPeerStatus: (node, up) => this.onPeerStatus(node, up),
      onLog: this.options.onTransportLog,
    });
    await this.transport.start();
    this.tickTimer = setInterval(() => this.tick(), this.options.tickMs);
    this.tickTimer.unref?.();
  }

  address(): PeerAddress {
    if (!this.transport) throw new Error('raft node not started');
    return this.transport.address();
  }

  transportStats(): ReturnType<Transport['stats']> | undefined {
    return this.transport?.stats();
  }

  setPeers(peers: Record<number, PeerAddress>): void {
    const named: Record<string, PeerAddress> = {};
    for (const [id, addr] of Object.entries(peers)) if (Number(id) !== this.id) named[nodeName(Number(id))] = addr;
    this.transport?.setPeers(named);
  }

  /**
   * Hosts a group. `voters`/`learners` bootstrap a brand-new group (every replica must pass the
   * same); a group with durable state on this node resumes from it and ignores them.
   */
  openGroup(groupId: number, sm: StateMachine, members: { voters: ReplicaId[]; learners?: ReplicaId[] }): Group {
    if (this.groups.has(groupId)) throw new Error(`group ${groupId} is already open on node ${this.id}`);
    const initial: ConfState = { ...emptyConfState(), voters: [...members.voters].sort((a, b) => a - b), learners: [...(members.learners ?? [])].sort((a, b) => a - b) };
    const recovered = this.recovered.get(groupId);
    const opts: GroupOptions = {
      electionTicks: this.options.electionTicks,
      heartbeatTicks: this.options.heartbeatTicks,
      preVote: this.options.preVote,
      checkQuorum: this.options.checkQuorum,
      messageBytesMax: this.options.messageBytesMax,
      inflightMsgsMax: this.options.inflightMsgsMax,
      uncommittedBytesMax: this.options.uncommittedBytesMax,
      seed: this.options.seed * 1_000_003 + groupId * 31 + this.id,
      logger: this.options.raftLogger,
    };
    const g = new Group(groupId, this.id, sm, initial, recovered, opts);
    this.recovered.delete(groupId);
    if (g.bootstrapEntries) {
      // Durable with the first sync, before any message of this group leaves.
      this.wal.append(groupId, { entries: g.bootstrapEntries, hardState: g.storage.hardState });
      this.bootstrapPending = true;
    }
    this.groups.set(groupId, g);
    this.markDirty(g);
    return g;
  }

  /** Stops hosting a group (after it was removed from it); its durable state is dropped. */
  closeGroup(groupId: number): void {
    const g = this.groups.get(groupId);
    if (!g) return;
    g.failAll(
      () => new IndeterminateError(`group ${groupId} was closed on node ${this.id} before the proposal was applied here; it may still take effect`),
      () => new UnavailableError(`group ${groupId} was closed on node ${this.id}`),
    );
    this.groups.delete(groupId);
    this.dirty.delete(g);
    this.wal.removeGroup?.(groupId);
  }

  hasGroup(groupId: number): boolean {
    return this.groups.has(groupId);
  }

  groupIds(): number[] {
    return [...this.groups.keys()];
  }

  private group(groupId: number): Group {
    const g = this.groups.get(groupId);
    if (!g) throw new UnknownGroupError(groupId);
    return g;
  }

  leaderOf(groupId: number): ReplicaId {
    return this.group(groupId).rn.leader;
  }

  status(groupId: number): GroupStatus {
    const g = this.group(groupId);
    const st = g.rn.status();
    return {
      groupId,
      role: st.softState.role,
      leader: st.softState.lead,
      term: st.hardState.term,
      commitIndex: st.hardState.commit,
      appliedIndex: g.appliedIndex,
      lastIndex: st.lastIndex,
      snapshotIndex: g.snapshotIndex,
      quiesced: st.quiesced,
      config: g.confState,
    };
  }

  /** The leader's view of each replica's log (undefined when this node does not lead the group). */
  progressOf(groupId: number): Record<number, { match: number; next: number; state: string; isLearner: boolean }> | undefined {
    return this.group(groupId).rn.status().progress;
  }

  /**
   * Proposes a command and resolves once it is applied on this node, with the state machine's
   * result. Rejects with UnavailableError (definitely not applied) or IndeterminateError.
   */
  propose(groupId: number, payload: Uint8Array, timeoutMs = this.options.proposalTimeoutMs): Promise<{ index: number; term: number; result: unknown }> {
    this.checkOpen();
    const g = this.group(groupId);
    if (g.proposals.size >= this.options.pendingProposalsMax) {
      return Promise.reject(new UnavailableError(`group ${groupId} has ${g.proposals.size} proposals in flight on node ${this.id}; back off`));
    }
    const seq = ++this.seq;
    // Batched: every proposal of this event-loop turn goes to Raft as one MsgProp (proposeBatch).
    g.proposalBatch.push(encodeEnvelope(this.id, seq, payload));
    g.proposalBatchSeqs.push(seq);
    g.idleTicks = 0;
    this.markDirty(g);
    this.metrics.proposals++;
    return new Promise((resolve, reject) => {
      const now = performance.now();
      const w: ProposalWaiter = { resolve, reject, deadlineMs: now + timeoutMs, proposedMs: now, flushedMs: 0, appendedMs: 0 };
      g.proposals.set(seq, w);
    });
  }

  /** Hands a group's batched proposals to Raft; if Raft drops them, none was appended (503). */
  private flushProposals(g: Group): void {
    const datas = g.proposalBatch;
    const seqs = g.proposalBatchSeqs;
    g.proposalBatch = [];
    g.proposalBatchSeqs = [];
    this.metrics.proposalBatches++;
    const now = performance.now();
    for (const seq of seqs) {
      const w = g.proposals.get(seq);
      if (w) w.flushedMs = now;
    }
    try {
      g.rn.proposeBatch(datas);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
      for (const seq of seqs) {
        const w = g.proposals.get(seq);
        if (!w) continue;
        g.proposals.delete(seq);
        w.reject(new UnavailableError(e.message));
      }
    }
  }

  /** A linearizable read barrier (ReadIndex, §6.4): resolves when this node has applied the read index. */
  readIndex(groupId: number, timeoutMs = this.options.proposalTimeoutMs): Promise<{ index: number }> {
    this.checkOpen();
    const g = this.group(groupId);
    const seq = ++this.seq;
    const ctx = new Uint8Array(12);
    const dv = new DataView(ctx.buffer);
    dv.setUint32(0, this.id);
    dv.setFloat64(4, seq);
    try {
      g.rn.readIndex(ctx);
    } catch (e) {
      if (e instanceof ProposalDroppedError) return Promise.reject(new UnavailableError(e.message));
      throw e;
    }
    g.idleTicks = 0;
    this.markDirty(g);
    return new Promise((resolve, reject) => {
      const w: ReadWaiter = { resolve, reject, deadlineMs: performance.now() + timeoutMs };
      g.reads.set(Buffer.from(ctx).toString('latin1'), w);
    });
  }

  proposeConfChange(groupId: number, cc: ConfChange): void {
    const g = this.group(groupId);
    try {
      g.rn.proposeConfChange(cc);
    } catch (e) {
      if (e instanceof ProposalDroppedError) throw new UnavailableError(e.message);
      throw e;
    }
    this.markDirty(g);
  }

  /** Whether this node's link to `id` is up (its transport heard from it); false for unknown ids. */
  isPeerUp(id: ReplicaId): boolean {
    return this.peerUp.get(id) === true;
  }

  transferLeader(groupId: number, to: ReplicaId): void {
    const g = this.group(groupId);
    g.rn.transferLeader(to);
    this.markDirty(g);
  }

  campaign(groupId: number): void {
    const g = this.group(groupId);
    g.rn.campaign();
    this.markDirty(g);
  }

  /** Stops ticks and the transport, waits for the Ready loop, closes the WAL. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    for (const g of this.groups.values()) {
      g.failAll(
        () => new IndeterminateError(`node ${this.id} shut down before the proposal was applied here; it may still take effect`),
        () => new UnavailableError(`node ${this.id} is shutting down`),
      );
    }
    await this.transport?.close();
    await this.wal.close();
  }

  // --- internals -------------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.fatal) throw new UnavailableError(`node ${this.id} stopped after a fatal error: ${this.fatal.message}`);
    if (this.closed) throw new UnavailableError(`node ${this.id} is shutting down`);
  }

  private onFrames(from: string, frames: Frame[]): void {
    if (this.closed) return;
    for (const f of frames) {
      const g = this.groups.get(f.groupId);
      if (!g) {
        this.metrics.framesUnknownGroup++;
        continue;
      }
      let m: Message;
      try {
        // The transport copied the payload out of the socket's chunk: entries may alias it
        // instead of each being copied again.
        m = decodeMessage(f.payload, { aliasBytes: true });
      } catch (e) {
        if (e instanceof CodecError) {
          this.metrics.framesUndecodable++;
          continue;
        }
        throw e;
      }
      if (m.to !== this.id || nodeName(m.from) !== from) {
        this.metrics.framesMisaddressed++;
        continue;
      }
      g.rn.step(m);
      this.dirty.add(g);
    }
    this.metrics.messagesReceived += frames.length;
    this.scheduleLoop();
  }

  private onPeerStatus(node: string, up: boolean): void {
    const id = parseNodeName(node);
    if (id === undefined) return;
    this.peerUp.set(id, up);
    if (up) {
      // A peer back from a restart does not know the leaders of groups that quiesced meanwhile, and a
      // quiesced leader sends nothing: wake the groups led here that it belongs to, so the next
      // heartbeat round tells it (they quiesce again once idle). Seen: a restarted replica's meta
      // group stayed leaderless for minutes.
      for (const g of this.groups.values()) {
        if (g.rn.role !== 'leader' || !g.rn.isQuiesced()) continue;
        if (isMember(g.confState, id)) {
          g.rn.raft.quiesced = false;
          this.dirty.add(g);
        }
      }
      if (this.dirty.size > 0) this.scheduleLoop();
      return;
    }
    // A quiesced group does not tick, so it would never notice its leader died: wake every group
    // led from that node so its election timer runs again.
    for (const g of this.groups.values()) {
      if (g.rn.leader === id && g.rn.isQuiesced()) {
        g.rn.raft.quiesced = false;
      }
      if (g.rn.role === 'leader') g.rn.reportUnreachable(id);
    }
  }

  private tick(): void {
    if (this.closed || this.fatal) return;
    const now = performance.now();
    for (const g of this.groups.values()) {
      if (g.rn.isQuiesced()) {
        g.rn.tickQuiesced();
      } else {
        g.rn.tick();
        g.idleTicks++;
        if (g.rn.role === 'leader' && g.idleTicks >= this.options.quiesceAfterIdleTicks && g.proposals.size === 0 && g.reads.size === 0) {
          if (g.rn.quiesce()) this.metrics.quiesces++;
        }
        this.dirty.add(g);
      }
      this.expireWaiters(g, now);
    }
    this.scheduleLoop();
  }

  private expireWaiters(g: Group, now: number): void {
    if (g.proposals.size > 0) {
      for (const [seq, w] of g.proposals) {
        if (w.deadlineMs > now) break; // insertion order = deadline order for one timeout
        g.proposals.delete(seq);
        this.metrics.proposalsTimedOut++;
        w.reject(new IndeterminateError(`proposal to group ${g.id} was not applied within the timeout; it may still take effect`));
      }
    }
    if (g.reads.size > 0) {
      for (const [key, w] of g.reads) {
        if (w.deadlineMs > now) continue;
        g.reads.delete(key);
        w.reject(new UnavailableError(`read index for group ${g.id} timed out (no leader confirmed it)`));
      }
    }
    if (g.readyReads.length > 0) {
      g.readyReads = g.readyReads.filter((w) => {
        if (w.deadlineMs > now) return true;
        w.reject(new UnavailableError(`read for group ${g.id} timed out waiting for apply`));
        return false;
      });
    }
  }

  private markDirty(g: Group): void {
    this.dirty.add(g);
    this.scheduleLoop();
  }

  private scheduleLoop(): void {
    if (this.loopScheduled || this.closed) return;
    this.loopScheduled = true;
    setImmediate(() => {
      this.loopScheduled = false;
      this.runLoop(0);
    });
  }

  /**
   * Runs a round in a microtask: after a round answered proposals (their callers propose again in
   * promise continuations queued before it) or an fsync completed, the next round need not wait
   * for the next event-loop turn. At most LOOP_ROUNDS_CHAINED_MAX in a row, so I/O is not starved.
   */
  private runSoon(chained: number): void {
    if (this.roundQueued || this.closed || this.fatal) return;
    if (chained >= LOOP_ROUNDS_CHAINED_MAX) {
      this.scheduleLoop();
      return;
    }
    this.roundQueued = true;
    queueMicrotask(() => {
      this.roundQueued = false;
      if (this.dirty.size > 0) this.runLoop(chained);
    });
  }

  /**
   * One round of the pipelined Ready loop over every dirty group. It never waits for the disk:
   * writes go to the WAL and the next round runs while their fsync is in flight (the WAL's group
   * commit folds everything appended meanwhile into the next fsync). What depends on durability
   * happens in completeWrites(), in the order the Readies were handed out.
   */
  private runLoop(chained: number): void {
    if (this.closed || this.fatal) return;
    try {
      const batch: Array<[Group, Ready]> = [];
      for (const g of this.dirty) {
        if (this.groups.get(g.id) !== g) continue;
        if (g.proposalBatch.length > 0) this.flushProposals(g);
        if (g.rn.hasReady()) batch.push([g, g.rn.ready()]);
      }
      this.dirty.clear();
      if (batch.length > 0) this.handleReadies(batch);
    } catch (e) {
      this.failNode(e);
      return;
    }
    this.runSoon(chained + 1);
  }

  /** A storage failure leaves the durable state unknown: stop rather than risk acknowledging. */
  private failNode(e: unknown): void {
    if (this.fatal) return;
    this.fatal = e instanceof Error ? e : new Error(String(e));
    this.options.onFatal?.(this.fatal);
    for (const g of this.groups.values()) g.failAll(() => new IndeterminateError(`node ${this.id} failed: ${this.fatal!.message}`));
  }

  private handleReadies(batch: Array<[Group, Ready]>): void {
    let mustSync = this.bootstrapPending;
    this.bootstrapPending = false;
    for (const [g, rd] of batch) {
      // 1. What may leave before the disk write: the leader's appends (thesis §10.2.1).
      this.sendMessages(g, rd.messages);
      // 2. Hand the writes to the WAL; one fsync will cover every group's.
      if (rd.snapshot || rd.entries.length > 0 || rd.hardState) {
        this.wal.append(g.id, { snapshot: rd.snapshot, entries: rd.entries.length > 0 ? rd.entries : undefined, hardState: rd.hardState });
      }
      if (rd.mustSync) mustSync = true;
      // 3. Committed entries handed out are durable on a quorum (maybe not yet here: with
      // applyBeforeDurable a leader need not wait for its own fsync): apply them now, while the
      // fsync of newer entries runs.
      if (rd.entries.length > 0 || rd.committedEntries.length > 0) g.idleTicks = 0;
      if (rd.entries.length > 0 && g.proposals.size > 0) this.noteAppended(g, rd.entries);
      if (rd.committedEntries.length > 0) {
        this.applyEntries(g, rd.committedEntries);
        g.rn.onApplied(rd.committedEntries);
      }
      for (const rs of rd.readStates) {
        const key = Buffer.from(rs.context).toString('latin1');
        const w = g.reads.get(key);
        if (!w) continue;
        g.reads.delete(key);
        w.index = rs.index;
        g.readyReads.push(w);
      }
      g.releaseReads();
      this.maybeSnapshot(g);
      if (g.rn.hasReady()) this.dirty.add(g);
    }
    // 4. The rest (responses, votes: they assert durable state) waits for the fsync covering this
    // batch, or only for the batches before it when this one wrote nothing that needs one.
    assert(this.pendingWrites.length < PENDING_WRITES_MAX, () => `${this.pendingWrites.length} Ready batches wait for the disk on node ${this.id}`);
    const job: PendingWrite = { batch, durable: !mustSync };
    this.pendingWrites.push(job);
    if (mustSync) {
      const sync = this.wal.sync();
      if (sync !== this.syncInFlight) {
        this.syncInFlight = sync;
        const t0 = performance.now();
        const groups = batch.length;
        sync.then(
          () => this.metrics.observeSync(performance.now() - t0, groups),
          () => undefined,
        );
      }
      sync.then(
        () => {
          job.durable = true;
          this.completeWrites();
        },
        (e: unknown) => this.failNode(e),
      );
    } else {
      this.completeWrites(true);
    }
  }

  /**
   * Readies whose writes are durable, in hand-out order: storage, Raft, then the waiting messages.
   * Called from a loop round (`inRound`), it leaves scheduling the next round to that round.
   */
  private completeWrites(inRound = false): void {
    if (this.closed || this.fatal) return;
    let synced = false;
    try {
      while (this.pendingWrites.length > 0 && this.pendingWrites[0].durable) {
        const { batch } = this.pendingWrites.shift()!;
        for (const [g, rd] of batch) {
          if (this.groups.get(g.id) !== g) continue;
          if (rd.mustSync) synced = true;
          if (rd.snapshot) {
            g.storage.applySnapshot(rd.snapshot);
            g.sm.restore(rd.snapshot.data);
            g.confState = rd.snapshot.metadata.confState;
            g.snapshotIndex = rd.snapshot.metadata.index;
            g.appliedIndex = rd.snapshot.metadata.index;
            this.metrics.snapshotsInstalled++;
          }
          if (rd.entries.length > 0) g.storage.append(rd.entries);
          if (rd.hardState) g.storage.setHardState(rd.hardState);
          g.rn.onPersisted(rd);
          if (rd.messagesAfterPersist) this.sendMessages(g, rd.messagesAfterPersist);
          if (rd.snapshot) g.releaseReads();
          // Applying may have run ahead of storage, which held a snapshot back until now.
          if (rd.entries.length > 0) this.maybeSnapshot(g);
          if (g.rn.hasReady()) this.dirty.add(g);
        }
      }
      if (synced) {
        for (const g of this.groups.values()) {
          if (g.walCompactTo > 0) {
            this.wal.compact(g.id, g.walCompactTo);
            g.walCompactTo = 0;
          }
        }
      }
    } catch (e) {
      this.failNode(e);
      return;
    }
    if (this.dirty.size > 0 && !inRound) this.runSoon(1);
  }

  private applyEntries(g: Group, entries: Ready['committedEntries']): void {
    for (const e of entries) {
      if (e.type === 'confChange') {
        const cc = decodeConfChange(e.data);
        g.confState = g.rn.applyConfChange(cc);
        // A replica added now must be able to install a snapshot listing it (a replica refuses a
        // snapshot whose configuration omits it), so the next snapshot is taken right away.
        // (Bootstrap entries are term 1; every replica already has them.)
        if (e.term > 1 && cc.changes.some((c) => c.type !== 'removeVoter')) g.snapshotDue = true;
        this.options.onConfChange?.(g.id, g.confState);
      } else if (e.data.byteLength > 0) {
        const env = this.envelopeHeader;
        if (readEnvelopeHeader(e.data, env)) {
          let result: unknown;
          try {
            result = g.sm.apply({ index: e.index, term: e.term, data: e.data.subarray(env.payloadStart) });
          } catch (err) {
            // A state machine that throws is a bug; it would diverge replicas. Stop loudly.
            throw new Error(`state machine of group ${g.id} threw at index ${e.index}: ${err instanceof Error ? err.message : String(err)}`);
          }
          if (env.originNode === this.id) {
            const w = g.proposals.get(env.seq);
            if (w) {
              g.proposals.delete(env.seq);
              this.latency.observe(g.id, g.rn.role === 'leader', w.proposedMs, w.flushedMs, w.appendedMs, performance.now());
              w.resolve({ index: e.index, term: e.term, result });
            }
          }
        }
        this.metrics.applied++;
      }
      g.appliedIndex = e.index;
    }
  }

  /** Stamps this node's own proposals that just reached its log (ProposalLatency's toLog stage). */
  private noteAppended(g: Group, entries: Ready['entries']): void {
    let now = 0;
    for (const e of entries) {
      if (e.type !== 'normal' || e.data.byteLength === 0) continue;
      const env = decodeEnvelope(e.data);
      if (!env || env.originNode !== this.id) continue;
      const w = g.proposals.get(env.seq);
      if (!w || w.appendedMs !== 0) continue;
      w.appendedMs = now ||= performance.now();
    }
  }

  private maybeSnapshot(g: Group): void {
    if (g.appliedIndex <= g.snapshotIndex) return;
    // Applied entries may not be durable here yet (applyBeforeDurable): a snapshot is taken from
    // storage, which holds only what is. completeWrites() tries again as storage catches up.
    if (g.appliedIndex > g.storage.lastIndex()) return;
    // A snapshot from the leader is being installed: it is newer than anything applied here.
    if (g.rn.raft.raftLog.hasNextOrInProgressSnapshot()) return;
    if (!g.snapshotDue && !this.snapshotBoundaryCrossed(g)) return;
    g.snapshotDue = false;
    const t0 = performance.now();
    const snap = g.storage.createSnapshot(g.appliedIndex, g.confState, g.sm.snapshot());
    g.snapshotIndex = snap.metadata.index;
    this.wal.append(g.id, { snapshot: snap });
    // Keep a tail of entries so slightly lagging followers catch up from the log, not a snapshot.
    const compactTo = g.appliedIndex - this.options.snapshotTrailingEntries;
    if (compactTo > g.storage.firstIndex()) {
      g.storage.compact(compactTo);
      // The WAL may drop entries only once the snapshot covering them is durable (next sync).
      g.walCompactTo = compactTo;
    }
    this.metrics.observeSnapshot(performance.now() - t0, snap.data.byteLength);
  }

  /** Sends a Ready's messages; a batch appended to several followers is encoded once. */
  /**
   * Snapshots fall every snapshotEveryEntries, at indexes offset by this node's phase: replicas
   * snapshotting at the same index would all stall their WALs for the snapshot file's fsyncs at
   * once. At least snapshotEveryEntries / 2 entries separate two snapshots.
   */
  private snapshotBoundaryCrossed(g: Group): boolean {
    const every = this.options.snapshotEveryEntries;
    const since = g.appliedIndex - g.snapshotIndex;
    if (since >= 2 * every) return true;
    if (since < Math.ceil(every / 2)) return false;
    const offset = Math.floor(nodePhase(this.id) * every);
    return Math.floor((g.appliedIndex - offset) / every) > Math.floor((g.snapshotIndex - offset) / every);
  }

  private sendMessages(g: Group, ms: readonly Message[]): void {
    if (ms.length === 0) return;
    if (ms.length === 1) {
      this.sendMessage(g, ms[0]);
      return;
    }
    const out = ms.filter((m) => m.to !== this.id && m.to !== NONE);
    const payloads = encodeMessages(out);
    for (let i = 0; i < out.length; i++) this.sendMessage(g, out[i], payloads[i]);
  }

  private sendMessage(g: Group, m: Message, encoded?: Uint8Array): void {
    if (m.to === this.id || m.to === NONE) return;
    const payload = encoded ?? encodeMessage(m);
    const ok = this.transport?.send(nodeName(m.to), g.id, payload) ?? false;
    this.metrics.messagesSent++;
    if (!ok) {
      this.metrics.messagesDropped++;
      if (g.rn.role === 'leader') g.rn.reportUnreachable(m.to);
    }
    if (m.type === 'snap') {
      // The transport is fire-and-forget: report optimistically; a lost snapshot is re-sent after
      // the follower's next rejection.
      g.rn.reportSnapshot(m.to, ok);
      this.metrics.snapshotsSent++;
    }
  }
}
