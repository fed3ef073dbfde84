// One replica of an eventual-state document. Every mutation of the document — local flushes,
// received sync messages, epoch moves — runs on one serial loop, so the Automerge document, the
// per-pair sync states and the file on disk never see interleaved updates. Local changes are
// made durable (fsync) before any sync message can carry them, and before increments are
// acknowledged: an acknowledged increment survives a crash of this process.
import { randomBytes } from 'node:crypto';
import * as A from '@automerge/automerge';
import { DocStore } from './doc_store.ts';
import type { CounterDelta, CounterView, Entry, EventualDoc } from './eventual_doc.ts';
import { counterKey, counterNames, counterRegister, genesis, headsDigest, readCounters, readEntries, rebuild, writeLocal } from './eventual_doc.ts';
import { CrdtIndeterminateError, CrdtInputError, CrdtLimitError, CrdtUnavailableError } from './errors.ts';
import type { CrdtSettings, CrdtSettingsInput } from './options.ts';
import { COUNTER_NAME_PATTERN, INCREMENT_ABS_MAX, resolveCrdtSettings, TOKEN_PATTERN } from './options.ts';
import { PairStream } from './pair_stream.ts';
import type { CrdtTransport } from './transport.ts';
import type { Heartbeat, SyncHeader } from './wire.ts';
import { decodeHeartbeat, decodeSync, encodeHeartbeat, encodeSync, heartbeatSubject, inboxSubject } from './wire.ts';

export interface ReplicaLog {
  (level: 'info' | 'warn', event: string, fields: Record<string, unknown>): void;
}

export interface ReplicaOptions {
  /** Document name: one subject token; replicas of the same name sync with each other. */
  doc: string;
  /** This replica's id (a subject token, unique among live replicas), e.g. "n1". */
  peer: string;
  transport: CrdtTransport;
  /** Where the document is persisted; without it the replica lives in memory only. */
  dir?: string;
  settings?: CrdtSettingsInput;
  log?: ReplicaLog;
  /** Injected clock (tests); default Date.now. */
  nowMs?: () => number;
}

interface PeerInfo {
  session: string;
  epoch: number;
  heads: string;
  lastSeenMs: number;
}

export interface PeerFreshness {
  live: boolean;
  epoch: number;
  lastSeenAgeMs: number;
  /** Age of the last sync message delivered from this peer (null: none in this pair stream). */
  lastSyncAgeMs: number | null;
  /** The peer's last heartbeat announced the same heads as ours. */
  inSync: boolean;
}

export interface Freshness {
  epoch: number;
  connected: boolean;
  docBytes: number;
  lastFlushAgeMs: number | null;
  peers: Record<string, PeerFreshness>;
}

export interface ReplicaStats {
  syncSent: number;
  syncBytesSent: number;
  syncReceived: number;
  syncDelivered: number;
  dropped: Record<string, number>;
  resets: number;
  epochsStarted: number;
  flushes: number;
  heartbeatsSent: number;
}

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

export class Replica {
  readonly settings: CrdtSettings;
  readonly session = randomBytes(9).toString('base64url');
  readonly stats: ReplicaStats = { syncSent: 0, syncBytesSent: 0, syncReceived: 0, syncDelivered: 0, dropped: {}, resets: 0, epochsStarted: 0, flushes: 0, heartbeatsSent: 0 };
  private doc: A.Doc<EventualDoc>;
  private readonly actor: string;
  private readonly pairs = new Map<string, PairStream>();
  private readonly peers = new Map<string, PeerInfo>();
  private pendingDeltas = new Map<string, CounterDelta>();
  private pendingEntries = new Map<string, Entry>();
  private waiters: Waiter[] = [];
  private pendingIncrements = 0;
  private chain: Promise<void> = Promise.resolve();
  private inbox = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;
  private persistedDoc: A.Doc<EventualDoc> | undefined;
  private namesCache: { doc: A.Doc<EventualDoc>; names: Set<string> } | undefined;
  private lastFlushMs: number | null = null;
  /** Bytes of the current epoch's document: its full save plus every incremental save since. */
  docBytes = 0;
  private epochStartBytes = 0;
  private readonly nowMs: () => number;
  private readonly log: ReplicaLog;

