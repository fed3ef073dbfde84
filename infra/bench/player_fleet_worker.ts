// One process of the player-fleet bench (player_fleet.ts): hosts a share of the players, each a real
// PlayerClient with its own SQLite file, its own checkpoint and its own NATS connection. Reports, for
// every canon id applied, when its SQLite transaction committed (Date.now(), the host clock the
// committing process reads too), in batches over IPC.
import path from 'node:path';
import { PlayerClient } from '../../transport/index.ts';
import { serveIpc } from '../proc/spawn_ts.ts';

export interface FleetWorkerSpec {
  dir: string;
  natsUrls: string[];
  /** This worker's players and the event each takes part in. */
  players: { id: string; eventUid: string }[];
  applyLingerMs: number;
  /** Players connecting at once (connection set-up is the expensive part of starting). */
  connectConcurrency: number;
}

export interface FleetWorkerTotals {
  applied: number;
  duplicates: number;
  malformed: number;
  /** Rows held per player (read from each SQLite file at the end). */
  rowsPerPlayer: number[];
  lastErrors: string[];
  /** Process CPU while measuring (user + system), ms. */
  cpuMs: number;
}

const REPORT_EVERY_MS = 250;

let clients: PlayerClient[] = [];
/** Flat [canonId, appliedAtMs, …] not yet sent. */
let samples: number[] = [];
let reporter: NodeJS.Timeout | null = null;
let cpu0: NodeJS.CpuUsage | null = null;

serveIpc(async (msg) => {
  if (msg.cmd === 'start') {
    const spec = msg.spec as FleetWorkerSpec;
    clients = spec.players.map((p) =>
      PlayerClient.open({ playerId: p.id, dbPath: path.join(spec.dir, `${p.id}.sqlite`), eventsServers: spec.natsUrls, applyLingerMs: spec.applyLingerMs }),
    );
    for (const [i, c] of clients.entries()) {
      await c.join(spec.players[i]!.eventUid);
      c.onApply((_path, _r, atMs, ids) => {
        for (const id of ids) samples.push(id, atMs);
      });
    }
    for (let i = 0; i < clients.length; i += spec.connectConcurrency) await Promise.all(clients.slice(i, i + spec.connectConcurrency).map((c) => c.connect()));
    cpu0 = process.cpuUsage();
    reporter = setInterval(flushSamples, REPORT_EVERY_MS);
    return { players: clients.length };
  }
  if (msg.cmd === 'cpu') {
    const c = process.cpuUsage();
    return { cpuMs: (c.user + c.system) / 1000 };
  }
  if (msg.cmd === 'stop') {
    const cpu = process.cpuUsage(cpu0 ?? undefined);
    if (reporter !== null) clearInterval(reporter);
    flushSamples();
    const totals: FleetWorkerTotals = { applied: 0, duplicates: 0, malformed: 0, rowsPerPlayer: [], lastErrors: [], cpuMs: (cpu.user + cpu.system) / 1000 };
    for (const c of clients) {
      totals.applied += c.totals.stream.applied + c.totals.district.applied;
      totals.duplicates += c.totals.stream.duplicates + c.totals.district.duplicates;
      totals.malformed += c.totals.stream.malformed;
      totals.rowsPerPlayer.push(c.store.counts().rows);
      if (c.lastError !== null) totals.lastErrors.push(`${c.config.playerId}: ${c.lastError.message}`);
      await c.close();
    }
    clients = [];
    setImmediate(() => process.exit(0));
    return totals;
  }
  throw new Error(`player fleet worker: unknown command '${msg.cmd}' (expected start, cpu or stop)`);
});

function flushSamples(): void {
  if (samples.length === 0) return;
  process.send?.({ samples });
  samples = [];
}
