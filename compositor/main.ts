// The compositor process: `node --import tsx compositor/main.ts --pg postgres://… [--config-json '{…}'] [--metrics-port N] [--id c1]`.
// Stateless: start as many as the queue needs, on any machine. SIGTERM (or an IPC {type:'drain'})
// drains: no new pickups, events in flight are finished and committed, then the process exits 0.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { decodeCatalogue, defaultCatalogue } from '../catalogue/index.ts';
import { adapterFor } from './adapters/index.ts';
import { compositorConfig } from './config.ts';
import { CompositorMetrics } from './metrics.ts';
import { CompositorWorker } from './worker.ts';

const { values } = parseArgs({
  options: { pg: { type: 'string' }, 'config-json': { type: 'string' }, 'metrics-port': { type: 'string' }, id: { type: 'string' }, catalogue: { type: 'string' } },
});
if (!values.pg) {
  console.error("usage: node --import tsx compositor/main.ts --pg <postgres://…> [--config-json '{\"eventsInFlightMax\":4}'] [--metrics-port 0] [--id c1] [--catalogue file.json]");
  process.exit(2);
}
const id = values.id ?? `c${process.pid}`;
const log = pino({ base: { compositor: id } });
let config;
try {
  config = compositorConfig(values['config-json'] ? JSON.parse(values['config-json']) : {});
} catch (e) {
  console.error(`--config-json is invalid: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(2);
}
const catalogue = values.catalogue ? decodeCatalogue(readFileSync(values.catalogue)) : defaultCatalogue();
const pool = new pg.Pool({ connectionString: values.pg, max: config.eventsInFlightMax + 2 });
pool.on('error', (e) => log.warn({ err: e.message }, 'idle Postgres connection failed'));
const metrics = new CompositorMetrics();
const worker = new CompositorWorker(pool, () => catalogue, adapterFor(config.adapter), config, metrics, log, {
  onPicked: (uid) => process.send?.({ type: 'picked', id, uid }),
  onComposed: (uid, rows) => process.send?.({ type: 'composed', id, uid, rows }),
}, values.pg);
await worker.start();

let metricsUrl: string | null = null;
const app = Fastify();
if (values['metrics-port'] !== undefined) {
  app.get('/metrics', async (_req, reply) => {
    await worker.queueDepth().catch(() => undefined);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  metricsUrl = await app.listen({ host: '127.0.0.1', port: Number(values['metrics-port']) });
}
log.info({ metricsUrl, config }, 'compositor ready');
process.send?.({ type: 'ready', id, pid: process.pid, metricsUrl });

let draining: Promise<void> | null = null;
function drain(reason: string): Promise<void> {
  draining ??= (async () => {
    log.info({ reason }, 'draining');
    const hard = setTimeout(() => process.exit(1), 60_000);
    hard.unref();
    await worker.drain();
    await app.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    process.send?.({ type: 'drained', id });
    process.exit(0);
  })();
  return draining;
}
process.on('SIGTERM', () => void drain('SIGTERM'));
process.on('SIGINT', () => void drain('SIGINT'));
process.on('message', (m) => {
  if ((m as { type?: string }).type === 'drain') void drain('drain message');
});
// The parent (a pool, nimmer up) going away must not leave this worker behind.
process.on('disconnect', () => void drain('parent disconnected'));
