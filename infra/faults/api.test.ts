// POST/GET/DELETE /faults against a real FaultNetwork: echo servers stand in for the nodes' Raft
// ports and a NATS server's client port, and clients dial through the proxies as nodes would.
import { afterEach, describe, expect, it } from 'vitest';
import { createController, type ControllerBackend } from '../controller/index.ts';
import { FaultNetwork } from './network.ts';
import { connect, echoServer, type Client, type Closeable } from './testing/sockets.ts';

const open: Closeable[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setup(): Promise<{ url: string; network: FaultNetwork }> {
  const network = await FaultNetwork.open({ host: '127.0.0.1', nodeIds: [1, 2, 3], natsServerCount: 1, natsRoutes: false, seed: 7 });
  open.push(network);
  for (const id of [1, 2, 3]) {
    const port = (await echoServer(open)).port;
    network.setRaftTarget(id, { host: '127.0.0.1', port });
    network.setHttpTarget(id, { host: '127.0.0.1', port });
  }
  network.setNatsClientTarget(0, { host: '127.0.0.1', port: (await echoServer(open)).port });
  const backend: ControllerBackend = {
    nodes: {
      list: () => [1, 2, 3].map((id) => ({ id, name: `n${id}`, httpUrl: 'http://127.0.0.1:1', raftAddress: '', state: 'running' as const, pid: null, logFile: null })),
      kill: async () => undefined,
      pause: async () => undefined,
      resume: async () => undefined,
      start: async () => undefined,
      restart: async () => undefined,
    },
    postgresUrl: 'postgres://unused',
    natsUrls: [],
    natsServers: [],
    network,
    dependencies: () => [],
  };
  const controller = createController(backend);
  open.push(controller);
  return { url: await controller.listen(0), network };
}

async function call(url: string, method = 'GET', body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

/** Whether a byte sent through `client` comes back (echo) within `ms`. */
async function echoes(client: Client, ms = 150): Promise<boolean> {
  const before = client.received().length;
  client.socket.write('p');
  try {
    await client.waitFor(before + 1, ms);
    return true;
  } catch {
    return false;
  }
}

/** A client as node `from` dials node `to`'s Raft port. */
async function raft(network: FaultNetwork, from: number, to: number): Promise<Client> {
  return connect(open, network.raftAddress(from, to).port);
}

describe('/faults on the fault proxies', () => {
  it('partition: cuts between groups, not within; listed; DELETE /faults/:id heals and stalled bytes arrive', async () => {
    const { url, network } = await setup();
    const n1n2 = await raft(network, 1, 2);
    const n2n3 = await raft(network, 2, 3);
    expect(await echoes(n1n2)).toBe(true);
    const r = await call(`${url}/faults`, 'POST', { type: 'partition', groups: [['n1'], ['n2', 'n3']] });
    expect(r).toMatchObject({ status: 201, body: { type: 'partition', active: true } });
    expect(await echoes(n1n2)).toBe(false);
    expect(await echoes(n2n3)).toBe(true);
    const listed = await call(`${url}/faults`);
    expect(listed.body.faults).toMatchObject([{ id: r.body.id, type: 'partition', groups: [['n1'], ['n2', 'n3']] }]);
    expect(listed.body.faults[0].links).toBeGreaterThan(0);
    expect((await call(`${url}/faults/${r.body.id}`, 'DELETE')).status).toBe(200);
    await n1n2.waitFor(2); // the byte stalled by the cut arrives
    expect(await echoes(n1n2)).toBe(true);
    expect((await call(`${url}/faults`)).body.faults).toEqual([]);
  });

  it('one-way: from → to is cut, to → from still flows', async () => {
    const { url, network } = await setup();
    const r = await call(`${url}/faults`, 'POST', { type: 'partition', from: ['n1'], to: 'n2' });
    expect(r.status).toBe(201);
    expect(await echoes(await raft(network, 1, 2))).toBe(false);
    // n2's own connection to n1 carries n2's messages, and n1's replies on it are only control bytes.
    expect(await echoes(await raft(network, 2, 1))).toBe(true);
    expect(await echoes(await raft(network, 1, 3))).toBe(true);
    // HTTP forwarding carries data both ways on one connection: n1's answers to n2 are cut too.
    expect(await echoes(await connect(open, network.httpAddress(2, 1).port))).toBe(false);
    expect(await echoes(await connect(open, network.httpAddress(2, 3).port))).toBe(true);
  });

  it('isolate cuts a node from NATS too; ring and bandwidth are accepted; DELETE /faults heals all', async () => {
    const { url, network } = await setup();
    const nats3 = await connect(open, Number(new URL(network.natsUrl(3, 0)).port));
    const nats1 = await connect(open, Number(new URL(network.natsUrl(1, 0)).port));
    expect((await call(`${url}/faults`, 'POST', { type: 'isolate', node: 'n3' })).status).toBe(201);
    expect(await echoes(nats3)).toBe(false);
    expect(await echoes(nats1)).toBe(true);
    expect((await call(`${url}/faults`, 'POST', { type: 'ring' })).status).toBe(201);
    expect((await call(`${url}/faults`, 'POST', { type: 'bandwidth', from: 'n1', to: 'nats0', bytesPerSecond: 1000 })).status).toBe(201);
    expect((await call(`${url}/faults`)).body.faults.map((f: { type: string }) => f.type)).toEqual(['isolate', 'ring', 'bandwidth']);
    const healed = await call(`${url}/faults`, 'DELETE');
    expect(healed.body.healed).toHaveLength(3);
    await nats3.waitFor(1);
    expect(await echoes(nats3)).toBe(true);
  });

  it('latency delays one direction by at least ms; reset answers how many connections it reset', async () => {
    const { url, network } = await setup();
    const c = await raft(network, 1, 2);
    expect((await call(`${url}/faults`, 'POST', { type: 'latency', from: 'n1', to: 'n2', ms: 120, jitterMs: 20 })).status).toBe(201);
    const t0 = performance.now();
    c.socket.write('x');
    await c.waitFor(1);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(100);
    const reset = await call(`${url}/faults`, 'POST', { type: 'reset', from: 'n1', to: 'n2' });
    expect(reset).toMatchObject({ status: 201, body: { type: 'reset', active: false, connections: 1 } });
    expect((await c.closed).error).toBe('ECONNRESET');
  });

  it('bad bodies are 400 with the error shape, unknown members 404', async () => {
    const { url } = await setup();
    for (const body of [
      { type: 'partition' },
      { type: 'partition', groups: [['n1'], ['n1']] },
      { type: 'partition', groups: [['n1', 'n2', 'n3']] },
      { type: 'latency', from: 'n1', to: 'n2' },
      { type: 'latency', from: 'n1', to: 'n1', ms: 5 },
      { type: 'bandwidth', from: 'n1', to: 'n2', bytesPerSecond: 0 },
      { type: 'ring', nodes: ['n1', 'n1', 'n2'] },
      { type: 'isolate', node: 'nats0' },
    ]) {
      const r = await call(`${url}/faults`, 'POST', body);
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
      expect(typeof r.body.error.message).toBe('string');
    }
    expect((await call(`${url}/faults`, 'POST', { type: 'partition', groups: [['n1'], ['n9']] })).status).toBe(404);
    expect((await call(`${url}/faults`, 'POST', { type: 'latency', from: 'n1', to: 'nats3', ms: 5 })).status).toBe(404);
    expect((await call(`${url}/faults/f999`, 'DELETE')).status).toBe(404);
    await sleep(0);
  });
});
