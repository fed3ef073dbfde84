// Simulated clients: each issues one operation at a time (write / cas / read on a few keys) to a
// replica of its choice, with a timeout, and records what it saw in a linearizability history.
import { HistoryRecorder, logicalClock, type KvInput, type KvOutput, type OperationHandle } from '../check/index.ts';
import type { ReplicaId } from '../raft/index.ts';
import type { KvCommand } from './kv.ts';
import type { SimRandom } from './prng.ts';

export type RequestStatus = 'pending' | 'ok' | 'fail' | 'info';

export interface ClientRequest {
  readonly requestId: number;
  readonly clientId: number;
  readonly handle: OperationHandle;
  readonly input: KvInput;
  /** The command (writes and cas); undefined for reads. */
  readonly command: KvCommand | undefined;
  status: RequestStatus;
  /** Attempts sent (retries go to other replicas, with the same command id), and how many definitely failed. */
  attempts: number;
  attemptsFailed: number;
  /** Replicas tried, in order. */
  readonly targets: ReplicaId[];
  /** For a write/cas acknowledged ok: the log index at which it took effect. */
  appliedIndex: number | undefined;
}

interface Client {
  readonly id: number;
  seq: number;
  /** The last value this client saw or wrote per key: what its next cas expects. */
  readonly lastSeen: Map<string, number | null>;
  pending: ClientRequest | undefined;
}

/** Explicit limit on operations per run (the history must stay checkable). */
const REQUESTS_MAX = 200_000;

export class ClientPool {
  readonly recorder = new HistoryRecorder<KvInput, KvOutput>({ clock: logicalClock(), operationsMax: REQUESTS_MAX });
  readonly requests: ClientRequest[] = [];
  private readonly clients: Client[] = [];
  readonly keys: string[];
  private nextValue = 1;
  readonly counts = { ok: 0, fail: 0, info: 0, reads: 0, writes: 0, cas: 0, readsOk: 0, casSwapped: 0 };

  constructor(
    private readonly random: SimRandom,
    clientCount: number,
    keyCount: number,
  ) {
    for (let i = 1; i <= clientCount; i++) this.clients.push({ id: i, seq: 0, lastSeen: new Map(), pending: undefined });
    this.keys = Array.from({ length: keyCount }, (_, i) => `k${i}`);
  }

  get clientIds(): number[] {
    return this.clients.map((c) => c.id);
  }

  get pendingCount(): number {
    return this.recorder.pendingCount;
  }

  isIdle(clientId: number): boolean {
    return this.client(clientId).pending === undefined;
  }

  private client(id: number): Client {
    const c = this.clients[id - 1];
    if (!c) throw new Error(`no client ${id}`);
    return c;
  }

  /** Invokes a new random operation for an idle client. */
  invoke(clientId: number, kind?: KvInput['kind']): ClientRequest {
    const c = this.client(clientId);
    if (c.pending) throw new Error(`client ${clientId} already has request ${c.pending.requestId} pending`);
    const key = this.random.pick(this.keys);
    const roll = this.random.float();
    const k = kind ?? (roll < 0.4 ? 'write' : roll < 0.7 ? 'cas' : 'read');
    let input: KvInput;
    let command: KvCommand | undefined;
    if (k === 'read') {
      input = { kind: 'read', key };
      this.counts.reads++;
    } else if (k === 'write') {
      const value = this.nextValue++;
      input = { kind: 'write', key, value };
      command = { clientId, seq: ++c.seq, op: { kind: 'write', key, value } };
      this.counts.writes++;
    } else {
      const value = this.nextValue++;
      // Expect what we last saw (often right under low contention), else any earlier value.
      const expect = this.random.chance(0.7) ? (c.lastSeen.get(key) ?? null) : this.random.chance(0.3) ? null : this.random.between(1, value);
      input = { kind: 'cas', key, expect, value };
      command = { clientId, seq: ++c.seq, op: { kind: 'cas', key, expect, value } };
      this.counts.cas++;
    }
    const handle = this.recorder.invoke(clientId, input);
    const req: ClientRequest = {
      requestId: this.requests.length,
      clientId,
      handle,
      input,
      command,
      status: 'pending',
      attempts: 0,
      attemptsFailed: 0,
      targets: [],
      appliedIndex: undefined,
    };
    this.requests.push(req);
    c.pending = req;
    return req;
  }

  /** Completes a request once; later outcomes (a reply after a timeout) are ignored. Returns whether it completed now. */
  complete(req: ClientRequest, status: 'ok' | 'fail' | 'info', output?: KvOutput): boolean {
    if (req.status !== 'pending') return false;
    req.status = status;
    const c = this.client(req.clientId);
    c.pending = undefined;
    this.counts[status]++;
    if (status === 'ok') {
      if (output === undefined) throw new Error(`request ${req.requestId} ok without output`);
      this.recorder.ok(req.handle, output);
      const input = req.input;
      if (input.kind === 'read') {
        c.lastSeen.set(input.key, output.value ?? null);
        this.counts.readsOk++;
      } else if (input.kind === 'write' || output.ok) {
        c.lastSeen.set(input.key, input.value);
        if (input.kind === 'cas') this.counts.casSwapped++;
      }
    } else if (status === 'fail') {
      this.recorder.fail(req.handle);
    } else {
      this.recorder.info(req.handle);
    }
    return true;
  }
}
