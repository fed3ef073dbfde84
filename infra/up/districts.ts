// The district fallback of a local cluster (transport/district): one host process running a coordinator
// per district it discovers. Each coordinator tails its district on JetStream and, when the relay/JetStream
// path looks unhealthy (probe failing, canon unconfirmed past lagThresholdMs), delivers the district's
// canon to the players itself over NATS request/reply; back to the stream once it looks healthy again.
import { fileURLToPath } from 'node:url';
import type { DistrictHostConfigInput, DistrictHostView } from '../../transport/index.ts';
import type { SupervisedProcess, Supervisor } from '../launcher/index.ts';
import { waitReady } from './ready.ts';

export const DISTRICT_ENTRY = fileURLToPath(new URL('../../transport/district/main.ts', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const STATS_TIMEOUT_MS = 2_000;
/** Coordinator ticks in a local cluster: 4/s per district keeps Postgres quiet on a small machine (the default 20/s suits production). */
export const DISTRICT_HOST_DEFAULTS: Omit<DistrictHostConfigInput, 'eventsServers'> = { coordinator: { tickMs: 250 } };

export interface Districts {
  name: string;
  statsUrl: string;
  proc: SupervisedProcess;
  /** The host's coordinators (null when it does not answer). */
  view(): Promise<DistrictHostView | null>;
  stop(): Promise<void>;
}

export async function startDistricts(options: { supervisor: Supervisor; postgresUrl: string; natsUrls: readonly string[]; settings?: Omit<DistrictHostConfigInput, 'eventsServers'> }): Promise<Districts> {
  const name = 'district-1';
  const proc = options.supervisor.spawnTs({
    name,
    entry: DISTRICT_ENTRY,
    args: ['--pg', options.postgresUrl, '--nats', options.natsUrls.join(','), '--name', name, '--metrics-port', '0', '--config-json', JSON.stringify(options.settings ?? DISTRICT_HOST_DEFAULTS)],
  });
  const ready = await waitReady<{ type: 'ready'; metricsUrl: string }>(proc, READY_TIMEOUT_MS);
  const statsUrl = `${ready.metricsUrl}/stats`;
  return {
    name,
    statsUrl,
    proc,
    async view() {
      const current = options.supervisor.get(name);
      if (current === undefined || !current.running) return null;
      const res = await fetch(statsUrl, { signal: AbortSignal.timeout(STATS_TIMEOUT_MS) }).catch(() => null);
      if (res?.status !== 200) return null;
      return (await res.json()) as DistrictHostView;
    },
    stop: async () => void (await proc.stop()),
  };
}
