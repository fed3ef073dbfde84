// The director supervisor of one process: starts a routine per committed event (at most one per
// UID, never under a deposed term), restarts a crashed routine from the register (one_for_one,
// transient: only abnormal exits restart), and escalates when a shard's routines crash more often
// than the OTP intensity allows — every routine of that shard is stopped and onEscalate decides
// (the node resumes the shard from the register later, or gives it up).
import type { Catalogue } from '../catalogue/index.ts';
import { directorConfig, type DirectorConfig, type DirectorConfigInput } from './config.ts';
import { FencedError, RoutineStopped } from './errors.ts';
import type { RegisterStore } from './register_store.ts';
import { RoutineRegistry, type Admission } from './registry.ts';
import { RestartIntensity } from './restart_intensity.ts';
import { runRoutine, type RoutineChild, type RoutineContext, type RoutineEnd } from './routine.ts';
import type { ShardGateway } from './shard_gateway.ts';
import type { CommittedEvent } from './unfold.ts';

export interface SupervisorOptions {
  readonly store: RegisterStore;
  readonly gateway: ShardGateway;
  readonly catalogue: () => Catalogue;
  readonly config?: DirectorConfigInput;
  /** A shard's routines exceeded the restart intensity and were stopped. */
  readonly onEscalate?: (shard: string, lastError: unknown) => void;
  readonly onRoutineEnd?: (uid: string, end: RoutineEnd | 'fenced' | 'stopped') => void;
  readonly onCrash?: (uid: string, error: unknown) => void;
  /** Delivery tracking (default: delivered once composed — the transactional publish makes committed canon durable). */
  readonly awaitDelivered?: (child: RoutineChild) => Promise<void>;
  readonly nowMs?: () => number;
}

export interface SupervisorStats {
  live: number;
  started: number;
  ended: number;
  restarts: number;
  escalations: number;
  fenced: number;
  stopped: number;
  waiting: number;
}

interface Waiter {
  readonly child: RoutineChild;
  resolve(): void;
  reject(e: Error): void;
}

export class DirectorSupervisor {
  readonly config: DirectorConfig;
  private readonly registry = new RoutineRegistry();
  private readonly intensity = new Map<string, RestartIntensity>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly ctx: RoutineContext;
  private readonly nowMs: () => number;
  private pollTimer: NodeJS.Timeout | null = null;
  private polling = false;
  private closed = false;
  private readonly counters: Omit<SupervisorStats, 'live' | 'waiting'> = { started: 0, ended: 0, restarts: 0, escalations: 0, fenced: 0, stopped: 0 };

  constructor(private readonly options: SupervisorOptions) {
    this.config = directorConfig(options.config);
    this.nowMs = options.nowMs ?? Date.now;
    this.ctx = {
      store: options.store,
      gateway: options.gateway,
      catalogue: options.catalogue,
      unfoldOptions: { participantsPerDistrict: this.config.participantsPerDistrict },
      awaitComposed: (child) => this.awaitComposed(child),
      awaitDelivered: options.awaitDelivered ?? null,
    };
  }

  /**
   * Starts the routine for a committed event under the shard's current Raft term. `resolved`: the
   * shard already applied its outcome (a routine resumed after the outcome only prunes and closes).
   */
  start(event: CommittedEvent, term: number, resolved = false): Admission {
    if (this.closed) throw new Error('the director supervisor is closed; start a new one');
    this.fence(event.shard, term);
    const admission = this.registry.admit(event.uid, event.shard, term);
    if (admission.kind !== 'start') return admission;
    if (this.registry.size >= this.config.routinesMax) {
      throw new Error(`${this.registry.size} routines are live (routinesMax ${this.config.routinesMax}); event ${event.uid} stays in the GM register until one ends — raise routinesMax or add nodes`);
    }
    const child: RoutineChild = { event, term, resolved, stopped: false, restarts: 0 };
    this.registry.add(child);
    this.counters.started++;
    this.run(child);
    return admission;
  }

  /** A newer term was seen for `shard` (a new leader, possibly this node): routines of older terms stop. Returns how many. */
  fence(shard: string, term: number): number {
    const deposed = this.registry.observeTerm(shard, term);
    for (const c of deposed) this.stop(c);
    return deposed.length;
  }

  /** Stops every routine of a shard (leadership lost). Their register rows stay for the next leader. */
  stopShard(shard: string): number {
    const children = this.registry.ofShard(shard);
    for (const c of children) this.stop(c);
    return children.length;
  }

