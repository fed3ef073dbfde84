// The relay's numbers over HTTP: GET /metrics (Prometheus text) and GET /stats (JSON, for benchmarks).
import http from 'node:http';
import type { RelayStats } from './relay.ts';
import type { StageTraceRows } from './stage_trace.ts';

function prometheus(s: RelayStats): string {
  const label = `{relay="${s.name}"}`;
  const lines: Array<[string, string, string, number]> = [
    ['nimmer_relay_active', 'gauge', '1 while this relay holds the slot', s.role === 'active' ? 1 : 0],
    ['nimmer_relay_published_total', 'counter', 'messages handed to JetStream, re-sends included', s.publishedTotal],
    ['nimmer_relay_acked_total', 'counter', 'JetStream acknowledgements', s.ackedTotal],
    ['nimmer_relay_duplicates_total', 'counter', 'acks saying duplicate (re-sends already stored)', s.duplicatesTotal],
    ['nimmer_relay_txns_confirmed_total', 'counter', 'transactions confirmed to Postgres', s.txnsConfirmedTotal],
    ['nimmer_relay_in_flight', 'gauge', 'messages sent to JetStream and not yet acknowledged', s.inFlight],
    ['nimmer_relay_queued', 'gauge', 'decoded messages waiting for an in-flight slot', s.queued],
    ['nimmer_relay_lag_bytes', 'gauge', 'WAL bytes between the server position and the confirmed one', s.lagBytes],
    ['nimmer_relay_commit_to_ack_ms_p50', 'gauge', 'commit to JetStream ack, recent transactions', s.commitToAckMsP50],
    ['nimmer_relay_commit_to_ack_ms_p99', 'gauge', 'commit to JetStream ack, recent transactions', s.commitToAckMsP99],
    ['nimmer_relay_session_failures_total', 'counter', 'replication sessions that ended in an error', s.sessionFailuresTotal],
    ['nimmer_relay_journal_pruned_total', 'counter', 'journal rows pruned', s.journalPrunedTotal],
    ['nimmer_relay_participation_pruned_total', 'counter', 'login-feed rows (nimmer.participation) pruned past the EVENTS max_age', s.participationPrunedTotal],
  ];
  return lines.map(([n, t, h, v]) => `# HELP ${n} ${h}\n# TYPE ${n} ${t}\n${n}${label} ${Number.isFinite(v) ? v : 'NaN'}`).join('\n') + '\n';
}

/** trace: the relay's per-message stage times (GET /trace), null when tracing is off. */
export function serveRelayMetrics(stats: () => RelayStats, port: number, host = '127.0.0.1', trace: () => StageTraceRows | null = () => null): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const s = stats();
    if (req.url === '/trace') {
      const rows = trace();
      if (rows === null) res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'trace_off', message: 'start the relay with --stage-trace N', details: {} } }));
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(rows));
    } else if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(prometheus(s));
    } else if (req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(s));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'try /metrics, /stats or /trace', details: {} } }));
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
