// A cluster of real node processes for tests: writes a cluster.json in a temp dir, forks one
// process per node, waits until each is ready. (`nimmer up` is the full launcher; this one
// starts only the node processes, which is all the node's own tests need.)
import type { ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkTs } from '../../../infra/proc/spawn_ts.ts';
import { freePort, startNats, Supervisor, type Nats } from '../../../infra/launcher/index.ts';
import type { ClusterConfigInput } from '../config.ts';
import { nodeExecArgvFromEnv } from '../exec_argv.ts';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

export interface LocalCluster {
  dir: string;
  configFile: string;
  config: ClusterConfigInput;
  procs: Map<number, ChildProcess>;
  url(id: number): string;
  start(id: number): Promise<void>;
  kill(id: number, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
  /** The nats-server started for the cluster (option `nats`), undefined otherwise. */
  nats?: Nats;
  /** The last `lines` lines of node `id`'s log (stdout and stderr, appended across restarts). */
  logTail(id: number, lines?: number): string;
}

export async function startLocalCluster(
  opts: { nodes?: number; gm?: boolean; tickMs?: number; snapshotEveryEntries?: number; nats?: boolean; eventual?: ClusterConfigInput['eventual']; transfers?: ClusterConfigInput['transfers'] } = {},
): Promise<LocalCluster> {
  const n = opts.nodes ?? 3;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nimmer-nodes-'));
  const natsSupervisor = opts.nats ? new Supervisor({ logDir: path.join(dir, 'logs'), handleSignals: false }) : undefined;
  const nats = natsSupervisor ? await startNats({ dataDir: path.join(dir, 'nats'), mode: 'local', supervisor: natsSupervisor }) : undefined;
  const nodes: Array<{ id: number; raft: { host: string; port: number }; http: { host: string; port: number } }> = [];
  for (let id = 1; id <= n; id++) nodes.push({ id, raft: { host: '127.0.0.1', port: await freePort() }, http: { host: '127.0.0.1', port: await freePort() } });
  const config: ClusterConfigInput = {
    clusterId: 'test',
    dataDir: dir,
    nodes,
    raft: { tickMs: opts.tickMs ?? 20, electionTicks: 10, heartbeatTicks: 2, proposalTimeoutMs: 3000, ...(opts.snapshotEveryEntries !== undefined ? { snapshotEveryEntries: opts.snapshotEveryEntries } : {}) },
    gm: { enabled: opts.gm ?? false, tickMs: 200, budgetActiveEventsMax: 2 },
    ...(nats ? { nats: nats.urls } : {}),
    ...(opts.eventual ? { eventual: opts.eventual } : {}),
    ...(opts.transfers ? { transfers: opts.transfers } : {}),
  };
  const configFile = path.join(dir, 'cluster.json');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const procs = new Map<number, ChildProcess>();
  const cluster: LocalCluster = {
    dir,
    configFile,
    config,
    procs,
    nats,
    url: (id) => `http://127.0.0.1:${nodes[id - 1].http.port}`,
    async start(id) {
      // The node's log goes to a file in the cluster dir, so a failing test can show it (logTail).
      const logFd = openSync(path.join(dir, `n${id}.log`), 'a');
      // NIMMER_NODE_EXEC_ARGV: extra Node flags for the node processes (with NIMMER_KEEP_CLUSTER_DIR=1 the logs stay).
      const child = forkTs(MAIN, ['--config', configFile, '--node', String(id)], { stdio: ['ignore', logFd, logFd, 'ipc'], execArgv: nodeExecArgvFromEnv() });
      closeSync(logFd);
      procs.set(id, child);
      await new Promise<void>((resolve, reject) => {
        const onMsg = (m: unknown) => {
          if ((m as { type?: string }).type === 'ready') {
            child.off('message', onMsg);
            resolve();
          }
        };
        child.on('message', onMsg);
        child.once('exit', (code, sig) => reject(new Error(`node ${id} exited (${code ?? sig}) before it was ready`)));
      });
    },
    async kill(id, signal = 'SIGKILL') {
      const child = procs.get(id);
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
      procs.delete(id);
    },
    logTail(id, lines = 40) {
      try {
        return readFileSync(path.join(dir, `n${id}.log`), 'utf8').split('\n').slice(-lines - 1).join('\n');
      } catch {
        return '';
      }
    },
    async stop() {
      await Promise.all([...procs.keys()].map((id) => cluster.kill(id, 'SIGTERM')));
      await nats?.stop();
      await natsSupervisor?.stopAll();
      if (process.env.NIMMER_KEEP_CLUSTER_DIR === '1') process.stderr.write(`local cluster: kept ${dir}\n`);
      else await rm(dir, { recursive: true, force: true });
    },
  };
  await Promise.all(nodes.map((nd) => cluster.start(nd.id)));
  return cluster;
}

/** JSON over HTTP with a timeout; returns status and parsed body. */
export async function http(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

export async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
