// `nimmer up` for real: Postgres, nats-server and three node processes in a temp data dir, the
// controller API in front. Writes and linearizable reads through the controller, kill and pause
// faults with real signals, resume from the data dir, the CLI with Ctrl-C — and no process left.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { freePort, isProcessAlive } from '../launcher/index.ts';
import { killAll, makeTempDir, removeDir } from '../launcher/testdata/helpers.ts';
import { startCluster, type ClusterHandle } from './cluster.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = path.join(REPO, 'bin/nimmer.js');
const LEADERS_TIMEOUT_MS = 60_000;

interface ClusterJson {
  nodes: Array<{ id: string; alive: boolean; state: string; pid: number | null }>;
  shards: Array<{ id: string; leader: string | null; term: number | null; commitIndex: number | null }>;
}

async function http(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await r.text();
  return { status: r.status, body: text === '' ? null : JSON.parse(text) };
}

async function eventually<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const r = await attempt();
      if (r !== undefined) return r;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** GET /cluster until every shard has a leader and every node is alive. */
function allShardsLed(controllerUrl: string, shardCount: number): Promise<ClusterJson> {
  return eventually('every shard has a leader', LEADERS_TIMEOUT_MS, async () => {
    const r = await http('GET', `${controllerUrl}/cluster`);
    const view = r.body as ClusterJson;
    const ok = view.shards.length === shardCount && view.shards.every((s) => s.leader !== null) && view.nodes.every((n) => n.alive);
    return ok ? view : undefined;
  });
}

/** PUT an axis through the controller; 503 (not applied) and 504 (maybe) are retried — the write is idempotent. */
function putAxis(controllerUrl: string, shard: string, axis: string, value: number): Promise<{ index: number; term: number }> {
  return eventually(`PUT ${shard}/${axis}=${value}`, 30_000, async () => {
    const r = await http('PUT', `${controllerUrl}/shards/${shard}/axes/${axis}`, { value });
    if (r.status === 200) return r.body as { index: number; term: number };
    if (r.status === 503 || r.status === 504) return undefined;
    throw new Error(`PUT answered ${r.status}: ${JSON.stringify(r.body)}`);
  });
}

function readAxis(controllerUrl: string, shard: string, axis: string): Promise<{ value: number; index: number }> {
  return eventually(`GET ${shard}/${axis}`, 30_000, async () => {
    const r = await http('GET', `${controllerUrl}/shards/${shard}/axes/${axis}?consistency=linearizable`);
    if (r.status === 200) return r.body as { value: number; index: number };
    if (r.status === 503 || r.status === 504) return undefined;
    throw new Error(`GET answered ${r.status}: ${JSON.stringify(r.body)}`);
  });
}

/** PIDs of live processes whose command line mentions dir (nodes, postgres, nats-server). */
function processesMentioning(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (cmdline.includes(dir) && isProcessAlive(pid)) pids.push(pid);
  }
  return pids;
}

/** On a failure: the end of every child's log, to see what the nodes were doing. */
function dumpLogs(dir: string): void {
  const logDir = path.join(dir, 'logs');
  let files: string[] = [];
  try {
    files = readdirSync(logDir).filter((f) => f.endsWith('.log'));
  } catch {
    return;
  }
  for (const f of files) {
    const text = readFileSync(path.join(logDir, f), 'utf8');
    console.error(`----- ${f} (last 3000 chars) -----\n${text.slice(-3000)}`);
  }
}

function expectNoProcessLeft(cluster: ClusterHandle): void {
  const alive = cluster.childPids().filter((pid) => isProcessAlive(pid));
  expect(alive).toEqual([]);
  expect(processesMentioning(cluster.dataDir)).toEqual([]);
}

