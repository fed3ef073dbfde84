// Relays as real child processes for tests (relay/main.ts under the launcher's supervisor): started with an
// IPC 'ready' that carries the metrics URL, their /stats read over HTTP, and which one holds the slot.
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { SupervisedProcess, Supervisor } from '../../infra/launcher/index.ts';
import type { RelayStats } from '../relay/relay.ts';

const MAIN = fileURLToPath(new URL('../relay/main.ts', import.meta.url));
const READY_TIMEOUT_MS = 30_000;

export interface RelayProcess {
  name: string;
  proc: SupervisedProcess;
  statsUrl: string;
  /** The relay's /stats, or null when it does not answer (killed, stopping). */
  stats(): Promise<RelayStats | null>;
}

export interface RelayProcessOptions {
  name: string;
  pgUrl: string;
  natsUrls: readonly string[];
  /** More main.ts flags, e.g. ['--in-flight-max', '16']. */
  args?: readonly string[];
}

export async function startRelayProcess(supervisor: Supervisor, o: RelayProcessOptions): Promise<RelayProcess> {
  const proc = supervisor.spawnTs({
    name: o.name,
    entry: MAIN,
    args: ['--pg', o.pgUrl, '--nats', o.natsUrls.join(','), '--name', o.name, '--metrics-port', '0', '--log-stats-ms', '0', ...(o.args ?? [])],
  });
  const metricsUrl = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${o.name} did not report ready; log:\n${proc.logTail()}`)), READY_TIMEOUT_MS);
    void proc.exited.then((x) => {
      clearTimeout(t);
      reject(new Error(`${o.name} exited before it was ready (code ${x.code}, signal ${x.signal}); log:\n${proc.logTail()}`));
    });
    proc.child.on('message', (m: unknown) => {
      const msg = m as { type?: string; metricsUrl?: string };
      if (msg.type === 'ready' && msg.metricsUrl) {
        clearTimeout(t);
        resolve(msg.metricsUrl);
      }
    });
  });
  const statsUrl = metricsUrl.replace(/\/metrics$/, '/stats');
  return {
    name: o.name,
    proc,
    statsUrl,
    async stats() {
      try {
        return (await (await fetch(statsUrl)).json()) as RelayStats;
      } catch {
        return null;
      }
    },
  };
}

/** The relay process whose walsender holds the slot (application_name nimmer-<name>), or null. */
export async function activeRelayOf<R extends { name: string; proc: SupervisedProcess }>(db: pg.ClientBase | pg.Pool, relays: readonly R[], slotName = 'nimmer_relay'): Promise<R | null> {
  const r = await db.query<{ name: string }>(
    `SELECT application_name AS name FROM pg_stat_replication
      WHERE pid = (SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1)`,
    [slotName],
  );
  const name = r.rows[0]?.name;
  return relays.find((x) => x.proc.running && `nimmer-${x.name}` === name) ?? null;
}
