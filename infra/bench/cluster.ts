// `nimmer bench cluster`: end-to-end through HTTP, a 3-node nimmer cluster against etcd 3.4
// (3 members on loopback), both driven by the same load generator in the same run: linearizable
// writes and reads at each concurrency level, the ratios nimmer/etcd, and RSS per node process.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { addShutdownHook } from '../launcher/supervisor.ts';
import { ipcRequest } from '../proc/spawn_ts.ts';
import { http, startLocalCluster, until, type LocalCluster } from '../../shards/node/testing/local_cluster.ts';
import { summariseProfiles, type ProfileSummary } from './cpu_profile.ts';
import { b64, ETCD_INSTALL_COMMAND, findEtcd, startEtcdCluster, type EtcdCluster } from './etcd.ts';
import { measureFsyncPerSec } from './fsync_baseline.ts';
import { LoadWorker, type LoadRequest, type LoadResult, type LoadSpec } from './load.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const PROFILER_PRELOAD = fileURLToPath(new URL('./cpu_profiler_preload.mjs', import.meta.url));
const REQUEST_TIMEOUT_MS = 10_000;
const SETTLE_TIMEOUT_MS = 120_000;
/** Values a register takes in the nimmer pool (every catalogue axis spans at least 0..100). */
const NIMMER_VALUE_MAX = 100;
/** Distinct values per register and node in the request pools. */
const VALUES_PER_REGISTER = 4;

export interface ClusterBenchOptions {
  seconds: number;
  warmupSeconds: number;
  /**
   * Unmeasured load on each system before the first level (writes, then reads, at the highest client
   * count): nimmer's node processes run JIT-compiled JavaScript, whose first thousand requests or so
   * are several times slower; without it the first level (1 client) measured mostly the warm-up.
   */
  prewarmSeconds: number;
  clients: number[];
  /**
   * Back-to-back pairs (ABBA) per level. One 10-s window's p99 ratio at 64 clients ranged 0.84×–1.5×
   * over a session on the same code: a verdict wants several rounds and their median.
   */
  rounds: number;
  valueBytes: number;
  shards: number;
  rssShards: number[];
  tickMs: number;
  /** The nodes' Raft snapshot interval (undefined: the node default). */
  snapshotEveryEntries?: number;
  profile: boolean;
  out?: string;
  md?: string;
  keep: boolean;
}

type System = 'nimmer' | 'etcd';
type Op = 'write' | 'read';

interface LevelResult extends LoadResult {
  system: System;
  op: Op;
  /** CPU of the 3 server processes during the measured window. */
  serverCpuMsPerOp: number;
  serverCpuCores: number;
  /** WAL fsyncs per second summed over the 3 servers, successful ops per fsync, mean fsync time. */
  fsyncsPerSec: number;
  opsPerFsync: number;
  fsyncMsMean: number;
  /** CPU used on this machine by processes other than the servers and the load generator (cores). */
  otherCpuCores: number;
  /** nimmer: where its slow requests waited. */
  serverLatency?: ServerLatency;
  /** Which back-to-back pair of the level (1-based). */
  round?: number;
}

interface Register {
  shard: string;
  axis: string;
}

const log = (s: string) => process.stdout.write(`${s}\n`);
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mibText = (bytes: number) => `${fmt(bytes / 2 ** 20, 1)} MiB`;

// ---- process accounting (/proc) --------------------------------------------------------------

const CLOCK_TICKS_PER_SEC = 100;

