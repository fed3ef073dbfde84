// `nimmer up`: a whole local cluster in the foreground, until Ctrl-C.
import path from 'node:path';
import type { Command } from 'commander';
import { addShutdownHook } from '../launcher/index.ts';
import { startCluster, type ClusterHandle } from './cluster.ts';
import { COMPOSITORS_MAX_DEFAULT, COMPOSITORS_MIN_DEFAULT, CONTROLLER_PORT_DEFAULT, DATA_DIR_DEFAULT } from './options.ts';
import { startStatusLine, type StatusLine } from './status_line.ts';

function intOption(name: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got '${text}'`);
    return n;
  };
}

interface UpFlags {
  nodes?: number;
  shards?: number;
  replicas?: number;
  port: number;
  data: string;
  pg: string;
  nats: string;
  compositors?: number;
  compositorsMin: number;
  compositorsMax: number;
}

export function describeCluster(c: ClusterHandle): string {
  const rel = (p: string) => path.relative(c.dataDir, p) || '.';
  const lines = [
    `nimmer ${c.resumed ? 'resumed the cluster' : 'started a new cluster'} '${c.config.clusterId}' in ${c.dataDir}`,
    `  controller  ${c.controllerUrl}    (nimmer status · nimmer equilibrium · nimmer fault …)`,
  ];
  for (const n of c.nodes.list()) {
    lines.push(`  ${n.name.padEnd(10)}  ${n.httpUrl}   raft ${n.raftAddress}   log ${rel(n.logFile ?? `${c.logDir}/${n.name}.log`)}`);
  }
  lines.push(`  postgres    ${c.postgres.url}${c.postgres.external ? ' (external)' : ''}`);
  lines.push(`  nats        ${c.nats.urls.join(', ')}${c.nats.mode === 'external' ? ' (external)' : ''}`);
  lines.push(`  relays      ${c.relays.relays.map((r) => r.name).join(', ')} (active + standby: Postgres WAL → JetStream)`);
  lines.push(`  districts   ${c.districts.name} (a fallback coordinator per district; ${c.districts.statsUrl})`);
  const pool = c.compositors.view();
  lines.push(`  compositors ${pool.workers} running, ${pool.max === 0 ? 'none asked for' : pool.mode === 'fixed' ? `fixed at ${pool.max}` : `autoscaled ${pool.min}..${pool.max} on the register's queue depth`}`);
  lines.push(`  data        ${c.dataDir}   (config ${rel(c.configFile)}, logs ${rel(c.logDir)}/)`);
  lines.push(`  shards      ${c.shards.map((s) => s.id).join(', ')}`);
  lines.push('Ctrl-C stops the cluster; `nimmer up` on the same --data resumes it.');
  return lines.join('\n');
}

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('start a whole local cluster in the foreground: Postgres, NATS, the node processes, the pipeline (relays, district fallback, compositor pool) and the controller API')
    .option('--nodes <n>', 'node processes (default 3; a resumed cluster keeps its own)', intOption('--nodes'))
    .option('--shards <n>', 'shards created on first start (default 4)', intOption('--shards'))
    .option('--replicas <n>', 'replicas per shard (default 3, at most --nodes)', intOption('--replicas'))
    .option('--port <port>', 'the controller API port (0: any free port)', intOption('--port'), CONTROLLER_PORT_DEFAULT)
    .option('--data <dir>', 'data directory; `up` on the same one resumes the cluster', DATA_DIR_DEFAULT)
    .option('--pg <embedded|URL>', 'Postgres: embedded (started here) or postgres://… of an existing server', 'embedded')
    .option('--nats <local|local-cluster|URL>', 'NATS: one local server, a local 3-server cluster, or nats://… URLs', 'local')
    .option('--compositors <n>', 'a fixed number of compositor worker processes (0: none; overrides --compositors-min/-max)', intOption('--compositors'))
    .option('--compositors-min <n>', 'the autoscaled compositor pool: fewest workers', intOption('--compositors-min'), COMPOSITORS_MIN_DEFAULT)
    .option('--compositors-max <n>', 'the autoscaled compositor pool: most workers (scaled on the queue of waiting events)', intOption('--compositors-max'), COMPOSITORS_MAX_DEFAULT)
    .action(async (flags: UpFlags) => {
      let status: StatusLine | null = null;
      const say = (message: string) => (status !== null ? status.log(message) : console.log(message));
      const cluster = await startCluster({
        dataDir: flags.data,
        ...(flags.nodes !== undefined ? { nodes: flags.nodes } : {}),
        ...(flags.shards !== undefined ? { shards: flags.shards } : {}),
        ...(flags.replicas !== undefined ? { replicas: flags.replicas } : {}),
        port: flags.port,
        pg: flags.pg,
        nats: flags.nats,
        ...(flags.compositors !== undefined ? { compositors: flags.compositors } : {}),
        compositorsMin: flags.compositorsMin,
        compositorsMax: flags.compositorsMax,
        handleSignals: true,
        onProgress: (m) => say(`· ${m}`),
      });
      cluster.supervisor.on('exit', (info) => {
        if (info.expected) return;
        const how = info.signal !== null ? `signal ${info.signal}` : `code ${String(info.code)}`;
        say(`! ${info.name} exited unexpectedly (${how}); see ${cluster.logDir}/${info.name}.log — \`nimmer fault heal\` restarts a node`);
      });
      console.log(describeCluster(cluster));
      status = startStatusLine(() => cluster.clusterView());
      // Registered last, so it runs first: the status line stops before the children do.
      addShutdownHook(async () => {
        status?.stop();
        status = null;
        console.log('stopping the cluster (nodes, NATS, Postgres)…');
      });
    });
}
