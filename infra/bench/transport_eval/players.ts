// Real player clients (each its own SQLite file and NATS connection) for the evaluation, with commit →
// applied latency measured on a few probe players and a gap/duplicate audit of every player.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PlayerClient } from '../../../transport/index.ts';
import { quantiles, until, type Quantiles } from '../transport.ts';

export interface Audit {
  players: number;
  expectedPerPlayer: number;
  missing: number;
  extra: number;
  duplicatesAcked: number;
  appliedByStream: number;
  appliedByDistrict: number;
}

export class MeasuredPlayers {
  readonly ids: string[];
  readonly clients: PlayerClient[];
  private readonly committedAtMs = new Map<number, number>();
  private readonly latencyById = new Map<number, number[]>();
  private readonly seen: Set<number>[];
  private appliedBeforeCommitSeen: { id: number; atMs: number }[] = [];

  constructor(dir: string, prefix: string, players: number, servers: { events: string[]; district?: string[] }, probes: number) {
    mkdirSync(dir, { recursive: true });
    this.ids = Array.from({ length: players }, (_, i) => `${prefix}${i}`);
    this.clients = this.ids.map((id) => PlayerClient.open({ playerId: id, dbPath: path.join(dir, `${id}.sqlite`), eventsServers: servers.events, districtServers: servers.district, applyLingerMs: 2 }));
    this.seen = this.clients.slice(0, probes).map(() => new Set<number>());
    this.clients.slice(0, probes).forEach((c, k) => {
      c.onApply((_path, r, atMs) => {
        if (r.applied === 0) return;
        for (const id of c.store.canonIds()) {
          if (this.seen[k]!.has(id)) continue;
          this.seen[k]!.add(id);
          const t = this.committedAtMs.get(id);
          if (t !== undefined) this.sample(id, atMs - t);
          else this.appliedBeforeCommitSeen.push({ id, atMs }); // applied before the committing client saw its commit return
        }
      });
    });
  }

  async joinAndConnect(eventUid: string): Promise<void> {
    for (const c of this.clients) await c.join(eventUid);
    for (let i = 0; i < this.clients.length; i += 50) await Promise.all(this.clients.slice(i, i + 50).map((c) => c.connect()));
  }

  /** Call right after the commit returned (Date.now()). */
  committed(ids: readonly number[], atMs: number): void {
    for (const id of ids) this.committedAtMs.set(id, atMs);
    if (this.appliedBeforeCommitSeen.length === 0) return;
    const still: { id: number; atMs: number }[] = [];
    for (const a of this.appliedBeforeCommitSeen) {
      const t = this.committedAtMs.get(a.id);
      if (t === undefined) still.push(a);
      else this.sample(a.id, Math.max(0, a.atMs - t));
    }
    this.appliedBeforeCommitSeen = still;
  }

  private sample(id: number, ms: number): void {
    const list = this.latencyById.get(id);
    if (list === undefined) this.latencyById.set(id, [ms]);
    else list.push(ms);
  }

  /** Commit → applied in each probe player's SQLite (one sample per probe and id), over all ids or the given ones. */
  latency(ids?: readonly number[]): Quantiles {
    if (ids === undefined) return quantiles([...this.latencyById.values()].flat());
    return quantiles(ids.flatMap((id) => this.latencyById.get(id) ?? []));
  }

  async waitAll(expected: readonly number[], timeoutMs: number): Promise<void> {
    await until(async () => this.clients.every((c) => c.store.counts().rows >= expected.length), timeoutMs, `every player to hold ${expected.length} canon rows`, 100);
  }

  audit(expected: readonly number[]): Audit {
    const want = new Set(expected);
    const a: Audit = { players: this.clients.length, expectedPerPlayer: want.size, missing: 0, extra: 0, duplicatesAcked: 0, appliedByStream: 0, appliedByDistrict: 0 };
    for (const c of this.clients) {
      const got = new Set(c.store.canonIds());
      for (const id of want) if (!got.has(id)) a.missing++;
      for (const id of got) if (!want.has(id)) a.extra++;
      a.duplicatesAcked += c.totals.stream.duplicates + c.totals.district.duplicates;
      a.appliedByStream += c.totals.stream.applied;
      a.appliedByDistrict += c.totals.district.applied;
    }
    return a;
  }

  async close(): Promise<void> {
    for (const c of this.clients) await c.close().catch(() => undefined);
  }
}
