// `nimmer bench transfers`: what a cross-shard transfer costs against the single Raft write it is
// built from. One local cluster (3 node processes, 2 shards), closed-loop HTTP clients, three
// workloads measured in the same run: PUT an axis (the baseline: one Raft entry), a transfer
// between two axes of one shard (one entry), and a transfer between two shards (five entries in
// two groups: begin, prepare, decide, finish, done). Prints ops/s and latency, with ratios.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startClusterWithShards } from '../../shards/node/testing/client.ts';
import { quantile } from './load.ts';

export interface TransferBenchOptions {
  seconds: number;
  clients: number[];
  tickMs: number;
  out?: string;
}

interface Level {
  workload: string;
  clients: number;
  ok: number;
  refused: number;
  failed: number;
  opsPerSec: number;
  latencyMsP50: number;
  latencyMsP99: number;
}

type Body = (client: number, n: number) => { method: 'PUT' | 'POST'; path: string; body: unknown };

async function closedLoop(urls: string[], workload: string, clients: number, seconds: number, body: Body): Promise<Level> {
  const latencies: number[] = [];
  let ok = 0;
  let refused = 0;
  let failed = 0;
  const endMs = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let n = 0; performance.now() < endMs; n++) {
        const req = body(c, n);
        const t0 = performance.now();
        try {
          const res = await fetch(urls[(c + n) % urls.length] + req.path, { method: req.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(req.body), signal: AbortSignal.timeout(10_000) });
          await res.arrayBuffer();
          if (res.status === 200) ok++;
          else if (res.status === 409) refused++;
          else failed++;
        } catch {
          failed++;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const sorted = Float64Array.from(latencies).sort();
  return { workload, clients, ok, refused, failed, opsPerSec: (ok + refused) / seconds, latencyMsP50: quantile(sorted, 0.5), latencyMsP99: quantile(sorted, 0.99) };
}

export async function runTransferBench(o: TransferBenchOptions): Promise<Level[]> {
  console.log('starting 3 node processes with 2 shards…');
  const { cluster, shards } = await startClusterWithShards({ nodes: 3, tickMs: o.tickMs }, [
    { geography: 'northmarch', replicas: ['n1', 'n2', 'n3'] },
    { geography: 'heartland', replicas: ['n1', 'n2', 'n3'] },
  ]);
  const [a, b] = shards as [string, string];
  const urls = [1, 2, 3].map((id) => cluster.url(id));
  const levels: Level[] = [];
  try {
    // Balances far from both bounds, and each client moves 1 back and forth: nothing is refused.
    for (const s of [a, b]) for (const axis of ['trade_flow', 'order']) await fetch(`${urls[0]}/shards/${s}/axes/${axis}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: axis === 'trade_flow' ? 100 : 50 }) });
    const run = Date.now().toString(36);
    const swap = (n: number) => (n % 2 === 0 ? [0, 1] : [1, 0]);
    const workloads: Array<[string, Body]> = [
      ['put axis (baseline)', (c, n) => ({ method: 'PUT', path: `/shards/${a}/axes/order`, body: { value: (c + n) % 100 } })],
      ['transfer, one shard', (c, n) => {
        const [x, y] = swap(n).map((i) => ['trade_flow', 'order'][i]!);
        return { method: 'POST', path: '/transfers', body: { id: `bl-${run}-${c}-${n}`, from: { shard: b, axis: x }, to: { shard: b, axis: y }, amount: 1 } };
      }],
      ['transfer, two shards', (c, n) => {
        const [x, y] = swap(n).map((i) => [a, b][i]!);
        return { method: 'POST', path: '/transfers', body: { id: `bx-${run}-${c}-${n}`, from: { shard: x, axis: 'trade_flow' }, to: { shard: y, axis: 'trade_flow' }, amount: 1 } };
      }],
    ];
    // Warm every path (JIT, connections, WAL) before anything is measured.
    for (const [name, body] of workloads) await closedLoop(urls, name, 4, 2, body);
    for (const clients of o.clients) {
      for (const [name, body] of workloads) {
        const level = await closedLoop(urls, name, clients, o.seconds, body);
        levels.push(level);
        console.log(`${name.padEnd(22)} ${String(clients).padStart(4)} clients: ${level.opsPerSec.toFixed(0).padStart(6)} ops/s  p50 ${level.latencyMsP50.toFixed(1)} ms  p99 ${level.latencyMsP99.toFixed(1)} ms  (${level.refused} refused, ${level.failed} failed)`);
      }
      const base = levels.find((l) => l.clients === clients && l.workload.startsWith('put'))!;
      for (const l of levels.filter((x) => x.clients === clients && !x.workload.startsWith('put'))) {
        console.log(`  ${l.workload}: ${(l.opsPerSec / base.opsPerSec).toFixed(2)}× the baseline's throughput, p50 ${(l.latencyMsP50 / base.latencyMsP50).toFixed(2)}× its latency`);
      }
    }
  } finally {
    await cluster.stop();
  }
  if (o.out) {
    await mkdir(path.dirname(o.out), { recursive: true });
    await writeFile(o.out, JSON.stringify({ bench: 'transfers', at: new Date().toISOString(), options: o, levels }, null, 2));
    console.log(`report: ${o.out}`);
  }
  return levels;
}
