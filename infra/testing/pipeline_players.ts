// A real player fleet wired to a `nimmer up` cluster, for the pipeline check and the e2e/soak benches:
// N player clients (transport/player), each with its own SQLite file, reading canon from JetStream
// (what the relay published from the compositor's transaction) and acknowledging delivery itself
// after each apply (the client's deliveryAck option). The game session's part — putting players into
// an event — is `enter(uid, players)` after POST /events answered. Once an acknowledgement is final
// the player leaves the event (its canon is complete: the register counted every row naming it), so
// its ordered consumer goes away and subscriptions stay bounded over a long run.
// With `districtOf`, each player instead subscribes once, at start, to the district it lives in
// (client.joinDistrict): entering an event then costs no JetStream round trip (no consumer created
// per event and player, none deleted at the end), so delivery does not wait on the server's API.
import { mkdir } from 'node:fs/promises';
import { seededRandom } from '../../consensus/raft/rand.ts';
import { acknowledgeDelivered, PlayerFleet, type DeliveryAckAnswer } from '../../transport/index.ts';

export interface PipelinePlayersOptions {
  /** Where the players post acknowledgements (the controller, or any node). */
  baseUrls: string[];
  /** The JetStream (events) path; the district path uses the same servers. */
  natsUrls: string[];
  players: number;
  seed: number;
  /** Each player's SQLite file goes here. */
  dir: string;
  idPrefix?: string;
  /** Share of final acknowledgements the fleet repeats on purpose (the register must answer `already`). */
  duplicateAckShare?: number;
  /**
   * The district each player lives in: it subscribes to that district's canon once, at start, and
   * events it enters must be in it (the caller picks participants by district). Default: one
   * subscription per event entered.
   */
  districtOf?: (playerId: string) => string;
  /** Every final answer, including the deliberate repeats. */
  onFinal?: (eventUid: string, playerId: string, answer: DeliveryAckAnswer) => void;
}

export interface PipelinePlayersStats {
  /** Final answers by kind (acked, already, late, unknown, not_participant), repeats included. */
  final: Record<string, number>;
  /** Answers that made a client try again (incomplete, unavailable). */
  retried: number;
  entered: number;
}

export class PipelinePlayers {
  readonly stats: PipelinePlayersStats = { final: {}, retried: 0, entered: 0 };
  private readonly random: () => number;
  private readonly side = new Set<Promise<unknown>>();
  private stopped = false;

  private constructor(
    readonly fleet: PlayerFleet,
    private readonly o: PipelinePlayersOptions,
  ) {
    this.random = seededRandom(o.seed ^ 0x5eed);
    for (const [id, client] of fleet.clients) {
      client.acks?.onAnswer((uid, answer) => this.onAnswer(id, uid, answer));
    }
  }

  static async start(o: PipelinePlayersOptions): Promise<PipelinePlayers> {
    await mkdir(o.dir, { recursive: true });
    const fleet = await PlayerFleet.start({
      players: o.players,
      seed: o.seed,
      dir: o.dir,
      ...(o.idPrefix !== undefined ? { idPrefix: o.idPrefix } : {}),
      eventsServers: o.natsUrls,
      client: { deliveryAck: { baseUrls: o.baseUrls } },
    });
    const districtOf = o.districtOf;
    if (districtOf !== undefined) {
      try {
        for (const [id, client] of fleet.clients) await client.joinDistrict(districtOf(id));
      } catch (e) {
        await fleet.close();
        throw e;
      }
    }
    return new PipelinePlayers(fleet, o);
  }

  get ids(): readonly string[] {
    return this.fleet.ids;
  }

  /** k distinct players, chosen by the fleet's seeded generator. */
  pick(k: number): string[] {
    return this.fleet.pick(k);
  }

  /**
   * The game session put these players into the event: each subscribes (replaying from the stream's
   * start); with `districtOf` they already read their district's canon and nothing is subscribed.
   */
  async enter(eventUid: string, players: readonly string[]): Promise<void> {
    if (this.stopped) return;
    if (this.o.districtOf === undefined) await this.fleet.enter(eventUid, players);
    this.stats.entered += players.length;
  }

  /** Events the clients still track for acknowledgement. */
  pendingAcks(): number {
    let n = 0;
    for (const c of this.fleet.clients.values()) n += c.acks?.pending ?? 0;
    return n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.side]);
    await this.fleet.close();
  }

  private onAnswer(playerId: string, eventUid: string, answer: DeliveryAckAnswer): void {
    if (answer === 'incomplete' || answer === 'unavailable') {
      this.stats.retried++;
      return;
    }
    this.final(eventUid, playerId, answer);
    if (this.stopped) return;
    const client = this.fleet.client(playerId);
    const repeat = this.random() < (this.o.duplicateAckShare ?? 0);
    const p = (async () => {
      if (repeat) {
        const again = await acknowledgeDelivered(client.store, eventUid, { baseUrl: this.o.baseUrls[0]! });
        if (again !== 'unavailable' && again !== 'incomplete') this.final(eventUid, playerId, again);
      }
      if (!this.stopped && this.o.districtOf === undefined) await client.leave(eventUid);
    })().catch(() => undefined);
    this.side.add(p);
    void p.finally(() => this.side.delete(p));
  }

  private final(eventUid: string, playerId: string, answer: DeliveryAckAnswer): void {
    this.stats.final[answer] = (this.stats.final[answer] ?? 0) + 1;
    this.o.onFinal?.(eventUid, playerId, answer);
  }
}
