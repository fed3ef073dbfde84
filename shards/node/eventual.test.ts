// The eventual state through real node processes and a real nats-server: counters accepted by
// every node converge, a shard leader's equilibrium reaches every node's GET /equilibrium, an
// acknowledged increment survives a SIGKILL, and a node cut off from NATS keeps taking increments.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../../consensus/crdt/testing/lossy_transport.ts';
import { expectStatus, request, startClusterWithShards, waitFor } from './testing/client.ts';
import type { LocalCluster } from './testing/local_cluster.ts';

const NODES = [1, 2, 3];
const SEED = Number(process.env.CRDT_SEED ?? 7);
const FAST = { flushMs: 20, heartbeatMs: 100, peerTimeoutMs: 1_000, syncIntervalMs: 50, resyncAfterMs: 300, publishMs: 100 };

describe('eventual state on a 3-node cluster with NATS', () => {
  let c: LocalCluster;
  let shard: string;
  const expected: Record<string, number> = {};

  beforeAll(async () => {
    let shards: string[];
    ({ cluster: c, shards } = await startClusterWithShards({ nodes: 3, tickMs: 20, nats: true, eventual: FAST }, [{ geography: 'northmarch', replicas: ['n1', 'n2', 'n3'] }]));
    shard = shards[0]!;
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') for (const id of NODES) console.error(`--- n${id} log ---\n${c.logTail(id)}`);
  });

  afterAll(async () => {
    await c?.stop();
  });

  async function increment(id: number, name: string, by: number): Promise<void> {
    const r = await request(`${c.url(id)}/counters/${name}/increment`, 'POST', { by });
    if (r.kind !== 'status' || r.status !== 202) throw new Error(`increment on n${id} answered ${JSON.stringify(r)}`);
    expected[name] = (expected[name] ?? 0) + by;
  }

  function converged(ids: number[]): Promise<number> {
    const want = JSON.stringify(Object.fromEntries(Object.entries(expected).sort()));
    const started = Date.now();
    return waitFor(
      `counters converge to ${want} on ${ids.map((i) => `n${i}`).join(',')} (seed ${SEED})`,
      async () => {
        for (const id of ids) {
          const r = await request(`${c.url(id)}/counters`);
          if (r.kind !== 'status' || JSON.stringify(r.body.counters) !== want) return undefined;
        }
        return Date.now() - started;
      },
      30_000,
    );
  }

  it('converges on every node after increments through every node', async () => {
    const random = prng(SEED);
    await Promise.all(
      NODES.map(async (id) => {
        for (let i = 0; i < 40; i++) await increment(id, `hits-${Math.floor(random() * 3)}`, 1 + Math.floor(random() * 5));
      }),
    );
    console.log(`converged ${await converged(NODES)} ms after the last acknowledged increment`);
    const one = await expectStatus(`${c.url(2)}/counters/hits-0`, 'GET', undefined, 200);
    expect(one.value).toBe(expected['hits-0']);
    expect(Object.keys(one.writers).map((w) => w.split('.')[0]).sort()).toEqual(['n1', 'n2', 'n3']);
  });

  it("publishes the shard leader's equilibrium into every node's GET /equilibrium", async () => {
    const put = await expectStatus(`${c.url(1)}/shards/${shard}/axes/order`, 'PUT', { value: 42 }, 200);
    for (const id of NODES) {
      const view = await waitFor(`n${id} sees order=42`, async () => {
        const r = await request(`${c.url(id)}/equilibrium`);
        return r.kind === 'status' && r.body.shards?.[shard]?.axes?.order?.value === 42 ? r.body : undefined;
      });
      expect(view.node).toBe(`n${id}`);
      expect(view.shards[shard].term).toBe(put.term);
      expect(view.shards[shard].index).toBeGreaterThanOrEqual(put.index);
      expect(Date.parse(view.shards[shard].asOf)).toBeGreaterThan(0);
      expect(view.heads.length).toBeGreaterThan(0);
      expect(view.freshness.connected).toBe(true);
      expect(Object.keys(view.freshness.peers).sort()).toEqual(NODES.filter((n) => n !== id).map((n) => `n${n}`));
    }
  });

  it('answers bad input with 4xx JSON errors', async () => {
    const bad: Array<[string, unknown, number]> = [
      ['/counters/ok/increment', { by: 1.5 }, 400],
      ['/counters/ok/increment', { by: 'one' }, 400],
      ['/counters/ok/increment', { by: 2e9 }, 400],
      ['/counters/ok/increment', { by: 1, extra: true }, 400],
      ['/counters/ok/increment', {}, 400],
      [`/counters/${'x'.repeat(65)}/increment`, { by: 1 }, 400],
      ['/counters/b%20ad/increment', { by: 1 }, 400],
    ];
    for (const [path, body, status] of bad) {
      const r = await request(`${c.url(1)}${path}`, 'POST', body);
      expect(r.kind === 'status' && r.status, `${path} ${JSON.stringify(body)}`).toBe(status);
      expect(r.kind === 'status' && r.body.error.code).toBeTruthy();
    }
    const missing = await request(`${c.url(1)}/counters/never-incremented`);
    expect(missing.kind === 'status' && missing.status).toBe(404);
  });

  it('keeps an acknowledged increment across SIGKILL; others keep accepting; the restarted node converges', async () => {
    await increment(3, 'survivor', 11);
    await c.kill(3, 'SIGKILL'); // right after the 202: the increment must be on n3's disk
    await increment(1, 'survivor', 1);
    await increment(2, 'while-down', 5);
    await c.start(3);
    console.log(`restart: converged ${await converged(NODES)} ms after n3 was ready`);
  });

  it('accepts increments on every node while NATS is down, and converges once it is back', async () => {
    const server = c.nats!.servers[0]!;
    await server.kill();
    await increment(1, 'cut-off', 2);
    await increment(2, 'cut-off', 3);
    await increment(3, 'cut-off', 4);
    const view = await request(`${c.url(3)}/equilibrium`);
    expect(view.kind === 'status' && view.status).toBe(200);
    expect(view.kind === 'status' && view.body.counters['cut-off']).toBe(4);
    await server.start();
    console.log(`NATS back: converged ${await converged(NODES)} ms after the server was healthy`);
  });
});