  /** A compositor committed the event's canon (LISTEN/NOTIFY): wake its routine. */
  notifyComposed(uid: string): void {
    const w = this.waiters.get(uid);
    if (w === undefined) return;
    this.waiters.delete(uid);
    w.resolve();
  }

  isLive(uid: string): boolean {
    return this.registry.get(uid) !== undefined;
  }

  termOf(shard: string): number | undefined {
    return this.registry.termOf(shard);
  }

  /** Live routines (cheaper than stats()). */
  get liveCount(): number {
    return this.registry.size;
  }

  stats(): SupervisorStats {
    return { ...this.counters, live: this.registry.size, waiting: this.waiters.size };
  }

  /** Stops every routine; rows stay in the register, so another process (or a restart) resumes them. */
  close(): void {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    for (const c of [...this.registry.values()]) this.stop(c);
  }

  // --- internals ------------------------------------------------------------------------------

  private run(child: RoutineChild): void {
    runRoutine(child, this.ctx).then(
      (end) => this.exited(child, end),
      (e: unknown) => this.crashed(child, e),
    );
  }

  private exited(child: RoutineChild, end: RoutineEnd | 'fenced' | 'stopped'): void {
    if (this.registry.remove(child)) this.counters.ended++;
    if (this.waiters.get(child.event.uid)?.child === child) this.waiters.delete(child.event.uid);
    this.options.onRoutineEnd?.(child.event.uid, end);
  }

  private crashed(child: RoutineChild, e: unknown): void {
    if (e instanceof FencedError) {
      this.counters.fenced++;
      child.stopped = true;
      this.exited(child, 'fenced');
      return;
    }
    if (child.stopped || e instanceof RoutineStopped) {
      this.exited(child, 'stopped');
      return;
    }
    this.options.onCrash?.(child.event.uid, e);
    const shard = child.event.shard;
    let window = this.intensity.get(shard);
    if (window === undefined) {
      window = new RestartIntensity(this.config.restartsMax, this.config.restartPeriodMs);
      this.intensity.set(shard, window);
    }
    if (!window.record(this.nowMs())) {
      this.counters.escalations++;
      this.stopShard(shard);
      this.exited(child, 'stopped');
      window.reset();
      this.options.onEscalate?.(shard, e);
      return;
    }
    child.restarts++;
    this.counters.restarts++;
    const respawn = () => {
      if (!child.stopped && !this.closed) this.run(child);
    };
    if (this.config.restartDelayMs === 0) setImmediate(respawn);
    else setTimeout(respawn, this.config.restartDelayMs).unref();
  }

  private stop(child: RoutineChild): void {
    if (child.stopped) return;
    child.stopped = true;
    this.counters.stopped++;
    // Out of the registry at once, so a routine of the new term can start for the same UID.
    this.registry.remove(child);
    const w = this.waiters.get(child.event.uid);
    if (w !== undefined) {
      this.waiters.delete(child.event.uid);
      w.reject(new RoutineStopped(`routine ${child.event.uid} stopped while waiting for composition`));
    }
  }

  private awaitComposed(child: RoutineChild): Promise<void> {
    const uid = child.event.uid;
    if (this.waiters.has(uid)) throw new Error(`invariant: two waiters for ${uid}`);
    const p = new Promise<void>((resolve, reject) => this.waiters.set(uid, { child, resolve, reject }));
    this.ensurePolling();
    return p;
  }

  private ensurePolling(): void {
    if (this.pollTimer !== null || this.closed) return;
    this.pollTimer = setInterval(() => void this.poll(), this.config.composedPollMs);
    this.pollTimer.unref();
  }

  /** The safety net under notifications: ask the register about the longest-waiting routines, round robin. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    if (this.waiters.size === 0) {
      if (this.pollTimer) clearInterval(this.pollTimer);
      this.pollTimer = null;
      return;
    }
    this.polling = true;
    try {
      const batch: string[] = [];
      for (const uid of this.waiters.keys()) {
        batch.push(uid);
        if (batch.length >= this.config.composedPollBatch) break;
      }
      const done = new Set(await this.options.store.composed(batch));
      for (const uid of batch) {
        if (done.has(uid)) this.notifyComposed(uid);
        else {
          // Rotate: the next poll asks about others first.
          const w = this.waiters.get(uid);
          if (w !== undefined) {
            this.waiters.delete(uid);
            this.waiters.set(uid, w);
          }
        }
      }
    } catch {
      // The register is unreachable: the next poll retries; routines keep waiting.
    } finally {
      this.polling = false;
    }
  }
}