  private constructor(
    private readonly opts: ReplicaOptions,
    private readonly store: DocStore | undefined,
    doc: A.Doc<EventualDoc>,
    actor: string,
    /** The key this replica's counter totals live under (see writerIdentity). */
    readonly writer: string,
  ) {
    this.settings = resolveCrdtSettings(opts.settings);
    this.doc = doc;
    this.actor = actor;
    this.nowMs = opts.nowMs ?? Date.now;
    this.log = opts.log ?? (() => undefined);
  }

  /** Loads the persisted document (or starts epoch 1) and joins the document's replicas. */
  static async open(opts: ReplicaOptions): Promise<Replica> {
    for (const [what, v] of [['doc', opts.doc], ['peer', opts.peer]] as const) {
      if (!new RegExp(TOKEN_PATTERN).test(v)) throw new Error(`replica ${what} '${v}' must match ${TOKEN_PATTERN} (it is a NATS subject token)`);
    }
    // A fresh actor per process: a crash may have lost changes of the previous actor that a
    // peer still holds, and reusing that actor's sequence numbers would corrupt the document.
    const actor = randomBytes(16).toString('hex');
    let store: DocStore | undefined;
    let doc: A.Doc<EventualDoc>;
    let bytes: number;
    if (opts.dir) {
      const opened = await DocStore.open(opts.dir);
      store = opened.store;
      if (opened.chunks.length > 0) {
        doc = A.load<EventualDoc>(Buffer.concat(opened.chunks), { actor });
        if (doc.epoch !== opened.epoch) throw new Error(`the document in ${opts.dir} says epoch ${doc.epoch} but its file is epoch ${opened.epoch}; move the directory away to start empty`);
        A.saveIncremental(doc); // everything loaded is on disk already
        bytes = store.bytes;
      } else {
        doc = genesis(1, actor);
        const full = A.save(doc);
        await store.startEpoch(1, full);
        bytes = full.length;
      }
    } else {
      doc = genesis(1, actor);
      bytes = A.save(doc).length;
    }
    const r = new Replica(opts, store, doc, actor, store ? await store.writerIdentity(opts.peer) : `${opts.peer}.${randomBytes(4).toString('hex')}`);
    r.docBytes = bytes;
    r.epochStartBytes = bytes;
    r.persistedDoc = doc;
    r.start();
    return r;
  }

  private start(): void {
    const { transport, doc, peer } = this.opts;
    const prefix = this.settings.subjectPrefix;
    transport.subscribe(heartbeatSubject(prefix, doc), (data) => {
      const hb = decodeHeartbeat(data);
      if (!hb || hb.doc !== doc || hb.from === peer) return;
      this.enqueue(() => this.onHeartbeat(hb));
    });
    transport.subscribe(inboxSubject(prefix, doc, peer), (data) => {
      this.stats.syncReceived++;
      const m = decodeSync(data);
      if (!m) return this.drop('malformed');
      this.enqueue(() => this.onSync(m.header, m.body));
    });
    this.timers.push(setInterval(() => this.enqueue(() => this.flush()), this.settings.flushMs));
    this.timers.push(setInterval(() => this.heartbeat(), this.settings.heartbeatMs));
    this.timers.push(setInterval(() => this.enqueue(() => this.tick()), this.settings.syncIntervalMs));
    this.heartbeat();
  }

  // --- public API ------------------------------------------------------------------------------

  get peerId(): string {
    return this.opts.peer;
  }

  get epoch(): number {
    return this.doc.epoch;
  }

  heads(): string[] {
    return A.getHeads(this.doc);
  }

  counters(): Map<string, CounterView> {
    return readCounters(this.doc);
  }

  entries(): Map<string, Entry> {
    return readEntries(this.doc);
  }

