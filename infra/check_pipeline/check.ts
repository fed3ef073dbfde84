// `nimmer check --workload pipeline` (issue 6), as a module the check runner hooks in: events are
// POSTed (with idempotency keys, retried) under a nemesis (node isolation, node kills, NATS server
// kills through the controller's /faults) for participants of a real player fleet
// (infra/testing/pipeline_players.ts), which reads the canon from JetStream through the relay into
// each player's SQLite and acknowledges delivery from there itself; GET /events/:uid is sampled
// throughout. The checker verifies, after the heal:
//   - every acknowledged (202) event reaches `pruned` with its outcome applied and delivery
//     `complete` — every participant delivered;
//   - its outcome took effect exactly once, by exactly the template's effect: the shard's replicated
//     outcome record (GET /shards/:shard/events/:uid/outcome) counts one application, and every
//     application during the run (GET /shards/:shard/outcomes) chains from the equilibrium before
//     the load to the one after it (outcomes.ts);
//   - every (event, participant) was recorded as delivered exactly once (one `acked`, the rest
//     `already`), and the journal agrees with GET /events/:uid;
//   - GET /events/:uid never went backwards through the stages, and never answered 404 for an
//     acknowledged event.
import path from 'node:path';
import pg from 'pg';
import { PIPELINE_STAGES, type PipelineStage } from '../../directors/index.ts';
import type { Outcome } from '../../shards/index.ts';
import { PipelinePlayers } from '../testing/pipeline_players.ts';
import type { ClusterHandle } from '../up/cluster.ts';
import { checkOutcomesOnce, readEquilibria, readOutcomeRecord, readShardApplications, templateEffects, type DeliveredEvent, type ShardApplication } from './outcomes.ts';

export type Nemesis = 'none' | 'mixed';

export interface PipelineCheckOptions {
  readonly seconds: number;
  readonly seed: number;
  readonly nemesis: Nemesis;
  /** Events posted per second. */
  readonly rate: number;
  /** How long a fault is held before the heal. */
  readonly faultMs: number;
  /** After the heal, how long every acknowledged event may take to be pruned. */
  readonly settleMs: number;
  /**
   * With a nemesis, the load goes on past `seconds` until this many faults were injected and
   * healed (default 0), for at most 4 × `seconds`: a slow machine restarting a killed node must
   * not shrink the run to fewer faults than it promises.
   */
  readonly minFaults?: number;
  /** Players in the fleet (default 12); each event names 1–3 of them. */
  readonly players?: number;
  readonly log?: (line: string) => void;
}

export interface PipelineCheckResult {
  readonly ok: boolean;
  readonly violations: string[];
  readonly posted: number;
  readonly acknowledged: number;
  readonly faults: string[];
  readonly acks: { acked: number; already: number; retried: number };
  readonly traces: number;
}

/** The template every event of the check uses. */
const CHECK_TEMPLATE = 'market_festival';
/** The mixed nemesis's faults, in turn. */
const FAULT_KINDS = ['isolate', 'kill', 'relay-kill', 'nats-kill'] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rank = (s: PipelineStage) => PIPELINE_STAGES.indexOf(s);

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

