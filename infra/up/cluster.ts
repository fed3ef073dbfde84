// `startCluster`: a whole local cluster as child processes — Postgres, nats-server, the node
// processes — plus the controller's HTTP API. Used by `nimmer up` and by the tests. A second
// start on the same data dir resumes the same cluster (same ports when free, no re-bootstrap).
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createController,
  healthReasons,
  type ClusterView,
  type Controller,
  type ControllerBackend,
  type DependencyStatus,
} from '../controller/index.ts';
import { FaultNetwork, readProxyPorts, writeProxyPorts } from '../faults/index.ts';
import {
  addShutdownHook,
  allocatePorts,
  isPortFree,
  LOOPBACK,
  parseNatsFlag,
  parsePgFlag,
  startNats,
  startPostgres,
  Supervisor,
  type Nats,
  type OrphanGuardKind,
  type Postgres,
} from '../launcher/index.ts';
import { bootstrapCluster } from './bootstrap.ts';
import { lockDataDir } from './data_dir_lock.ts';
import { NodeProcesses } from './node_processes.ts';
import { startCompositors, type Compositors } from './compositors.ts';
import { startDistricts, type Districts } from './districts.ts';
import { compositorBounds, NODES_DEFAULT, parseUpOptions, REPLICAS_DEFAULT, SHARDS_DEFAULT, type UpOptions, type UpOptionsInput } from './options.ts';
import { buildClusterConfig, planShards, type ClusterConfigFile, type NodePorts, type PlannedShard } from './plan.ts';
import { startRelays, type Relays } from './relays.ts';
import { readUpState, writeUpState, type UpState } from './up_state.ts';

export const CLUSTER_ID = 'nimmer-local';
export const CLUSTER_CONFIG_FILE = 'cluster.json';
export const NODE_ENTRY_DEFAULT = fileURLToPath(new URL('../../shards/node/main.ts', import.meta.url));
export const COMPOSITOR_ENTRY = fileURLToPath(new URL('../../compositor/main.ts', import.meta.url));

export interface StartClusterOptions extends UpOptionsInput {
  /** The node process entry point. Default: shards/node/main.ts. */
  nodeEntry?: string;
  /**
   * Stop everything and exit on SIGINT/SIGTERM/SIGHUP (the CLI). Default false: a library
   * caller (a test) calls stop() itself.
   */
  handleSignals?: boolean;
  orphanGuard?: OrphanGuardKind;
  /** Progress lines (what is starting, what is waited for). */
  onProgress?: (message: string) => void;
  /**
   * Run every link (node ↔ node Raft and HTTP forwarding, node → NATS, NATS route ↔ route) through TCP fault proxies,
   * so network faults work. Default true.
   */
  faultProxies?: boolean;
  /** Seeds the proxies' jitter. Default 1. */
  faultSeed?: number;
}

export interface ClusterHandle {
  dataDir: string;
  logDir: string;
  /** `<dataDir>/cluster.json`, the node processes' config. */
  configFile: string;
  config: ClusterConfigFile;
  /** The controller's base URL (`http://127.0.0.1:7070`). */
  controllerUrl: string;
  /** True when the data dir already held this cluster (no bootstrap this time). */
  resumed: boolean;
  shards: readonly PlannedShard[];
  nodes: NodeProcesses;
  postgres: Postgres;
  nats: Nats;
  /** The transport relays (active + standby) streaming committed publishes to JetStream. */
  relays: Relays;
  /** The district fallback host: a coordinator per district, delivering itself while the relay/JetStream path is unhealthy. */
  districts: Districts;
  /** The compositor worker pool (autoscaled on the register's queue depth, or fixed). */
  compositors: Compositors;
  supervisor: Supervisor;
  controller: Controller;
  /** The fault proxies (null when started with faultProxies: false). */
  network: FaultNetwork | null;
  /** What GET /cluster answers, computed in-process. */
  clusterView(): Promise<ClusterView>;
  /** Resolves once GET /health would answer ok; rejects with the reasons after timeoutMs. */
  waitHealthy(timeoutMs: number): Promise<ClusterView>;
  /** Every PID this cluster has started (nodes, including restarted ones; Postgres; nats-servers). */
  childPids(): number[];
  /** Stops the controller, the nodes (SIGTERM, in parallel), NATS, then Postgres. Idempotent. */
  stop(): Promise<void>;
}

export class ClusterStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterStartError';
  }
}

interface Shape {
  nodes: number;
  shards: number;
  replicas: number;
}

