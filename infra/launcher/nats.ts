// nats-server with JetStream, started by the launcher: one server (`local`) or three in a
// NATS cluster with clustered JetStream (`local-cluster`, so R3 streams work), on free
// loopback ports remembered in the data dir's state, or an existing deployment by URL.
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { findNatsServer } from './binaries.ts';
import { getJson, sleep } from './http_probe.ts';
import {
  directRoutes,
  NATS_CLUSTER_NAME,
  NATS_CLUSTER_SIZE,
  natsServerName,
  renderNatsConfig,
} from './nats_config.ts';
import { allocatePorts, LOOPBACK, looksLikeAddressInUse, PortInUseError, retryOnPortInUse } from './ports.ts';
import { readState, updateState, type LocalNatsMode, type NatsServerState } from './state.ts';
import { Supervisor, type SupervisedProcess } from './supervisor.ts';

export type NatsMode = LocalNatsMode | 'external';

export interface NatsOptions {
  dataDir: string;
  mode: NatsMode;
  /** For `external`: the client URLs of an existing NATS deployment. */
  urls?: readonly string[];
  /** Shared launcher supervisor; a private one (logs in `<dataDir>/logs`) when absent. */
  supervisor?: Supervisor;
  /**
   * The route URLs server `serverIndex` solicits, e.g. through fault proxies in front of
   * `clusterPorts[j]`. Default: direct routes to every other server's cluster port. When
   * given, gossip-discovered direct routes are prevented (see UNREACHABLE_ADVERTISE).
   */
  routeUrlsFor?: (serverIndex: number, clusterPorts: readonly number[]) => readonly string[] | Promise<readonly string[]>;
  readyTimeoutMs?: number;
  jetstreamMemoryBytesMax?: number;
  jetstreamFileBytesMax?: number;
}

export interface NatsServer {
  readonly index: number;
  readonly name: string;
  readonly clientPort: number;
  /** Null for a single server. */
  readonly clusterPort: number | null;
  readonly monitorPort: number;
  readonly clientUrl: string;
  readonly monitorUrl: string;
  readonly configFile: string;
  readonly logFile: string;
  /** The running process's PID, null while stopped or killed. */
  readonly pid: number | null;
  readonly running: boolean;
  /** Graceful stop (SIGINT). */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would (the `nats-kill` fault). */
  kill(): Promise<void>;
  /** (Re)starts a stopped or killed server on the same ports and store; resolves when healthy. */
  start(): Promise<void>;
}

export interface Nats {
  mode: NatsMode;
  /** Client URLs, one per server. */
  urls: string[];
  /** Empty in `external` mode. */
  servers: NatsServer[];
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS_DEFAULT = 30_000;
const STOP_GRACE_MS = 10_000;
const JETSTREAM_MEMORY_BYTES_MAX_DEFAULT = 256 * 1024 * 1024;
const JETSTREAM_FILE_BYTES_MAX_DEFAULT = 4 * 1024 * 1024 * 1024;
const POLL_MS = 100;
// With routeUrlsFor, routes must go only where it says. NATS gossips each server's
// advertised cluster address and peers then dial it directly (an "implicit route"), which
// would bypass fault proxies; advertising an address nobody listens on makes each such
// dial fail once (one ERR line in the log) while the explicit routes carry the traffic.
const UNREACHABLE_ADVERTISE = '127.0.0.1:1';

export class NatsStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NatsStartError';
  }
}

/** `--nats` flag → options: `local`, `local-cluster`, or comma-separated nats:// URLs. */
export function parseNatsFlag(flag: string): { mode: NatsMode; urls?: string[] } {
  if (flag === 'local' || flag === 'local-cluster') return { mode: flag };
  return { mode: 'external', urls: flag.split(',').map((u) => u.trim()).filter((u) => u.length > 0) };
}

export async function startNats(options: NatsOptions): Promise<Nats> {
  if (options.mode === 'external') return connectExternal(options.urls ?? []);
  return startLocal(options, options.mode);
}

// ---- external --------------------------------------------------------------------------