  /** Adds `by` to counter `name`; resolves once the increment is in the document and on disk. */
  increment(name: string, by: number): Promise<void> {
    if (!new RegExp(COUNTER_NAME_PATTERN).test(name)) throw new CrdtInputError(`counter name '${name.slice(0, 80)}' must match ${COUNTER_NAME_PATTERN}`);
    if (!Number.isSafeInteger(by) || Math.abs(by) > INCREMENT_ABS_MAX) throw new CrdtInputError(`by must be an integer between -${INCREMENT_ABS_MAX} and ${INCREMENT_ABS_MAX}, got ${by}`);
    if (this.closed) throw new CrdtUnavailableError(`replica ${this.opts.peer} is closing; retry on another node`);
    if (this.pendingIncrements >= this.settings.pendingIncrementsMax) {
      throw new CrdtUnavailableError(`${this.pendingIncrements} increments are waiting for the next flush (max ${this.settings.pendingIncrementsMax}); retry shortly`);
    }
    const pending = this.pendingDeltas.get(name);
    if (!pending && !this.knownNames().has(name) && this.knownNames().size + this.pendingNewNames() >= this.settings.countersMax) {
      throw new CrdtLimitError(`there are already ${this.settings.countersMax} counters (the limit); increment an existing one`);
    }
    const sign = by >= 0 ? 'p' : 'n';
    const delta = pending ?? { p: 0, n: 0 };
    const total = counterRegister(this.doc, counterKey(name, this.writer, sign)) + delta[sign] + Math.abs(by);
    if (!Number.isSafeInteger(total)) throw new CrdtLimitError(`counter ${name} would leave the safe-integer range on this node`);
    if (by === 0) return Promise.resolve();
    delta[sign] += Math.abs(by);
    this.pendingDeltas.set(name, delta);
    this.pendingIncrements++;
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Publishes `entry` under `key` with the next flush unless a newer one (by term, index) is there. */
  putEntry(key: string, entry: Omit<Entry, 'writer'>): void {
    if (key.length === 0 || key.length > 128) throw new CrdtInputError(`entry key must be 1-128 characters, got ${key.length}`);
    const e: Entry = { ...entry, writer: this.opts.peer };
    const bytes = JSON.stringify(e).length;
    if (bytes > this.settings.entryBytesMax) throw new CrdtLimitError(`entry ${key} is ${bytes} bytes (max ${this.settings.entryBytesMax})`);
    if (!(key in this.doc.e) && !this.pendingEntries.has(key) && Object.keys(this.doc.e).length + this.pendingEntries.size >= this.settings.entriesMax) {
      throw new CrdtLimitError(`there are already ${this.settings.entriesMax} entries (the limit)`);
    }
    this.pendingEntries.set(key, e);
  }

  freshness(): Freshness {
    const now = this.nowMs();
    const mine = headsDigest(this.doc);
    const peers: Record<string, PeerFreshness> = {};
    for (const [id, p] of this.peers) {
      const pair = this.pairs.get(id);
      const delivered = pair && pair.peerSession === p.session && pair.lastDeliveredMs !== null ? now - pair.lastDeliveredMs : null;
      peers[id] = { live: this.isLive(p, now), epoch: p.epoch, lastSeenAgeMs: now - p.lastSeenMs, lastSyncAgeMs: delivered, inSync: p.epoch === this.doc.epoch && p.heads === mine };
    }
    return { epoch: this.doc.epoch, connected: this.opts.transport.connected(), docBytes: this.docBytes, lastFlushAgeMs: this.lastFlushMs === null ? null : now - this.lastFlushMs, peers };
  }

  /** Writes pending increments now (the benchmark's unbatched mode calls this per increment). */
  flushNow(): Promise<void> {
    return this.enqueue(() => this.flush());
  }

  /** Starts the next epoch now: the document rebuilt from its current state (tests, benchmarks). */
  compactNow(): Promise<void> {
    return this.enqueue(() => this.migrate(this.doc.epoch + 1));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.enqueue(() => this.flush());
    await this.chain;
    await this.store?.close();
  }

  // --- the serial loop ---------------------------------------------------------------------------

  private enqueue(fn: () => void | Promise<void>): Promise<void> {
    if (this.inbox >= this.settings.inboxMax) {
      this.drop('inbox-full');
      return this.chain;
    }
    this.inbox++;
    const run = this.chain.then(async () => {
      try {
        await fn();
      } catch (e) {
        this.log('warn', 'replica-step-failed', { err: (e as Error).stack ?? String(e) });
      } finally {
        this.inbox--;
      }
    });
    this.chain = run;
    return run;
  }

  private drop(reason: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
  }

  private isLive(p: PeerInfo, now: number): boolean {
    return now - p.lastSeenMs <= this.settings.peerTimeoutMs;
  }

  private pendingNewNames(): number {
    let n = 0;
    for (const name of this.pendingDeltas.keys()) if (!this.knownNames().has(name)) n++;
    return n;
  }

  private knownNames(): Set<string> {
    if (this.namesCache?.doc !== this.doc) this.namesCache = { doc: this.doc, names: counterNames(this.doc) };
    return this.namesCache.names;
  }

  private async flush(): Promise<void> {
    if (this.pendingDeltas.size === 0 && this.pendingEntries.size === 0) return;
    const deltas = this.pendingDeltas;
    const entries = this.pendingEntries;
    const waiters = this.waiters;
    this.pendingDeltas = new Map();
    this.pendingEntries = new Map();
    this.waiters = [];
    this.pendingIncrements = 0;
    try {
      this.doc = writeLocal(this.doc, this.writer, deltas, entries);
    } catch (e) {
      for (const w of waiters) w.reject(new CrdtUnavailableError(`the increment was not applied: ${(e as Error).message}`));
      throw e;
    }
    try {
      await this.persist(true);
    } catch (e) {
      for (const w of waiters) w.reject(new CrdtIndeterminateError(`the increment is in node ${this.opts.peer}'s document but writing it to disk failed (${(e as Error).message}); it may still count`));
      throw e;
    }
    this.stats.flushes++;
    this.lastFlushMs = this.nowMs();
    for (const w of waiters) w.resolve();
    this.pumpAll();
  }

  /** Appends the changes since the last save to the epoch's file (fsync when acknowledging writes). */
  private async persist(fsync: boolean): Promise<void> {
    if (this.persistedDoc === this.doc) return;
    const bytes = A.saveIncremental(this.doc);
    this.persistedDoc = this.doc;
    if (bytes.length === 0) return;
    this.docBytes += bytes.length;
    if (this.store) await this.store.append(bytes, fsync);
  }

  /** Moves to `epoch`: a document rebuilt from the current state (nothing lost, history dropped). */
  private async migrate(epoch: number): Promise<void> {
    if (epoch <= this.doc.epoch) return;
    const from = this.doc.epoch;
    const fresh = rebuild(this.doc, epoch, this.actor);
    const full = A.save(fresh);
    if (this.store) await this.store.startEpoch(epoch, full);
    this.doc = fresh;
    this.persistedDoc = fresh;
    this.docBytes = this.store ? this.store.bytes : full.length;
    this.epochStartBytes = this.docBytes;
    const now = this.nowMs();
    // Sync states describe the old document: every pair starts over in the new epoch.
    for (const [id, pair] of this.pairs) this.pairs.set(id, new PairStream(pair.peerSession, now));
    this.stats.epochsStarted++;
    this.log('info', 'epoch-started', { from, to: epoch, docBytes: this.docBytes });
    this.pumpAll();
  }

  private heartbeat(): void {
    if (this.closed) return;
    const hb: Heartbeat = { v: 1, doc: this.opts.doc, from: this.opts.peer, session: this.session, epoch: this.doc.epoch, heads: headsDigest(this.doc) };
    this.opts.transport.publish(heartbeatSubject(this.settings.subjectPrefix, this.opts.doc), encodeHeartbeat(hb));
    this.stats.heartbeatsSent++;
  }

  private async onHeartbeat(hb: Heartbeat): Promise<void> {
    const now = this.nowMs();
    let p = this.peers.get(hb.from);
    if (!p && this.peers.size >= this.settings.peersMax) return this.drop('too-many-peers');
    const wasLive = p !== undefined && this.isLive(p, now);
    if (!p) this.peers.set(hb.from, (p = { session: hb.session, epoch: hb.epoch, heads: hb.heads, lastSeenMs: now }));
    Object.assign(p, { session: hb.session, epoch: hb.epoch, heads: hb.heads, lastSeenMs: now });
    if (hb.epoch > this.doc.epoch) await this.migrate(hb.epoch);
    const pair = this.pairs.get(hb.from);
    if (!pair || pair.peerSession !== hb.session) {
      this.pairs.set(hb.from, new PairStream(hb.session, now));
      this.log('info', 'peer-joined', { peer: hb.from, session: hb.session, epoch: hb.epoch });
    } else if (!wasLive) {
      // Back after a silence (partition, pause): whatever was in flight is gone; start over.
      this.bump(pair, now);
    } else return;
    this.pump(hb.from);
  }

  private async onSync(h: SyncHeader, body: Uint8Array): Promise<void> {
    if (h.doc !== this.opts.doc || h.from === this.opts.peer) return this.drop('misrouted');
    if (h.to !== this.session) return this.drop('other-session');
    if (h.epoch < this.doc.epoch) return this.drop('stale-epoch'); // the sender moves up on our heartbeat
    if (h.epoch > this.doc.epoch) await this.migrate(h.epoch);
    const now = this.nowMs();
    const p = this.peers.get(h.from);
    if (p && p.session === h.session) p.lastSeenMs = now;
    let pair = this.pairs.get(h.from);
    if (!pair || pair.peerSession !== h.session) {
      if (!pair && this.pairs.size >= this.settings.peersMax) return this.drop('too-many-peers');
      this.pairs.set(h.from, (pair = new PairStream(h.session, now)));
    }
    const r = pair.accept(h.gen, h.seq, body, now, this.settings.reorderBufferMax);
    if (r.kind === 'drop') return this.drop(r.reason);
    if (r.kind === 'buffered') return;
    if (r.kind === 'gap') {
      this.drop('gap');
      this.bump(pair, now);
    } else {
      for (const b of r.bodies) {
        try {
          const [doc, state] = A.receiveSyncMessage(this.doc, pair.syncState, b as A.SyncMessage);
          this.doc = doc;
          pair.syncState = state;
          this.stats.syncDelivered++;
        } catch (e) {
          this.log('warn', 'sync-message-rejected', { peer: h.from, err: (e as Error).message });
          this.bump(pair, now);
          break;
        }
      }
    }
    this.pump(h.from);
  }

  private bump(pair: PairStream, now: number): void {
    pair.resetTo(pair.gen + 1, now);
    this.stats.resets++;
  }

  /** Anti-entropy: repair stuck pairs, keep every live pair's exchange moving, persist, compact. */
  private async tick(): Promise<void> {
    const now = this.nowMs();
    const mine = headsDigest(this.doc);
    for (const [id, pair] of this.pairs) {
      const p = this.peers.get(id);
      if (!p || !this.isLive(p, now) || p.session !== pair.peerSession) continue;
      if (pair.gapExpired(now, this.settings.reorderWaitMs)) {
        this.drop('gap-timeout');
        this.bump(pair, now);
      } else if (p.epoch === this.doc.epoch && p.heads !== mine && now - Math.max(pair.lastDeliveredMs ?? 0, pair.lastResetMs) > this.settings.resyncAfterMs) {
        this.bump(pair, now); // heads differ and nothing arrives: a final message was lost
      }
      this.pump(id);
    }
    await this.persist(false);
    await this.maybeCompact(now);
  }

  /**
   * The lowest-id live replica starts the next epoch once the document outgrows compactBytes
   * (everyone follows on its heartbeat); any replica does at twice that, so a partition cannot
   * stop compaction.
   */
  private async maybeCompact(now: number): Promise<void> {
    // A new epoch starts with every replica's copy of the state: when the state alone nears the
    // threshold, compacting again would only copy it again, so wait for real history to pile up.
    const threshold = Math.max(this.settings.compactBytes, 4 * this.epochStartBytes);
    if (this.docBytes <= threshold) return;
    const lowest = [...this.peers].filter(([, p]) => this.isLive(p, now) && p.epoch === this.doc.epoch).every(([id]) => id > this.opts.peer);
    if (lowest || this.docBytes > 2 * threshold) await this.migrate(this.doc.epoch + 1);
  }

  private pumpAll(): void {
    const now = this.nowMs();
    for (const [id, pair] of this.pairs) {
      const p = this.peers.get(id);
      if (p && this.isLive(p, now) && p.session === pair.peerSession) this.pump(id);
    }
  }

  private pump(peerId: string): void {
    const pair = this.pairs.get(peerId);
    if (!pair) return;
    const [state, msg] = A.generateSyncMessage(this.doc, pair.syncState);
    pair.syncState = state;
    if (!msg) return;
    const header: SyncHeader = { doc: this.opts.doc, from: this.opts.peer, session: this.session, to: pair.peerSession, epoch: this.doc.epoch, gen: pair.gen, seq: pair.nextOutSeq() };
    const data = encodeSync(header, msg);
    if (data.length > this.settings.messageBytesMax) {
      // Too big for the bus: start a new epoch, whose document holds only the current state.
      this.drop('too-large');
      this.log('warn', 'sync-message-too-large', { peer: peerId, bytes: data.length, max: this.settings.messageBytesMax });
      // (Unless this epoch is fresh already: then the state itself is too big, and the limits must change.)
      if (this.docBytes > 2 * this.epochStartBytes) void this.enqueue(() => this.migrate(this.doc.epoch + 1));
      return;
    }
    this.opts.transport.publish(inboxSubject(this.settings.subjectPrefix, this.opts.doc, peerId), data);
    this.stats.syncSent++;
    this.stats.syncBytesSent += data.length;
  }
}
