// The transport relays of a local cluster: the transport's SQL installed (migrations + replication slot, and the
// player and district migrations: namespaces transport.player, transport.district), its
// JetStream streams applied, then two relay processes — whichever takes the slot first is active, the other
// a standby that takes over when it dies. Each serves /metrics and /stats on its own loopback port.
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { applyStreams, DISTRICT_MIGRATIONS, installTransport, migrate, PLAYER_MIGRATIONS, transportStreams, type TransportStreamsOptions } from '../../transport/index.ts';
import { allocatePorts, type SupervisedProcess, type Supervisor } from '../launcher/index.ts';
import { waitReady } from './ready.ts';

export const RELAY_ENTRY = fileURLToPath(new URL('../../transport/relay/main.ts', import.meta.url));
export const RELAY_COUNT = 2;
const READY_TIMEOUT_MS = 30_000;

export interface RelayProcess {
  name: string;
  metricsUrl: string;
  proc: SupervisedProcess;
}

export interface Relays {
  /** One per relay: its name, metrics URL and current process (replaced by restart()). */
  relays: RelayProcess[];
  /** SIGKILLs the relay holding the slot (the standby takes over); its name, or null when none is active. */
  killActive(): Promise<string | null>;
  /** Starts every relay that is not running again, on its own metrics port. */
  restartDead(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface StartRelaysOptions {
  supervisor: Supervisor;
  postgresUrl: string;
  natsUrls: readonly string[];
  /** Stream limits (omitted: the transport's defaults). */
  streams?: Omit<TransportStreamsOptions, 'replicas'>;
  /** The relays' journal retention (omitted: the relay's default). */
  journalRetentionMs?: number;
}

export async function startRelays(options: StartRelaysOptions): Promise<Relays> {
  const db = new pg.Client({ connectionString: options.postgresUrl });
  await db.connect();
  try {
    await installTransport(db);
    // The player login feed (nimmer.participation; the active relay prunes it) and the district backlog:
    // both fill from triggers on canon, so they exist before the first canon row is written.
    for (const set of [PLAYER_MIGRATIONS, DISTRICT_MIGRATIONS]) await migrate(db, set);
  } finally {
    await db.end();
  }
  const nc = await connect({ servers: [...options.natsUrls] });
  try {
    await applyStreams(nc, transportStreams({ ...options.streams, replicas: options.natsUrls.length >= 3 ? 3 : 1 }));
  } finally {
    await nc.close();
  }
  const ports = await allocatePorts(RELAY_COUNT);
  const spawn = async (port: number, name: string): Promise<RelayProcess> => {
    const proc = options.supervisor.spawnTs({
      name,
      entry: RELAY_ENTRY,
      args: ['--pg', options.postgresUrl, '--nats', options.natsUrls.join(','), '--name', name, '--metrics-port', String(port), ...(options.journalRetentionMs !== undefined ? ['--journal-retention-ms', String(options.journalRetentionMs)] : [])],
    });
    await waitReady(proc, READY_TIMEOUT_MS);
    return { name, metricsUrl: `http://127.0.0.1:${port}/metrics`, proc };
  };
  const relays = await Promise.all(ports.map((port, i) => spawn(port, `relay-${i + 1}`)));
  const running = (r: RelayProcess) => r.proc.running;
  return {
    relays,
    async killActive() {
      for (const r of relays.filter(running)) {
        const text = await fetch(r.metricsUrl, { signal: AbortSignal.timeout(2_000) }).then((x) => x.text()).catch(() => '');
        if (/^nimmer_relay_active(\{[^}]*\})? 1$/m.test(text)) {
          await r.proc.kill();
          return r.name;
        }
      }
      return null;
    },
    async restartDead() {
      const restarted: string[] = [];
      for (const [i, r] of relays.entries()) {
        if (running(r)) continue;
        relays[i] = await spawn(ports[i]!, r.name);
        restarted.push(r.name);
      }
      return restarted;
    },
    stop: async () => void (await Promise.all(relays.map((r) => r.proc.stop()))),
  };
}