describe.sequential('nimmer up: a real local cluster', () => {
  const dataDir = makeTempDir('up');
  const started: ClusterHandle[] = [];
  let cli: ChildProcess | null = null;
  const small = { dataDir, port: 0, nodes: 3, shards: 4, replicas: 3, gm: { enabled: false } } as const;

  let failed = false;

  afterAll(async () => {
    for (const c of started) await c.stop();
    if (cli?.exitCode === null) cli.kill('SIGKILL');
    killAll(processesMentioning(dataDir));
    // Kept after a failure: the node logs and WALs say what happened.
    if (failed) console.error(`cluster.test: keeping the data dir ${dataDir} for inspection`);
    else removeDir(dataDir);
  }, 120_000);

  it('starts and bootstraps, serves writes and linearizable reads through the controller, survives kill and pause, heals, and stops with no process left', async () => {
    const cluster = await startCluster(small);
    started.push(cluster);
    onTestFailed(async () => {
      failed = true;
      dumpLogs(dataDir);
      await cluster.stop();
    });
    expect(cluster.resumed).toBe(false);
    const url = cluster.controllerUrl;

    const view = await allShardsLed(url, 4);
    expect(view.shards.map((s) => s.id)).toEqual(['s-north', 's-south', 's-east', 's-west']);
    expect(view.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    await eventually('GET /health is ok', LEADERS_TIMEOUT_MS, async () => ((await http('GET', `${url}/health`)).status === 200 ? true : undefined));
    // The transport relays: one holds the replication slot, the other stands by.
    const roles = await eventually('one relay active and one standby', LEADERS_TIMEOUT_MS, async () => {
      const r = await Promise.all(cluster.relays.relays.map(async (x) => ((await http('GET', x.metricsUrl.replace(/metrics$/, 'stats'))).body as { role: string }).role));
      return [...r].sort().join(',') === 'active,standby' ? r : undefined;
    });
    expect(roles).toHaveLength(2);

    const written = await putAxis(url, 's-north', 'order', 42);
    const read = await readAxis(url, 's-north', 'order');
    expect(read.value).toBe(42);
    expect(read.index).toBeGreaterThanOrEqual(written.index);

    // Eventual state through the controller: an increment (202), then the global view (CRDT) of whichever node answers.
    expect((await http('POST', `${url}/counters/logins/increment`, { by: 2 })).status).toBe(202);
    const global = await eventually('GET /equilibrium with every shard and the counter', LEADERS_TIMEOUT_MS, async () => {
      const r = await http('GET', `${url}/equilibrium`);
      return r.status === 200 && Object.keys(r.body.shards).length === 4 && r.body.counters.logins === 2 ? r.body : undefined;
    });
    expect(global.shards['s-north']).toMatchObject({ term: expect.any(Number), asOf: expect.any(String), axes: { order: { value: expect.any(Number) } } });

    // Kill the shard's leader: a real SIGKILL, the shard elects another leader and keeps serving.
    const leader = view.shards.find((s) => s.id === 's-north')!.leader!;
    const leaderPid = view.nodes.find((n) => n.id === leader)!.pid!;
    const kill = await http('POST', `${url}/faults`, { type: 'kill', node: leader });
    expect(kill.status).toBe(201);
    expect(isProcessAlive(leaderPid)).toBe(false);
    const afterKill = (await http('GET', `${url}/cluster`)).body as ClusterJson & { faults: Array<{ type: string; node: string }> };
    expect(afterKill.nodes.find((n) => n.id === leader)).toMatchObject({ alive: false, state: 'killed', pid: null });
    expect(afterKill.faults).toMatchObject([{ type: 'kill', node: leader }]);
    await putAxis(url, 's-north', 'order', 43);
    expect((await readAxis(url, 's-north', 'order')).value).toBe(43);

    // Heal restarts it (a new process) and it catches up.
    expect((await http('DELETE', `${url}/faults`)).status).toBe(200);
    const healed = await allShardsLed(url, 4);
    const restartedPid = healed.nodes.find((n) => n.id === leader)!.pid!;
    expect(restartedPid).not.toBe(leaderPid);
    expect(isProcessAlive(restartedPid)).toBe(true);

    // Pause another node (SIGSTOP): a majority remains; heal resumes it (SIGCONT).
    const other = healed.nodes.find((n) => n.id !== leader)!;
    expect((await http('POST', `${url}/faults`, { type: 'pause', node: other.id })).status).toBe(201);
    const paused = (await http('GET', `${url}/cluster`)).body as ClusterJson;
    expect(paused.nodes.find((n) => n.id === other.id)).toMatchObject({ alive: false, state: 'paused', pid: other.pid });
    await putAxis(url, 's-north', 'order', 44);
    expect((await readAxis(url, 's-north', 'order')).value).toBe(44);
    expect((await http('DELETE', `${url}/faults`)).status).toBe(200);
    expect(((await http('GET', `${url}/faults`)).body as { faults: unknown[] }).faults).toEqual([]);
    const resumed = await allShardsLed(url, 4);
    expect(resumed.nodes.find((n) => n.id === other.id)).toMatchObject({ alive: true, state: 'running', pid: other.pid });

    // Every link runs through the fault proxies, so a partition is accepted (infra/faults tests what it does).
    const partition = await http('POST', `${url}/faults`, { type: 'partition', groups: [['n1'], ['n2', 'n3']] });
    expect(partition.status).toBe(201);
    expect((await http('DELETE', `${url}/faults/${(partition.body as { id: string }).id}`)).status).toBe(200);

    await cluster.stop();
    expectNoProcessLeft(cluster);
  }, 240_000);

  it('resumes the same cluster from the data dir: same ports, same shards, the written value, no second bootstrap', async () => {
    const before = JSON.parse(readFileSync(path.join(dataDir, 'cluster.json'), 'utf8')) as { nodes: unknown[]; peerAddresses: unknown };
    const cluster = await startCluster({ dataDir, port: 0, gm: { enabled: false } });
    started.push(cluster);
    onTestFailed(async () => {
      failed = true;
      dumpLogs(dataDir);
      await cluster.stop();
    });
    expect(cluster.resumed).toBe(true);
    expect(cluster.config.nodes).toEqual(before.nodes);
    // The fault proxies come back on their ports: the nodes dial the same peer addresses.
    expect(cluster.config.peerAddresses).toEqual(before.peerAddresses);
    const url = cluster.controllerUrl;
    const view = await allShardsLed(url, 4);
    expect(view.shards.map((s) => s.id)).toEqual(['s-north', 's-south', 's-east', 's-west']);
    // Linearizable: needs the meta group's leader, which may still be settling.
    const shards = await eventually('GET /shards', 30_000, async () => {
      const r = await http('GET', `${url}/shards`);
      return r.status === 200 ? (r.body as { shards: Array<{ id: string }> }) : undefined;
    });
    expect(shards.shards.map((s) => s.id)).toEqual(['s-north', 's-south', 's-east', 's-west']);
    expect((await readAxis(url, 's-north', 'order')).value).toBe(44);
    await cluster.stop();
    expectNoProcessLeft(cluster);
  }, 240_000);

  it('refuses a resume that asks for another shape, and says what to do', async () => {
    await expect(startCluster({ dataDir, port: 0, nodes: 5 })).rejects.toThrow(/holds a cluster with 3 nodes.*another --data/);
    expect(processesMentioning(dataDir)).toEqual([]);
  });

  it('`nimmer up` (the CLI) resumes, `nimmer status` and `nimmer equilibrium` print tables, and Ctrl-C leaves no process', async () => {
    const controllerPort = await freePort();
    // No compositors: the GM's events stay in the register, so the equilibrium this test set stays put.
    const child = spawn(process.execPath, [CLI, 'up', '--data', dataDir, '--port', String(controllerPort), '--compositors', '0'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cli = child;
    onTestFailed(() => {
      failed = true;
      dumpLogs(dataDir);
    });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const url = `http://127.0.0.1:${controllerPort}`;
    await eventually('`nimmer up` prints the URLs', 120_000, async () => {
      if (child.exitCode !== null) throw new Error(`nimmer up exited early:\n${output}`);
      return output.includes(`controller  ${url}`) ? true : undefined;
    });
    expect(output).toMatch(/resumed the cluster/);
    expect(output).toMatch(/n1 +http:\/\/127\.0\.0\.1:\d+ +raft 127\.0\.0\.1:\d+/);
    expect(output).toMatch(/postgres +postgres:\/\/nimmer@127\.0\.0\.1:\d+\/nimmer/);
    await allShardsLed(url, 4);

    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (c: Buffer) => (out += c.toString()));
        p.stderr.on('data', (c: Buffer) => (out += c.toString()));
        p.once('exit', (code) => resolve({ code, out }));
      });
    const status = await eventually('`nimmer status` reports ok', 30_000, async () => {
      const r = await run(['status', '--url', url]);
      return r.code === 0 && r.out.includes('health:   ok') ? r : undefined;
    });
    expect(status.out).toMatch(/SHARD +KEY +REPLICAS +LEADER +TERM +COMMIT/);
    expect(status.out).toMatch(/s-north +north\/\*\/\*\/\* +n1,n2,n3 +n[123]/);
    expect(status.out).toContain('faults: none');
    const eq = await run(['equilibrium', 's-north', '--url', url]);
    expect(eq.code).toBe(0);
    expect(eq.out).toMatch(/shard s-north \(north\/\*\/\*\/\*\) · linearizable read/);
    expect(eq.out).toMatch(/order +44 +60 +15 +1 +outside tolerance/);
    const all = await run(['equilibrium', 'all', '--url', url]);
    expect(all.out.match(/^shard s-/gm)).toHaveLength(4);
    const eventual = await run(['equilibrium', '--url', url]);
    expect(eventual.out).toMatch(/^eventual view of node n[1-3]/m);
    const fault = await run(['fault', 'pause', '2', '--url', url]);
    expect(fault.out).toMatch(/pause n2: done \(fault f1/);
    const heal = await run(['fault', 'heal', '--url', url]);
    expect(heal.out).toMatch(/healed f1/);
    const nobody = await run(['status', '--url', `http://127.0.0.1:${await freePort()}`]);
    expect(nobody.code).toBe(1);
    expect(nobody.out).toMatch(/cannot reach the nimmer controller.*Is `nimmer up` running\? Start it with `npm start`/s);

    const pids = processesMentioning(dataDir);
    expect(pids.length).toBeGreaterThanOrEqual(5); // 3 nodes, postgres, nats-server
    child.kill('SIGINT');
    const exit = await exited;
    expect(exit.code).toBe(130);
    expect(output).toContain('stopping the cluster');
    expect(pids.filter((pid) => isProcessAlive(pid))).toEqual([]);
    expect(processesMentioning(dataDir)).toEqual([]);
  }, 240_000);
});
