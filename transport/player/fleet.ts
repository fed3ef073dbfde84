// A simulated player fleet for tests and benches: N real player clients (each its own SQLite file
// and NATS connections) that go offline and come back on a seeded schedule. At each (re)connect a
// player logs in: it asks the login feed for its events and subscribes from its checkpoints.
import path from 'node:path';
import { seededRandom, type RandomSource } from '../../consensus/raft/rand.ts';
import { PlayerClient } from './client.ts';
import type { PlayerClientConfigInput } from './config.ts';

export interface FleetOptions {
  players: number;
  seed: number;
  /** Player ids are `<idPrefix><index>`; distinct prefixes keep fleets sharing one Postgres apart. Default `p`. */
  idPrefix?: string;
  /** Each player's SQLite file goes here. */
  dir: string;
  eventsServers: string[];
  districtServers?: string[];
  /** The login feed (e.g. eventsOfPlayer over Postgres). Default: the events the fleet itself entered the player in. */
  loginFeed?: (playerId: string) => Promise<string[]>;
  client?: Partial<Omit<PlayerClientConfigInput, 'playerId' | 'dbPath' | 'eventsServers' | 'districtServers'>>;
  /** Per step, the chance an online player drops and an offline one comes back. */
  disconnectProbability?: number;
  reconnectProbability?: number;
}

const PLAYERS_MAX = 100_000;

export class PlayerFleet {
  readonly ids: string[];
  readonly clients = new Map<string, PlayerClient>();
  readonly random: RandomSource;
  private readonly entered = new Map<string, Set<string>>();
  private readonly pDown: number;
  private readonly pUp: number;

  private constructor(private readonly opts: FleetOptions) {
    if (!Number.isInteger(opts.players) || opts.players < 1 || opts.players > PLAYERS_MAX) {
      throw new Error(`fleet: players must be 1..${PLAYERS_MAX}, got ${opts.players}`);
    }
    this.random = seededRandom(opts.seed);
    this.pDown = opts.disconnectProbability ?? 0.2;
    this.pUp = opts.reconnectProbability ?? 0.5;
    this.ids = Array.from({ length: opts.players }, (_, i) => `${opts.idPrefix ?? 'p'}${String(i).padStart(5, '0')}`);
  }

  /** Opens every player's store and connects them all. */
  static async start(opts: FleetOptions): Promise<PlayerFleet> {
    const f = new PlayerFleet(opts);
    try {
      for (const id of f.ids) {
        f.clients.set(id, PlayerClient.open({
          ...opts.client,
          playerId: id,
          dbPath: path.join(opts.dir, `${id}.sqlite`),
          eventsServers: opts.eventsServers,
          districtServers: opts.districtServers,
        }));
        f.entered.set(id, new Set());
      }
      await f.connectAll();
    } catch (e) {
      await f.close();
      throw e;
    }
    return f;
  }

  client(id: string): PlayerClient {
    const c = this.clients.get(id);
    if (c === undefined) throw new Error(`fleet: no player ${id}`);
    return c;
  }

  online(): string[] {
    return this.ids.filter((id) => this.client(id).connected);
  }

  /** k distinct players chosen by the fleet's seeded generator. */
  pick(k: number): string[] {
    const pool = [...this.ids];
    const out: string[] = [];
    while (out.length < k && pool.length > 0) out.push(pool.splice(Math.floor(this.random() * pool.length), 1)[0]!);
    return out.sort();
  }

  /** The game session puts players into an event: online ones subscribe now, offline ones at login. */
  async enter(eventUid: string, players: readonly string[]): Promise<void> {
    // In parallel: each join waits for its consumer's JetStream API round trips, and the players are independent.
    await Promise.all(
      players.map(async (id) => {
        this.entered.get(id)?.add(eventUid);
        const c = this.client(id);
        if (c.connected) await c.join(eventUid);
      }),
    );
  }

  async login(id: string): Promise<void> {
    const c = this.client(id);
    await c.connect();
    const events = this.opts.loginFeed !== undefined ? await this.opts.loginFeed(id) : [...(this.entered.get(id) ?? [])];
    await c.joinAll(events);
  }

  async connectAll(): Promise<void> {
    for (const id of this.ids) if (!this.client(id).connected) await this.login(id);
  }

  /** One step of the seeded schedule: some online players drop, some offline ones log in again. */
  async step(): Promise<{ dropped: string[]; returned: string[] }> {
    const dropped: string[] = [];
    const returned: string[] = [];
    for (const id of this.ids) {
      const c = this.client(id);
      const r = this.random();
      if (c.connected && r < this.pDown) {
        await c.disconnect();
        dropped.push(id);
      } else if (!c.connected && r < this.pUp) {
        await this.login(id);
        returned.push(id);
      }
    }
    return { dropped, returned };
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) await c.close().catch(() => undefined);
  }
}
