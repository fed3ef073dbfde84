// Acceptance tests of the node process, with real processes: a 3-node cluster serves the HTTP API
// of API.md through every node — shards get leaders, writes are read back linearizably through
// each node, CAS, stale reads, events, idempotent retries, and catalogue bumps reach every shard.
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalogueUrl } from '../../catalogue/index.ts';
import { expectStatus, request, startClusterWithShards, untilFinal, waitFor } from './testing/client.ts';
import type { LocalCluster } from './testing/local_cluster.ts';

const NODES = [1, 2, 3];
const GEOGRAPHIES = ['northmarch', 'heartland', 'saltcoast', 'westreach'];

describe('a 3-node cluster with 4 shards', () => {
  let c: LocalCluster;
  let shards: string[];
  const url = (id: number) => c.url(id);

  beforeAll(async () => {
    ({ cluster: c, shards } = await startClusterWithShards(
      { nodes: 3, tickMs: 20 },
      GEOGRAPHIES.map((geography) => ({ geography, replicas: ['n1', 'n2', 'n3'] })),
    ));
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') for (const id of NODES) console.error(`--- n${id} log ---\n${c.logTail(id)}`);
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('gives every shard a leader among its replicas, as every node sees it', async () => {
    expect(shards).toEqual(GEOGRAPHIES.map((g) => `s-${g}`));
    for (const id of NODES) {
      const cluster = await waitFor(`n${id} sees a leader for every shard`, async () => {
        const body = await expectStatus(`${url(id)}/cluster`, 'GET', undefined, 200);
        return body.shards.length === shards.length && body.shards.every((s: { leader: string | null }) => s.leader !== null) ? body : undefined;
      });
      expect(cluster.nodes.map((n: { id: string }) => n.id)).toEqual(['n1', 'n2', 'n3']);
      for (const s of cluster.shards) {
        expect(s.replicas).toEqual(['n1', 'n2', 'n3']);
        expect(s.replicas).toContain(s.leader);
        expect(s.term).toBeGreaterThan(0);
        expect(s.commitIndex).toBeGreaterThan(0);
      }
    }
    const map = await expectStatus(`${url(2)}/shards`, 'GET', undefined, 200);
    expect(map.shards.map((s: { id: string; state: string }) => [s.id, s.state])).toEqual(shards.map((s) => [s, 'active']));
  });

  it('reads back a PUT linearizably through each node, immediately', async () => {
    for (const [i, shard] of shards.entries()) {
      for (const writer of NODES) {
        const value = 10 + i * 10 + writer; // distinct per (shard, writer)
        const put = await expectStatus(`${url(writer)}/shards/${shard}/axes/order`, 'PUT', { value }, 200);
        expect(put).toMatchObject({ index: expect.any(Number), term: expect.any(Number) });
        // No waiting: a linearizable read after the acknowledgement must see the write on every node.
        for (const reader of NODES) {
          const r = await expectStatus(`${url(reader)}/shards/${shard}/axes/order`, 'GET', undefined, 200);
          expect(r.value, `n${reader} reads ${shard}/order after n${writer} wrote ${value}`).toBe(value);
          expect(r.index).toBeGreaterThanOrEqual(put.index);
        }
      }
    }
  });

  it('CAS applies when the expectation holds and reports the current value when it does not', async () => {
    const shard = shards[1]!;
    await expectStatus(`${url(1)}/shards/${shard}/axes/faith`, 'PUT', { value: 40 }, 200);
    const ok = await expectStatus(`${url(2)}/shards/${shard}/axes/faith/cas`, 'POST', { expect: 40, value: 41 }, 200);
    expect(ok).toMatchObject({ ok: true });
    const failed = await expectStatus(`${url(3)}/shards/${shard}/axes/faith/cas`, 'POST', { expect: 40, value: 99 }, 200);
    expect(failed).toMatchObject({ ok: false, value: 41 });
    for (const id of NODES) expect((await expectStatus(`${url(id)}/shards/${shard}/axes/faith`, 'GET', undefined, 200)).value).toBe(41);
  });

  it('serves stale reads from the local replica, which catches up with the writes', async () => {
    const shard = shards[2]!;
    await expectStatus(`${url(1)}/shards/${shard}/axes/crime`, 'PUT', { value: 77 }, 200);
    for (const id of NODES) {
      await waitFor(`n${id} stale read of 77`, async () => {
        const r = await request(`${url(id)}/shards/${shard}/axes/crime?consistency=stale`);
        if (r.kind !== 'status' || r.status !== 200) throw new Error(`stale read answered ${JSON.stringify(r)}`);
        return r.body.value === 77 ? true : undefined;
      }, 5_000);
      const eq = await expectStatus(`${url(id)}/shards/${shard}/equilibrium?consistency=stale`, 'GET', undefined, 200);
      expect(eq.shard).toBe(shard);
      expect(eq.axes.crime.value).toBe(77);
    }
  });

  it('accepts an event (202) on its key’s shard and finds it from any node', async () => {
    const shard = shards[0]!; // northmarch
    const before = (await expectStatus(`${url(1)}/shards/${shard}/equilibrium`, 'GET', undefined, 200)).activeEvents;
    for (const via of NODES) {
      const res = await untilFinal(`${url(via)}/events`, 'POST', {
        key: { geography: 'northmarch', theme: 'political', tier: 'everyday', faction: 'crown' },
        template: 'border_skirmish',
        district: 'ironford',
        participants: ['p-0', `p-${via}`],
      });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ eventUid: expect.stringMatching(/^ev-/), shard, index: expect.any(Number) });
      // Immediately, from every node (a follower may not have applied the entry yet).
      for (const reader of NODES) {
        const ev = await expectStatus(`${url(reader)}/events/${res.body.eventUid}`, 'GET', undefined, 200);
        expect(ev).toMatchObject({ uid: res.body.eventUid, shard, stage: 'committed' });
        expect(ev.event).toMatchObject({ template: 'border_skirmish', district: 'ironford', participants: ['p-0', `p-${via}`] });
      }
    }
    const after = (await expectStatus(`${url(2)}/shards/${shard}/equilibrium`, 'GET', undefined, 200)).activeEvents;
    expect(after).toBe(before + NODES.length);
    // An event UID that was never issued is a 404 (well-formed, so not a 400).
    const missing = await expectStatus(`${url(3)}/events/ev-doesnotexist`, 'GET', undefined, 404);
    expect(missing.error.code).toBe('not_found');
  });

  it('applies a request retried with the same Idempotency-Key once', async () => {
    const shard = shards[3]!;
    const key = { 'idempotency-key': 'cluster-test-put-1' };
    const first = await expectStatus(`${url(1)}/shards/${shard}/axes/rumour`, 'PUT', { value: 33 }, 200, { headers: key });
    // The same request again, through another node: acknowledged again (the retry's answer carries
    // the index of its own log entry, which is at or after the first's).
    const retry = await expectStatus(`${url(2)}/shards/${shard}/axes/rumour`, 'PUT', { value: 33 }, 200, { headers: key });
    expect(retry.index).toBeGreaterThanOrEqual(first.index);
    // A write in between, then the retry once more: acknowledged, and not applied a second time —
    // it does not overwrite the later write.
    await expectStatus(`${url(3)}/shards/${shard}/axes/rumour`, 'PUT', { value: 34 }, 200);
    await expectStatus(`${url(3)}/shards/${shard}/axes/rumour`, 'PUT', { value: 33 }, 200, { headers: key });
    expect((await expectStatus(`${url(1)}/shards/${shard}/axes/rumour`, 'GET', undefined, 200)).value).toBe(34);
    // The key reused for a different value: refused as a conflict (as in the IETF Idempotency-Key
    // draft, a key names one request), so the client learns that its second request did nothing.
    const other = await untilFinal(`${url(2)}/shards/${shard}/axes/rumour`, 'PUT', { value: 90 }, { headers: key });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining('already used') });
    expect((await expectStatus(`${url(2)}/shards/${shard}/axes/rumour`, 'GET', undefined, 200)).value).toBe(34);

    // An event retried with one key is proposed once: same UID, one more event in the register.
    const before = (await expectStatus(`${url(1)}/shards/${shard}/equilibrium`, 'GET', undefined, 200)).activeEvents;
    const ev = { key: { geography: 'westreach', theme: 'economic', tier: 'everyday', faction: 'free_cities' }, template: 'market_festival', district: 'lowmarket', participants: ['p-9'] };
    const evKey = { 'idempotency-key': 'cluster-test-event-1' };
    const e1 = await expectStatus(`${url(1)}/events`, 'POST', ev, 202, { headers: evKey });
    const e2 = await expectStatus(`${url(2)}/events`, 'POST', ev, 202, { headers: evKey });
    const e3 = await expectStatus(`${url(3)}/events`, 'POST', ev, 202, { headers: evKey });
    expect(e2.eventUid).toBe(e1.eventUid);
    expect(e3.eventUid).toBe(e1.eventUid);
    expect((await expectStatus(`${url(3)}/shards/${shard}/equilibrium`, 'GET', undefined, 200)).activeEvents).toBe(before + 1);
  });

  it('takes a catalogue bump to exactly the next version to every shard', async () => {
    const current = await expectStatus(`${url(1)}/catalogue`, 'GET', undefined, 200);
    expect(current.version).toBe(1);
    const doc = JSON.parse(readFileSync(defaultCatalogueUrl, 'utf8'));
    doc.version = 2;
    doc.axes = [
      ...doc.axes.map((a: { id: string; tolerance: number }) => (a.id === 'crime' ? { ...a, tolerance: 12 } : a)),
      { id: 'morale', min: 0, max: 100, target: 50, tolerance: 10, description: 'How the common soldier feels about the next campaign.' },
    ];
    // Skipping a version is a conflict, and changes nothing.
    const skipped = await untilFinal(`${url(2)}/admin/catalogue`, 'PUT', { catalogue: { ...doc, version: 3 } });
    expect(skipped.status).toBe(409);
    expect(skipped.body.error.code).toBe('conflict');
    expect((await expectStatus(`${url(2)}/catalogue`, 'GET', undefined, 200)).version).toBe(1);

    const res = await expectStatus(`${url(2)}/admin/catalogue`, 'PUT', { catalogue: doc }, 200);
    expect(res).toMatchObject({ ok: true, version: 2 });
    for (const id of NODES) {
      await waitFor(`n${id} serves catalogue v2`, async () => ((await expectStatus(`${url(id)}/catalogue`, 'GET', undefined, 200)).version === 2 ? true : undefined), 10_000);
    }
    for (const shard of shards) {
      for (const id of NODES) {
        const eq = await waitFor(
          `${shard} at catalogue v2 through n${id}`,
          async () => {
            const body = await expectStatus(`${url(id)}/shards/${shard}/equilibrium`, 'GET', undefined, 200);
            return body.catalogueVersion === 2 ? body : undefined;
          },
          10_000,
        );
        expect(eq.axes.morale).toMatchObject({ value: 50, target: 50, tolerance: 10 });
        expect(eq.axes.crime.tolerance).toBe(12);
      }
    }
    // Values written before the bump survive it.
    expect((await expectStatus(`${url(3)}/shards/${shards[2]}/axes/crime`, 'GET', undefined, 200)).value).toBe(77);
    expect((await expectStatus(`${url(3)}/shards/${shards[3]}/axes/morale`, 'GET', undefined, 200)).value).toBe(50);
  });
});
