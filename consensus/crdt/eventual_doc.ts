// The document model. Every value is a register that only grows in a lattice: a counter is a set
// of per-writer monotonic totals (positive and negative part), an entry is a snapshot ordered by
// (term, index). Concurrent writes to one register (Automerge conflicts) are joined by that order,
// never by Automerge's arbitrary winner, so any replica may copy any register into a rebuilt
// document (compaction) and nothing is lost when the copies meet the writers' own updates.
import { createHash } from 'node:crypto';
import * as A from '@automerge/automerge';

export interface EventualDoc {
  epoch: number;
  /** `<name>/<writer>/p|n` → that writer's total of positive (p) or negative (n) increments. */
  c: Record<string, number>;
  /** entry key → JSON of StoredEntry (an immutable string: one op, not one per character). */
  e: Record<string, string>;
}

export interface Entry {
  term: number;
  index: number;
  writer: string;
  atMs: number;
  value: unknown;
}

export interface CounterDelta {
  p: number;
  n: number;
}

/** Every replica creates the same genesis change for an epoch (fixed actor and time): its maps are shared. */
const GENESIS_ACTOR = '00'.repeat(16);
const genesisCache = new Map<number, Uint8Array>();

export function genesis(epoch: number, actor: string): A.Doc<EventualDoc> {
  if (!Number.isSafeInteger(epoch) || epoch < 1) throw new Error(`invariant: epoch must be a positive integer, got ${epoch}`);
  let bytes = genesisCache.get(epoch);
  if (!bytes) {
    const doc = A.change(A.init<EventualDoc>({ actor: GENESIS_ACTOR }), { time: 0, message: `nimmer eventual epoch ${epoch}` }, (d) => {
      d.epoch = epoch;
      d.c = {};
      d.e = {};
    });
    bytes = A.save(doc);
    if (genesisCache.size > 64) genesisCache.clear();
    genesisCache.set(epoch, bytes);
  }
  return A.load<EventualDoc>(bytes, { actor });
}

export function counterKey(name: string, writer: string, sign: 'p' | 'n'): string {
  return `${name}/${writer}/${sign}`;
}

function parseCounterKey(key: string): { name: string; writer: string; sign: 'p' | 'n' } | undefined {
  const parts = key.split('/');
  if (parts.length !== 3 || (parts[2] !== 'p' && parts[2] !== 'n')) return undefined;
  return { name: parts[0]!, writer: parts[1]!, sign: parts[2] };
}

/** The join (max) of every concurrent value of a counter register. */
/** Every concurrent value of a register (getConflicts answers undefined when there is just one). */
function registerValues(map: Record<string, unknown>, key: string): unknown[] {
  const conflicts = A.getConflicts(map, key);
  if (conflicts) return Object.values(conflicts);
  return key in map ? [map[key]] : [];
}

export function counterRegister(doc: A.Doc<EventualDoc>, key: string): number {
  let best = 0;
  for (const v of registerValues(doc.c, key)) if (typeof v === 'number' && v > best) best = v;
  return best;
}

function decodeEntry(raw: unknown): Entry | undefined {
  try {
    const e = JSON.parse(String(raw)) as Entry;
    if (typeof e.term !== 'number' || typeof e.index !== 'number' || typeof e.writer !== 'string') return undefined;
    return e;
  } catch {
    return undefined;
  }
}

/** Entry order: (term, index), ties broken by writer so every replica picks the same one. */
export function entryNewer(a: Entry, b: Entry): boolean {
  if (a.term !== b.term) return a.term > b.term;
  if (a.index !== b.index) return a.index > b.index;
  return a.writer > b.writer;
}

export function entryRegister(doc: A.Doc<EventualDoc>, key: string): Entry | undefined {
  let best: Entry | undefined;
  for (const v of registerValues(doc.e, key)) {
    const e = decodeEntry(v);
    if (e && (!best || entryNewer(e, best))) best = e;
  }
  return best;
}