async function connectExternal(urls: readonly string[]): Promise<Nats> {
  if (urls.length === 0) throw new NatsStartError('--nats: give local, local-cluster, or nats://host:port URLs');
  for (const raw of urls) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new NatsStartError(`--nats: '${raw}' is not a URL (expected nats://host:port)`);
    }
    if (url.protocol !== 'nats:' && url.protocol !== 'tls:') {
      throw new NatsStartError(`--nats: '${raw}' must use nats:// or tls://`);
    }
    const port = url.port === '' ? 4222 : Number(url.port);
    if (!(await natsAnswers(url.hostname, port))) {
      throw new NatsStartError(`--nats: no NATS server answered at ${url.hostname}:${port} (expected an INFO line)`);
    }
  }
  return { mode: 'external', urls: [...urls], servers: [], stop: async () => undefined };
}

/** A NATS server greets every client with `INFO {…}`. */
function natsAnswers(host: string, port: number, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (chunk) => done(chunk.toString('latin1').startsWith('INFO ')));
  });
}

// ---- local -------------------------------------------------------------------------

interface LocalContext {
  binary: string;
  supervisor: Supervisor;
  readyTimeoutMs: number;
  clustered: boolean;
}

class LocalNatsServer implements NatsServer {
  private proc: SupervisedProcess | null = null;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly clientPort: number,
    readonly clusterPort: number | null,
    readonly monitorPort: number,
    readonly configFile: string,
    private readonly ctx: LocalContext,
  ) {}

  get clientUrl(): string {
    return `nats://${LOOPBACK}:${this.clientPort}`;
  }

  get monitorUrl(): string {
    return `http://${LOOPBACK}:${this.monitorPort}`;
  }

  get logFile(): string {
    return path.join(this.ctx.supervisor.logDir, `${this.name}.log`);
  }

  get pid(): number | null {
    return this.proc?.running ? this.proc.pid : null;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** Spawns the process without waiting for readiness. */
  spawn(): void {
    if (this.running) return;
    this.proc = this.ctx.supervisor.spawn({
      name: this.name,
      command: this.ctx.binary,
      args: ['-c', this.configFile],
      // SIGINT: JetStream shutdown, exit code 0 (SIGTERM exits 1 in 2.9).
      stopSignal: 'SIGINT',
      stopGraceMs: STOP_GRACE_MS,
    });
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.spawn();
    await this.waitReady();
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  async kill(): Promise<void> {
    await this.proc?.kill();
  }

  /** Healthy (`/healthz`: JetStream up and, clustered, in contact with a meta leader) and ours. */
  async waitReady(): Promise<void> {
    const proc = this.proc;
    if (proc === null) throw new NatsStartError(`${this.name} was never started`);
    const deadline = Date.now() + this.ctx.readyTimeoutMs;
    for (;;) {
      if (!proc.running) {
        const tail = proc.logTail(2048);
        const message = `${this.name} exited before it was ready (see ${proc.logFile}):\n${tail}`;
        throw looksLikeAddressInUse(tail) ? new PortInUseError(message) : new NatsStartError(message);
      }
      const health = await getJson(`${this.monitorUrl}/healthz`);
      if (health?.status === 200) {
        // The monitor port answering could be someone else's server that won the port race.
        const varz = await getJson(`${this.monitorUrl}/varz`);
        const serverName = (varz?.body as { server_name?: unknown } | undefined)?.server_name;
        if (serverName === this.name) return;
      }
      if (Date.now() > deadline) {
        throw new NatsStartError(
          `${this.name} was not healthy within ${this.ctx.readyTimeoutMs} ms ` +
            `(last /healthz: ${JSON.stringify(health?.body ?? 'no answer')}); see ${proc.logFile}`,
        );
      }
      await sleep(POLL_MS);
    }
  }
}

async function startLocal(options: NatsOptions, mode: LocalNatsMode): Promise<Nats> {
  const dataDir = path.resolve(options.dataDir);
  const binary = findNatsServer();
  const supervisor = options.supervisor ?? new Supervisor({ logDir: path.join(dataDir, 'logs') });
  const clustered = mode === 'local-cluster';
  const count = clustered ? NATS_CLUSTER_SIZE : 1;
  const ctx: LocalContext = {
    binary,
    supervisor,
    readyTimeoutMs: options.readyTimeoutMs ?? READY_TIMEOUT_MS_DEFAULT,
    clustered,
  };
  // Each shape has its own store: a single server's streams are not clustered ones.
  const modeDir = path.join(dataDir, 'nats', mode);
  await mkdir(modeDir, { recursive: true });
  const state = await readState(dataDir);
  const remembered = state.nats?.mode === mode ? state.nats.servers : [];

  const servers = await retryOnPortInUse(async (attempt) => {
    const preferred = attempt === 0 ? remembered.flatMap((s) => [s.clientPort, s.clusterPort ?? undefined, s.monitorPort]) : [];
    const ports = await allocatePorts(count * 3, preferred);
    const records: NatsServerState[] = Array.from({ length: count }, (_, i) => ({
      name: natsServerName(i),
      clientPort: ports[i * 3] as number,
      clusterPort: clustered ? (ports[i * 3 + 1] as number) : null,
      monitorPort: ports[i * 3 + 2] as number,
    }));
    const clusterPorts = records.map((r) => r.clusterPort ?? 0);
    const started: LocalNatsServer[] = [];
    for (const [i, record] of records.entries()) {
      const configFile = path.join(modeDir, `${record.name}.conf`);
      const routes = clustered
        ? [...(await (options.routeUrlsFor?.(i, clusterPorts) ?? directRoutes(LOOPBACK, clusterPorts, i)))]
        : [];
      const config = renderNatsConfig({
        name: record.name,
        host: LOOPBACK,
        clientPort: record.clientPort,
        monitorPort: record.monitorPort,
        storeDir: path.join(modeDir, record.name),
        jetstreamMemoryBytesMax: options.jetstreamMemoryBytesMax ?? JETSTREAM_MEMORY_BYTES_MAX_DEFAULT,
        jetstreamFileBytesMax: options.jetstreamFileBytesMax ?? JETSTREAM_FILE_BYTES_MAX_DEFAULT,
        // NIMMER_NATS_PROF_PORT=N: the first server serves Go pprof on port N (e.g. to profile a benchmark's nats-server).
        ...(i === 0 && /^[0-9]+$/.test(process.env.NIMMER_NATS_PROF_PORT ?? '') ? { profPort: Number(process.env.NIMMER_NATS_PROF_PORT) } : {}),
        ...(clustered
          ? {
              cluster: {
                name: NATS_CLUSTER_NAME,
                port: clusterPorts[i] as number,
                routes,
                ...(options.routeUrlsFor !== undefined ? { advertise: UNREACHABLE_ADVERTISE } : {}),
              },
            }
          : {}),
      });
      await writeFile(configFile, config);
      started.push(
        new LocalNatsServer(i, record.name, record.clientPort, record.clusterPort, record.monitorPort, configFile, ctx),
      );
    }
    try {
      for (const server of started) server.spawn();
      await Promise.all(started.map((s) => s.waitReady()));
      if (clustered) await waitClusterFormed(started, ctx.readyTimeoutMs);
    } catch (e) {
      await Promise.all(started.map((s) => s.kill()));
      throw e;
    }
    await updateState(dataDir, (s) => ({ ...s, nats: { mode, servers: records } }));
    return started;
  });

  return {
    mode,
    urls: servers.map((s) => s.clientUrl),
    servers,
    stop: async () => {
      for (const server of [...servers].reverse()) await server.stop();
    },
  };
}

/** Every server routes to every other and knows the JetStream meta leader. */
async function waitClusterFormed(servers: readonly NatsServer[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const views = await Promise.all(
      servers.map(async (s) => {
        const routez = await getJson(`${s.monitorUrl}/routez`);
        const jsz = await getJson(`${s.monitorUrl}/jsz`);
        const routes = (routez?.body as { num_routes?: number } | undefined)?.num_routes ?? 0;
        const leader = (jsz?.body as { meta_cluster?: { leader?: string } } | undefined)?.meta_cluster?.leader ?? '';
        return { name: s.name, routes, leader };
      }),
    );
    if (views.every((v) => v.routes >= servers.length - 1 && v.leader !== '')) return;
    last = JSON.stringify(views);
    if (Date.now() > deadline) {
      throw new NatsStartError(`the NATS cluster did not form within ${timeoutMs} ms: ${last}`);
    }
    await sleep(POLL_MS);
  }
}
