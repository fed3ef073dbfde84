// Crash faults with real processes: SIGKILL a node while writes flow, then restart it. Writes keep
// being acknowledged through the surviving majority, the restarted node catches up (from its WAL,
// snapshots and the leaders), and the error model holds: no write answered 200 is ever lost and
// no write answered 503 ever takes effect (504s may go either way).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  checkHistory,
  startClusterWithShards,
  expectStatus,
  groupsOf,
  leaderOf,
  RegisterHistory,
  waitFor,
  waitHealthy,
  WriteLoad,
} from './testing/client.ts';
import type { LocalCluster } from './testing/local_cluster.ts';

// Shards live on n1..n3; n4 hosts none and forwards what it gets (and is a meta-group learner).
const NODES = [1, 2, 3, 4];
const REPLICAS = [1, 2, 3];
const GEOGRAPHIES = ['northmarch', 'heartland', 'saltcoast', 'westreach'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('crash faults', () => {
  let c: LocalCluster;
  let shards: string[];
  let axes: string[];
  const down = new Set<number>();
  const url = (id: number) => c.url(id);
  const live = () => NODES.filter((id) => !down.has(id));

  async function kill(id: number): Promise<void> {
    down.add(id);
    await c.kill(id, 'SIGKILL');
  }

  async function restart(id: number): Promise<void> {
    await c.start(id);
    down.delete(id);
  }

  /** A fresh history over `slots`, every slot set to 0 first (acknowledged, retried with one key). */
  async function freshHistory(slots: Array<{ shard: string; axis: string }>): Promise<RegisterHistory> {
    const history = new RegisterHistory();
    await Promise.all(
      slots.map(async (s, i) => {
        await expectStatus(`${url(NODES[i % NODES.length]!)}/shards/${s.shard}/axes/${s.axis}`, 'PUT', { value: 0 }, 200);
        history.setInitial(s.shard, s.axis, 0);
      }),
    );
    return history;
  }

  /** Waits until node `id` has applied, in every group it hosts, what the group's leader had committed when called. */
  async function caughtUp(id: number): Promise<void> {
    const committed = new Map<number, number>();
    for (const other of live().filter((n) => n !== id)) {
      for (const g of await groupsOf(url(other))) if (g.role === 'leader') committed.set(g.groupId, g.commitIndex);
    }
    await waitFor(`n${id} applied what the leaders committed`, async () => {
      const mine = new Map((await groupsOf(url(id))).map((g) => [g.groupId, g.appliedIndex]));
      for (const [groupId, commit] of committed) if ((mine.get(groupId) ?? -1) < commit) return undefined;
      return true;
    });
  }

  beforeAll(async () => {
    // Small snapshot interval: the restarted node recovers from a snapshot plus the WAL, and the
    // leaders compact while it is down, so it may need a snapshot sent to catch up.
    ({ cluster: c, shards } = await startClusterWithShards(
      { nodes: 4, tickMs: 20, snapshotEveryEntries: 100 },
      GEOGRAPHIES.map((geography) => ({ geography, replicas: ['n1', 'n2', 'n3'] })),
    ));
    axes = Object.keys((await expectStatus(`${url(1)}/shards/${shards[0]}/equilibrium`, 'GET', undefined, 200)).axes).sort();
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') for (const id of NODES) console.error(`--- n${id} log ---\n${c.logTail(id)}`);
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('keeps acknowledging writes with a node killed, and loses none when it comes back', async () => {
    const slots = shards.flatMap((shard) => axes.map((axis) => ({ shard, axis })));
    const history = await freshHistory(slots);
    const w = history.writes;
    const load = new WriteLoad({ url, nodes: live, slots, history, writers: 8, pauseMs: 15, valueMax: 100 });
    load.start();
    await sleep(1000);

    const victim = 3;
    await kill(victim);
    const killedAtMs = Date.now();
    // Availability with a majority up: every shard acknowledges writes while the victim is down
    // (writes a follower had forwarded to a dead leader wait out the proposal timeout first).
    const ackedSinceKill = (shard: string) => w.filter((x) => x.shard === shard && x.result === 'ok' && x.sentAtMs >= killedAtMs).length;
    await waitFor('every shard acknowledging writes without the victim', async () => (shards.every((s) => ackedSinceKill(s) >= 10) ? true : undefined), 20_000);
    const restartedAtMs = Date.now();
    await restart(victim);
    await sleep(1000);
    await load.stop();

    expect(w.filter((x) => x.result === 'rejected').map((x) => x.detail)).toEqual([]);
    for (const shard of shards) {
      const ackedWhileDown = w.filter((x) => x.shard === shard && x.result === 'ok' && x.sentAtMs >= killedAtMs && x.answeredAtMs <= restartedAtMs);
      expect(ackedWhileDown.length, `${shard}: writes acknowledged while n${victim} was down`).toBeGreaterThanOrEqual(10);
    }

    await caughtUp(victim);
    // The restarted node's own (stale) replica holds every acknowledged write...
    for (const shard of shards) {
      const eq = await expectStatus(`${url(victim)}/shards/${shard}/equilibrium?consistency=stale`, 'GET', undefined, 200);
      for (const axis of axes) expect(history.check(shard, axis, eq.axes[axis].value), `n${victim} stale ${shard}/${axis}`).toEqual([]);
    }
    // ...and every node agrees on every slot under linearizable reads.
    expect(await checkHistory(url, NODES, history)).toEqual([]);
    expect(history.count('ok')).toBeGreaterThan(slots.length);
    console.info(`kill/restart n${victim}: ${w.length} writes: ${history.count('ok')} ok, ${history.count('unavailable')} 503, ${history.count('indeterminate')} indeterminate, ${history.count('refused')} refused`);
  });

  it('loses no acknowledged write when the leader of a shard is killed mid-stream', async () => {
    await waitHealthy(c, NODES);
    const shard = shards[0]!;
    const slots = axes.map((axis) => ({ shard, axis }));
    const history = await freshHistory(slots);
    const leader = await leaderOf(url, REPLICAS, shard);
    const load = new WriteLoad({ url, nodes: live, slots, history, writers: 6, pauseMs: 10, valueMax: 100 });
    load.start();
    await sleep(700);
    const before = history.count('ok');
    expect(before, 'writes acknowledged before the leader was killed').toBeGreaterThan(0);

    await kill(leader);
    const killedAtMs = Date.now();
    const successor = await leaderOf(url, REPLICAS.filter((id) => !down.has(id)), shard);
    expect(successor).not.toBe(leader);
    // Writes that followers had forwarded to the dead leader wait out the proposal timeout (504);
    // the writers then go on, and the new leader acknowledges.
    const ackedAfterKill = () => history.writes.filter((x) => x.result === 'ok' && x.sentAtMs >= killedAtMs).length;
    await waitFor('writes acknowledged by the new leader', async () => (ackedAfterKill() >= 20 ? true : undefined), 20_000);
    await load.stop();

    await restart(leader);
    await waitHealthy(c, NODES);
    await caughtUp(leader);
    expect(history.writes.filter((x) => x.result === 'rejected').map((x) => x.detail)).toEqual([]);
    expect(await checkHistory(url, NODES, history)).toEqual([]);
    console.info(`leader n${leader} of ${shard} killed (n${successor} took over): ${history.writes.length} writes: ${history.count('ok')} ok, ${history.count('unavailable')} 503, ${history.count('indeterminate')} indeterminate, ${history.count('refused')} refused`);
  });
});