export interface CounterView {
  value: number;
  /** Each writer's contribution (positive minus negative total). */
  writers: Record<string, number>;
}

export function readCounters(doc: A.Doc<EventualDoc>): Map<string, CounterView> {
  const out = new Map<string, CounterView>();
  for (const key of Object.keys(doc.c)) {
    const k = parseCounterKey(key);
    if (!k) continue;
    const v = counterRegister(doc, key) * (k.sign === 'p' ? 1 : -1);
    let view = out.get(k.name);
    if (!view) out.set(k.name, (view = { value: 0, writers: {} }));
    view.value += v;
    view.writers[k.writer] = (view.writers[k.writer] ?? 0) + v;
  }
  return out;
}

export function counterNames(doc: A.Doc<EventualDoc>): Set<string> {
  const names = new Set<string>();
  for (const key of Object.keys(doc.c)) {
    const k = parseCounterKey(key);
    if (k) names.add(k.name);
  }
  return names;
}

export function readEntries(doc: A.Doc<EventualDoc>): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const key of Object.keys(doc.e)) {
    const e = entryRegister(doc, key);
    if (e) out.set(key, e);
  }
  return out;
}

/** One change: this writer's totals grow by the batched deltas; newer entries replace older ones. */
export function writeLocal(doc: A.Doc<EventualDoc>, writer: string, deltas: Map<string, CounterDelta>, entries: Map<string, Entry>): A.Doc<EventualDoc> {
  const sets: Array<[string, number]> = [];
  for (const [name, d] of deltas) {
    for (const sign of ['p', 'n'] as const) {
      const by = d[sign];
      if (by === 0) continue;
      if (!(by > 0)) throw new Error(`invariant: a ${sign} delta must be positive, got ${by}`);
      const key = counterKey(name, writer, sign);
      const total = counterRegister(doc, key) + by;
      if (!Number.isSafeInteger(total)) throw new Error(`invariant: counter ${name} total ${total} left the safe-integer range`);
      sets.push([key, total]);
    }
  }
  const entrySets: Array<[string, string]> = [];
  for (const [key, e] of entries) {
    const current = entryRegister(doc, key);
    if (current && !entryNewer(e, current)) continue;
    entrySets.push([key, JSON.stringify(e)]);
  }
  if (sets.length === 0 && entrySets.length === 0) return doc;
  return A.change(doc, (d) => {
    for (const [k, v] of sets) d.c[k] = v;
    for (const [k, v] of entrySets) d.e[k] = new A.ImmutableString(v) as unknown as string;
  });
}

/**
 * Compaction: a fresh document for `epoch` holding the join of every register of `doc` — the
 * current state without the history that led to it.
 */
export function rebuild(doc: A.Doc<EventualDoc>, epoch: number, actor: string): A.Doc<EventualDoc> {
  if (!(epoch > doc.epoch)) throw new Error(`invariant: rebuild must move to a later epoch (${doc.epoch} → ${epoch})`);
  const counters: Array<[string, number]> = Object.keys(doc.c).map((k) => [k, counterRegister(doc, k)]);
  const entries: Array<[string, Entry]> = [];
  for (const [k, e] of readEntries(doc)) entries.push([k, e]);
  const fresh = genesis(epoch, actor);
  if (counters.length === 0 && entries.length === 0) return fresh;
  return A.change(fresh, (d) => {
    for (const [k, v] of counters) if (v > 0) d.c[k] = v;
    for (const [k, e] of entries) d.e[k] = new A.ImmutableString(JSON.stringify(e)) as unknown as string;
  });
}

/** A short digest of the document's heads, for heartbeats (equal digests: same state). */
export function headsDigest(doc: A.Doc<EventualDoc>): string {
  return createHash('sha256').update(A.getHeads(doc).sort().join(',')).digest('hex').slice(0, 24);
}
