// Section 4: schema evolution. Players replay an event while canon is committed through the relay;
// midway a derived feed is added (a new capture stream sourcing one district out of EVENTS, and a
// durable consumer on the DISTRICTS feed). Afterwards: every player holds exactly the event's canon
// (no gap, nothing extra), the new feed caught up, and latency before vs after the change.
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { DISTRICTS_STREAM, districtFeedSubject, EVENTS_STREAM } from '../../../transport/index.ts';
import { until, type Quantiles } from '../transport.ts';
import { load1m, pacedCanon, type EvalEnv } from './env.ts';
import { MeasuredPlayers, type Audit } from './players.ts';

export interface EvolutionOptions {
  players: number;
  messages: number;
  ratePerSec: number;
}

export interface EvolutionReport {
  options: EvolutionOptions;
  audit: Audit;
  addFeedMs: number;
  derivedFeed: { stream: string; messages: number; expected: number; durablePending: number };
  latencyBefore: Quantiles;
  latencyAfter: Quantiles;
  achievedPerSec: number;
  load1m: number;
}

const FEED = 'FEED_EVO';
const DISTRICT = 'evo';

export async function runEvolution(env: EvalEnv, o: EvolutionOptions): Promise<EvolutionReport> {
  await env.startRelay();
  const jsm = await jetstreamManager(env.nc);
  const players = new MeasuredPlayers(path.join(env.dir, 'evolution'), 'evo-p', o.players, { events: env.nats.urls }, Math.min(5, o.players));
  const eventUid = 'ev-evolution';
  try {
    await players.joinAndConnect(eventUid);
    const expected: number[] = [];
    const commitAt = new Map<number, number>();
    let changeAtMs = Number.POSITIVE_INFINITY;
    let addFeedMs = Number.NaN;
    const { achievedPerSec } = await pacedCanon(env.pool, {
      eventUid,
      district: DISTRICT,
      participants: players.ids,
      total: o.messages,
      perTxn: 5,
      ratePerSec: o.ratePerSec,
      clients: 4,
      onCommit: (ids, at) => {
        expected.push(...ids);
        for (const id of ids) commitAt.set(id, at);
        players.committed(ids, at);
      },
      midway: async () => {
        const t0 = performance.now();
        changeAtMs = Date.now();
        await jsm.streams.add({ name: FEED, subjects: [], sources: [{ name: EVENTS_STREAM, filter_subject: `nimmerverse.events.*.district.${DISTRICT}.>` }] });
        await jsm.consumers.add(DISTRICTS_STREAM, { durable_name: 'feed_evo', filter_subject: districtFeedSubject(DISTRICT), ack_policy: 'none' as never });
        addFeedMs = performance.now() - t0;
      },
    });
    await players.waitAll(expected, 120_000);
    await until(async () => (await jsm.streams.info(FEED)).state.messages >= expected.length, 60_000, 'the derived feed to catch up', 100);
    const feedMessages = (await jsm.streams.info(FEED)).state.messages;
    const durable = await jsm.consumers.info(DISTRICTS_STREAM, 'feed_evo');
    const audit = players.audit(expected);
    // Latency split at the change, from the probe players' per-id measurements.
    const before: number[] = [];
    const after: number[] = [];
    for (const [id, at] of commitAt) (at < changeAtMs ? before : after).push(id);
    return {
      options: o,
      audit,
      addFeedMs,
      derivedFeed: { stream: FEED, messages: feedMessages, expected: expected.length, durablePending: durable.num_pending },
      latencyBefore: players.latency(before),
      latencyAfter: players.latency(after),
      achievedPerSec,
      load1m: load1m(),
    };
  } finally {
    await players.close();
  }
}
