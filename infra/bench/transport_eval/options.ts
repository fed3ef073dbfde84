// Section 6: Option A (SQL publish → WAL relay → JetStream → player replaying from its checkpoint)
// against Option B (the district coordinator delivering from Postgres), same players, same load:
// commit → applied in the player's SQLite p50/p99 at a paced rate, throughput of a burst, and lines of
// code of each path counted from the source files.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DistrictCoordinator } from '../../../transport/index.ts';
import type { Quantiles } from '../transport.ts';
import { load1m, pacedCanon, type EvalEnv } from './env.ts';
import { countFiles, type LocCount } from './loc.ts';
import { MeasuredPlayers, type Audit } from './players.ts';

export interface OptionsOptions {
  players: number;
  ratePerSec: number;
  seconds: number;
  burst: number;
}

export interface PathResult {
  latency: Quantiles;
  achievedPerSec: number;
  audit: Audit;
  burst: { rows: number; wallMs: number; appliedPerSecPerPlayer: number; audit: Audit };
  load1m: number;
}

export interface OptionsReport {
  options: OptionsOptions;
  a: PathResult;
  b: PathResult;
  loc: { a: LocCount; aSql: LocCount; b: LocCount; shared: LocCount };
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function sources(dir: string, ext: string): string[] {
  return readdirSync(path.join(REPO, dir))
    .filter((f) => f.endsWith(ext) && !f.endsWith(`.test${ext}`))
    .map((f) => `${dir}/${f}`)
    .sort();
}

/** Option A: the SQL (canon, subject twin, publish + journal + trigger), the relay, the streams as data, UID → subject. */
export function countPaths(): OptionsReport['loc'] {
  const aSql = sources('transport/sql/migrations', '.sql');
  const aTs = [...sources('transport/relay', '.ts'), ...sources('transport/streams', '.ts'), 'transport/subject.ts', 'transport/install.ts', 'transport/sql/migrate.ts'];
  const b = [...sources('transport/district', '.ts'), ...sources('transport/district/migrations', '.sql')];
  const shared = [...sources('transport/player', '.ts'), ...sources('transport/player/migrations', '.sql'), 'transport/canon.ts'];
  return { a: countFiles([...aSql, ...aTs], REPO), aSql: countFiles(aSql, REPO), b: countFiles(b, REPO), shared: countFiles(shared, REPO) };
}

async function runPath(env: EvalEnv, o: OptionsOptions, tag: 'a' | 'b'): Promise<PathResult> {
  const district = `opt${tag}`;
  const measure = async (eventUid: string, total: number, ratePerSec: number) => {
    const players = new MeasuredPlayers(path.join(env.dir, `${district}-${eventUid}`), `${eventUid}-p`, o.players, { events: env.nats.urls, district: env.nats.urls }, Math.min(5, o.players));
    try {
      await players.joinAndConnect(eventUid);
      const expected: number[] = [];
      const t0 = performance.now();
      const { achievedPerSec } = await pacedCanon(env.pool, {
        eventUid,
        district,
        participants: players.ids,
        total,
        perTxn: 5,
        ratePerSec,
        clients: 4,
        onCommit: (ids, at) => {
          expected.push(...ids);
          players.committed(ids, at);
        },
      });
      await players.waitAll(expected, 180_000);
      const wallMs = performance.now() - t0;
      return { latency: players.latency(), achievedPerSec, audit: players.audit(expected), wallMs };
    } finally {
      await players.close();
    }
  };
  const paced = await measure(`ev-${tag}-paced`, o.ratePerSec * o.seconds, o.ratePerSec);
  const load = load1m();
  const burst = await measure(`ev-${tag}-burst`, o.burst, 1e9);
  return {
    latency: paced.latency,
    achievedPerSec: paced.achievedPerSec,
    audit: paced.audit,
    burst: { rows: o.burst, wallMs: burst.wallMs, appliedPerSecPerPlayer: (o.burst / burst.wallMs) * 1000, audit: burst.audit },
    load1m: load,
  };
}

export async function runOptions(env: EvalEnv, o: OptionsOptions): Promise<OptionsReport> {
  await env.startRelay();
  const a = await runPath(env, o, 'a');
  // Option B alone: no relay, so nothing reaches JetStream; the coordinator sees the lag and delivers
  // every row from Postgres to the players' inboxes.
  await env.stopRelay();
  const coordinator = await DistrictCoordinator.start(env.postgres.url, {
    district: 'optb',
    eventsServers: env.nats.urls,
    districtServers: env.nats.urls,
    tickMs: 10,
    lagThresholdMs: 10,
    recoverHoldMs: 60_000,
  });
  try {
    const b = await runPath(env, o, 'b');
    return { options: o, a, b, loc: countPaths() };
  } finally {
    await coordinator.stop();
  }
}
