// The controller against stand-in nodes (small HTTP servers) and a stand-in process control:
// forwarding and failover, the 503/504 distinction, fault validation, /cluster and /health.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../launcher/index.ts';
import type { ControlledNode, ControllerBackend, NodeControl, NodeProcessState } from './backend.ts';
import { createController, type Controller } from './server.ts';

type Handler = (req: http.IncomingMessage, body: string) => { status: number; body: unknown; headers?: Record<string, string> } | 'hang';

interface FakeNode {
  url: string;
  requests: Array<{ method: string; url: string; body: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

const servers: http.Server[] = [];
const controllers: Controller[] = [];

async function fakeNode(handler: Handler): Promise<FakeNode> {
  const requests: FakeNode['requests'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
      const r = handler(req, body);
      if (r === 'hang') return;
      res.writeHead(r.status, { 'content-type': 'application/json', ...(r.headers ?? {}) });
      res.end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

class FakeControl implements NodeControl {
  readonly calls: string[] = [];
  readonly states = new Map<number, NodeProcessState>();
  constructor(readonly urls: string[]) {
    urls.forEach((_, i) => this.states.set(i + 1, 'running'));
  }
  list(): ControlledNode[] {
    return this.urls.map((url, i) => ({
      id: i + 1,
      name: `n${i + 1}`,
      httpUrl: url,
      raftAddress: `127.0.0.1:${7200 + i}`,
      state: this.states.get(i + 1)!,
      pid: 1000 + i,
      logFile: null,
    }));
  }
  async kill(id: number) {
    this.calls.push(`kill ${id}`);
    this.states.set(id, 'killed');
  }
  async pause(id: number) {
    this.calls.push(`pause ${id}`);
    this.states.set(id, 'paused');
  }
  async resume(id: number) {
    this.calls.push(`resume ${id}`);
    this.states.set(id, 'running');
  }
  async start(id: number) {
    this.calls.push(`start ${id}`);
    this.states.set(id, 'running');
  }
  async restart(id: number) {
    this.calls.push(`restart ${id}`);
    this.states.set(id, 'running');
  }
}

async function controllerFor(urls: string[], options: { proxyTimeoutMs?: number } = {}) {
  const control = new FakeControl(urls);
  const backend: ControllerBackend = {
    nodes: control,
    postgresUrl: 'postgres://nimmer@127.0.0.1:5433/nimmer',
    natsUrls: ['nats://127.0.0.1:4223'],
    natsServers: [],
    dependencies: () => [{ name: 'postgres', up: true }],
  };
  const controller = createController(backend, options);
  controllers.push(controller);
  const url = await controller.listen(0);
  return { control, url };
}

async function call(url: string, method = 'GET', body?: unknown) {
  const r = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

async function refusingUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

afterEach(async () => {
  for (const c of controllers.splice(0)) await c.close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('forwarding to nodes', () => {
  it('passes the method, path, query, body and Idempotency-Key through, and the node’s status, body and Retry-After back', async () => {
    const node = await fakeNode(() => ({ status: 503, body: { error: { code: 'unavailable', message: 'no quorum' } }, headers: { 'retry-after': '2' } }));
    const { url } = await controllerFor([node.url]);
    const r = await fetch(`${url}/shards/s-north/axes/order?consistency=stale`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k1' },
      body: JSON.stringify({ value: 42 }),
    });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('2');
    expect(await r.json()).toEqual({ error: { code: 'unavailable', message: 'no quorum' } });
    expect(node.requests).toHaveLength(1);
    expect(node.requests[0]).toMatchObject({ method: 'PUT', url: '/shards/s-north/axes/order?consistency=stale', body: '{"value":42}' });
    expect(node.requests[0]!.headers['idempotency-key']).toBe('k1');
  });

  it('passes malformed bodies to the node, whose validation answers', async () => {
    const node = await fakeNode((_req, body) => ({ status: 400, body: { error: { code: 'invalid_json', message: `bad: ${body}` } } }));
    const { url } = await controllerFor([node.url]);
    const r = await fetch(`${url}/shards/s-north/axes/order`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: { code: 'invalid_json', message: 'bad: {nope' } });
  });

  it('tries the next node when a node refuses the connection, for writes too', async () => {
    const good = await fakeNode(() => ({ status: 200, body: { index: 7, term: 2 } }));
    const { url } = await controllerFor([await refusingUrl(), good.url]);
    for (let i = 0; i < 4; i++) {
      const r = await call(`${url}/shards/s-north/axes/order`, 'PUT', { value: i });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ index: 7, term: 2 });
    }
    expect(good.requests).toHaveLength(4);
  });

  it('skips nodes that are not running (a paused node would accept and never answer)', async () => {
    const paused = await fakeNode(() => 'hang');
    const good = await fakeNode(() => ({ status: 200, body: { ok: true } }));
    const { url, control } = await controllerFor([paused.url, good.url]);
    control.states.set(1, 'paused');
    for (let i = 0; i < 3; i++) expect((await call(`${url}/shards`)).status).toBe(200);
    expect(paused.requests).toHaveLength(0);
  });

  it('answers 503 (not applied) when no node is running, and when none accepts the connection', async () => {
    const { url, control } = await controllerFor([await refusingUrl(), await refusingUrl()]);
    const r1 = await call(`${url}/shards/s-north/axes/order`, 'PUT', { value: 1 });
    expect(r1.status).toBe(503);
    expect(r1.headers.get('retry-after')).toBe('1');
    expect((r1.body as { error: { code: string } }).error.code).toBe('unavailable');
    control.states.set(1, 'killed');
    control.states.set(2, 'killed');
    const r2 = await call(`${url}/shards`);
    expect(r2.status).toBe(503);
    expect((r2.body as { error: { message: string } }).error.message).toMatch(/no node is running.*DELETE \/faults/);
  });

  it('answers 504 (indeterminate) when a write was sent and not answered, but retries a read elsewhere', async () => {
    const hanging = await fakeNode(() => 'hang');
    const good = await fakeNode(() => ({ status: 200, body: { value: 5, index: 3 } }));
    const { url } = await controllerFor([hanging.url, good.url], { proxyTimeoutMs: 300 });
    // The rotation starts at n1 on the first request.
    const write = await call(`${url}/shards/s-north/axes/order`, 'PUT', { value: 5 });
    expect(write.status).toBe(504);
    expect((write.body as { error: { code: string } }).error.code).toBe('indeterminate');
    expect(good.requests).toHaveLength(0);
    // The second request starts at n2; the third starts at n1 again, times out, and goes to n2.
    expect((await call(`${url}/shards/s-north/axes/order`)).status).toBe(200);
    const read = await call(`${url}/shards/s-north/axes/order`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ value: 5, index: 3 });
  });
});

describe('faults', () => {
  it('validates the body: 400 for a malformed fault, 404 for an unknown node, 501 for proxy faults', async () => {
    const node = await fakeNode(() => ({ status: 200, body: {} }));
    const { url, control } = await controllerFor([node.url]);
    expect((await call(`${url}/faults`, 'POST', { type: 'explode', node: 'n1' })).status).toBe(400);
    expect((await call(`${url}/faults`, 'POST', { type: 'kill', node: 'node-1' })).status).toBe(400);
    const badJson = await fetch(`${url}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(badJson.status).toBe(400);
    expect((await call(`${url}/faults`, 'POST', { type: 'kill', node: 'n9' })).status).toBe(404);
    for (const fault of [
      { type: 'partition', groups: [['n1'], ['n2']] },
      { type: 'isolate', node: 'n1' },
      { type: 'latency', from: 'n1', to: 'n2', ms: 200 },
    ]) {
      const r = await call(`${url}/faults`, 'POST', fault);
      expect(r.status).toBe(501);
      expect((r.body as { error: { code: string; message: string } }).error).toMatchObject({ code: 'not_implemented' });
      expect((r.body as { error: { message: string } }).error.message).toMatch(/fault proxies/);
    }
    expect(control.calls).toEqual([]);
  });

  it('kills and pauses nodes, lists the active faults, and heals them all', async () => {
    const n1 = await fakeNode(() => ({ status: 200, body: {} }));
    const n2 = await fakeNode(() => ({ status: 200, body: {} }));
    const n3 = await fakeNode(() => ({ status: 200, body: {} }));
    const { url, control } = await controllerFor([n1.url, n2.url, n3.url]);
    const kill = await call(`${url}/faults`, 'POST', { type: 'kill', node: 'n2' });
    expect(kill.status).toBe(201);
    const pause = await call(`${url}/faults`, 'POST', { type: 'pause', node: 'n3' });
    expect(pause.status).toBe(201);
    // A second kill of a dead node is a precondition failure.
    expect((await call(`${url}/faults`, 'POST', { type: 'kill', node: 'n2' })).status).toBe(409);
    const listed = (await call(`${url}/faults`)).body as { faults: Array<{ id: string; type: string; node: string }> };
    expect(listed.faults.map((f) => [f.type, f.node])).toEqual([
      ['kill', 'n2'],
      ['pause', 'n3'],
    ]);
    const healed = await call(`${url}/faults`, 'DELETE');
    expect(healed.status).toBe(200);
    expect((healed.body as { healed: string[] }).healed).toEqual(listed.faults.map((f) => f.id));
    expect(control.calls).toEqual(['kill 2', 'pause 3', 'start 2', 'resume 3']);
    expect(((await call(`${url}/faults`)).body as { faults: unknown[] }).faults).toEqual([]);
  });

  it('ends one fault by id; restart is over when it answers', async () => {
    const n1 = await fakeNode(() => ({ status: 200, body: {} }));
    const { url, control } = await controllerFor([n1.url]);
    const { id } = (await call(`${url}/faults`, 'POST', { type: 'pause', node: 'n1' })).body as { id: string };
    expect((await call(`${url}/faults/nope`, 'DELETE')).status).toBe(404);
    expect((await call(`${url}/faults/${id}`, 'DELETE')).status).toBe(200);
    const restart = await call(`${url}/faults`, 'POST', { type: 'restart', node: 'n1' });
    expect(restart.status).toBe(201);
    expect(restart.body).toMatchObject({ type: 'restart', active: false });
    expect(((await call(`${url}/faults`)).body as { faults: unknown[] }).faults).toEqual([]);
    expect(control.calls).toEqual(['pause 1', 'resume 1', 'restart 1']);
  });
});

describe('/cluster and /health', () => {
  const shardMap = {
    version: 2,
    shards: [
      { id: 's-north', key: { geography: 'north', theme: '*', tier: '*', faction: '*' }, replicas: ['n1', 'n2'], state: 'active' },
      { id: 's-south', key: { geography: 'south', theme: '*', tier: '*', faction: '*' }, replicas: ['n1', 'n2'], state: 'active' },
    ],
  };
  const status = (nodeId: string, groups: Array<[number, string | null, string, number, number]>) => ({
    status: 200,
    body: {
      nodeId,
      groups: groups.map(([groupId, shard, role, term, commitIndex]) => ({ groupId, shard, role, leader: null, term, commitIndex, appliedIndex: commitIndex })),
    },
  });

  it('joins the shard map with the live nodes’ group statuses; the leader at the highest term wins', async () => {
    const n1 = await fakeNode((req) =>
      req.url === '/admin/status'
        ? status('n1', [[1, null, 'leader', 3, 10], [100, 's-north', 'leader', 2, 5], [101, 's-south', 'follower', 4, 8]])
        : { status: 200, body: shardMap },
    );
    const n2 = await fakeNode((req) =>
      req.url === '/admin/status'
        ? status('n2', [[1, null, 'follower', 3, 10], [100, 's-north', 'follower', 2, 6], [101, 's-south', 'leader', 4, 9]])
        : { status: 200, body: shardMap },
    );
    const { url } = await controllerFor([n1.url, n2.url]);
    const view = (await call(`${url}/cluster`)).body as Record<string, unknown>;
    expect(view.nodes).toEqual([
      { id: 'n1', url: n1.url, alive: true, state: 'running', pid: 1000, raft: '127.0.0.1:7200' },
      { id: 'n2', url: n2.url, alive: true, state: 'running', pid: 1001, raft: '127.0.0.1:7201' },
    ]);
    expect(view.shards).toEqual([
      { id: 's-north', key: shardMap.shards[0]!.key, replicas: ['n1', 'n2'], state: 'active', leader: 'n1', term: 2, commitIndex: 6 },
      { id: 's-south', key: shardMap.shards[1]!.key, replicas: ['n1', 'n2'], state: 'active', leader: 'n2', term: 4, commitIndex: 9 },
    ]);
    expect(view.meta).toEqual({ leader: 'n1', term: 3, commitIndex: 10 });
    expect(view).toMatchObject({ faults: [], postgres: 'postgres://nimmer@127.0.0.1:5433/nimmer', nats: ['nats://127.0.0.1:4223'] });
    expect(await call(`${url}/health`)).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('is degraded, with reasons, when a shard has no live leader', async () => {
    const n1 = await fakeNode((req) =>
      req.url === '/admin/status' ? status('n1', [[1, null, 'leader', 3, 10], [100, 's-north', 'follower', 2, 5], [101, 's-south', 'follower', 4, 8]]) : { status: 200, body: shardMap },
    );
    const n2 = await fakeNode((req) =>
      req.url === '/admin/status' ? status('n2', [[1, null, 'follower', 3, 10], [100, 's-north', 'leader', 2, 6], [101, 's-south', 'leader', 4, 9]]) : { status: 200, body: shardMap },
    );
    const { url, control } = await controllerFor([n1.url, n2.url]);
    control.states.set(2, 'paused');
    const view = (await call(`${url}/cluster`)).body as { nodes: Array<{ alive: boolean }>; shards: Array<{ leader: string | null }> };
    expect(view.nodes.map((n) => n.alive)).toEqual([true, false]);
    expect(view.shards.map((s) => s.leader)).toEqual([null, null]);
    const health = await call(`${url}/health`);
    expect(health.status).toBe(503);
    expect(health.body).toEqual({ status: 'degraded', reasons: ['shard s-north has no leader', 'shard s-south has no leader'] });
  });
});
