// Network faults against a real local cluster (`startCluster`: Postgres, a 3-server NATS cluster
// whose routes run through the proxies, 4 node processes, one shard on n1-n3, so n4 forwards its
// requests over HTTP, through proxies too): the leader of a shard is partitioned
// into a minority while writers keep writing. The minority cannot commit (503/504), the majority
// elects a new leader and commits, and after the heal every node converges with no acknowledged
// write lost and no refused write applied.
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { killAll, makeTempDir, removeDir } from '../launcher/testdata/helpers.ts';
import {
  checkHistory,
  expectStatus,
  leaderOf,
  readAxis,
  RegisterHistory,
  request,
  untilFinal,
  waitFor,
  WriteLoad,
} from '../../shards/node/testing/client.ts';
import { startCluster, type ClusterHandle } from '../up/cluster.ts';

const SHARD = 's-north';
const AXES = ['order', 'scarcity', 'fear', 'faith'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.sequential('network faults on a real cluster', () => {
  const dataDir = makeTempDir('faults');
  let cluster: ClusterHandle | null = null;
  let failed = false;

  afterAll(async () => {
    const pids = cluster?.childPids() ?? [];
    await cluster?.stop();
    killAll(pids);
    if (failed) console.error(`partition.test: keeping ${dataDir} for inspection (logs/)`);
    else removeDir(dataDir);
  }, 60_000);

  it('a leader partitioned into a minority cannot commit; the majority elects and commits; after the heal all converge and nothing acknowledged is lost', async () => {
    onTestFailed(() => {
      failed = true;
    });
    cluster = await startCluster({ dataDir, port: 0, nodes: 4, shards: 1, replicas: 3, nats: 'local-cluster', gm: { enabled: false } });
    const c = cluster;
    const url = (id: number) => c.nodes.list().find((n) => n.id === id)!.httpUrl;
    const controller = c.controllerUrl;
    const all = [1, 2, 3, 4];
    const replicas = [1, 2, 3];
    await c.waitHealthy(60_000);

    // The NATS cluster formed through the route proxies, and the nodes talk through theirs.
    const stats = c.network!.stats();
    expect(stats.filter((s) => s.key.startsWith('route:')).every((s) => s.bytesUp > 0 && s.bytesDown > 0)).toBe(true);
    expect(stats.filter((s) => s.key.startsWith('raft:')).every((s) => s.bytesUp > 0)).toBe(true);
    expect(c.config.natsPerNode?.['1']).toHaveLength(3);

    const history = new RegisterHistory();
    for (const axis of AXES) history.setInitial(SHARD, axis, await readAxis(url(1), SHARD, axis));
    const load = new WriteLoad({ url, nodes: () => all, slots: AXES.map((axis) => ({ shard: SHARD, axis })), history, writers: 3, pauseMs: 20, valueMax: 100 });
    load.start();
    await sleep(500);

    const leader = await leaderOf(url, replicas, SHARD);
    const majority = all.filter((id) => id !== leader);
    const partition = await request(`${controller}/faults`, 'POST', { type: 'partition', groups: [[`n${leader}`], majority.map((id) => `n${id}`)] });
    expect(partition.kind === 'status' && partition.status).toBe(201);
    const partitionedAtMs = Date.now();
    const listed = await expectStatus(`${controller}/faults`, 'GET', undefined, 200);
    expect(listed.faults).toMatchObject([{ type: 'partition', groups: [[`n${leader}`], majority.map((id) => `n${id}`)] }]);

    // The minority: a write is never acknowledged, a linearizable read is never served.
    const minorityWrite = await request(`${url(leader)}/shards/${SHARD}/axes/health`, 'PUT', { value: 7 });
    expect(minorityWrite.kind === 'status' ? minorityWrite.status : minorityWrite.kind).toBeOneOf([503, 504, 'lost']);
    const minorityRead = await request(`${url(leader)}/shards/${SHARD}/axes/order?consistency=linearizable`);
    expect(minorityRead.kind === 'status' ? minorityRead.status : minorityRead.kind).toBeOneOf([503, 504, 'lost']);

    // The majority: a new leader among its nodes, and writes commit there.
    const newLeader = await leaderOf(url, majority.filter((id) => replicas.includes(id)), SHARD);
    expect(majority).toContain(newLeader);
    expect((await untilFinal(`${url(majority[0]!)}/shards/${SHARD}/axes/crime`, 'PUT', { value: 9 }, { timeoutMs: 20_000 })).status).toBe(200);
    await waitFor('writes acknowledged by the majority during the partition', async () =>
      history.writes.some((w) => w.result === 'ok' && w.node !== leader && w.sentAtMs > partitionedAtMs + 1000) ? true : undefined,
    );

    expect((await request(`${controller}/faults`, 'DELETE')).kind).toBe('status');
    await sleep(1000);
    await load.stop();
    expect(history.count('ok')).toBeGreaterThan(10);
    // n4 holds no replica: its writes were forwarded over HTTP through its proxies.
    expect(history.writes.some((w) => w.node === 4 && w.result === 'ok')).toBe(true);
    expect(c.network!.stats().filter((s) => s.key.startsWith('http:n4>')).some((s) => s.bytesUp > 0)).toBe(true);
    // Every node, its own linearizable read: the same values, none lost, none refused applied.
    expect(await checkHistory(url, all, history)).toEqual([]);
    expect(await readAxis(url(leader), SHARD, 'crime')).toBe(9);
  }, 180_000);

  it('a one-way partition from the leader: the others stop hearing it and elect another; it hears them and steps down', async () => {
    const c = cluster!;
    const url = (id: number) => c.nodes.list().find((n) => n.id === id)!.httpUrl;
    const replicas = [1, 2, 3];
    const leader = await leaderOf(url, replicas, SHARD);
    const others = replicas.filter((id) => id !== leader);
    const oneWay = await request(`${c.controllerUrl}/faults`, 'POST', { type: 'partition', from: [`n${leader}`], to: others.map((id) => `n${id}`) });
    expect(oneWay.kind === 'status' && oneWay.status).toBe(201);
    // Elected among the others; and the old leader, which still hears them, no longer leads.
    const next = await leaderOf(url, others, SHARD);
    expect(others).toContain(next);
    await waitFor('the old leader to step down', async () => {
      const r = await request(`${url(leader)}/admin/status`);
      const g = r.kind === 'status' ? (r.body.groups as Array<{ shard: string | null; role: string }>).find((x) => x.shard === SHARD) : undefined;
      return g !== undefined && g.role !== 'leader' ? true : undefined;
    }, 20_000);
    expect((await untilFinal(`${url(next)}/shards/${SHARD}/axes/crime`, 'PUT', { value: 11 }, { timeoutMs: 20_000 })).status).toBe(200);
    expect((await request(`${c.controllerUrl}/faults`, 'DELETE')).kind).toBe('status');
    expect(await readAxis(url(leader), SHARD, 'crime')).toBe(11);
  }, 120_000);
});
