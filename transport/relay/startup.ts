// The relay's first step, installing the transport's SQL: Postgres may not be up yet (machines booting
// in any order, a restart or failover in progress). An unreachable server is waited out with backoff;
// any other failure (bad credentials, a missing database, a broken migration) is a configuration error
// that no wait fixes, so it stops the relay with what to do.
import pg from 'pg';
import { installTransport } from '../install.ts';
import type { RelayLogger } from './relay.ts';
import { retryPauseMs } from './relay.ts';

/** Error codes of a server that is not reachable or not accepting connections yet. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
  '57P01', // admin_shutdown: the server is stopping
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or in recovery
  '53300', // too_many_connections
]);

/** Whether `e` means "Postgres is not reachable right now" (worth waiting for), not a configuration error. */
export function isPostgresUnreachable(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  if (typeof code === 'string') return UNREACHABLE_CODES.has(code) || code.startsWith('08'); // 08xxx: connection exceptions
  // node-postgres reports a connection the server closed mid-startup without a code.
  const message = e instanceof Error ? e.message : String(e);
  return /Connection terminated|connection timeout|server closed the connection/i.test(message);
}

export interface InstallRetryOptions {
  /** First pause after a failure; doubled with each failure in a row. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Gives up (throws the last error) once this much time has passed; default: waits for ever. */
  giveUpAfterMs?: number;
}

/** Where a URL points, without its credentials, for log lines. */
export function postgresHost(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparseable Postgres URL)';
  }
}

/** Installs the transport's SQL once Postgres accepts connections; returns the number of failed attempts. */
export async function installTransportWhenReachable(pgUrl: string, log: RelayLogger, o: InstallRetryOptions = {}): Promise<number> {
  const baseMs = o.retryBaseMs ?? 200;
  const maxMs = o.retryMaxMs ?? 5_000;
  const startedMs = Date.now();
  for (let failures = 0; ; failures++) {
    const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined); // a server dying mid-install surfaces as the query's rejection
    try {
      await client.connect();
      await installTransport(client);
      return failures;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (!isPostgresUnreachable(e)) {
        throw new Error(`installing the transport in Postgres at ${postgresHost(pgUrl)} failed: ${message}. Check --pg (user, password, database) and the server's log; the relay does not retry this.`);
      }
      if (o.giveUpAfterMs !== undefined && Date.now() - startedMs >= o.giveUpAfterMs) throw e;
      const pauseMs = retryPauseMs(baseMs, maxMs, failures);
      log.warn({ attempt: failures + 1, code: (e as { code?: unknown }).code, pauseMs }, `Postgres at ${postgresHost(pgUrl)} is not reachable (${message}); retrying in ${pauseMs} ms`);
      await new Promise((r) => setTimeout(r, pauseMs));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
