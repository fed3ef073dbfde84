// Replication over a real nats-server, with loss, repeats and reordering injected (seeded) at the
// message layer: three replicas in one process must converge to exactly the acknowledged writes.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeTestReplica, countersOf, openTestReplica, startTestBus, waitFor, type TestBus, type TestReplica } from './testing/cluster.ts';
import { NO_FAULTS, prng } from './testing/lossy_transport.ts';
import { CrdtInputError, CrdtLimitError } from './errors.ts';
import { freePort } from '../../infra/launcher/index.ts';
import { NatsTransport } from './nats_transport.ts';
import { Replica } from './replica.ts';
import { FAST } from './testing/cluster.ts';

let bus: TestBus;
beforeAll(async () => {
  bus = await startTestBus();
});
afterAll(async () => {
  await bus?.stop();
});

const SEED = Number(process.env.CRDT_SEED ?? 4242);
/** Long mode: CRDT_SEEDS=50 runs the lossy convergence test for 50 consecutive seeds. */
const SEEDS = Array.from({ length: Number(process.env.CRDT_SEEDS ?? 1) }, (_, i) => SEED + 1000 * i);

async function trio(doc: string, seed: number, settings = {}): Promise<TestReplica[]> {
  return Promise.all(['n1', 'n2', 'n3'].map((peer, i) => openTestReplica(bus, { doc, peer, seed: seed * 10 + i, settings })));
}

function expectConverged(rs: TestReplica[], expected: Record<string, number>, seed: number): Promise<number> {
  return waitFor(
    `convergence (seed ${seed}; rerun with CRDT_SEED=${seed})`,
    () => rs.every((r) => JSON.stringify(countersOf(r.replica)) === JSON.stringify(expected)),
    20_000,
    () => `expected ${JSON.stringify(expected)}, got ${rs.map((r) => JSON.stringify(countersOf(r.replica))).join(' | ')}; stats ${rs.map((r) => JSON.stringify(r.replica.stats)).join(' | ')}`,
  );
}

