// The relay process. `nimmer up` starts two (one active, one standby); in production run two or more anywhere.
//   node --import tsx transport/relay/main.ts --pg <url> --nats <url[,url]> [--name relay-1] [--metrics-port 0]
//   node --import tsx transport/relay/main.ts repair --pg <url> --nats <url> [--stream EVENTS] [--from X/Y] [--to X/Y] [--no-wait]
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import pino from 'pino';
import { EVENTS_STREAM } from '../subject.ts';
import { repairJournalRange } from './journal.ts';
import { serveRelayMetrics } from './metrics_http.ts';
import { Relay } from './relay.ts';
import { installTransportWhenReachable } from './startup.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    pg: { type: 'string' },
    nats: { type: 'string' },
    name: { type: 'string', default: 'relay' },
    'metrics-port': { type: 'string' },
    'in-flight-max': { type: 'string' },
    'acquire-retry-ms': { type: 'string' },
    'journal-retention-ms': { type: 'string' },
    'log-stats-ms': { type: 'string', default: '10000' },
    'stage-trace': { type: 'string' },
    stream: { type: 'string', default: EVENTS_STREAM },
    from: { type: 'string' },
    to: { type: 'string' },
    'no-wait': { type: 'boolean', default: false },
  },
});

function usage(message: string): never {
  console.error(`${message}\nusage: main.ts [repair] --pg <postgres url> --nats <nats url[,url]> [--name relay-1] [--metrics-port N] [--in-flight-max N] [--stage-trace N]`);
  process.exit(2);
}
if (values.pg === undefined || values.nats === undefined) usage('--pg and --nats are required');
const natsServers = values.nats.split(',').filter((s) => s.length > 0);
const log = pino({ base: { relay: values.name } });

if (positionals[0] === 'repair') {
  const client = new pg.Client({ connectionString: values.pg });
  await client.connect();
  const nc = await connect({ servers: natsServers });
  try {
    const report = await repairJournalRange({
      pg: client,
      nc,
      stream: values.stream,
      ...(values.from !== undefined ? { fromLsn: values.from } : {}),
      ...(values.to !== undefined ? { toLsn: values.to } : {}),
      waitOutDedupWindow: !values['no-wait'],
      onProgress: (m) => console.error(m),
    });
    console.log(JSON.stringify(report));
    process.exitCode = report.blockedByDedupWindow.length === 0 ? 0 : 1;
  } finally {
    await nc.close();
    await client.end();
  }
} else if (positionals.length > 0) {
  usage(`unknown command ${positionals[0]}`);
} else {
  try {
    await installTransportWhenReachable(values.pg, log);
  } catch (e) {
    log.error({}, e instanceof Error ? e.message : String(e));
    process.exit(1);
  }

  const relay = new Relay(
    {
      pgUrl: values.pg,
      natsServers,
      name: values.name,
      ...(values['in-flight-max'] !== undefined ? { inFlightMax: Number(values['in-flight-max']) } : {}),
      ...(values['acquire-retry-ms'] !== undefined ? { acquireRetryMs: Number(values['acquire-retry-ms']) } : {}),
      ...(values['journal-retention-ms'] !== undefined ? { journalRetentionMs: Number(values['journal-retention-ms']) } : {}),
      ...(values['stage-trace'] !== undefined ? { stageTraceCapacity: Number(values['stage-trace']) } : {}),
    },
    log,
  );
  const metricsPort = values['metrics-port'] === undefined ? null : Number(values['metrics-port']);
  const server = metricsPort === null ? null : await serveRelayMetrics(() => relay.stats(), metricsPort, '127.0.0.1', () => relay.trace?.rows() ?? null);
  const address = server?.address();
  const metricsUrl = address && typeof address === 'object' ? `http://127.0.0.1:${address.port}/metrics` : null;
  const statsEveryMs = Number(values['log-stats-ms']);
  const statsTimer = statsEveryMs > 0 ? setInterval(() => log.info(relay.stats(), 'stats'), statsEveryMs) : null;
  statsTimer?.unref();
  void relay.start();
  console.log(`relay ${values.name} started${metricsUrl ? ` metrics=${metricsUrl}` : ''}`);
  process.send?.({ type: 'ready', name: values.name, metricsUrl });

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    setTimeout(() => process.exit(1), 5_000).unref();
    await relay.stop();
    server?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('unhandledRejection', (e) => log.error({ err: e instanceof Error ? e.stack : String(e) }, 'unhandled rejection'));
}
