// Real Postgres and nats-server for transport's integration tests and benchmarks, through the launcher
// `nimmer up` uses (free ports, a temp data dir, everything stopped and removed by stop()).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startNats, startPostgres, Supervisor, type Nats, type Postgres } from '../../infra/launcher/index.ts';

export interface TransportServices {
  dataDir: string;
  supervisor: Supervisor;
  postgres: Postgres | null;
  nats: Nats | null;
  stop(): Promise<void>;
}

export async function startServices(what: { postgres?: boolean; nats?: boolean }, keepDataDir = false): Promise<TransportServices> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'nimmer-transport-'));
  const supervisor = new Supervisor({ logDir: path.join(dataDir, 'logs'), handleSignals: false });
  const [postgres, nats] = await Promise.all([
    what.postgres ? startPostgres({ dataDir, supervisor }) : Promise.resolve(null),
    what.nats ? startNats({ dataDir, supervisor, mode: 'local' }) : Promise.resolve(null),
  ]).catch(async (e: unknown) => {
    await supervisor.stopAll();
    throw e;
  });
  return {
    dataDir,
    supervisor,
    postgres,
    nats,
    async stop() {
      await supervisor.stopAll();
      if (!keepDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
