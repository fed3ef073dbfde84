// POST /transfers and GET /transfers/:id against real node processes: atomic moves between
// shards (hosted on different replica sets, so some steps cross nodes over HTTP), idempotent
// retries that return the first outcome, refusals that apply nothing, and bad input.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus, request, startClusterWithShards, untilFinal, waitFor } from '../testing/client.ts';
import type { LocalCluster } from '../testing/local_cluster.ts';

const NODES = [1, 2, 3, 4];

describe('transfers API', () => {
  let c: LocalCluster;
  let shards: string[];
  const url = (id: number) => c.url(id);
  let seq = 0;
  const newId = (p = 't') => `${p}-${Date.now().toString(36)}-${seq++}`;

  async function balance(shard: string, axis: string, via = 1): Promise<number> {
    return (await expectStatus(`${url(via)}/shards/${shard}/axes/${axis}`, 'GET', undefined, 200)).value as number;
  }
  const set = (shard: string, axis: string, value: number) => expectStatus(`${url(1)}/shards/${shard}/axes/${axis}`, 'PUT', { value }, 200);
  const transfer = (via: number, body: unknown) => untilFinal(`${url(via)}/transfers`, 'POST', body);

  beforeAll(async () => {
    // s[0], s[1] on n1-n3; s[2], s[3] on n2-n4: n1 hosts no replica of s[2], n4 none of s[0].
    // Short recovery timers, so the tests of recovery do not wait long.
    ({ cluster: c, shards } = await startClusterWithShards({ nodes: 4, tickMs: 20, transfers: { redriveAfterMs: 500, participantAskAfterMs: 1500 } }, [
      { geography: 'northmarch', replicas: ['n1', 'n2', 'n3'] },
      { geography: 'heartland', replicas: ['n1', 'n2', 'n3'] },
      { geography: 'saltcoast', replicas: ['n2', 'n3', 'n4'] },
      { geography: 'westreach', replicas: ['n2', 'n3', 'n4'] },
    ]));
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') for (const id of NODES) console.error(`--- n${id} log ---\n${c.logTail(id)}`);
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('moves an amount between shards on different nodes, once, whatever node is asked and however often', async () => {
    const [a, , b] = shards as [string, string, string];
    await set(a, 'prosperity', 50);
    await set(b, 'prosperity', 20);
    const id = newId();
    const body = { id, from: { shard: a, axis: 'prosperity' }, to: { shard: b, axis: 'prosperity' }, amount: 15 };
    // n4 hosts no replica of the source: it forwards to a node that does.
    const first = await transfer(4, body);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ id, state: 'committed', reason: null, amount: 15, coordinator: a });
    expect(await balance(a, 'prosperity')).toBe(35);
    expect(await balance(b, 'prosperity')).toBe(35);
    for (const via of NODES) {
      const again = await transfer(via, body);
      expect(again.status).toBe(200);
      expect(again.body.state).toBe('committed');
    }
    expect(await balance(a, 'prosperity')).toBe(35);
    expect(await balance(b, 'prosperity')).toBe(35);
    // Every node answers the status, from its own replica or by asking others.
    for (const via of NODES) expect((await expectStatus(`${url(via)}/transfers/${id}`, 'GET', undefined, 200)).state).toBe('committed');
    // The same id for a different transfer is refused; nothing moves.
    const reused = await transfer(2, { ...body, amount: 1 });
    expect(reused.status).toBe(409);
    expect(await balance(a, 'prosperity')).toBe(35);
    const holds = await expectStatus(`${url(1)}/shards/${a}/transfers`, 'GET', undefined, 200);
    await expect.poll(async () => (await expectStatus(`${url(1)}/shards/${a}/transfers`, 'GET', undefined, 200)).inDoubt).toEqual({ coordinator: 0, participant: 0 });
    expect(holds.axes.prosperity).toMatchObject({ value: 35, heldIn: 0 });
  });

  it('answers 409 when the source would go below its minimum or the destination above its maximum, and a retry answers the same', async () => {
    const [a, b] = shards as [string, string];
    await set(a, 'faith', 10);
    await set(b, 'faith', 95);
    const over = { id: newId(), from: { shard: a, axis: 'faith' }, to: { shard: b, axis: 'fear' }, amount: 11 };
    const r1 = await transfer(3, over);
    expect(r1.status).toBe(409);
    expect(r1.body.error.details).toMatchObject({ state: 'aborted', reason: 'insufficient_funds' });
    await set(a, 'faith', 100);
    const retry = await transfer(1, over);
    expect(retry.status, 'a retry returns the original outcome even though the balance now allows it').toBe(409);
    const full = { id: newId(), from: { shard: a, axis: 'faith' }, to: { shard: b, axis: 'faith' }, amount: 6 };
    const r2 = await transfer(2, full);
    expect(r2.status).toBe(409);
    expect(r2.body.error.details).toMatchObject({ state: 'aborted', reason: 'exceeds_max' });
    expect(await balance(a, 'faith')).toBe(100);
    expect(await balance(b, 'faith')).toBe(95);
    expect((await expectStatus(`${url(4)}/transfers/${full.id}`, 'GET', undefined, 200)).state).toBe('aborted');
  });

  it('moves between two axes of one shard in one step', async () => {
    const [a] = shards as [string];
    await set(a, 'order', 40);
    await set(a, 'fear', 10);
    const body = { id: newId(), from: { shard: a, axis: 'order' }, to: { shard: a, axis: 'fear' }, amount: 7.5 };
    const r = await transfer(4, body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(await balance(a, 'order')).toBe(32.5);
    expect(await balance(a, 'fear')).toBe(17.5);
    expect((await transfer(1, body)).status).toBe(200);
    expect(await balance(a, 'order')).toBe(32.5);
  });

  it('settles an unknown id: 404 without a source, aborted for good with ?from', async () => {
    const [a, , b] = shards as [string, string, string];
    const id = newId('never');
    const unknown = await request(`${url(2)}/transfers/${id}`);
    expect(unknown).toMatchObject({ kind: 'status', status: 404 });
    const fenced = await expectStatus(`${url(4)}/transfers/${id}?from=${a}`, 'GET', undefined, 200);
    expect(fenced).toMatchObject({ id, state: 'aborted', reason: 'never_begun' });
    await set(a, 'rumour', 50);
    const late = await transfer(3, { id, from: { shard: a, axis: 'rumour' }, to: { shard: b, axis: 'rumour' }, amount: 1 });
    expect(late.status, 'a transfer whose id was fenced never begins').toBe(409);
    expect(await balance(a, 'rumour')).toBe(50);
  });

  it('finishes a transfer whose driver is gone: the source leader re-drives it', async () => {
    const [a, , b] = shards as [string, string, string];
    await set(a, 'fear', 40);
    await set(b, 'fear', 10);
    const id = newId('orphan');
    const transfer = { from: { shard: a, axis: 'fear' }, to: { shard: b, axis: 'fear' }, amount: 10 };
    // Only the begin, as if the node driving it died right after: no driver anywhere.
    const begun = await expectStatus(`${url(2)}/internal/txn/step`, 'POST', { shard: a, command: { type: 'txBegin', commandId: `tx-begin-${id}`, transferId: id, transfer } }, 200);
    expect(begun.result).toMatchObject({ ok: true, record: { phase: 'preparing' } });
    const settled = await waitFor('the transfer re-driven to the end', async () => {
      const r = await expectStatus(`${url(1)}/transfers/${id}`, 'GET', undefined, 200);
      return r.settled ? r : undefined;
    });
    expect(settled).toMatchObject({ state: 'committed', settled: true });
    expect(await balance(a, 'fear')).toBe(30);
    expect(await balance(b, 'fear')).toBe(20);
  });

  it('releases a hold whose source never began the transfer: the destination asks, and aborts', async () => {
    const [a, , b] = shards as [string, string, string];
    await set(b, 'faction_influence', 90);
    const id = newId('stray');
    const transfer = { from: { shard: a, axis: 'faction_influence' }, to: { shard: b, axis: 'faction_influence' }, amount: 10 };
    const prepared = await expectStatus(`${url(3)}/internal/txn/step`, 'POST', { shard: b, command: { type: 'txPrepare', commandId: `tx-prepare-${id}`, transferId: id, transfer } }, 200);
    expect(prepared.result).toMatchObject({ ok: true, record: { phase: 'prepared' } });
    const held = await expectStatus(`${url(4)}/shards/${b}/transfers`, 'GET', undefined, 200);
    expect(held.axes.faction_influence).toMatchObject({ value: 90, heldIn: 10 });
    // The reservation blocks writes that would break it, until the hold is resolved.
    expect(await request(`${url(4)}/shards/${b}/axes/faction_influence`, 'PUT', { value: 95 })).toMatchObject({ status: 409 });
    await waitFor('the hold released', async () => {
      const t = await expectStatus(`${url(4)}/shards/${b}/transfers`, 'GET', undefined, 200);
      return t.axes.faction_influence.heldIn === 0 ? true : undefined;
    });
    expect(await expectStatus(`${url(2)}/transfers/${id}?from=${a}`, 'GET', undefined, 200)).toMatchObject({ state: 'aborted', reason: 'participant_timeout' });
    expect(await balance(b, 'faction_influence')).toBe(90);
  });

  it('answers bad input with 400/404 JSON and applies nothing', async () => {
    const [a, b] = shards as [string, string];
    await set(a, 'scarcity', 30);
    await set(b, 'scarcity', 30);
    const ok = { from: { shard: a, axis: 'scarcity' }, to: { shard: b, axis: 'scarcity' }, amount: 1 };
    const cases: Array<[unknown, number]> = [
      [{ ...ok }, 400], // no id
      [{ ...ok, id: 'bad id!' }, 400],
      [{ ...ok, id: newId(), amount: 0 }, 400],
      [{ ...ok, id: newId(), amount: -3 }, 400],
      [{ ...ok, id: newId(), amount: 'ten' }, 400],
      [{ ...ok, id: newId(), amount: 1e12 }, 400],
      [{ ...ok, id: newId(), extra: true }, 400],
      [{ ...ok, id: newId(), to: ok.from }, 400],
      [{ ...ok, id: newId(), from: { shard: a } }, 400],
      [{ ...ok, id: newId(), from: { shard: 'no-such-shard', axis: 'scarcity' } }, 404],
      [{ ...ok, id: newId(), to: { shard: b, axis: 'no_such_axis' } }, 404],
      ['not json', 400],
      [[1, 2], 400],
    ];
    for (const [body, status] of cases) {
      const r = await request(`${url(1)}/transfers`, 'POST', body);
      expect(r.kind === 'status' && r.status, JSON.stringify(body)).toBe(status);
      if (r.kind === 'status') expect(r.body.error.code, JSON.stringify(r.body)).toEqual(expect.any(String));
    }
    expect((await request(`${url(1)}/transfers/${'x'.repeat(101)}`)).kind === 'status').toBe(true);
    expect(await request(`${url(1)}/transfers/bad%20id`)).toMatchObject({ status: 400 });
    expect(await request(`${url(1)}/transfers/abc?from=NOPE`)).toMatchObject({ status: 400 });
    expect(await request(`${url(1)}/transfers/abc?from=no-such-shard`)).toMatchObject({ status: 404 });
    expect(await request(`${url(1)}/internal/txn/step`, 'POST', { shard: a, command: { type: 'setAxis' } })).toMatchObject({ status: 400 });
    expect(await balance(a, 'scarcity')).toBe(30);
    expect(await balance(b, 'scarcity')).toBe(30);
  });
});
