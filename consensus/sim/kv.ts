// The replicated state machine: a map of string keys to integer registers, with client sessions
// so a command delivered twice (a retry, a duplicated forwarded proposal) takes effect once, and
// the replica ids retired from the group (a conf change decided against an older configuration
// must not bring one back: like etcd, the application turns such a change into a no-op).
import type { ConfChange, ConfState } from '../raft/index.ts';

export type KvValue = number | null;

export type KvOp = { kind: 'write'; key: string; value: number } | { kind: 'cas'; key: string; expect: KvValue; value: number };

/** A client command carried in a normal log entry. (clientId, seq) identifies it for deduplication. */
export interface KvCommand {
  clientId: number;
  seq: number;
  op: KvOp;
}

/** write: ok. cas: ok iff it swapped. */
export interface KvResult {
  ok: boolean;
}

/** Explicit limit: commands are tiny; anything larger is a corrupted entry. */
const COMMAND_BYTES_MAX = 256;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(c: KvCommand): Uint8Array {
  const op = c.op;
  const json = op.kind === 'write' ? [c.clientId, c.seq, 'w', op.key, op.value] : [c.clientId, c.seq, 'c', op.key, op.expect, op.value];
  const bytes = encoder.encode(JSON.stringify(json));
  if (bytes.byteLength > COMMAND_BYTES_MAX) throw new RangeError(`command is ${bytes.byteLength} bytes (max ${COMMAND_BYTES_MAX})`);
  return bytes;
}

export function decodeCommand(data: Uint8Array): KvCommand {
  if (data.byteLength > COMMAND_BYTES_MAX) throw new Error(`corrupted command entry: ${data.byteLength} bytes`);
  const a = JSON.parse(decoder.decode(data)) as unknown[];
  const [clientId, seq, kind, key] = a as [number, number, string, string];
  if (kind === 'w') return { clientId, seq, op: { kind: 'write', key, value: a[4] as number } };
  if (kind === 'c') return { clientId, seq, op: { kind: 'cas', key, expect: a[4] as KvValue, value: a[5] as number } };
  throw new Error(`corrupted command entry: ${decoder.decode(data)}`);
}

interface Session {
  seq: number;
  result: KvResult;
}

export class KvStateMachine {
  /** The last log index reflected in this state. */
  appliedIndex: number;
  private readonly values = new Map<string, number>();
  private readonly sessions = new Map<number, Session>();
  private readonly retired = new Set<number>();
  /** Bug injection: forget sessions, so a duplicate applies again. */
  private readonly deduplicate: boolean;

  constructor(appliedIndex: number, deduplicate: boolean) {
    this.appliedIndex = appliedIndex;
    this.deduplicate = deduplicate;
  }

  /** Applies a command; returns its result and whether it was a duplicate (no effect). */
  apply(index: number, c: KvCommand): { result: KvResult; duplicate: boolean } {
    this.appliedIndex = index;
    const session = this.sessions.get(c.clientId);
    if (this.deduplicate && session !== undefined && c.seq <= session.seq) {
      // An older command of this client (its outcome was already decided) or a duplicate.
      return { result: session.result, duplicate: true };
    }
    const op = c.op;
    let result: KvResult;
    if (op.kind === 'write') {
      this.values.set(op.key, op.value);
      result = { ok: true };
    } else {
      const current = this.values.get(op.key) ?? null;
      const swaps = current === op.expect;
      if (swaps) this.values.set(op.key, op.value);
      result = { ok: swaps };
    }
    this.sessions.set(c.clientId, { seq: c.seq, result });
    return { result, duplicate: false };
  }

  /** A no-op or conf change entry: advances the applied index only. */
  skip(index: number): void {
    this.appliedIndex = index;
  }

  /** The conf change to apply: changes naming a retired replica become no-ops (replica 0). */
  validateConfChange(cc: ConfChange): ConfChange {
    if (!cc.changes.some((c) => this.retired.has(c.replica))) return cc;
    return { ...cc, changes: cc.changes.map((c) => (this.retired.has(c.replica) ? { ...c, replica: 0 } : c)) };
  }

  /** Replicas that left the group with this change are retired for good. */
  recordConfChange(before: ConfState, after: ConfState): void {
    const now = new Set([...after.voters, ...after.votersOutgoing, ...after.learners, ...after.learnersNext]);
    for (const id of [...before.voters, ...before.votersOutgoing, ...before.learners, ...before.learnersNext]) {
      if (!now.has(id)) this.retired.add(id);
    }
  }

  read(key: string): KvValue {
    return this.values.get(key) ?? null;
  }

  /** Deterministic bytes of the whole state (snapshot data; equal states give equal bytes). */
  encode(): Uint8Array {
    return encoder.encode(this.digest());
  }

  digest(): string {
    const values = [...this.values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const sessions = [...this.sessions.entries()].sort(([a], [b]) => a - b).map(([c, s]) => [c, s.seq, s.result.ok ? 1 : 0]);
    const retired = [...this.retired].sort((a, b) => a - b);
    return JSON.stringify({ v: values, s: sessions, r: retired });
  }

  static decode(data: Uint8Array, appliedIndex: number, deduplicate: boolean): KvStateMachine {
    const sm = new KvStateMachine(appliedIndex, deduplicate);
    if (data.byteLength === 0) return sm;
    const o = JSON.parse(decoder.decode(data)) as { v: [string, number][]; s: [number, number, number][]; r: number[] };
    for (const [k, v] of o.v) sm.values.set(k, v);
    for (const [c, seq, ok] of o.s) sm.sessions.set(c, { seq, result: { ok: ok === 1 } });
    for (const id of o.r) sm.retired.add(id);
    return sm;
  }
}
