// The node process: `node --import tsx shards/node/main.ts --config cluster.json --node 1`.
// One per machine in production (addresses from the config file); children of `nimmer up` locally.
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createServer } from '../http/server.ts';
import { loadClusterConfig } from './config.ts';
import { EventualState } from './eventual.ts';
import { startDirecting } from './directing.ts';
import { GmNode } from './gm_node.ts';
import { NodeMetrics } from './metrics.ts';
import { registerRoutes } from './routes.ts';
import { registerEventualRoutes } from './routes_eventual.ts';
import { registerTransferRoutes } from './transfers/routes.ts';

const { values } = parseArgs({ options: { config: { type: 'string' }, node: { type: 'string' } } });
if (!values.config || !values.node || !/^n?[1-9][0-9]*$/.test(values.node)) {
  console.error('usage: node --import tsx shards/node/main.ts --config <cluster.json> --node <id>   (e.g. --node 1 or --node n1)');
  process.exit(2);
}
const nodeId = Number(values.node.replace(/^n/, ''));
const config = loadClusterConfig(values.config);
const log = pino({ base: { node: `n${nodeId}` } });

const node = new GmNode(nodeId, config, log);
await node.start();
const eventual = await EventualState.start(node, config, log);
// Directors run where the register is: only when the cluster has a Postgres.
const directing = config.postgres ? startDirecting(node, config.postgres, log, config.directors) : null;
const metrics = new NodeMetrics();
const app = createServer({ bodyBytesMax: config.http.bodyBytesMax, onInternalError: (e) => log.error({ err: e instanceof Error ? e.stack : String(e) }, 'internal error in a request') });
registerRoutes(app, node, metrics, directing);
registerEventualRoutes(app, eventual, metrics);
registerTransferRoutes(app, node, log);
const self = config.nodes.find((n) => n.id === nodeId)!;
await app.listen({ host: self.http.host, port: self.http.port });
const httpUrl = `http://${self.http.host}:${self.http.port}`;
const raftAddress = `${self.raft.host}:${self.raft.port}`;
console.log(`node n${nodeId} ready http=${httpUrl} raft=${raftAddress}`);
process.send?.({ type: 'ready', nodeId, httpUrl, raftAddress });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  const hard = setTimeout(() => process.exit(1), 10_000);
  hard.unref();
  await app.close().catch(() => undefined);
  await eventual.close().catch((e: unknown) => log.error({ err: String(e) }, 'error while closing eventual state'));
  await directing?.close().catch(() => undefined);
  await node.close().catch((e: unknown) => log.error({ err: String(e) }, 'error while closing raft'));
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('disconnect', () => void shutdown('disconnect'));
process.on('unhandledRejection', (e) => log.error({ err: e instanceof Error ? e.stack : String(e) }, 'unhandled rejection'));