describe('Replica over NATS', () => {
  it.each(SEEDS)('converges to every acknowledged increment under 20 pct loss, duplication and reordering (seed %i)', async (seed) => {
    const rs = await trio('lossy', seed);
    try {
      for (const r of rs) r.lossy.faults = { lossRate: 0.2, duplicateRate: 0.2, reorderRate: 0.2, maxDelayMs: 40 };
      const random = prng(seed);
      const expected: Record<string, number> = {};
      const acks: Promise<void>[] = [];
      for (let i = 0; i < 600; i++) {
        const name = `c${Math.floor(random() * 5)}`;
        const by = Math.floor(random() * 21) - 5;
        acks.push(rs[Math.floor(random() * 3)]!.replica.increment(name, by));
        if (by !== 0) expected[name] = (expected[name] ?? 0) + by;
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 15));
      }
      await Promise.all(acks);
      // Entries: the newest (term, index) wins wherever it was written.
      rs[0]!.replica.putEntry('shard-a', { term: 2, index: 10, atMs: 1, value: { x: 1 } });
      rs[1]!.replica.putEntry('shard-a', { term: 3, index: 4, atMs: 2, value: { x: 2 } });
      rs[2]!.replica.putEntry('shard-a', { term: 3, index: 3, atMs: 3, value: { x: 3 } });
      await expectConverged(rs, Object.fromEntries(Object.entries(expected).sort()), seed);
      await waitFor('entries converge', () => rs.every((r) => JSON.stringify(r.replica.entries().get('shard-a')?.value) === '{"x":2}'), 20_000);
      const dropped = rs.reduce((n, r) => n + (r.replica.stats.dropped.duplicate ?? 0), 0);
      const resets = rs.reduce((n, r) => n + r.replica.stats.resets, 0);
      expect(dropped, 'duplicates reached the receivers and were dropped').toBeGreaterThan(0);
      expect(resets, 'lost messages forced pair resets').toBeGreaterThan(0);
      expect(rs.reduce((n, r) => n + r.lossy.counts.lost, 0)).toBeGreaterThan(0);
    } finally {
      await Promise.all(rs.map(closeTestReplica));
    }
  });

  it('keeps accepting increments on both sides of a partition and converges after the heal', async () => {
    const rs = await trio('partition', SEED + 1);
    try {
      await waitFor('peer discovery', () => rs.every((r) => Object.values(r.replica.freshness().peers).filter((p) => p.live).length === 2), 10_000);
      rs[2]!.lossy.cut = true;
      await Promise.all([rs[0]!.replica.increment('hits', 5), rs[2]!.replica.increment('hits', 7), rs[2]!.replica.increment('solo', 1)]);
      await new Promise((r) => setTimeout(r, 600)); // longer than peerTimeoutMs: each side sees the other gone
      expect(countersOf(rs[2]!.replica)).toEqual({ hits: 7, solo: 1 });
      expect(countersOf(rs[1]!.replica)).toEqual({ hits: 5 });
      expect(rs[1]!.replica.freshness().peers.n3?.live).toBe(false);
      rs[2]!.lossy.cut = false;
      const ms = await expectConverged(rs, { hits: 12, solo: 1 }, SEED + 1);
      console.log(`partition heal: converged ${ms} ms after the heal`);
      expect(rs[0]!.replica.freshness().peers.n3?.live).toBe(true);
    } finally {
      await Promise.all(rs.map(closeTestReplica));
    }
  });

  it('compacts: the document size stays bounded under sustained increments and no value is lost', async () => {
    const seed = SEED + 2;
    const rs = await trio('compact', seed, { compactBytes: 4096 });
    try {
      for (const r of rs) r.lossy.faults = { lossRate: 0.05, duplicateRate: 0.05, reorderRate: 0.05, maxDelayMs: 20 };
      const expected: Record<string, number> = {};
      let maxBytes = 0;
      const random = prng(seed);
      for (let round = 0; round < 150; round++) {
        const acks: Promise<void>[] = [];
        for (let i = 0; i < 6; i++) {
          const name = `k${Math.floor(random() * 4)}`;
          acks.push(rs[i % 3]!.replica.increment(name, 1));
          expected[name] = (expected[name] ?? 0) + 1;
        }
        await Promise.all(acks);
        maxBytes = Math.max(maxBytes, ...rs.map((r) => r.replica.docBytes));
      }
      for (const r of rs) r.lossy.faults = NO_FAULTS;
      await expectConverged(rs, Object.fromEntries(Object.entries(expected).sort()), seed);
      const epochs = rs.map((r) => r.replica.epoch);
      console.log(`compaction: epochs ${epochs.join(',')}, largest document ${maxBytes} bytes (threshold 4096), final ${rs.map((r) => r.replica.docBytes).join(',')}`);
      expect(Math.min(...epochs)).toBeGreaterThan(3);
      expect(maxBytes).toBeLessThan(3 * 4096);
    } finally {
      await Promise.all(rs.map(closeTestReplica));
    }
  });

  it('survives a restart from disk: acknowledged increments and the epoch are kept', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nimmer-crdt-disk-'));
    try {
      let r = await openTestReplica(bus, { doc: 'disk', peer: 'n1', seed: 1, dir });
      await r.replica.increment('a', 3);
      await r.replica.compactNow();
      await r.replica.increment('a', -1);
      await r.replica.increment('b', 2);
      await closeTestReplica(r);
      r = await openTestReplica(bus, { doc: 'disk', peer: 'n1', seed: 2, dir });
      expect(countersOf(r.replica)).toEqual({ a: 2, b: 2 });
      expect(r.replica.epoch).toBe(2);
      expect(readdirSync(dir).sort()).toEqual(['epoch-2.am', 'writer']);
      await r.replica.increment('a', 1);
      expect(countersOf(r.replica)).toEqual({ a: 3, b: 2 });
      await closeTestReplica(r);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a node that lost its directory writes as a new writer: its old totals do not swallow new increments', async () => {
    const dirA = mkdtempSync(path.join(os.tmpdir(), 'nimmer-crdt-wipe-'));
    const b = await openTestReplica(bus, { doc: 'wipe', peer: 'n2', seed: 5 });
    try {
      let a = await openTestReplica(bus, { doc: 'wipe', peer: 'n1', seed: 6, dir: dirA });
      await a.replica.increment('w', 5);
      await waitFor('n2 sees 5', () => countersOf(b.replica).w === 5, 10_000);
      await closeTestReplica(a);
      rmSync(dirA, { recursive: true, force: true });
      a = await openTestReplica(bus, { doc: 'wipe', peer: 'n1', seed: 7, dir: dirA });
      await a.replica.increment('w', 1);
      await waitFor('both see 6', () => countersOf(a.replica).w === 6 && countersOf(b.replica).w === 6, 10_000, () => `${JSON.stringify(countersOf(a.replica))} ${JSON.stringify(countersOf(b.replica))}`);
      await closeTestReplica(a);
    } finally {
      await closeTestReplica(b);
      rmSync(dirA, { recursive: true, force: true });
    }
  });

  it('starts and takes increments when no NATS server answers (detached until one does)', async () => {
    const dead = await freePort();
    const transport = new NatsTransport({ servers: [`nats://127.0.0.1:${dead}`], name: 'dead', retryMs: 100 });
    const replica = await Replica.open({ doc: 'dead', peer: 'n1', transport, settings: FAST });
    try {
      await replica.increment('offline', 4);
      expect(countersOf(replica)).toEqual({ offline: 4 });
      expect(replica.freshness().connected).toBe(false);
    } finally {
      await replica.close();
      await transport.close();
    }
  });

  it('refuses bad input and enforces the counter limit', async () => {
    const r = await openTestReplica(bus, { doc: 'limits', peer: 'n1', seed: 1, settings: { countersMax: 2 } });
    try {
      expect(() => r.replica.increment('bad/name', 1)).toThrow(CrdtInputError);
      expect(() => r.replica.increment('x'.repeat(65), 1)).toThrow(CrdtInputError);
      expect(() => r.replica.increment('a', 1.5)).toThrow(CrdtInputError);
      expect(() => r.replica.increment('a', 2e9)).toThrow(CrdtInputError);
      await Promise.all([r.replica.increment('a', 1), r.replica.increment('b', 1)]);
      expect(() => r.replica.increment('c', 1)).toThrow(CrdtLimitError);
      await r.replica.increment('a', 1);
      expect(countersOf(r.replica)).toEqual({ a: 2, b: 1 });
    } finally {
      await closeTestReplica(r);
    }
  });
});