export async function runPipelineCheck(cluster: ClusterHandle, o: PipelineCheckOptions): Promise<PipelineCheckResult> {
  const log = o.log ?? (() => undefined);
  const random = rng(o.seed);
  const url = cluster.controllerUrl;
  const violations: string[] = [];
  const acknowledged = new Map<string, { participants: string[] }>();
  const ackResults = new Map<string, string[]>(); // `${uid}/${participant}` → results in order
  const acks = { acked: 0, already: 0, retried: 0 };
  const lastStage = new Map<string, PipelineStage>();
  const faults: string[] = [];
  let traces = 0;
  let stopping = false;
  const inflight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  const pool = new pg.Pool({ connectionString: cluster.postgres.url, max: 4 });
  pool.on('error', () => undefined);
  // The real fleet: JetStream → each player's SQLite → the client's own acknowledgement, 10% repeated on purpose.
  const players = await PipelinePlayers.start({
    baseUrls: [url],
    natsUrls: cluster.nats.urls,
    players: o.players ?? 12,
    seed: o.seed,
    dir: path.join(cluster.dataDir, 'players'),
    duplicateAckShare: 0.1,
    onFinal: (uid, p, result) => {
      const k = `${uid}/${p}`;
      ackResults.set(k, [...(ackResults.get(k) ?? []), result]);
      if (result === 'acked') acks.acked++;
      else if (result === 'already') acks.already++;
      else violations.push(`ack ${uid}/${p}: ${result}`);
    },
  });

  const observe = async (uid: string): Promise<PipelineStage | 'gone' | null> => {
    const res = await fetch(`${url}/events/${uid}`, { signal: AbortSignal.timeout(10_000) }).catch(() => null);
    if (res === null) return null;
    const text = await res.text();
    traces++;
    if (res.status === 404) return 'gone';
    if (res.status !== 200) return null;
    const t = JSON.parse(text) as { stage: PipelineStage };
    const prev = lastStage.get(uid);
    if (prev !== undefined && rank(t.stage) < rank(prev)) violations.push(`GET /events/${uid} went back from ${prev} to ${t.stage}`);
    if (prev === undefined || rank(t.stage) > rank(prev)) lastStage.set(uid, t.stage);
    return t.stage;
  };

  const shards = cluster.shards;
  let seq = 0;
  const postEvent = async (): Promise<void> => {
    const i = seq++;
    const shard = shards[i % shards.length]!;
    const participants = players.pick(1 + Math.floor(random() * 3));
    const body = { key: { geography: shard.key.geography, theme: 'economic', tier: 'everyday', faction: 'guilds' }, template: CHECK_TEMPLATE, district: `d${i % 7}`, participants };
    const key = `check-${o.seed}-${i}`;
    for (let attempt = 0; attempt < 20 && !stopping; attempt++) {
      const r = await post(url, '/events', body, { 'idempotency-key': key }).catch(() => ({ status: 0, json: null }));
      if (r.status === 202) {
        const uid = (r.json as { eventUid: string }).eventUid;
        acknowledged.set(uid, { participants });
        await players.enter(uid, participants);
        return;
      }
      if (r.status >= 400 && r.status < 500 && r.status !== 409) {
        violations.push(`POST /events answered ${r.status}: ${JSON.stringify(r.json)}`);
        return;
      }
      await sleep(300);
    }
  };

  let healedFaults = 0;
  const nemesis = async (): Promise<void> => {
    if (o.nemesis === 'none') return;
    const nodeIds = cluster.config.nodes.map((n) => n.id);
    const natsServers = cluster.nats.urls.length;
    while (!stopping) {
      await sleep(o.faultMs);
      if (stopping) break;
      // Every kind in turn (so a short run sees each), on a random node / server; the relay kill
      // SIGKILLs whichever relay holds the slot (the standby takes over) and the heal restarts it.
      const kind = FAULT_KINDS[faults.length % FAULT_KINDS.length]!;
      if (kind === 'relay-kill') {
        const killed = await cluster.relays.killActive().catch((e: unknown) => `error: ${String(e)}`);
        faults.push(`{"type":"relay-kill"} → ${killed ?? 'no active relay'}`);
        log(`nemesis: relay-kill → ${killed ?? 'no active relay'}`);
      } else {
        const node = `n${nodeIds[Math.floor(random() * nodeIds.length)]!}`;
        const fault = kind === 'nats-kill' ? { type: kind, server: Math.floor(random() * Math.max(1, natsServers)) } : { type: kind, node };
        const r = await post(url, '/faults', fault).catch((e: unknown) => ({ status: 0, json: String(e) }));
        faults.push(`${JSON.stringify(fault)} → ${r.status}`);
        log(`nemesis: ${JSON.stringify(fault)} → ${r.status}`);
      }
      await sleep(o.faultMs);
      await fetch(`${url}/faults`, { method: 'DELETE' }).then((x) => x.text()).catch(() => undefined);
      const restarted = await cluster.relays.restartDead().catch((e: unknown) => [`error: ${String(e)}`]);
      if (restarted.length > 0) log(`nemesis: relays restarted: ${restarted.join(', ')}`);
      healedFaults += 1;
      log('nemesis: healed');
    }
  };

  const sampler = async (): Promise<void> => {
    while (!stopping) {
      const uids = [...acknowledged.keys()];
      if (uids.length > 0) {
        const uid = uids[Math.floor(random() * uids.length)]!;
        if ((await observe(uid)) === 'gone') violations.push(`GET /events/${uid} answered 404 for an acknowledged event during the run`);
      }
      await sleep(100);
    }
  };

  // The equilibrium before the load: the exactly-once outcome check chains every application from it.
  const shardIds = cluster.shards.map((s) => s.id);
  const equilibriumBefore = await readEquilibria(url, shardIds);
  const t0 = Date.now();
  const nem = nemesis();
  const samp = sampler();
  const minFaults = o.nemesis === 'none' ? 0 : (o.minFaults ?? 0);
  const loadGoesOn = (): boolean => {
    const elapsedMs = Date.now() - t0;
    if (elapsedMs < o.seconds * 1000) return true;
    return healedFaults < minFaults && elapsedMs < 4 * o.seconds * 1000;
  };
  for (let n = 0; loadGoesOn(); n++) {
    const due = t0 + (n * 1000) / o.rate;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    track(postEvent());
  }
  stopping = true;
  await nem;
  await samp;
  await fetch(`${url}/faults`, { method: 'DELETE' }).then((x) => x.text()).catch(() => undefined);
  await Promise.allSettled([...inflight]);
  log(`load done: ${seq} posted, ${acknowledged.size} acknowledged; waiting for every acknowledged event to be pruned`);

  // Settle: every acknowledged event must reach 'pruned', delivered to every participant.
  const deadline = Date.now() + o.settleMs;
  const pending = new Set(acknowledged.keys());
  while (pending.size > 0 && Date.now() < deadline) {
    for (const uid of [...pending]) {
      const s = await observe(uid);
      if (s === 'pruned') pending.delete(uid);
      else if (s === 'gone') {
        violations.push(`GET /events/${uid} answered 404 for an acknowledged event (within the journal window)`);
        pending.delete(uid);
      }
    }
    if (pending.size > 0) await sleep(500);
  }
  await Promise.allSettled([...inflight]);
  for (const uid of pending) violations.push(`event ${uid} was acknowledged but not pruned within ${o.settleMs} ms after the heal (last stage ${lastStage.get(uid) ?? 'never seen'})`);

  const delivered: DeliveredEvent[] = [];
  for (const [uid, { participants }] of acknowledged) {
    if (pending.has(uid)) continue;
    const res = await fetch(`${url}/events/${uid}`).catch(() => null);
    if (res?.status !== 200) {
      violations.push(`final GET /events/${uid}: ${res?.status ?? 'no answer'}`);
      continue;
    }
    const t = (await res.json()) as { shard: string; stage: string; outcomeApplied: boolean; delivery: string; outcome: Outcome | null; participants: Record<string, { delivered: boolean; late?: boolean }> };
    delivered.push({ uid, shard: t.shard, outcome: t.outcome, record: await readOutcomeRecord(url, t.shard, uid) });
    if (!t.outcomeApplied || t.outcome === null) violations.push(`event ${uid}: pruned but its outcome is not applied (${JSON.stringify(t)})`);
    if (t.delivery !== 'complete') violations.push(`event ${uid}: delivery ${t.delivery}, not complete`);
    for (const p of participants) {
      if (!t.participants[p]?.delivered) violations.push(`event ${uid}: participant ${p} not delivered`);
      const results = ackResults.get(`${uid}/${p}`) ?? [];
      const firsts = results.filter((r) => r === 'acked').length;
      if (firsts !== 1) violations.push(`event ${uid}/${p}: recorded as delivered ${firsts} times (acks answered ${JSON.stringify(results)})`);
    }
    const j = await pool.query<{ delivery: string; outcome: string; delivered: string[] }>('SELECT delivery, outcome, delivered FROM nimmer.event_journal WHERE event_uid = $1', [uid]);
    const row = j.rows[0];
    if (row === undefined) violations.push(`event ${uid}: no journal row`);
    else if (row.delivery !== t.delivery || row.outcome !== t.outcome || row.delivered.length !== participants.length) violations.push(`event ${uid}: journal ${JSON.stringify(row)} disagrees with GET ${JSON.stringify({ delivery: t.delivery, outcome: t.outcome })}`);
  }
  // Outcome applied exactly once: one application per delivered event, by the template's effect,
  // and every application the shards made during the run (acknowledged events or not) chained from
  // the equilibrium before the load to the one after it (once nothing is left to apply).
  const effects = await templateEffects(url, CHECK_TEMPLATE);
  if (effects === null) violations.push(`the catalogue has no template ${CHECK_TEMPLATE}: the outcome effects cannot be checked`);
  else {
    let applications: Map<string, ShardApplication[]> | null = pending.size === 0 && equilibriumBefore.size === shardIds.length ? new Map() : null;
    const after = await readEquilibria(url, shardIds);
    for (const [shard, before] of applications === null ? [] : equilibriumBefore) {
      const listed = await readShardApplications(url, shard, before.index);
      if (listed === null) applications = null;
      else applications?.set(shard, listed);
    }
    if (applications !== null) log(`outcome check: ${delivered.length} delivered events, ${[...applications.values()].reduce((n, l) => n + l.length, 0)} applications listed by the shards since the load began`);
    if (applications === null) log(`outcome chain not checked: ${pending.size} event(s) not pruned, or a shard's equilibrium or outcome list was not readable (each delivered event is still checked alone)`);
    violations.push(...checkOutcomesOnce({ events: delivered, effects, before: equilibriumBefore, after, applications }));
  }
  acks.retried = players.stats.retried;
  await players.stop();
  await pool.end().catch(() => undefined);
  return { ok: violations.length === 0, violations, posted: seq, acknowledged: acknowledged.size, faults, acks, traces };
}
