// One worker process of PipelinePlayerWorkers (pipeline_player_workers.ts): hosts a share of a real
// player fleet (PipelinePlayers: PlayerClients with their own SQLite files, acknowledging delivery
// themselves) and reports each final acknowledgement answer to the parent over IPC.
import { serveIpc } from '../proc/spawn_ts.ts';
import { PipelinePlayers } from './pipeline_players.ts';

export interface PlayerWorkerSpec {
  baseUrls: string[];
  natsUrls: string[];
  dir: string;
  seed: number;
  idPrefix: string;
  players: number;
  /** District of each of this worker's players, by index (the id's numeric suffix); empty: one subscription per event. */
  districts: string[];
}

/** A final answer as the parent receives it: [eventUid, playerId, answer, answeredAtMs]. */
export type FinalAnswerRecord = [string, string, string, number];

export interface PlayerWorkerStats {
  final: Record<string, number>;
  retried: number;
  entered: number;
  pendingAcks: number;
  /** Stream messages the players handled (applied, duplicate, not naming the player, redelivered, malformed). */
  messages: number;
  /** Process CPU (user + system) since start, ms. */
  cpuMs: number;
  lastErrors: string[];
}

let players: PipelinePlayers | null = null;
let cpu0: NodeJS.CpuUsage | null = null;

function stats(): PlayerWorkerStats {
  const cpu = process.cpuUsage(cpu0 ?? undefined);
  const p = players;
  const lastErrors = p === null ? [] : [...p.fleet.clients].filter(([, c]) => c.lastError !== null).map(([id, c]) => `${id}: ${c.lastError!.message}`).slice(0, 5);
  let messages = 0;
  for (const c of p?.fleet.clients.values() ?? []) {
    const t = c.totals.stream;
    messages += t.applied + t.duplicates + t.notForPlayer + t.redelivered + t.malformed;
  }
  return { final: { ...(p?.stats.final ?? {}) }, retried: p?.stats.retried ?? 0, entered: p?.stats.entered ?? 0, pendingAcks: p?.pendingAcks() ?? 0, messages, cpuMs: (cpu.user + cpu.system) / 1000, lastErrors };
}

serveIpc(async (msg) => {
  if (msg.cmd === 'start') {
    const spec = msg.spec as PlayerWorkerSpec;
    const districtOf = spec.districts.length === 0 ? undefined : (id: string) => spec.districts[Number(id.slice(spec.idPrefix.length))]!;
    players = await PipelinePlayers.start({
      baseUrls: spec.baseUrls,
      natsUrls: spec.natsUrls,
      players: spec.players,
      seed: spec.seed,
      dir: spec.dir,
      idPrefix: spec.idPrefix,
      ...(districtOf !== undefined ? { districtOf } : {}),
      onFinal: (uid, id, answer) => process.send?.({ final: [uid, id, answer, Date.now()] satisfies FinalAnswerRecord }),
    });
    cpu0 = process.cpuUsage();
    return { ids: players.ids };
  }
  if (players === null) throw new Error(`player worker: '${msg.cmd}' before 'start'`);
  if (msg.cmd === 'enter') {
    await players.enter(msg.eventUid as string, msg.players as string[]);
    return null;
  }
  if (msg.cmd === 'stats') return stats();
  if (msg.cmd === 'stop') {
    const s = stats();
    await players.stop();
    players = null;
    setImmediate(() => process.exit(0));
    return s;
  }
  throw new Error(`player worker: unknown command '${msg.cmd}' (expected start, enter, stats or stop)`);
});