export function rssBytesOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status (is ${pid} a live process?)`);
  return Number(m[1]) * 1024;
}

function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces; fields after it start at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SEC;
}

const cpuMsOfAll = (pids: number[]) => pids.reduce((a, p) => a + cpuMsOf(p), 0);

/** Samples RSS every second until it stops moving (within 1% for 3 samples) or the timeout. */
async function settledRss(pids: number[], timeoutMs = 30_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let last = pids.map(rssBytesOf);
  let steady = 0;
  while (Date.now() < deadline && steady < 3) {
    await sleep(1000);
    const now = pids.map(rssBytesOf);
    steady = now.every((b, i) => Math.abs(b - last[i]) <= 0.01 * last[i]) ? steady + 1 : 0;
    last = now;
  }
  return last;
}

// ---- the two systems under test --------------------------------------------------------------

interface DiskStats {
  syncs: number;
  syncMs: number;
}

interface Target {
  system: System;
  pids: number[];
  writes: LoadRequest[];
  reads: LoadRequest[];
  /** WAL fsyncs so far, summed over the 3 servers (from their own metrics). */
  diskStats(): Promise<DiskStats>;
  /** nimmer only: zero the servers' slow-request accounting (at the start of the measured window) and read it back. */
  resetLatency?(): Promise<unknown>;
  latency?(): Promise<ServerLatency>;
}

/** Where the servers' slow requests (> slowMs) waited in the measured window, summed over the 3 nodes (GET /admin/latency). */
export interface ServerLatency {
  slowMs: number;
  requestsSlow: number;
  requestsVerySlow: number;
  requestMsMax: number;
  /** Mean over the slow requests: before the Raft call, in it, after it. */
  slowBeforeRaftMsMean: number;
  slowRaftMsMean: number;
  slowAfterRaftMsMean: number;
  proposalsSlow: number;
  proposalsVerySlow: number;
  proposalMsMax: number;
  /** Mean over the slow proposals: waiting for a loop round, reaching this node's log, commit and apply. */
  slowQueueMsMean: number;
  slowToLogMsMean: number;
  slowCommitMsMean: number;
  eventLoopDelayMsMax: number[];
  eventLoopDelayMsP99: number[];
  /** Per node: p50/p99 of every request's time inside the process (the entry node's view, forwarding included) and of its Raft part. */
  serverMsP50: number[];
  serverMsP99: number[];
  raftMsP99: number[];
  /** Shards led by each node at the end of the window (GET /cluster on the first node): leaders, not replicas, do a shard's proposing. */
  shardLeaders: Record<string, number>;
  snapshotMsMax: number[];
  /** Snapshots taken, sent, installed and proposals timed out in the window, summed over the nodes. */
  runtimeCounts: Record<string, number>;
  /** A few of the slowest proposals' stages (ms), for the log. */
  samples: string[];
}

interface LatencyPayload {
  requests: { slowMs: number; slow: number; verySlow: number; maxMs: number; slowBeforeRaftMsTotal: number; slowRaftMsTotal: number; slowAfterRaftMsTotal: number; eventLoopDelayMs: { p99: number; max: number }; totalMs: { p50: number; p99: number }; raftMs: { p50: number; p99: number } };
  proposals: { slow: number; verySlow: number; maxMs: number; slowStageMsTotal: { queue: number; toLog: number; commit: number }; recent: Array<{ groupId: number; leader: boolean; queue: number; toLog: number; commit: number; total: number }> };
  runtime: { snapshotMsMax: number; snapshotsTaken: number; snapshotsSent: number; snapshotsInstalled: number; proposalsTimedOut: number };
}

const RUNTIME_COUNTED = ['snapshotsTaken', 'snapshotsSent', 'snapshotsInstalled', 'proposalsTimedOut'] as const;

/** GET /admin/latency of every node; `since` (the runtime counters at the window's start) turns counters into the window's counts. */
async function nimmerLatency(origins: string[], since?: LatencyPayload['runtime'][]): Promise<ServerLatency> {
  const ps = (await Promise.all(origins.map((o) => http(`${o}/admin/latency`)))).map((r) => r.body as LatencyPayload);
  const shardLeaders: Record<string, number> = {};
  const cluster = (await http(`${origins[0]}/cluster`)).body as { shards?: Array<{ leader: string | null }> };
  for (const sh of cluster.shards ?? []) shardLeaders[sh.leader ?? 'none'] = (shardLeaders[sh.leader ?? 'none'] ?? 0) + 1;
  const runtimeCounts = Object.fromEntries(RUNTIME_COUNTED.map((k) => [k, ps.reduce((a, p, i) => a + p.runtime[k] - (since?.[i]?.[k] ?? 0), 0)])) as Record<(typeof RUNTIME_COUNTED)[number], number>;
  const sum = (f: (p: LatencyPayload) => number) => ps.reduce((a, p) => a + f(p), 0);
  const requestsSlow = sum((p) => p.requests.slow);
  const proposalsSlow = sum((p) => p.proposals.slow);
  const perReq = (f: (p: LatencyPayload) => number) => (requestsSlow > 0 ? sum(f) / requestsSlow : Number.NaN);
  const perProp = (f: (p: LatencyPayload) => number) => (proposalsSlow > 0 ? sum(f) / proposalsSlow : Number.NaN);
  const samples = ps
    .flatMap((p, i) => p.proposals.recent.map((r) => ({ ...r, node: i + 1 })))
    .sort((a, b) => b.total - a.total)
    .slice(0, 4)
    .map((r) => `n${r.node} g${r.groupId}${r.leader ? ' (leader)' : ''}: queue ${fmt(r.queue, 1)} + toLog ${fmt(r.toLog, 1)} + commit ${fmt(r.commit, 1)} = ${fmt(r.total, 1)} ms`);
  return {
    slowMs: ps[0]?.requests.slowMs ?? Number.NaN,
    requestsSlow,
    requestsVerySlow: sum((p) => p.requests.verySlow),
    requestMsMax: Math.max(...ps.map((p) => p.requests.maxMs)),
    slowBeforeRaftMsMean: perReq((p) => p.requests.slowBeforeRaftMsTotal),
    slowRaftMsMean: perReq((p) => p.requests.slowRaftMsTotal),
    slowAfterRaftMsMean: perReq((p) => p.requests.slowAfterRaftMsTotal),
    proposalsSlow,
    proposalsVerySlow: sum((p) => p.proposals.verySlow),
    proposalMsMax: Math.max(...ps.map((p) => p.proposals.maxMs)),
    slowQueueMsMean: perProp((p) => p.proposals.slowStageMsTotal.queue),
    slowToLogMsMean: perProp((p) => p.proposals.slowStageMsTotal.toLog),
    slowCommitMsMean: perProp((p) => p.proposals.slowStageMsTotal.commit),
    eventLoopDelayMsMax: ps.map((p) => p.requests.eventLoopDelayMs.max),
    eventLoopDelayMsP99: ps.map((p) => p.requests.eventLoopDelayMs.p99),
    serverMsP50: ps.map((p) => p.requests.totalMs.p50),
    serverMsP99: ps.map((p) => p.requests.totalMs.p99),
    raftMsP99: ps.map((p) => p.requests.raftMs.p99),
    shardLeaders,
    snapshotMsMax: ps.map((p) => p.runtime.snapshotMsMax),
    runtimeCounts,
    samples,
  };
}

const sumStats = (xs: DiskStats[]): DiskStats => xs.reduce((a, x) => ({ syncs: a.syncs + x.syncs, syncMs: a.syncMs + x.syncMs }), { syncs: 0, syncMs: 0 });

/** etcd's WAL fsync histogram from its Prometheus text. */
async function etcdDiskStats(url: string): Promise<DiskStats> {
  const text = (await http(`${url}/metrics`)).body as string;
  const metric = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { syncs: metric('etcd_disk_wal_fsync_duration_seconds_count'), syncMs: metric('etcd_disk_wal_fsync_duration_seconds_sum') * 1000 };
}

async function nimmerDiskStats(url: string): Promise<DiskStats> {
  const r = (await http(`${url}/admin/status`)).body as { runtime: { syncs: number; syncMsTotal: number } };
  return { syncs: r.runtime.syncs, syncMs: r.runtime.syncMsTotal };
}

function registerKey(r: Register): string {
  return `/nimmer-bench/${r.shard}/${r.axis}`;
}

function etcdTarget(etcd: EtcdCluster, registers: Register[], valueBytes: number): Target {
  const writes: LoadRequest[] = [];
  const reads: LoadRequest[] = [];
  for (const r of registers) {
    const key = b64(registerKey(r));
    for (const origin of etcd.urls) {
      reads.push({ origin, method: 'POST', path: '/v3/kv/range', body: JSON.stringify({ key }) });
      for (let v = 0; v < VALUES_PER_REGISTER; v++) {
        writes.push({ origin, method: 'POST', path: '/v3/kv/put', body: JSON.stringify({ key, value: b64(randomBytes(valueBytes)) }) });
      }
    }
  }
  return { system: 'etcd', pids: etcd.pids, writes, reads, diskStats: async () => sumStats(await Promise.all(etcd.urls.map(etcdDiskStats))) };
}

export function nimmerTarget(c: LocalCluster, registers: Register[]): Target {
  const origins = [...c.procs.keys()].sort().map((id) => c.url(id));
  const writes: LoadRequest[] = [];
  const reads: LoadRequest[] = [];
  for (const r of registers) {
    const p = `/shards/${encodeURIComponent(r.shard)}/axes/${encodeURIComponent(r.axis)}`;
    for (const origin of origins) {
      reads.push({ origin, method: 'GET', path: p });
      for (let v = 0; v < VALUES_PER_REGISTER; v++) {
        writes.push({ origin, method: 'PUT', path: p, body: JSON.stringify({ value: Math.floor(Math.random() * (NIMMER_VALUE_MAX + 1)) }) });
      }
    }
  }
  let since: LatencyPayload['runtime'][] | undefined;
  return {
    system: 'nimmer',
    pids: [...c.procs.values()].map((p) => p.pid!),
    writes,
    reads,
    diskStats: async () => sumStats(await Promise.all(origins.map(nimmerDiskStats))),
    resetLatency: async () => {
      since = (await Promise.all(origins.map((o) => http(`${o}/admin/latency`)))).map((r) => (r.body as LatencyPayload).runtime);
      await Promise.all(origins.map((o) => http(`${o}/admin/latency`, 'DELETE')));
    },
    latency: () => nimmerLatency(origins, since),
  };
}

async function okStatus(url: string, method = 'GET', body?: unknown): Promise<true | undefined> {
  return (await http(url, method, body)).status < 300 ? true : undefined;
}

interface NimmerCluster {
  cluster: LocalCluster;
  shardIds: string[];
  axes: string[];
}

/** A 3-node cluster with `shards` shards replicated on all 3 nodes, each serving reads and writes on every node. */
export async function startNimmer(shards: number, opts: ClusterBenchOptions, nodeOptions?: string): Promise<NimmerCluster> {
  const savedNodeOptions = process.env.NODE_OPTIONS;
  // Node processes inherit NODE_OPTIONS: the way to profile them without touching the launcher.
  if (nodeOptions !== undefined) process.env.NODE_OPTIONS = `${savedNodeOptions ?? ''} ${nodeOptions}`.trim();
  let c: LocalCluster;
  try {
    c = await startLocalCluster({ nodes: 3, gm: false, tickMs: opts.tickMs, ...(opts.snapshotEveryEntries !== undefined ? { snapshotEveryEntries: opts.snapshotEveryEntries } : {}) });
  } finally {
    if (savedNodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = savedNodeOptions;
  }
  try {
    const ids = [...c.procs.keys()].sort();
    const catalogue = await until('the catalogue to load into the meta group', async () => {
      const r = await http(`${c.url(1)}/catalogue`);
      return r.status === 200 ? (r.body as { axes: Array<{ id: string; min: number; max: number }> }) : undefined;
    }, SETTLE_TIMEOUT_MS);
    const tooNarrow = catalogue.axes.filter((a) => a.min > 0 || a.max < NIMMER_VALUE_MAX);
    if (tooNarrow.length > 0) throw new Error(`axes ${tooNarrow.map((a) => a.id).join(', ')} do not span 0..${NIMMER_VALUE_MAX}; the bench writes values in that range`);
    const shardIds: string[] = [];
    for (let i = 1; i <= shards; i++) {
      const geography = `g${String(i).padStart(2, '0')}`;
      const r = await http(`${c.url(1)}/admin/shards`, 'POST', { key: { geography, theme: '*', tier: '*', faction: '*' }, replicas: ['n1', 'n2', 'n3'] });
      if (r.status !== 201) throw new Error(`creating shard ${i} (${geography}) failed with ${r.status}: ${JSON.stringify(r.body)}`);
      shardIds.push((r.body as { shard: { id: string } }).shard.id);
    }
    for (const id of ids) await until(`GET /health on n${id} to answer 200`, () => okStatus(`${c.url(id)}/health`), SETTLE_TIMEOUT_MS);
    // Health says every group has a leader; a shard also needs the catalogue applied before it serves.
    const probeAxis = catalogue.axes[0].id;
    for (const s of shardIds) {
      for (const id of ids) await until(`shard ${s} to serve reads on n${id}`, () => okStatus(`${c.url(id)}/shards/${s}/axes/${probeAxis}`), SETTLE_TIMEOUT_MS);
    }
    return { cluster: c, shardIds, axes: catalogue.axes.map((a) => a.id) };
  } catch (e) {
    await c.stop();
    throw e;
  }
}

// ---- running the levels -----------------------------------------------------------------------

/** Busy and total CPU time of the whole machine so far (ms), from /proc/stat. */
function machineCpuMs(): { busyMs: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, x) => a + x, 0);
  return { busyMs: ((total - idle) * 1000) / CLOCK_TICKS_PER_SEC };
}

export async function runLevel(worker: LoadWorker, target: Target, op: Op, clients: number, opts: ClusterBenchOptions & { prewarm?: boolean }, atMeasureStart?: () => Promise<unknown>): Promise<LevelResult> {
  const spec: LoadSpec = {
    label: `${target.system} ${op} c=${clients}`,
    clients,
    warmupMs: opts.warmupSeconds * 1000,
    durationMs: opts.seconds * 1000,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    requests: op === 'write' ? target.writes : target.reads,
  };
  const own = [...target.pids, worker.pid, process.pid];
  let atStart: Promise<{ serverCpuMs: number; ownCpuMs: number; machineBusyMs: number; disk: DiskStats }> | undefined;
  const snapshot = async () => ({ serverCpuMs: cpuMsOfAll(target.pids), ownCpuMs: cpuMsOfAll(own), machineBusyMs: machineCpuMs().busyMs, disk: await target.diskStats() });
  let hook: Promise<unknown> = Promise.resolve();
  let latencyReset: Promise<unknown> = Promise.resolve();
  const timer = setTimeout(() => {
    atStart = snapshot();
    if (target.resetLatency) latencyReset = target.resetLatency();
    if (atMeasureStart) hook = atMeasureStart();
  }, spec.warmupMs);
  const r = await worker.run(spec);
  clearTimeout(timer);
  await hook;
  await latencyReset;
  const serverLatency = await target.latency?.();
  const end = await snapshot();
  const start = await (atStart ?? snapshot());
  const serverCpuMs = end.serverCpuMs - start.serverCpuMs;
  const syncs = end.disk.syncs - start.disk.syncs;
  const res: LevelResult = {
    ...r,
    system: target.system,
    op,
    serverCpuMsPerOp: serverCpuMs / r.ok,
    serverCpuCores: serverCpuMs / spec.durationMs,
    fsyncsPerSec: syncs / (spec.durationMs / 1000),
    opsPerFsync: syncs > 0 ? r.ok / syncs : Number.NaN,
    fsyncMsMean: syncs > 0 ? (end.disk.syncMs - start.disk.syncMs) / syncs : Number.NaN,
    otherCpuCores: Math.max(0, end.machineBusyMs - start.machineBusyMs - (end.ownCpuMs - start.ownCpuMs)) / spec.durationMs,
    serverLatency,
  };
  if (opts.prewarm) {
    // The unmeasured pre-warm level: one line, so it is not mistaken for a measurement.
    log(`    ${target.system.padEnd(6)} ${op.padEnd(5)} pre-warm: ${r.ok} requests, ${r.errors} errors`);
    return res;
  }
  log(
    `    ${target.system.padEnd(6)} ${op.padEnd(5)} clients=${String(clients).padStart(4)}  ops/s=${fmt(r.opsPerSec, 0).padStart(7)}  p50=${fmt(r.latencyMsP50, 2).padStart(7)} ms  p99=${fmt(r.latencyMsP99, 2).padStart(7)} ms  p999=${fmt(r.latencyMsP999, 2).padStart(7)} ms  errors=${r.errors}${r.errors ? ` ${JSON.stringify(r.errorsByKind)}` : ''}`,
  );
  log(
    `           server CPU ${fmt(res.serverCpuCores)} cores (${fmt(res.serverCpuMsPerOp * 1000, 0)} µs/op), client ${fmt(r.clientCpuMsPerOp * 1000, 0)} µs/op, fsyncs ${fmt(res.fsyncsPerSec, 0)}/s (${fmt(res.opsPerFsync, 1)} ops each, ${fmt(res.fsyncMsMean)} ms), other processes ${fmt(res.otherCpuCores)} cores`,
  );
  for (const s of r.errorSamples) log(`      error sample: ${s}`);
  log(`           client: ${r.over200Ms} requests > 200 ms, ${r.over400Ms} > 400 ms, max ${fmt(r.latencyMsMax, 0)} ms`);
  if (serverLatency) logServerLatency(serverLatency);
  return res;
}

function logServerLatency(l: ServerLatency): void {
  log(
    `           servers: ${l.requestsSlow} requests > ${l.slowMs} ms (${l.requestsVerySlow} > ${2 * l.slowMs}), max ${fmt(l.requestMsMax, 0)} ms; mean of the slow ones: ` +
      `${fmt(l.slowBeforeRaftMsMean, 1)} before Raft + ${fmt(l.slowRaftMsMean, 1)} in Raft + ${fmt(l.slowAfterRaftMsMean, 1)} after`,
  );
  log(
    `           proposals: ${l.proposalsSlow} > ${l.slowMs} ms (${l.proposalsVerySlow} > ${2 * l.slowMs}), max ${fmt(l.proposalMsMax, 0)} ms; mean of the slow ones: ` +
      `queue ${fmt(l.slowQueueMsMean, 1)} + to log ${fmt(l.slowToLogMsMean, 1)} + commit/apply ${fmt(l.slowCommitMsMean, 1)} ms`,
  );
  log(`           shard leaders: ${Object.entries(l.shardLeaders).sort().map(([n, k]) => `${n} ${k}`).join(', ')}`);
  log(`           inside the nodes, per node: request p50/p99 ${l.serverMsP50.map((p, i) => `${fmt(p, 1)}/${fmt(l.serverMsP99[i], 1)}`).join(', ')} ms; its Raft part p99 ${l.raftMsP99.map((x) => fmt(x, 1)).join(', ')} ms`);
  log(`           event-loop delay p99/max per node: ${l.eventLoopDelayMsP99.map((p, i) => `${fmt(p, 0)}/${fmt(l.eventLoopDelayMsMax[i], 0)}`).join(', ')} ms; snapshot ms max per node (since start): ${l.snapshotMsMax.map((x) => fmt(x, 0)).join(', ')}; in the window: ${Object.entries(l.runtimeCounts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const s of l.samples) log(`             slow proposal ${s}`);
}

