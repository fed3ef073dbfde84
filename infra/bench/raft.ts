// `nimmer bench raft`: one group of 3 replicas in 3 processes over TCP with the fsync'd WAL.
// Measures commits/s and latency at 1, 16 and 256 proposers against the disk's raw fsync rate
// (measured in the same run), leader failover after SIGKILL, and RSS of 1,000 idle groups.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { forkTs, ipcRequest } from '../proc/spawn_ts.ts';
import { freePort } from '../launcher/index.ts';
import { measureFsyncPerSec } from './fsync_baseline.ts';
import { summariseProfiles } from './cpu_profile.ts';

const NODE_MAIN = fileURLToPath(new URL('./raft_node_main.ts', import.meta.url));
const PROFILER_PRELOAD = fileURLToPath(new URL('./cpu_profiler_preload.mjs', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RaftBenchOptions {
  seconds: number;
  proposers: number[];
  entryBytes: number;
  idleGroups: number;
  failoverTrials: number;
  tickMs: number;
  electionTicks: number;
  out?: string;
  keep: boolean;
  /** Afterwards, profile the leader and a follower (V8 sampling profiler) under the highest load. */
  profile?: boolean;
  /** WAL preallocation in the node processes (undefined: the runtime's default). */
  walPreallocateBytes?: number;
}

interface Cluster {
  dir: string;
  children: Map<number, ChildProcess>;
  ports: Map<number, number>;
  groups: number;
}

type Status = { group1: { role: string; leader: number; term: number }; leaders: number; ledHere: number; quiesced: number; groups: number; rssBytes: number };

const log = (s: string) => process.stdout.write(`${s}\n`);

async function startNode(c: Cluster, id: number, opts: RaftBenchOptions): Promise<void> {
  const peers: Record<number, { host: string; port: number }> = {};
  for (const [pid, port] of c.ports) peers[pid] = { host: '127.0.0.1', port };
  const cfg = {
    nodeId: id,
    dataDir: path.join(c.dir, `n${id}`),
    port: c.ports.get(id)!,
    peers,
    groups: c.groups,
    voters: [...c.ports.keys()],
    tickMs: opts.tickMs,
    electionTicks: opts.electionTicks,
    heartbeatTicks: 2,
    walPreallocateBytes: opts.walPreallocateBytes,
  };
  const execArgv = ['--expose-gc', ...(opts.profile ? ['--import', pathToFileURL(PROFILER_PRELOAD).href] : [])];
  const child = forkTs(NODE_MAIN, [JSON.stringify(cfg)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  await new Promise<void>((resolve, reject) => {
    const onMsg = (m: unknown) => {
      if ((m as { ready?: boolean }).ready) {
        child.off('message', onMsg);
        resolve();
      }
    };
    child.on('message', onMsg);
    child.once('exit', (code) => reject(new Error(`bench node n${id} exited with ${code} during start`)));
  });
  c.children.set(id, child);
}

async function startCluster(dir: string, groups: number, opts: RaftBenchOptions): Promise<Cluster> {
  const c: Cluster = { dir, children: new Map(), ports: new Map(), groups };
  for (const id of [1, 2, 3]) c.ports.set(id, await freePort());
  await Promise.all([1, 2, 3].map((id) => startNode(c, id, opts)));
  return c;
}

async function stopCluster(c: Cluster): Promise<void> {
  for (const child of c.children.values()) child.kill('SIGKILL');
  c.children.clear();
}

async function statuses(c: Cluster): Promise<Map<number, Status>> {
  const out = new Map<number, Status>();
  await Promise.all(
    [...c.children].map(async ([id, child]) => {
      try {
        out.set(id, await ipcRequest<Status>(child, { cmd: 'status' }, 10_000));
      } catch {
        /* a dead node has no status */
      }
    }),
  );
  return out;
}

/** CPU time (user + system, µs) each node process has used so far. */
async function cpuUsByNode(c: Cluster): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const [id, child] of c.children) out.set(id, (await ipcRequest<{ cpuUs: number }>(child, { cmd: 'cpu' }, 10_000)).cpuUs);
  return out;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function leaderOf(c: Cluster): Promise<number> {
  return waitFor('a leader of group 1', 30_000, async () => {
    for (const [id, st] of await statuses(c)) if (st.group1.role === 'leader') return id;
    return undefined;
  });
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

export async function runRaftBench(opts: RaftBenchOptions): Promise<Record<string, unknown>> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'nimmer-bench-raft-'));
  const report: Record<string, unknown> = { machine: { cpus: os.cpus().length, node: process.version }, options: opts };
  try {
    log(`bench raft: data in ${root}`);
    log('1/4 baseline: raw fsync rate of this disk (256-byte write + fdatasync, 2 s)');
    const baseline = await measureFsyncPerSec(root);
    report.baseline = baseline;
    log(`    raw fsync: ${fmt(baseline.fsyncsPerSec, 0)}/s (${fmt(baseline.fsyncMsMean, 3)} ms each)`);

    log(`2/4 throughput: one group, 3 replicas in 3 processes, ${opts.entryBytes}-byte entries, ${opts.seconds} s per level`);
    const c = await startCluster(path.join(root, 'throughput'), 1, opts);
    const results: unknown[] = [];
    try {
      const leader = await leaderOf(c);
      log(`    leader: n${leader}`);
      await ipcRequest(c.children.get(leader)!, { cmd: 'load', proposers: 4, durationMs: 1000, entryBytes: opts.entryBytes }); // warm-up
      for (const p of opts.proposers) {
        // The disk is shared with other processes: its fsync rate right before each level is the
        // baseline that level's ratio uses.
        const before = await measureFsyncPerSec(root, 1000);
        const cpu0 = await cpuUsByNode(c);
        const r = await ipcRequest<Record<string, number>>(c.children.get(leader)!, { cmd: 'load', proposers: p, durationMs: opts.seconds * 1000, entryBytes: opts.entryBytes }, opts.seconds * 1000 + 60_000);
        const cpu1 = await cpuUsByNode(c);
        // CPU time per commit does not depend on how busy the shared machine is, unlike wall time.
        let followersCpuUs = 0;
        for (const [id, us] of cpu1) if (id !== leader) followersCpuUs += us - (cpu0.get(id) ?? 0);
        r.leaderCpuUsPerCommit = (cpu1.get(leader)! - cpu0.get(leader)!) / Math.max(1, r.commits);
        r.followersCpuUsPerCommit = followersCpuUs / Math.max(1, r.commits);
        r.rawFsyncsPerSecBefore = before.fsyncsPerSec;
        r.ratioToRawFsync = r.commitsPerSec / before.fsyncsPerSec;
        results.push(r);
        log(
          `    proposers=${String(p).padStart(3)}  commits/s=${fmt(r.commitsPerSec, 0).padStart(7)}  p50=${fmt(r.latencyMsP50, 3)} ms  p99=${fmt(r.latencyMsP99, 3)} ms  entries/fsync=${fmt(r.entriesPerFsync, 1)}  entries/MsgProp=${fmt(r.entriesPerProposalBatch, 1)}  leader socket writes/s=${fmt(r.socketWritesPerSec, 0)} (${fmt(r.framesPerSocketWrite, 1)} frames each)  fsync=${fmt(r.fsyncMsMean, 3)} ms  CPU µs/commit leader ${fmt(r.leaderCpuUsPerCommit, 1)} followers ${fmt(r.followersCpuUsPerCommit, 1)}  raw fsync just before=${fmt(before.fsyncsPerSec, 0)}/s  ratio commits/s : raw fsync/s = ${fmt(r.ratioToRawFsync, 2)}  errors=${r.errors}`,
        );
      }
      report.throughput = results;

      if (opts.profile) {
        const p = Math.max(...opts.proposers);
        log(`    profile: V8 sampling profiler in all 3 processes during one more ${opts.seconds} s level at ${p} proposers`);
        const dir = path.join(root, 'profiles');
        await mkdir(dir, { recursive: true });
        await Promise.all([...c.children.values()].map((ch) => ipcRequest(ch, { cmd: 'cpu-profile-start' }, 10_000)));
        const r = await ipcRequest<Record<string, number>>(c.children.get(leader)!, { cmd: 'load', proposers: p, durationMs: opts.seconds * 1000, entryBytes: opts.entryBytes }, opts.seconds * 1000 + 60_000);
        type Stopped = { file: string; eventLoopDelayMs: { p50: number; p99: number } };
        const stopped = new Map<number, Stopped>();
        for (const [id, ch] of c.children) stopped.set(id, await ipcRequest<Stopped>(ch, { cmd: 'cpu-profile-stop', file: path.join(dir, `n${id}.cpuprofile`) }, 60_000));
        log(`    (profiled run: commits/s=${fmt(r.commitsPerSec, 0)}, p50=${fmt(r.latencyMsP50, 3)} ms)`);
        const profiles: Record<string, unknown> = {};
        for (const [id, st] of stopped) {
          const role = id === leader ? 'leader' : 'follower';
          const sum = await summariseProfiles([st.file], REPO_ROOT, 30, path.basename(PROFILER_PRELOAD));
          profiles[`n${id} (${role})`] = { eventLoopDelayMs: st.eventLoopDelayMs, summary: sum };
          log(`    n${id} (${role}): idle ${fmt(sum.idlePct, 1)}% of samples, GC ${fmt(sum.gcPct, 1)}% of busy, event-loop delay p50/p99 ${fmt(st.eventLoopDelayMs.p50, 1)}/${fmt(st.eventLoopDelayMs.p99, 1)} ms`);
          for (const h of sum.topSelf.slice(0, 15)) log(`      ${fmt(h.selfPct, 1).padStart(5)}% self ${fmt(h.inclusivePct, 1).padStart(5)}% incl  ${h.where}`);
          log('      top inclusive:');
          for (const h of sum.topInclusive.slice(0, 25)) log(`      ${fmt(h.inclusivePct, 1).padStart(5)}% incl  ${h.where}`);
          log('      by area (self):');
          for (const a of sum.byArea.slice(0, 10)) log(`      ${fmt(a.selfPct, 1).padStart(5)}%  ${a.area}`);
        }
        report.profiles = profiles;
      }

      log(`3/4 failover: SIGKILL the leader under light load, time until a new leader commits (${opts.failoverTrials} trials)`);
      const electionTimeoutMs = opts.tickMs * opts.electionTicks;
      const trials: number[] = [];
      for (let t = 0; t < opts.failoverTrials; t++) {
        const old = await leaderOf(c);
        // keep the group busy so it is not quiesced (the realistic case for a serving leader)
        const busy = ipcRequest(c.children.get(old)!, { cmd: 'load', proposers: 1, durationMs: 60_000, entryBytes: 64 }, 70_000).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 300));
        const killedAt = Date.now();
        c.children.get(old)!.kill('SIGKILL');
        c.children.delete(old);
        void busy;
        const others = [...c.children.entries()];
        const okAt = await Promise.any(others.map(([, ch]) => ipcRequest<{ okAtMs: number }>(ch, { cmd: 'proposeUntilOk', timeoutMs: 20_000 }, 25_000)));
        const ms = okAt.okAtMs - killedAt;
        trials.push(ms);
        log(`    trial ${t + 1}: new leader committed ${ms} ms after SIGKILL (election timeout ${electionTimeoutMs} ms; ${fmt(ms / electionTimeoutMs)}×)`);
        await startNode(c, old, opts); // restart from its WAL
        await waitFor('the restarted node to catch up', 30_000, async () => {
          const st = (await statuses(c)).get(old);
          return st && st.group1.leader !== 0 ? true : undefined;
        });
      }
      if (trials.length > 0) report.failover = { electionTimeoutMs, trialsMs: trials, maxMs: Math.max(...trials), maxRatio: Math.max(...trials) / electionTimeoutMs };
    } finally {
      await stopCluster(c);
    }

    if (opts.idleGroups > 0) {
      log(`4/4 memory: ${opts.idleGroups} idle groups (3 replicas each) in each of 3 processes`);
      const m = await startCluster(path.join(root, 'idle'), opts.idleGroups, opts);
      try {
        const settled = await waitFor(`all ${opts.idleGroups} groups to elect and quiesce`, 180_000, async () => {
          const st = await statuses(m);
          const leaders = [...st.values()].reduce((a, s) => a + s.ledHere, 0);
          const quiet = [...st.values()].reduce((a, s) => a + s.quiesced, 0);
          process.stdout.write(`\r    leaders ${leaders}/${opts.idleGroups}, quiesced replicas ${quiet}/${opts.idleGroups * 3}   `);
          return leaders === opts.idleGroups && quiet === opts.idleGroups * 3 ? st : undefined;
        });
        process.stdout.write('\n');
        await new Promise((r) => setTimeout(r, 2000));
        const rss: number[] = [];
        for (const child of m.children.values()) rss.push((await ipcRequest<{ rssBytes: number }>(child, { cmd: 'gc' })).rssBytes);
        report.memory = { groups: opts.idleGroups, rssBytesPerProcess: rss, rssMiBMax: Math.max(...rss) / 2 ** 20, settledProcesses: settled.size };
        log(`    RSS per process: ${rss.map((b) => `${fmt(b / 2 ** 20, 1)} MiB`).join(', ')}`);
      } finally {
        await stopCluster(m);
      }
    }
  } finally {
    if (!opts.keep) await rm(root, { recursive: true, force: true });
  }
  if (opts.out) {
    await mkdir(path.dirname(opts.out), { recursive: true });
    await writeFile(opts.out, JSON.stringify(report, null, 2));
    log(`report written to ${opts.out}`);
  }
  return report;
}
