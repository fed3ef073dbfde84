// A real player fleet spread over worker processes (pipeline_player_worker.ts), for benches that
// need hundreds of players next to a `nimmer up` cluster: each worker hosts a share of the players
// (PipelinePlayers: real PlayerClients, their own SQLite files, their own acknowledgements), so the
// players' SQLite commits, fsyncs before each acknowledgement, and NATS traffic run in parallel
// and off the driving process's event loop. Players live in districts (`districts` > 0): each
// subscribes once to its district's canon, and an event's participants must be picked from its
// district (`playersIn`).
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../../consensus/raft/rand.ts';
import { forkTs, ipcRequest } from '../proc/spawn_ts.ts';
import type { FinalAnswerRecord, PlayerWorkerSpec, PlayerWorkerStats } from './pipeline_player_worker.ts';

export interface PipelinePlayerWorkersOptions {
  baseUrls: string[];
  natsUrls: string[];
  /** Players in all, spread evenly over the workers. */
  players: number;
  workers: number;
  /** Districts the players live in (player g lives in `d<g mod districts>`); 0: one subscription per event entered. */
  districts: number;
  seed: number;
  /** Each player's SQLite file goes here. */
  dir: string;
  /** Every final acknowledgement answer (repeats included), with the worker's clock (the host's). */
  onFinal?: (eventUid: string, playerId: string, answer: string, answeredAtMs: number) => void;
}

const WORKER = fileURLToPath(new URL('./pipeline_player_worker.ts', import.meta.url));
const START_TIMEOUT_MS = 600_000;
const EXIT_WAIT_MS = 10_000;

export class PipelinePlayerWorkers {
  private readonly byPlayer = new Map<string, ChildProcess>();
  private readonly byDistrict = new Map<string, string[]>();
  private readonly random: () => number;

  private constructor(
    private readonly children: ChildProcess[],
    readonly o: PipelinePlayerWorkersOptions,
  ) {
    this.random = seededRandom(o.seed ^ 0xd157);
  }

  static async start(o: PipelinePlayerWorkersOptions): Promise<PipelinePlayerWorkers> {
    for (const [k, v] of Object.entries({ players: o.players, workers: o.workers })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`player workers: ${k} must be a positive integer, got ${v}`);
    }
    if (!Number.isInteger(o.districts) || o.districts < 0) throw new Error(`player workers: districts must be a non-negative integer, got ${o.districts}`);
    await mkdir(o.dir, { recursive: true });
    const perWorker = Math.ceil(o.players / o.workers);
    const specs: PlayerWorkerSpec[] = [];
    for (let w = 0; w * perWorker < o.players; w++) {
      const n = Math.min(perWorker, o.players - w * perWorker);
      specs.push({
        baseUrls: o.baseUrls,
        natsUrls: o.natsUrls,
        dir: o.dir,
        seed: o.seed + w,
        idPrefix: `w${w}p`,
        players: n,
        districts: o.districts === 0 ? [] : Array.from({ length: n }, (_, i) => `d${(w * perWorker + i) % o.districts}`),
      });
    }
    // NIMMER_PLAYER_WORKER_CPU_PROF=<dir>: each worker writes a V8 CPU profile there when it stops.
    const profDir = process.env.NIMMER_PLAYER_WORKER_CPU_PROF;
    const execArgv = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
    const children = specs.map(() => forkTs(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv }));
    // Each IPC request listens for its answer; one enter per event per worker can be in flight at a time.
    for (const c of children) c.setMaxListeners(0);
    const fleet = new PipelinePlayerWorkers(children, o);
    try {
      await Promise.all(
        children.map(async (child, w) => {
          child.on('message', (m) => {
            const f = (m as { final?: FinalAnswerRecord }).final;
            if (f !== undefined) o.onFinal?.(...f);
          });
          const spec = specs[w]!;
          const { ids } = await ipcRequest<{ ids: string[] }>(child, { cmd: 'start', spec }, START_TIMEOUT_MS);
          ids.forEach((id, i) => {
            fleet.byPlayer.set(id, child);
            const d = spec.districts[i];
            if (d !== undefined) fleet.byDistrict.set(d, [...(fleet.byDistrict.get(d) ?? []), id]);
          });
        }),
      );
    } catch (e) {
      fleet.kill();
      throw e;
    }
    return fleet;
  }

  get ids(): string[] {
    return [...this.byPlayer.keys()];
  }

  /** The players living in a district (empty without districts). */
  playersIn(district: string): readonly string[] {
    return this.byDistrict.get(district) ?? [];
  }

  /** k distinct players of the district (without districts: of the whole fleet), chosen by the seeded generator. */
  pick(district: string, k: number): string[] {
    const pool = this.o.districts === 0 ? this.ids : [...this.playersIn(district)];
    const out: string[] = [];
    while (out.length < k && pool.length > 0) out.push(pool.splice(Math.floor(this.random() * pool.length), 1)[0]!);
    return out.sort();
  }

  /** The game session put these players into the event (each worker is told about its own). */
  async enter(eventUid: string, players: readonly string[]): Promise<void> {
    const byChild = new Map<ChildProcess, string[]>();
    for (const id of players) {
      const child = this.byPlayer.get(id);
      if (child === undefined) throw new Error(`player workers: no player ${id}`);
      byChild.set(child, [...(byChild.get(child) ?? []), id]);
    }
    await Promise.all([...byChild].map(([child, ids]) => ipcRequest(child, { cmd: 'enter', eventUid, players: ids })));
  }

  async stats(): Promise<PlayerWorkerStats> {
    return sum(await Promise.all(this.children.map((c) => ipcRequest<PlayerWorkerStats>(c, { cmd: 'stats' }))));
  }

  /** Stops every worker (players disconnect, SQLite files close) and returns the final stats. */
  async stop(): Promise<PlayerWorkerStats> {
    try {
      const all = await Promise.all(this.children.map((c) => ipcRequest<PlayerWorkerStats>(c, { cmd: 'stop' }, 120_000)));
      // The workers exit on their own right after answering (a CPU profile is written then).
      await Promise.all(this.children.map((c) => exited(c, EXIT_WAIT_MS)));
      return sum(all);
    } finally {
      this.kill();
    }
  }

  private kill(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

/** Resolves when the child has exited, or after `waitMs`. */
function exited(child: ChildProcess, waitMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function sum(all: PlayerWorkerStats[]): PlayerWorkerStats {
  const out: PlayerWorkerStats = { final: {}, retried: 0, entered: 0, pendingAcks: 0, messages: 0, cpuMs: 0, lastErrors: [] };
  for (const s of all) {
    for (const [k, v] of Object.entries(s.final)) out.final[k] = (out.final[k] ?? 0) + v;
    out.retried += s.retried;
    out.entered += s.entered;
    out.pendingAcks += s.pendingAcks;
    out.messages += s.messages;
    out.cpuMs += s.cpuMs;
    out.lastErrors.push(...s.lastErrors);
  }
  out.lastErrors = out.lastErrors.slice(0, 10);
  return out;
}
