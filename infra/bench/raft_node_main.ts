// A benchmark node: one real process hosting `groups` Raft groups (3 replicas each) over TCP with
// the fsync'd WAL, driven by the benchmark over IPC.
import { openRaftNode } from '../../consensus/runtime/index.ts';
import { CounterStateMachine } from '../../consensus/runtime/testing/counter_state_machine.ts';
import { serveIpc } from '../proc/spawn_ts.ts';

interface NodeConfig {
  nodeId: number;
  dataDir: string;
  port: number;
  peers: Record<number, { host: string; port: number }>;
  groups: number;
  voters: number[];
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  /** WAL preallocation (undefined: the runtime's default). */
  walPreallocateBytes?: number;
}

const cfg = JSON.parse(process.argv[2]) as NodeConfig;
const node = await openRaftNode({
  nodeId: cfg.nodeId,
  dataDir: cfg.dataDir,
  listen: { host: '127.0.0.1', port: cfg.port },
  peers: cfg.peers,
  tickMs: cfg.tickMs,
  electionTicks: cfg.electionTicks,
  heartbeatTicks: cfg.heartbeatTicks,
  seed: cfg.nodeId,
  proposalTimeoutMs: 10_000,
  wal: cfg.walPreallocateBytes === undefined ? undefined : { preallocateBytes: cfg.walPreallocateBytes },
});
for (let g = 1; g <= cfg.groups; g++) node.openGroup(g, new CounterStateMachine(), { voters: cfg.voters });

/** Socket writes and frames sent over every peer link so far. */
function linkTotals(): { writes: number; frames: number } {
  let writes = 0;
  let frames = 0;
  for (const peer of Object.values(node.transportStats()?.peers ?? {})) {
    writes += peer.writes;
    frames += peer.sentFrames;
  }
  return { writes, frames };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function load(proposers: number, durationMs: number, entryBytes: number) {
  const payload = new Uint8Array(entryBytes);
  for (let i = 0; i < entryBytes; i++) payload[i] = (i * 7) & 0xff;
  const latencies: number[] = [];
  let errors = 0;
  const m0 = { ...node.metrics.snapshot() };
  const t0Stats = linkTotals();
  const t0 = performance.now();
  const end = t0 + durationMs;
  // The proposers run in the leader's process, so their own cost counts in its CPU per commit:
  // one clock read per proposal (its end is the next one's start).
  const worker = async () => {
    let s = performance.now();
    while (s < end) {
      try {
        await node.propose(1, payload);
        const t = performance.now();
        latencies.push(t - s);
        s = t;
      } catch {
        errors++;
        await new Promise((r) => setTimeout(r, 10));
        s = performance.now();
      }
    }
  };
  await Promise.all(Array.from({ length: proposers }, worker));
  const elapsedMs = performance.now() - t0;
  const m1 = node.metrics.snapshot();
  const t1Stats = linkTotals();
  const sorted = Float64Array.from(latencies).sort();
  const syncs = m1.syncs - m0.syncs;
  return {
    proposers,
    commits: latencies.length,
    errors,
    elapsedMs,
    commitsPerSec: (latencies.length / elapsedMs) * 1000,
    latencyMsP50: percentile(sorted, 0.5),
    latencyMsP99: percentile(sorted, 0.99),
    latencyMsMax: sorted.length ? sorted[sorted.length - 1] : NaN,
    fsyncs: syncs,
    entriesPerFsync: syncs > 0 ? latencies.length / syncs : NaN,
    fsyncMsMean: syncs > 0 ? (m1.syncMsTotal - m0.syncMsTotal) / syncs : NaN,
    socketWritesPerSec: ((t1Stats.writes - t0Stats.writes) / elapsedMs) * 1000,
    framesPerSocketWrite: t1Stats.writes > t0Stats.writes ? (t1Stats.frames - t0Stats.frames) / (t1Stats.writes - t0Stats.writes) : NaN,
    entriesPerProposalBatch: m1.proposalBatches > m0.proposalBatches ? latencies.length / (m1.proposalBatches - m0.proposalBatches) : NaN,
  };
}

serveIpc(async (msg) => {
  switch (msg.cmd) {
    case 'status': {
      let leaders = 0;
      let ledHere = 0;
      let quiesced = 0;
      for (const g of node.groupIds()) {
        const st = node.status(g);
        if (st.leader !== 0) leaders++;
        if (st.role === 'leader') ledHere++;
        if (st.quiesced) quiesced++;
      }
      return { group1: node.status(1), groups: node.groupIds().length, leaders, ledHere, quiesced, rssBytes: process.memoryUsage().rss };
    }
    case 'load':
      return load(msg.proposers as number, msg.durationMs as number, msg.entryBytes as number);
    case 'proposeUntilOk': {
      const deadline = Date.now() + (msg.timeoutMs as number);
      while (Date.now() < deadline) {
        try {
          await node.propose(1, new Uint8Array([1, 2, 3]), 300);
          return { okAtMs: Date.now() };
        } catch {
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      throw new Error('no commit before the deadline');
    }
    case 'cpu': {
      const u = process.cpuUsage();
      return { cpuUs: u.user + u.system };
    }
    case 'metrics':
      return node.metrics.snapshot();
    case 'exit':
      setTimeout(() => process.exit(0), 50);
      return {};
    case 'gc':
      (globalThis as { gc?: () => void }).gc?.();
      return { rssBytes: process.memoryUsage().rss, heapUsedBytes: process.memoryUsage().heapUsed };
    default:
      throw new Error(`unknown command ${msg.cmd}`);
  }
});
process.send?.({ ready: true });
