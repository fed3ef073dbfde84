// A launcher stand-in for the no-orphan tests: starts children through a Supervisor,
// reports their PIDs over IPC, then idles (to be SIGKILLed or SIGTERMed) or crashes.
// argv: <dataDir> <guard: pdeathsig|watchdog> <then: idle|throw> <what…: sleep|ts|ts-paused|nats|postgres>
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNats } from '../nats.ts';
import { startPostgres } from '../postgres.ts';
import { Supervisor } from '../supervisor.ts';
import type { OrphanGuardKind } from '../orphan_guard.ts';

const [dataDir, guard, then, ...what] = process.argv.slice(2) as [string, OrphanGuardKind, 'idle' | 'throw', ...string[]];
const supervisor = new Supervisor({ logDir: path.join(dataDir, 'logs'), orphanGuard: guard });
const pids: Record<string, number> = {};

for (const item of what) {
  if (item === 'sleep') {
    pids.sleep = supervisor.spawn({ name: 'sleep', command: '/bin/sleep', args: ['300'] }).pid;
  } else if (item === 'ts') {
    pids.ts = supervisor.spawnTs({ name: 'idle', entry: fileURLToPath(new URL('./idle_child.ts', import.meta.url)) }).pid;
  } else if (item === 'ts-paused') {
    pids.tsPaused = supervisor.spawnTs({ name: 'paused', entry: fileURLToPath(new URL('./idle_child.ts', import.meta.url)) }).pid;
    await supervisor.pause('paused');
  } else if (item === 'nats') {
    const nats = await startNats({ dataDir, mode: 'local', supervisor });
    pids.nats = nats.servers[0]?.pid ?? 0;
  } else if (item === 'postgres') {
    const pg = await startPostgres({ dataDir, supervisor });
    pids.postgres = pg.pid ?? 0;
  }
}

// The guard is in force once the watchdog confirmed the PIDs (a launcher killed before that can orphan them).
await supervisor.orphanGuardSettled();
process.send?.({ pids });
if (then === 'throw') {
  setTimeout(() => {
    throw new Error('launcher_parent: deliberate uncaught exception');
  }, 100);
} else {
  setInterval(() => undefined, 1000);
}
