// Shard splits and moves under load, with real processes (4 nodes): a split creates a child shard
// that takes over the more specific keys at once, a move changes the group's membership
// (learner → voter → remove) while writes flow, and neither loses an acknowledged write or
// applies a refused one.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  checkHistory,
  EventLoad,
  expectStatus,
  groupsOf,
  RegisterHistory,
  startClusterWithShards,
  waitFor,
  WriteLoad,
} from './testing/client.ts';
import type { LocalCluster } from './testing/local_cluster.ts';

const NODES = [1, 2, 3, 4];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('split and move under load', () => {
  let c: LocalCluster;
  let axes: string[];
  const url = (id: number) => c.url(id);
  const all = () => NODES;

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

  async function activeEvents(shard: string): Promise<number> {
    return (await expectStatus(`${url(1)}/shards/${shard}/equilibrium`, 'GET', undefined, 200)).activeEvents;
  }

  beforeAll(async () => {
    const started = await startClusterWithShards({ nodes: 4, tickMs: 20 }, [
      { geography: 'northmarch', replicas: ['n1', 'n2', 'n3'] },
      { geography: 'heartland', replicas: ['n1', 'n2', 'n3'] },
    ]);
    c = started.cluster;
    expect(started.shards).toEqual(['s-northmarch', 's-heartland']);
    axes = Object.keys((await expectStatus(`${url(1)}/shards/s-northmarch/equilibrium`, 'GET', undefined, 200)).axes).sort();
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') for (const id of NODES) console.error(`--- n${id} log ---\n${c.logTail(id)}`);
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('splits a shard while its writes flow; the child owns the more specific keys from then on', async () => {
    const parent = 's-northmarch';
    const politicalKey = { geography: 'northmarch', theme: 'political', tier: 'everyday', faction: 'crown' };
    const economicKey = { geography: 'northmarch', theme: 'economic', tier: 'everyday', faction: 'crown' };
    const political = { key: politicalKey, template: 'crier_proclamation', district: 'ironford', participants: ['p-1'] };
    const economic = { key: economicKey, template: 'market_festival', district: 'ironford', participants: ['p-2'] };

    for (const id of NODES) expect((await expectStatus(`${url(id)}/events`, 'POST', political, 202)).shard).toBe(parent);

    const slots = axes.map((axis) => ({ shard: parent, axis }));
    const history = await freshHistory(slots);
    const load = new WriteLoad({ url, nodes: all, slots, history, writers: 4, pauseMs: 10, valueMax: 100 });
    load.start();
    await sleep(500);

    const split = await expectStatus(`${url(2)}/admin/shards/${parent}/split`, 'POST', { key: { geography: 'northmarch', theme: 'political', tier: '*', faction: '*' } }, 201);
    const child: string = split.shard.id;
    expect(split.shard).toMatchObject({ parent, key: { geography: 'northmarch', theme: 'political', tier: '*', faction: '*' }, state: 'active' });
    // From every node, right after the split is acknowledged: political keys go to the child,
    // the rest of the parent's keys stay with the parent.
    for (const id of NODES) {
      const ev = await expectStatus(`${url(id)}/events`, 'POST', political, 202);
      expect(ev.shard, `political event through n${id}`).toBe(child);
      expect((await expectStatus(`${url(id)}/events`, 'POST', economic, 202)).shard, `economic event through n${id}`).toBe(parent);
      for (const reader of NODES) expect((await expectStatus(`${url(reader)}/events/${ev.eventUid}`, 'GET', undefined, 200)).shard).toBe(child);
    }
    await sleep(500);
    await load.stop();

    expect(history.writes.filter((w) => w.result === 'rejected').map((w) => w.detail)).toEqual([]);
    expect(history.count('ok')).toBeGreaterThan(slots.length);
    expect(await checkHistory(url, NODES, history)).toEqual([]);

    const map = await expectStatus(`${url(4)}/shards`, 'GET', undefined, 200);
    const childRecord = map.shards.find((s: { id: string }) => s.id === child);
    expect(childRecord).toMatchObject({ parent, replicas: ['n1', 'n2', 'n3'], state: 'active' });
    // The child starts from the catalogue's targets, with its own register.
    const eq = await expectStatus(`${url(3)}/shards/${child}/equilibrium`, 'GET', undefined, 200);
    expect(eq.catalogueVersion).toBe(1);
    expect(eq.activeEvents).toBe(NODES.length);
    console.info(`split ${parent} → ${child}: ${history.writes.length} writes to the parent: ${history.count('ok')} ok, ${history.count('unavailable')} 503, ${history.count('indeterminate')} indeterminate`);
  });

  it('moves a shard from n1,n2,n3 to n2,n3,n4 while writes flow', async () => {
    const shard = 's-heartland';
    const slots = axes.map((axis) => ({ shard, axis }));
    const history = await freshHistory(slots);
    const eventsBefore = await activeEvents(shard);
    const load = new WriteLoad({ url, nodes: all, slots, history, writers: 4, pauseMs: 10, valueMax: 100 });
    // Events through every node, and a steady stream through n1, the node the shard leaves: its
    // requests in flight when it stops hosting the group may still commit (so they must not be 503s).
    const eventBody = { key: { geography: 'heartland', theme: 'economic', tier: 'everyday', faction: 'free_cities' }, template: 'market_festival', district: 'greenmoot', participants: ['p-1'] };
    const eventLoads = [
      new EventLoad({ url, nodes: all, body: eventBody, pauseMs: 10 }),
      ...[1, 2, 3].map(() => new EventLoad({ url, nodes: () => [1], body: eventBody, pauseMs: 0 })),
    ];
    const events = {
      attempts: [] as EventLoad['attempts'],
      count: (r: string) => eventLoads.reduce((n, l) => n + l.count(r as never), 0),
    };
    load.start();
    for (const l of eventLoads) l.start();
    await sleep(500);

    const moved = await expectStatus(`${url(1)}/admin/shards/${shard}/move`, 'POST', { replicas: ['n2', 'n3', 'n4'] }, 200);
    expect(moved.shard).toMatchObject({ id: shard, state: 'moving', targetReplicas: [2, 3, 4] });
    const done = await waitFor(
      `${shard} moved to n2,n3,n4`,
      async () => {
        const map = await expectStatus(`${url(2)}/shards`, 'GET', undefined, 200);
        const s = map.shards.find((x: { id: string }) => x.id === shard);
        return s.state === 'active' ? s : undefined;
      },
      30_000,
    );
    expect(done.replicas).toEqual(['n2', 'n3', 'n4']);
    expect(done.targetReplicas).toBeUndefined();
    await sleep(500);
    await Promise.all([load.stop(), ...eventLoads.map((l) => l.stop())]);
    events.attempts = eventLoads.flatMap((l) => l.attempts);

    // n1 no longer hosts the group.
    const groupId: number = done.groupId;
    await waitFor('n1 to stop hosting the moved group', async () => ((await groupsOf(url(1))).some((g) => g.groupId === groupId || g.shard === shard) ? undefined : true), 10_000);
    // n4 hosts it as a member with everything applied; the leader is among the new replicas.
    const on4 = (await groupsOf(url(4))).find((g) => g.groupId === groupId);
    expect(on4?.shard).toBe(shard);
    const cluster = await expectStatus(`${url(3)}/cluster`, 'GET', undefined, 200);
    expect(['n2', 'n3', 'n4']).toContain(cluster.shards.find((s: { id: string }) => s.id === shard).leader);

    // Every acknowledged write is there, read linearizably through every node (n1 forwards now).
    expect(history.writes.filter((w) => w.result === 'rejected').map((w) => w.detail)).toEqual([]);
    expect(history.count('ok')).toBeGreaterThan(slots.length);
    expect(await checkHistory(url, NODES, history)).toEqual([]);
    // ...and n4 has them in its own replica.
    const stale4 = await expectStatus(`${url(4)}/shards/${shard}/equilibrium?consistency=stale`, 'GET', undefined, 200);
    for (const axis of axes) expect(history.check(shard, axis, stale4.axes[axis].value), `n4 stale ${shard}/${axis}`).toEqual([]);

    // Events: every acknowledged one is in the register, and no refused one is.
    expect(events.attempts.filter((a) => a.result === 'rejected').map((a) => a.detail)).toEqual([]);
    const ok = events.attempts.filter((a) => a.result === 'ok');
    expect(ok.length).toBeGreaterThan(0);
    for (const [i, a] of ok.entries()) {
      expect(a.shard).toBe(shard);
      const ev = await expectStatus(`${url(NODES[i % NODES.length]!)}/events/${a.eventUid}`, 'GET', undefined, 200);
      expect(ev.shard).toBe(shard);
    }
    const added = (await activeEvents(shard)) - eventsBefore;
    expect(added, `events in the register vs ${ok.length} acknowledged and ${events.count('indeterminate')} indeterminate`).toBeGreaterThanOrEqual(ok.length);
    expect(added, `events in the register vs ${ok.length} acknowledged and ${events.count('indeterminate')} indeterminate (a 503 must not apply)`).toBeLessThanOrEqual(ok.length + events.count('indeterminate'));
    console.info(
      `move ${shard}: ${history.writes.length} writes: ${history.count('ok')} ok, ${history.count('unavailable')} 503, ${history.count('indeterminate')} indeterminate; ` +
        `${events.attempts.length} events: ${ok.length} ok, ${events.count('unavailable')} 503, ${events.count('indeterminate')} indeterminate, ${added} in the register`,
    );
  });
});