/** The stored shape wins on resume; a flag that contradicts it is an error, not silently ignored. */
function resolveShape(opts: UpOptions, stored: UpState | null, dataDir: string): Shape {
  if (stored === null) {
    const nodes = opts.nodes ?? NODES_DEFAULT;
    const replicas = opts.replicas ?? Math.min(REPLICAS_DEFAULT, nodes);
    if (replicas > nodes) throw new ClusterStartError(`--replicas ${replicas} is more than --nodes ${nodes}; a node holds at most one replica of a shard`);
    return { nodes, shards: opts.shards ?? SHARDS_DEFAULT, replicas };
  }
  const shape = { nodes: stored.nodes.length, shards: stored.shards.length, replicas: stored.replicas };
  for (const [flag, wanted, has] of [
    ['--nodes', opts.nodes, shape.nodes],
    ['--shards', opts.shards, shape.shards],
    ['--replicas', opts.replicas, shape.replicas],
  ] as const) {
    if (wanted !== undefined && wanted !== has) {
      throw new ClusterStartError(
        `${dataDir} holds a cluster with ${has} ${flag.slice(2)} and ${flag} ${wanted} asks for another shape; ` +
          `resume it without ${flag}, or start a new cluster with another --data`,
      );
    }
  }
  return shape;
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w', 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

function dependencyStatus(postgres: Postgres, nats: Nats): DependencyStatus[] {
  const deps: DependencyStatus[] = [
    postgres.external
      ? { name: 'postgres', up: true, detail: 'external' }
      : { name: 'postgres', up: postgres.pid !== null, ...(postgres.pid === null ? { detail: 'the postgres process is not running' } : {}) },
  ];
  if (nats.servers.length === 0) deps.push({ name: 'nats', up: true, detail: 'external' });
  for (const s of nats.servers) {
    deps.push({ name: `nats-${s.index}`, up: s.running, ...(s.running ? {} : { detail: `${s.name} is not running` }) });
  }
  return deps;
}

export async function startCluster(options: StartClusterOptions): Promise<ClusterHandle> {
  const { nodeEntry, handleSignals, orphanGuard, onProgress, faultProxies, faultSeed, ...raw } = options;
  const opts = parseUpOptions(raw);
  const progress = onProgress ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir);
  const logDir = path.join(dataDir, 'logs');
  await mkdir(dataDir, { recursive: true });
  const release = lockDataDir(dataDir);

  // Teardown steps, run in reverse on stop() or on a failed start.
  const teardown: Array<() => Promise<void>> = [async () => release()];
  let stopping: Promise<void> | null = null;
  let removeHook: () => void = () => undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      removeHook();
      for (const step of teardown.reverse()) {
        await step().catch((e: unknown) => console.error(`nimmer: while stopping: ${e instanceof Error ? e.message : String(e)}`));
      }
      progress(`stopped; the data stays in ${dataDir}`);
    })();
    return stopping;
  };

  try {
    if (opts.port !== 0 && !(await isPortFree(opts.port, opts.host))) {
      throw new ClusterStartError(
        `the controller port ${opts.host}:${opts.port} is in use (another \`nimmer up\`?); stop it or pass --port <another port>`,
      );
    }
    const stored = await readUpState(dataDir);
    const shape = resolveShape(opts, stored, dataDir);
    progress(stored === null ? `new cluster in ${dataDir}: ${shape.nodes} nodes, ${shape.shards} shards × ${shape.replicas} replicas` : `resuming the cluster in ${dataDir}`);

    const supervisor = new Supervisor({ logDir, handleSignals: handleSignals ?? false, ...(orphanGuard ? { orphanGuard } : {}) });
    const spawnedPids = new Set<number>();
    supervisor.on('spawn', (proc) => spawnedPids.add(proc.pid));
    teardown.push(() => supervisor.stopAll());
    if (handleSignals) removeHook = addShutdownHook(stop);

    const pgFlag = parsePgFlag(opts.pg);
    const natsFlag = parseNatsFlag(opts.nats);
    const nodeIds = stored?.nodes.map((n) => n.id) ?? Array.from({ length: shape.nodes }, (_, i) => i + 1);

    // The proxies listen before any other port is allocated (their targets come later), so no
    // node or server can take a proxy's port, and a resumed cluster gets its old proxy ports back.
    let network: FaultNetwork | null = null;
    if (faultProxies ?? true) {
      const natsServerCount = natsFlag.mode === 'local' ? 1 : natsFlag.mode === 'local-cluster' ? 3 : 0;
      network = await FaultNetwork.open({
        host: opts.host,
        nodeIds,
        natsServerCount,
        natsRoutes: natsFlag.mode === 'local-cluster',
        preferredPorts: await readProxyPorts(dataDir),
        seed: faultSeed ?? 1,
      });
      const opened = network;
      teardown.push(() => opened.close());
      await writeProxyPorts(dataDir, network.ports());
      progress(`${Object.keys(network.ports()).length} fault proxies listening (every node ↔ node Raft and HTTP link, every node → NATS link${natsFlag.mode === 'local-cluster' ? ', and the NATS routes' : ''})`);
    }
    const proxies = network;
    const routeUrlsFor =
      proxies !== null && natsFlag.mode === 'local-cluster'
        ? (i: number, clusterPorts: readonly number[]) => {
            clusterPorts.forEach((port, j) => proxies.setNatsRouteTarget(j, { host: LOOPBACK, port }));
            return proxies.routeUrls(i);
          }
        : undefined;

    progress(`starting Postgres (${opts.pg}) and NATS (${opts.nats})`);
    const [pgResult, natsResult] = await Promise.allSettled([
      startPostgres({ dataDir, supervisor, ...(pgFlag.url !== undefined ? { url: pgFlag.url } : {}) }),
      startNats({
        dataDir,
        supervisor,
        mode: natsFlag.mode,
        ...(natsFlag.urls ? { urls: natsFlag.urls } : {}),
        ...(routeUrlsFor !== undefined ? { routeUrlsFor } : {}),
      }),
    ]);
    if (pgResult.status === 'fulfilled') teardown.push(() => pgResult.value.stop());
    if (natsResult.status === 'fulfilled') teardown.push(() => natsResult.value.stop());
    if (pgResult.status === 'rejected') throw new ClusterStartError(`Postgres did not start: ${(pgResult.reason as Error).message}`);
    if (natsResult.status === 'rejected') throw new ClusterStartError(`NATS did not start: ${(natsResult.reason as Error).message}`);
    const postgres = pgResult.value;
    const nats = natsResult.value;
    progress(`Postgres ready at ${postgres.url}; NATS ready at ${nats.urls.join(', ')}`);
    const relays = await startRelays({ supervisor, postgresUrl: postgres.url, natsUrls: nats.urls, streams: opts.streams, ...(opts.relayJournalRetentionMs !== undefined ? { journalRetentionMs: opts.relayJournalRetentionMs } : {}) });
    teardown.push(() => relays.stop());
    progress(`transport relays (active + standby): ${relays.relays.map((r) => `${r.name} ${r.metricsUrl}`).join(', ')}`);

    const preferred = stored?.nodes.flatMap((n) => [n.raftPort, n.httpPort]) ?? [];
    const ports = await allocatePorts(nodeIds.length * 2, preferred, opts.host);
    const nodePorts: NodePorts[] = nodeIds.map((id, i) => ({ id, raftPort: ports[i * 2] as number, httpPort: ports[i * 2 + 1] as number }));
    const plan = stored?.shards ?? planShards(shape.shards, nodeIds, shape.replicas);
    const upState: UpState = {
      clusterId: stored?.clusterId ?? CLUSTER_ID,
      nodes: nodePorts,
      replicas: shape.replicas,
      shards: plan,
      bootstrapped: stored?.bootstrapped ?? false,
      createdAt: stored?.createdAt ?? new Date().toISOString(),
    };
    await writeUpState(dataDir, upState);

    let peerAddresses: Record<string, Record<string, { host: string; port: number }>> | undefined;
    let httpPeerAddresses: typeof peerAddresses;
    let natsPerNode: Record<string, string[]> | undefined;
    if (network !== null) {
      for (const s of nats.servers) network.setNatsClientTarget(s.index, { host: LOOPBACK, port: s.clientPort });
      for (const n of nodePorts) {
        network.setRaftTarget(n.id, { host: opts.host, port: n.raftPort });
        network.setHttpTarget(n.id, { host: opts.host, port: n.httpPort });
      }
      const net = network;
      const pairwise = (address: (from: number, to: number) => { host: string; port: number }) =>
        Object.fromEntries(nodeIds.map((from) => [String(from), Object.fromEntries(nodeIds.filter((to) => to !== from).map((to) => [String(to), address(from, to)]))]));
      peerAddresses = pairwise((from, to) => net.raftAddress(from, to));
      httpPeerAddresses = pairwise((from, to) => net.httpAddress(from, to));
      if (nats.servers.length > 0) {
        natsPerNode = Object.fromEntries(nodeIds.map((id) => [String(id), nats.servers.map((s) => net.natsUrl(id, s.index))]));
      }
    }

    const config = buildClusterConfig({
      clusterId: upState.clusterId,
      dataDir,
      host: opts.host,
      nodes: nodePorts,
      raft: opts.raft,
      gm: opts.gm,
      directors: opts.directors,
      eventual: opts.eventual,
      postgres: postgres.url,
      nats: nats.urls,
      ...(peerAddresses !== undefined ? { peerAddresses } : {}),
      ...(httpPeerAddresses !== undefined ? { httpPeerAddresses } : {}),
      ...(natsPerNode !== undefined ? { natsPerNode } : {}),
    });
    const configFile = path.join(dataDir, CLUSTER_CONFIG_FILE);
    await writeJsonAtomic(configFile, config);

    const nodes = new NodeProcesses({
      supervisor,
      entry: nodeEntry ?? NODE_ENTRY_DEFAULT,
      configFile,
      nodes: config.nodes.map((n) => ({
        id: n.id,
        httpUrl: `http://${n.http.host}:${n.http.port}`,
        raftAddress: `${n.raft.host}:${n.raft.port}`,
      })),
      readyTimeoutMs: opts.nodeReadyTimeoutMs,
      onEvent: progress,
    });
    teardown.push(() => nodes.stopAll());
    progress(`starting ${nodeIds.length} node processes (logs in ${logDir})`);
    await nodes.startAll();

    // The district host starts once the nodes listen: its connections take ephemeral ports, and the nodes'
    // ports were picked free before they bound them. The canon trigger fills its backlog from the first row on.
    const districts = await startDistricts({
      supervisor,
      postgresUrl: postgres.url,
      natsUrls: nats.urls,
      ...(opts.districts !== undefined ? { settings: opts.districts } : {}),
    });
    teardown.push(() => districts.stop());
    progress(`district fallback: ${districts.name} (a coordinator per district; ${districts.statsUrl})`);

    // Compositors: stateless, so started fresh each time; drained and stopped before Postgres stops.
    const bounds = compositorBounds(opts);
    const compositors = await startCompositors({
      supervisor,
      entry: COMPOSITOR_ENTRY,
      postgresUrl: postgres.url,
      ...bounds,
      policy: opts.compositorPolicy,
      config: opts.compositorConfig,
      intervalMs: opts.compositorPoolIntervalMs,
      onProgress: progress,
    });
    teardown.push(() => compositors.stop());
    if (bounds.max > 0) progress(`compositor pool: ${compositors.view().workers} worker(s) running, ${bounds.min === bounds.max ? 'fixed' : `autoscaled ${bounds.min}..${bounds.max} on the queue depth`}`);

    const backend: ControllerBackend = {
      nodes,
      postgresUrl: postgres.url,
      natsUrls: nats.urls,
      natsServers: nats.servers,
      ...(network !== null ? { network } : {}),
      dependencies: () => dependencyStatus(postgres, nats),
      pipeline: async () => ({ compositors: compositors.view(), districts: await districts.view() }),
    };
    const controller = createController(backend);
    let controllerUrl: string;
    try {
      controllerUrl = await controller.listen(opts.port, opts.host);
    } catch (e) {
      throw new ClusterStartError(
        `the controller could not listen on ${opts.host}:${opts.port} (${(e as Error).message}); pass --port <another port>`,
      );
    }
    teardown.push(() => controller.close());

    const resumed = upState.bootstrapped;
    if (!upState.bootstrapped) {
      await bootstrapCluster({
        nodeUrls: () => nodes.list().filter((n) => n.state === 'running').map((n) => n.httpUrl),
        shards: plan,
        timeoutMs: opts.bootstrapTimeoutMs,
        onProgress: progress,
      });
      upState.bootstrapped = true;
      await writeUpState(dataDir, upState);
      progress('bootstrap done: catalogue loaded, shards created');
    }

    const clusterView = () => controller.clusterView();
    return {
      dataDir,
      logDir,
      configFile,
      config,
      controllerUrl,
      resumed,
      shards: plan,
      nodes,
      postgres,
      nats,
      relays,
      districts,
      compositors,
      supervisor,
      controller,
      network,
      clusterView,
      async waitHealthy(timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const view = await clusterView();
          const reasons = healthReasons(view);
          if (reasons.length === 0) return view;
          if (Date.now() > deadline) throw new Error(`the cluster was not healthy within ${timeoutMs} ms: ${reasons.join('; ')}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      },
      childPids: () => [...spawnedPids],
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
