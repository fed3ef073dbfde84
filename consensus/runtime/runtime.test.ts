import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/launcher/index.ts';
import { openRaftNode } from './open.ts';
import type { RaftNode } from './node.ts';
import { CounterStateMachine } from './testing/counter_state_machine.ts';
import { IndeterminateError, UnavailableError } from './errors.ts';

interface Cluster {
  dir: string;
  ports: Record<number, { host: string; port: number }>;
  nodes: Map<number, RaftNode>;
  sms: Map<string, CounterStateMachine>;
}

const open: Cluster[] = [];

async function startNode(c: Cluster, id: number, groups: number[]): Promise<RaftNode> {
  const node = await openRaftNode({ nodeId: id, dataDir: path.join(c.dir, `n${id}`), listen: c.ports[id], peers: c.ports, tickMs: 10, electionTicks: 10, heartbeatTicks: 2, proposalTimeoutMs: 3000, snapshotEveryEntries: 50, snapshotTrailingEntries: 5, seed: 7 });
  for (const g of groups) {
    const sm = new CounterStateMachine(true);
    c.sms.set(`${id}/${g}`, sm);
    node.openGroup(g, sm, { voters: [1, 2, 3] });
  }
  c.nodes.set(id, node);
  return node;
}

async function cluster(groups: number[]): Promise<Cluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nimmer-runtime-'));
  const ports: Cluster['ports'] = {};
  for (const id of [1, 2, 3]) ports[id] = { host: '127.0.0.1', port: await freePort() };
  const c: Cluster = { dir, ports, nodes: new Map(), sms: new Map() };
  open.push(c);
  for (const id of [1, 2, 3]) await startNode(c, id, groups);
  return c;
}

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function leaderOf(c: Cluster, g: number): number | undefined {
  for (const [id, n] of c.nodes) if (n.status(g).role === 'leader') return id;
  return undefined;
}

async function proposeWithRetry(c: Cluster, g: number, text: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const l = leaderOf(c, g);
    const n = c.nodes.get(l ?? 1)!;
    try {
      await n.propose(g, new TextEncoder().encode(text));
      return;
    } catch (e) {
      if (!(e instanceof UnavailableError || e instanceof IndeterminateError)) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`could not commit ${text}`);
}

afterEach(async () => {
  for (const c of open.splice(0)) {
    for (const n of c.nodes.values()) await n.close();
    await rm(c.dir, { recursive: true, force: true });
  }
});

describe('multi-raft runtime over TCP with the WAL', () => {
  it('elects leaders for many groups and replicates proposals to every replica', async () => {
    const groups = [1, 2, 3, 4, 5, 6, 7, 8];
    const c = await cluster(groups);
    for (const g of groups) await until(`leader of ${g}`, () => leaderOf(c, g));
    for (const g of groups) for (let i = 0; i < 5; i++) await proposeWithRetry(c, g, `g${g}-${i}`);
    for (const g of groups) {
      await until(`replication of ${g}`, () => ([1, 2, 3].every((id) => c.sms.get(`${id}/${g}`)!.count === 5) ? true : undefined));
      const logs = [1, 2, 3].map((id) => c.sms.get(`${id}/${g}`)!.log);
      expect(logs[0]).toEqual(Array.from({ length: 5 }, (_, i) => `g${g}-${i}`));
      expect(logs[1]).toEqual(logs[0]);
      expect(logs[2]).toEqual(logs[0]);
    }
  });

  it('a proposal through a follower is forwarded and answered on the follower', async () => {
    const c = await cluster([1]);
    const l = await until('leader', () => leaderOf(c, 1));
    const f = [1, 2, 3].find((x) => x !== l)!;
    // A follower can forward only once it has heard from the new leader (a leader knows itself first).
    await until('the follower knows the leader', () => (c.nodes.get(f)!.status(1).leader === l ? true : undefined));
    const r = await c.nodes.get(f)!.propose(1, new TextEncoder().encode('via follower'));
    expect(r.result).toBe(1);
  });

  it('read index returns an index at or above every acknowledged write', async () => {
    const c = await cluster([1]);
    const l = await until('leader', () => leaderOf(c, 1));
    const w = await c.nodes.get(l)!.propose(1, new TextEncoder().encode('x'));
    for (const id of [1, 2, 3]) {
      const r = await c.nodes.get(id)!.readIndex(1);
      expect(r.index).toBeGreaterThanOrEqual(w.index);
      expect(c.sms.get(`${id}/1`)!.count).toBe(1);
    }
  });

  it('survives a full restart: nothing acknowledged is lost (WAL recovery, snapshots)', async () => {
    const c = await cluster([1, 2]);
    for (let i = 0; i < 120; i++) await proposeWithRetry(c, 1 + (i % 2), `v${i}`);
    for (const n of c.nodes.values()) await n.close();
    c.nodes.clear();
    for (const id of [1, 2, 3]) await startNode(c, id, [1, 2]);
    for (const g of [1, 2]) {
      await until(`leader of ${g} after restart`, () => leaderOf(c, g));
      await proposeWithRetry(c, g, 'after');
      await until(`apply after restart ${g}`, () => ([1, 2, 3].every((id) => c.sms.get(`${id}/${g}`)!.count === 61) ? true : undefined));
      for (const id of [1, 2, 3]) {
        const log = c.sms.get(`${id}/${g}`)!.log!;
        expect(log.slice(0, 60)).toEqual(Array.from({ length: 60 }, (_, i) => `v${i * 2 + (g - 1)}`));
      }
    }
  });

  it('a stopped follower catches up by snapshot after the leader compacted', async () => {
    const c = await cluster([1]);
    const l = await until('leader', () => leaderOf(c, 1));
    const f = [1, 2, 3].find((x) => x !== l)!;
    await c.nodes.get(f)!.close();
    c.nodes.delete(f);
    for (let i = 0; i < 200; i++) await proposeWithRetry(c, 1, `s${i}`);
    await startNode(c, f, [1]);
    await until('follower caught up', () => (c.sms.get(`${f}/1`)!.count === 200 ? true : undefined), 20_000);
    expect(c.nodes.get(f)!.metrics.snapshotsInstalled).toBeGreaterThan(0);
    expect(c.sms.get(`${f}/1`)!.log).toEqual(c.sms.get(`${l}/1`)!.log);
  });

  it('idle groups quiesce and wake on a proposal', async () => {
    const c = await cluster([1, 2, 3]);
    for (const g of [1, 2, 3]) await until(`leader ${g}`, () => leaderOf(c, g));
    await until('all quiesced', () => ([...c.nodes.values()].every((n) => [1, 2, 3].every((g) => n.status(g).quiesced)) ? true : undefined));
    await proposeWithRetry(c, 2, 'wake');
    await until('applied everywhere', () => ([1, 2, 3].every((id) => c.sms.get(`${id}/2`)!.count === 1) ? true : undefined));
  });

  it('a proposal with no leader anywhere is refused with 503 semantics', async () => {
    const c = await cluster([1]);
    // Before any election completes there is no leader: the proposal is definitely not applied.
    const n = c.nodes.get(1)!;
    if (n.status(1).leader === 0) await expect(n.propose(1, new Uint8Array([1]))).rejects.toBeInstanceOf(UnavailableError);
  });
});
