// The district fallback process: a DistrictHost (one coordinator per district, discovered) with its
// state over HTTP. `nimmer up` starts one; run more anywhere (each district's coordinator is active
// in one process, the others wait as standby on its Postgres advisory lock).
//   node --import tsx transport/district/main.ts --pg <url> --nats <url[,url]> [--district-nats <url[,url]>]
//        [--name district-1] [--metrics-port 0] [--config-json '{"coordinator":{"tickMs":250}}']
import http from 'node:http';
import { parseArgs } from 'node:util';
import { DistrictHost, type DistrictHostView } from './host.ts';

const { values } = parseArgs({
  options: {
    pg: { type: 'string' },
    nats: { type: 'string' },
    'district-nats': { type: 'string' },
    name: { type: 'string', default: 'district' },
    'metrics-port': { type: 'string' },
    'config-json': { type: 'string', default: '{}' },
  },
});
if (values.pg === undefined || values.nats === undefined) {
  console.error('usage: main.ts --pg <postgres url> --nats <nats url[,url]> [--district-nats <url[,url]>] [--name district-1] [--metrics-port N] [--config-json {…}]');
  process.exit(2);
}
const urls = (text: string) => text.split(',').filter((s) => s.length > 0);
let settings: Record<string, unknown>;
try {
  settings = JSON.parse(values['config-json']) as Record<string, unknown>;
} catch (e) {
  console.error(`--config-json is not JSON: ${(e as Error).message}`);
  process.exit(2);
}
const host = await DistrictHost.start(
  values.pg,
  { ...settings, eventsServers: urls(values.nats), ...(values['district-nats'] !== undefined ? { districtServers: urls(values['district-nats']) } : {}) },
  values.name,
);

function prometheus(v: DistrictHostView): string {
  const out = [
    '# HELP nimmer_district_fallback 1 while the district delivers through the fallback (the relay/JetStream path looks unhealthy), 0 on the stream',
    '# TYPE nimmer_district_fallback gauge',
    ...v.districts.filter((d) => d.active).map((d) => `nimmer_district_fallback{district="${d.district}"} ${d.mode === 'fallback' ? 1 : 0}`),
    '# HELP nimmer_district_coordinator_active 1 while this process holds the district (0: standby)',
    '# TYPE nimmer_district_coordinator_active gauge',
    ...v.districts.map((d) => `nimmer_district_coordinator_active{district="${d.district}"} ${d.active ? 1 : 0}`),
    '# HELP nimmer_district_delivered_total canon rows delivered through the fallback',
    '# TYPE nimmer_district_delivered_total counter',
    ...v.districts.map((d) => `nimmer_district_delivered_total{district="${d.district}"} ${d.stats.delivered}`),
    '# HELP nimmer_district_mode_switches_total stream ↔ fallback switches',
    '# TYPE nimmer_district_mode_switches_total counter',
    ...v.districts.map((d) => `nimmer_district_mode_switches_total{district="${d.district}"} ${d.stats.modeSwitches}`),
    '# HELP nimmer_district_unserved districts discovered beyond districtsMax',
    '# TYPE nimmer_district_unserved gauge',
    `nimmer_district_unserved ${v.unserved.length}`,
  ];
  return `${out.join('\n')}\n`;
}

const server = http.createServer((req, res) => {
  const v = host.view();
  if (req.url === '/metrics') res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(prometheus(v));
  else if (req.url === '/stats') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v));
  else res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'try /metrics or /stats', details: {} } }));
});
let metricsUrl: string | null = null;
if (values['metrics-port'] !== undefined) {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(values['metrics-port']), '127.0.0.1', () => resolve());
  });
  const a = server.address();
  if (a !== null && typeof a === 'object') metricsUrl = `http://127.0.0.1:${a.port}`;
}
console.log(`district host ${values.name} started${metricsUrl ? ` stats=${metricsUrl}/stats` : ''}`);
process.send?.({ type: 'ready', name: values.name, metricsUrl });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`district host ${values.name}: ${signal}, stopping`);
  setTimeout(() => process.exit(1), 5_000).unref();
  await host.stop();
  server.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('disconnect', () => void shutdown('parent disconnected'));