/**
 * Both systems at each level, back to back (ABBA order), so slow drifts in what else this
 * machine runs fall on both alike. Writes first: they also give every key a value.
 */
async function runLevels(worker: LoadWorker, targets: [Target, Target], opts: ClusterBenchOptions): Promise<LevelResult[]> {
  if (opts.prewarmSeconds > 0) {
    const prewarm = { ...opts, warmupSeconds: 0, seconds: opts.prewarmSeconds / 2, prewarm: true };
    for (const t of targets) for (const op of ['write', 'read'] as const) await runLevel(worker, t, op, Math.max(...opts.clients), prewarm);
  }
  const out: LevelResult[] = [];
  let flip = false;
  for (const op of ['write', 'read'] as const) {
    for (const c of opts.clients) {
      for (let round = 1; round <= opts.rounds; round++) {
        if (opts.rounds > 1) log(`  ${op} × ${c} clients: round ${round} of ${opts.rounds}`);
        for (const t of flip ? [...targets].reverse() : targets) out.push({ ...(await runLevel(worker, t, op, c, opts)), round });
        flip = !flip;
      }
    }
  }
  return out;
}

// ---- comparison and reports -------------------------------------------------------------------

interface Comparison {
  op: Op;
  clients: number;
  nimmer: LevelResult;
  etcd: LevelResult;
  opsRatio: number;
  p50Ratio: number;
  p99Ratio: number;
  /** Every round's ratios; the figures above are the round with the median p99 ratio, the ratios the medians. */
  rounds: Array<{ opsRatio: number; p99Ratio: number }>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function compare(results: LevelResult[], opts: ClusterBenchOptions): Comparison[] {
  const find = (s: System, op: Op, c: number, round: number) => results.find((r) => r.system === s && r.op === op && r.clients === c && (r.round ?? 1) === round);
  const out: Comparison[] = [];
  for (const op of ['write', 'read'] as const) {
    for (const c of opts.clients) {
      const pairs: Array<{ n: LevelResult; e: LevelResult; opsRatio: number; p99Ratio: number }> = [];
      for (let round = 1; round <= opts.rounds; round++) {
        const n = find('nimmer', op, c, round);
        const e = find('etcd', op, c, round);
        if (n && e) pairs.push({ n, e, opsRatio: n.opsPerSec / e.opsPerSec, p99Ratio: n.latencyMsP99 / e.latencyMsP99 });
      }
      if (pairs.length === 0) continue;
      // The round whose p99 ratio is the median (the lower middle of an even count) stands for the level.
      const mid = [...pairs].sort((a, b) => a.p99Ratio - b.p99Ratio)[Math.floor((pairs.length - 1) / 2)]!;
      out.push({
        op,
        clients: c,
        nimmer: mid.n,
        etcd: mid.e,
        opsRatio: median(pairs.map((p) => p.opsRatio)),
        p50Ratio: mid.n.latencyMsP50 / mid.e.latencyMsP50,
        p99Ratio: median(pairs.map((p) => p.p99Ratio)),
        rounds: pairs.map((p) => ({ opsRatio: p.opsRatio, p99Ratio: p.p99Ratio })),
      });
    }
  }
  return out;
}

interface TargetVerdict {
  clients: number;
  op: Op;
  throughputMet: boolean;
  p99Met: boolean;
  met: boolean;
}

/** Target: nimmer writes/s ≥ etcd's and write p99 ≤ etcd's at 64 and 256 clients (reads shown for information). */
function verdicts(cmp: Comparison[]): TargetVerdict[] {
  return cmp
    .filter((c) => c.clients === 64 || c.clients === 256)
    .map((c) => {
      // With several rounds: the medians of the rounds' ratios (one round: that round's figures).
      const throughputMet = c.opsRatio >= 1 && c.nimmer.errors === 0;
      const p99Met = c.p99Ratio <= 1;
      return { clients: c.clients, op: c.op, throughputMet, p99Met, met: throughputMet && p99Met };
    });
}

function comparisonTable(cmp: Comparison[]): string[] {
  const lines = [
    '| op | clients | nimmer ops/s | etcd ops/s | ratio | nimmer p50 ms | etcd p50 ms | ratio | nimmer p99 ms | etcd p99 ms | ratio | nimmer p999 ms | etcd p999 ms | errors n/e |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const c of cmp) {
    lines.push(
      `| ${c.op} | ${c.clients} | ${fmt(c.nimmer.opsPerSec, 0)} | ${fmt(c.etcd.opsPerSec, 0)} | ${fmt(c.opsRatio)}× | ${fmt(c.nimmer.latencyMsP50)} | ${fmt(c.etcd.latencyMsP50)} | ${fmt(c.p50Ratio)}× | ${fmt(c.nimmer.latencyMsP99)} | ${fmt(c.etcd.latencyMsP99)} | ${fmt(c.p99Ratio)}× | ${fmt(c.nimmer.latencyMsP999)} | ${fmt(c.etcd.latencyMsP999)} | ${c.nimmer.errors}/${c.etcd.errors} |`,
    );
  }
  return lines;
}

function costTable(cmp: Comparison[]): string[] {
  const lines = [
    '| op | clients | server CPU µs/op n / e | server cores busy n / e | fsyncs/s n / e | ops per fsync n / e | fsync ms n / e | client µs/op n / e | other processes cores n / e |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const pair = (n: number, e: number, digits = 0) => `${fmt(n, digits)} / ${fmt(e, digits)}`;
  for (const c of cmp) {
    const [n, e] = [c.nimmer, c.etcd];
    lines.push(
      `| ${c.op} | ${c.clients} | ${pair(n.serverCpuMsPerOp * 1000, e.serverCpuMsPerOp * 1000)} | ${pair(n.serverCpuCores, e.serverCpuCores, 2)} | ${pair(n.fsyncsPerSec, e.fsyncsPerSec)} | ${pair(n.opsPerFsync, e.opsPerFsync, 1)} | ${pair(n.fsyncMsMean, e.fsyncMsMean, 2)} | ${pair(n.clientCpuMsPerOp * 1000, e.clientCpuMsPerOp * 1000)} | ${pair(n.otherCpuCores, e.otherCpuCores, 2)} |`,
    );
  }
  return lines;
}

/** The tail of each level: the client's slow requests for both systems, where nimmer's waited. */
function tailTable(cmp: Comparison[]): string[] {
  const lines = [
    '| op | clients | > 200 ms n / e | > 400 ms n / e | max ms n / e | nimmer slow requests: before / in / after Raft ms | nimmer slow proposals: queue / to log / commit ms | nimmer p99 inside the nodes ms (Raft part) | nimmer event-loop delay max ms | nimmer snapshots |',
    '|---|---:|---:|---:|---:|---|---|---|---|---:|',
  ];
  for (const c of cmp) {
    const [n, e] = [c.nimmer, c.etcd];
    const l = n.serverLatency;
    const stages = l ? `${l.requestsSlow}: ${fmt(l.slowBeforeRaftMsMean, 1)} / ${fmt(l.slowRaftMsMean, 1)} / ${fmt(l.slowAfterRaftMsMean, 1)}` : 'n/a';
    const props = l ? `${l.proposalsSlow}: ${fmt(l.slowQueueMsMean, 1)} / ${fmt(l.slowToLogMsMean, 1)} / ${fmt(l.slowCommitMsMean, 1)}` : 'n/a';
    lines.push(
      `| ${c.op} | ${c.clients} | ${n.over200Ms} / ${e.over200Ms} | ${n.over400Ms} / ${e.over400Ms} | ${fmt(n.latencyMsMax, 0)} / ${fmt(e.latencyMsMax, 0)} | ${stages} | ${props} | ${l ? l.serverMsP99.map((x, i) => `${fmt(x, 0)} (${fmt(l.raftMsP99[i], 0)})`).join(', ') : 'n/a'} | ${l ? l.eventLoopDelayMsMax.map((x) => fmt(x, 0)).join(', ') : 'n/a'} | ${l?.runtimeCounts.snapshotsTaken ?? 'n/a'} |`,
    );
  }
  return lines;
}

interface MemoryFigure {
  system: System;
  shards: number | null;
  when: string;
  rssBytesPerProcess: number[];
}

function markdown(report: ClusterReport, opts: ClusterBenchOptions): string {
  const mib = (b: number) => `${fmt(b / 2 ** 20, 1)} MiB`;
  const lines: string[] = [
    '# nimmer bench cluster',
    '',
    `${report.startedAt} · ${report.machine.cpus} CPUs (${report.machine.cpuModel}) · Node ${report.machine.node} · etcd ${report.etcdVersion} · raw fsync ${fmt(report.fsyncBaseline.fsyncsPerSec, 0)}/s`,
    '',
    `3 nimmer node processes (tick ${opts.tickMs} ms, GM off, ${opts.shards} shards × ${report.axes} axes = ${report.registers} registers) vs 3 etcd members (defaults, fsync on; ${report.registers} keys). ` +
      `Same load generator (undici, one child process, closed-loop clients picking a random register and a random node per request), ${opts.prewarmSeconds} s of unmeasured load on each system before the first level, ${opts.warmupSeconds} s warm-up + ${opts.seconds} s per level. ` +
      `Writes: nimmer \`PUT /shards/:shard/axes/:axis {"value": 0..100}\`, etcd \`POST /v3/kv/put\` with a ${opts.valueBytes}-byte value. ` +
      `Linearizable reads: nimmer \`GET /shards/:shard/axes/:axis\`, etcd \`POST /v3/kv/range\` (serializable=false). Both clusters are up for the whole run; at each level the two systems are loaded back to back (ABBA order), never together.`,
    '',
    '## Throughput and latency (ratio = nimmer / etcd)',
    '',
    ...comparisonTable(report.comparisons),
    ...(opts.rounds > 1
      ? [
          '',
          `${opts.rounds} rounds per level: each row shows the round with the median p99 ratio; its ratio columns are the medians over the rounds. Every round (ops ratio / p99 ratio):`,
          '',
          ...report.comparisons.map((c) => `- ${c.op} × ${c.clients}: ${c.rounds.map((r) => `${fmt(r.opsRatio)}/${fmt(r.p99Ratio)}`).join(', ')}`),
        ]
      : []),
    '',
    '## Target: writes/s ≥ etcd and write p99 ≤ etcd at 64 and 256 clients',
    '',
    ...report.verdicts.map((v) => `- ${v.op} × ${v.clients} clients: throughput ${v.throughputMet ? 'met' : 'MISSED'}, p99 ${v.p99Met ? 'met' : 'MISSED'}${v.op === 'read' ? ' (reads: information, not the target)' : ''}`),
    '',
    `**Target ${report.targetMet ? 'met' : 'not met'}.**`,
    '',
    '## Where the time goes (n = nimmer, e = etcd; servers summed over their 3 processes, measured window only)',
    '',
    'fsyncs are counted by each system itself (nimmer `/admin/status` runtime.syncs, etcd `etcd_disk_wal_fsync_duration_seconds`). ' +
      '"Other processes" is CPU used on this machine by anything but the servers, the load generator and the bench during the window.',
    '',
    ...costTable(report.comparisons),
    '',
    '## The tail (client counts for both; where nimmer\'s slow requests waited, from its nodes\' `GET /admin/latency`, summed over the 3 nodes)',
    '',
    ...tailTable(report.comparisons),
    '',
    '## RSS per server process',
    '',
    '| system | shards | when | RSS per process |',
    '|---|---:|---|---|',
    ...report.memory.map((m) => `| ${m.system} | ${m.shards ?? '-'} | ${m.when} | ${m.rssBytesPerProcess.map(mib).join(', ')} |`),
    '',
    '## Caveats',
    '',
    `- This machine has ${report.machine.cpus} cores: the load generator, the 3 server processes (and their fsyncs) share them, so client CPU competes with the servers for both systems. The client's own cost is in the table above.`,
    `- Other processes used ${fmt(otherCoresMean(report.results))} cores on average during the measured windows (max ${fmt(Math.max(...report.results.map((r) => r.otherCpuCores)))}): ` +
      'absolute numbers move with that; the back-to-back order makes the ratios fairer, not exact. etcd (Go) runs its work on several threads; each nimmer node runs its HTTP handling, Raft loop and WAL completion on one JS thread, so it loses more to a busy machine.',
    '- "fsync ms" is not the same measure for both: etcd times the fdatasync call itself; nimmer times `await wal.sync()` in its Raft loop (write + fdatasync through the libuv pool + the wait for its event loop to resume). "ops per fsync" divides by fsyncs summed over the 3 servers (each write is fsync\'d on every member: 0.33 means no batching).',
    '- nimmer values are small integers (request body `{"value":57}`); etcd values are ' + `${opts.valueBytes} random bytes (base64 in the JSON body).`,
    '- etcd stores one key per register in a single Raft group; nimmer spreads the registers over one Raft group per shard.',
  ];
  if (report.profiles.length > 0) {
    lines.push('', '## nimmer CPU profile (separate runs, V8 sampling profiler during the measured window, all 3 node processes merged; % of busy samples)', '');
    for (const p of report.profiles) {
      lines.push(`### ${p.op} at ${p.clients} clients (idle ${fmt(p.summary.idlePct, 1)}%, GC ${fmt(p.summary.gcPct, 1)}% of busy time)`, '');
      lines.push(
        `Under the profiler: ${fmt(p.level.opsPerSec, 0)} ops/s, p50 ${fmt(p.level.latencyMsP50)} ms, p99 ${fmt(p.level.latencyMsP99)} ms; server CPU ${fmt(p.level.serverCpuCores)} cores; ` +
          `event-loop delay per node p50/p99/max: ${p.eventLoopDelayMs.map((d) => `${fmt(d.p50, 1)}/${fmt(d.p99, 1)}/${fmt(d.max, 0)} ms`).join(', ')}.`,
        '',
      );
      lines.push('| self % | incl % | function |', '|---:|---:|---|');
      for (const h of p.summary.topSelf.slice(0, 15)) lines.push(`| ${fmt(h.selfPct, 1)} | ${fmt(h.inclusivePct, 1)} | \`${h.where}\` |`);
      lines.push('', '| incl % | function |', '|---:|---|');
      for (const h of p.summary.topInclusive.slice(0, 25)) lines.push(`| ${fmt(h.inclusivePct, 1)} | \`${h.where}\` |`);
      lines.push('', '| self % | area |', '|---:|---|');
      for (const a of p.summary.byArea.slice(0, 15)) lines.push(`| ${fmt(a.selfPct, 1)} | ${a.area} |`);
      lines.push('');
    }
  }
  return `${lines.join('\n')}\n`;
}

const otherCoresMean = (rs: LevelResult[]) => rs.reduce((a, r) => a + r.otherCpuCores, 0) / Math.max(1, rs.length);

interface ClusterReport {
  startedAt: string;
  machine: { cpus: number; cpuModel: string; node: string; memoryBytes: number };
  options: ClusterBenchOptions;
  etcdVersion: string;
  fsyncBaseline: { fsyncsPerSec: number; fsyncMsMean: number };
  axes: number;
  registers: number;
  results: LevelResult[];
  comparisons: Comparison[];
  verdicts: TargetVerdict[];
  targetMet: boolean;
  memory: MemoryFigure[];
  profiles: Array<{ op: Op; clients: number; level: LevelResult; eventLoopDelayMs: Array<{ mean: number; p50: number; p99: number; max: number }>; summary: ProfileSummary }>;
}

// ---- the bench --------------------------------------------------------------------------------

export async function runClusterBench(opts: ClusterBenchOptions): Promise<ClusterReport> {
  if (findEtcd() === null) {
    throw new Error(`etcd is not installed (the baseline of this bench). Install it with:\n  ${ETCD_INSTALL_COMMAND}`);
  }
  if (opts.clients.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`--clients must be a list of positive integers, got ${opts.clients.join(',')}`);
  if (!Number.isInteger(opts.shards) || opts.shards < 1) throw new Error(`--shards must be a positive integer, got ${opts.shards}`);
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) throw new Error(`--rounds must be a positive integer, got ${opts.rounds}`);

  const root = await mkdtemp(path.join(os.tmpdir(), 'nimmer-bench-cluster-'));
  const running = new Set<() => Promise<void>>();
  let cleaning: Promise<void> | null = null;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const stop of [...running].reverse()) await stop().catch(() => undefined);
      running.clear();
      if (!opts.keep) await rm(root, { recursive: true, force: true });
    })());
  const removeHook = addShutdownHook(cleanup);
  const onSignal = (signal: NodeJS.Signals) => {
    log(`\nbench cluster: ${signal}, stopping every process it started`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  /** Starts something stoppable and tracks it until stopped, so a signal or an error stops it too. */
  const track = <T extends { stop(): Promise<void> }>(x: T): T => {
    const stop = x.stop.bind(x);
    running.add(stop);
    x.stop = async () => {
      running.delete(stop);
      await stop();
    };
    return x;
  };

  const registersOf = (shardIds: string[], axes: string[]) => shardIds.flatMap((shard) => axes.map((axis) => ({ shard, axis })));
  const steps = 4 + (opts.profile ? 1 : 0);
  const results: LevelResult[] = [];
  const memory: MemoryFigure[] = [];
  const profiles: ClusterReport['profiles'] = [];
  try {
    log(`bench cluster: work dir ${root}; ${os.cpus().length} CPUs — the load generator shares them with the servers`);
    log(`1/${steps} baseline of the disk: raw fsync rate (2 s)`);
    const fsyncBaseline = await measureFsyncPerSec(root);
    log(`    raw fsync: ${fmt(fsyncBaseline.fsyncsPerSec, 0)}/s`);
    const worker = track(await LoadWorker.start());
    log(`    load generator: pid ${worker.pid}`);

    log(`2/${steps} start both: nimmer (3 node processes, ${opts.shards} shards on all 3 nodes, tick ${opts.tickMs} ms) and etcd (3 members, defaults, fsync on)`);
    const nimmer = track(await startNimmer(opts.shards, opts).then((n) => Object.assign(n, { stop: () => n.cluster.stop() })));
    const registers = registersOf(nimmer.shardIds, nimmer.axes);
    log(`    nimmer: shards ${nimmer.shardIds.join(', ')}; ${nimmer.axes.length} axes → ${registers.length} registers`);
    const etcd = track(await startEtcdCluster(path.join(root, 'etcd')));
    log(`    etcd ${etcd.version} at ${etcd.urls.join(', ')}; ${registers.length} keys, ${opts.valueBytes}-byte values`);
    const nimmerTgt = nimmerTarget(nimmer.cluster, registers);
    const etcdTgt = etcdTarget(etcd, registers, opts.valueBytes);
    const [nimmerIdleRss, etcdIdleRss] = await Promise.all([settledRss(nimmerTgt.pids), settledRss(etcd.pids)]);
    memory.push({ system: 'nimmer', shards: opts.shards, when: 'idle, settled', rssBytesPerProcess: nimmerIdleRss });
    memory.push({ system: 'etcd', shards: null, when: 'idle, settled', rssBytesPerProcess: etcdIdleRss });
    log(`    RSS idle: nimmer ${nimmerIdleRss.map(mibText).join(', ')}; etcd ${etcdIdleRss.map(mibText).join(', ')}`);

    log(`3/${steps} load: ${opts.prewarmSeconds} s of unmeasured writes and reads on each system first (JIT warm-up), then both systems at each level back to back, ${opts.warmupSeconds} s warm-up + ${opts.seconds} s each`);
    results.push(...(await runLevels(worker, [nimmerTgt, etcdTgt], opts)));
    memory.push({ system: 'nimmer', shards: opts.shards, when: 'after the load', rssBytesPerProcess: nimmerTgt.pids.map(rssBytesOf) });
    memory.push({ system: 'etcd', shards: null, when: 'after the load', rssBytesPerProcess: etcd.pids.map(rssBytesOf) });
    await nimmer.stop();
    await etcd.stop();

    log(`4/${steps} memory: RSS per nimmer node process with ${opts.rssShards.join(' and ')} shards (idle, settled)`);
    for (const n of opts.rssShards) {
      const m = track(await startNimmer(n, opts).then((x) => Object.assign(x, { stop: () => x.cluster.stop() })));
      const rss = await settledRss([...m.cluster.procs.values()].map((p) => p.pid!));
      memory.push({ system: 'nimmer', shards: n, when: 'idle, settled (fresh cluster)', rssBytesPerProcess: rss });
      log(`    ${String(n).padStart(3)} shards: ${rss.map(mibText).join(', ')}`);
      await m.stop();
    }

    if (opts.profile) {
      const clients = Math.max(...opts.clients);
      log(`5/${steps} profile: the V8 sampling profiler in the nimmer node processes during the measured window, writes then reads at ${clients} clients (fresh cluster each)`);
      for (const op of ['write', 'read'] as const) {
        const dir = path.join(root, `profile-${op}`);
        await mkdir(dir, { recursive: true });
        const p = track(await startNimmer(opts.shards, opts, `--import ${pathToFileURL(PROFILER_PRELOAD).href}`).then((x) => Object.assign(x, { stop: () => x.cluster.stop() })));
        const procs = [...p.cluster.procs.entries()];
        const tgt = nimmerTarget(p.cluster, registersOf(p.shardIds, p.axes));
        const level = await runLevel(worker, tgt, op, clients, opts, () => Promise.all(procs.map(([, child]) => ipcRequest(child, { cmd: 'cpu-profile-start' }, 10_000))));
        type Stopped = { file: string; eventLoopDelayMs: { mean: number; p50: number; p99: number; max: number } };
        const stopped = await Promise.all(procs.map(([id, child]) => ipcRequest<Stopped>(child, { cmd: 'cpu-profile-stop', file: path.join(dir, `n${id}.cpuprofile`) }, 60_000)));
        await p.stop();
        const summary = await summariseProfiles(stopped.map((x) => x.file), REPO_ROOT, 30, path.basename(PROFILER_PRELOAD));
        const eventLoopDelayMs = stopped.map((x) => x.eventLoopDelayMs);
        profiles.push({ op, clients, level, eventLoopDelayMs, summary });
        log(`    event-loop delay per node (p50/p99/max ms): ${eventLoopDelayMs.map((d) => `${fmt(d.p50, 1)}/${fmt(d.p99, 1)}/${fmt(d.max, 0)}`).join(', ')}`);
        log(`    ${op}: ${stopped.length} profiles, idle ${fmt(summary.idlePct, 1)}% of samples, GC ${fmt(summary.gcPct, 1)}% of busy; top self time (% of busy):`);
        for (const h of summary.topSelf.slice(0, 12)) log(`      ${fmt(h.selfPct, 1).padStart(5)}% self ${fmt(h.inclusivePct, 1).padStart(5)}% incl  ${h.where}`);
        log('      top inclusive:');
        for (const h of summary.topInclusive.slice(0, 20)) log(`      ${fmt(h.inclusivePct, 1).padStart(5)}% incl  ${h.where}`);
        log('      by area (self):');
        for (const a of summary.byArea.slice(0, 10)) log(`      ${fmt(a.selfPct, 1).padStart(5)}%  ${a.area}`);
      }
    }
    await worker.stop();

    const comparisons = compare(results, opts);
    const vs = verdicts(comparisons);
    const writeVerdicts = vs.filter((v) => v.op === 'write');
    const report: ClusterReport = {
      startedAt: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, memoryBytes: os.totalmem() },
      options: opts,
      etcdVersion: etcd.version,
      fsyncBaseline,
      axes: nimmer.axes.length,
      registers: registers.length,
      results,
      comparisons,
      verdicts: vs,
      targetMet: writeVerdicts.length > 0 && writeVerdicts.every((v) => v.met),
      memory,
      profiles,
    };

    log('');
    for (const line of comparisonTable(comparisons)) log(line);
    log('');
    for (const v of vs) log(`target ${v.op} × ${v.clients}: throughput ${v.throughputMet ? 'met' : 'MISSED'}, p99 ${v.p99Met ? 'met' : 'MISSED'}${v.op === 'read' ? ' (information)' : ''}`);
    log(`target (writes/s ≥ etcd and write p99 ≤ etcd at 64 and 256 clients): ${report.targetMet ? 'MET' : 'NOT MET'}`);
    log(`other processes on this machine used ${fmt(otherCoresMean(results))} of ${os.cpus().length} cores on average during the measured windows`);
    if (opts.out) {
      await mkdir(path.dirname(opts.out), { recursive: true });
      await writeFile(opts.out, JSON.stringify(report, null, 2));
      log(`report written to ${opts.out}`);
    }
    if (opts.md) {
      await mkdir(path.dirname(opts.md), { recursive: true });
      await writeFile(opts.md, markdown(report, opts));
      log(`summary written to ${opts.md}`);
    }
    return report;
  } finally {
    await cleanup();
    removeHook();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
