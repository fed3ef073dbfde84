// The player client against a real nats-server with JetStream: exactly-once apply under re-sends,
// replay from the player's own checkpoint after a disconnect, late joiners, no server state offline.
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, Supervisor, type Nats } from '../../infra/launcher/index.ts';
import { EVENTS_STREAM } from '../subject.ts';
import { PlayerClient } from './client.ts';
import { canonMessage, ensureEventsStream, publishAll, publishCanon, waitUntil } from './testdata/stream.ts';

let dir: string;
let supervisor: Supervisor;
let nats: Nats;
let nc: NatsConnection;
let js: JetStreamClient;
const clients: PlayerClient[] = [];
let nextCanonId = 1;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'nimmer-player-'));
  supervisor = new Supervisor({ logDir: path.join(dir, 'logs'), handleSignals: false });
  nats = await startNats({ dataDir: dir, mode: 'local', supervisor });
  nc = await connect({ servers: nats.urls });
  await ensureEventsStream(nc);
  js = jetstream(nc);
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await nc?.close();
  await supervisor?.stopAll();
  rmSync(dir, { recursive: true, force: true });
});

function player(id: string): PlayerClient {
  const c = PlayerClient.open({ playerId: id, dbPath: path.join(dir, `${id}.sqlite`), eventsServers: nats.urls, applyBatchMax: 64 });
  clients.push(c);
  return c;
}

function batch(n: number, eventUid: string, participants: string[]) {
  return Array.from({ length: n }, () => canonMessage(nextCanonId++, eventUid, participants));
}

describe('player client over JetStream', () => {
  it('applies each canon message once, even when the relay re-sends it under a new message id', async () => {
    const p = player('alice');
    await p.join('ev-a');
    await p.connect();
    const mine = batch(150, 'ev-a', ['alice', 'bob']);
    const others = batch(20, 'ev-a', ['bob']);
    await publishAll(js, [...mine, ...others]);
    // A relay repair after the dedup window: same canon ids, new stream messages.
    for (const m of mine.slice(0, 40)) await publishCanon(js, m, `repair-${m.canonId}`);
    await waitUntil('alice applied everything', () => p.store.checkpointOf('ev-a') === 210);
    expect(p.store.canonIds()).toEqual(mine.map((m) => m.canonId));
    expect(p.totals.stream).toMatchObject({ applied: 150, duplicates: 40, notForPlayer: 20, malformed: 0 });
  });

  it('replays from its own checkpoint after a disconnect; the server keeps no consumer while it is offline', async () => {
    const p = player('carol');
    await p.join('ev-c');
    await p.connect();
    const first = batch(100, 'ev-c', ['carol']);
    await publishAll(js, first);
    await waitUntil('carol applied the first part', () => p.store.canonIds().length === 100);
    await p.disconnect();
    const jsm = await jetstreamManager(nc);
    const consumersOfCarol = async () =>
      (await jsm.consumers.list(EVENTS_STREAM).next()).filter((c) => (c.config.filter_subject ?? '').includes('.ev-c.')).length;
    await waitUntil('no consumer left for carol', async () => (await consumersOfCarol()) === 0, 10_000, 100);
    const checkpoint = p.store.checkpointOf('ev-c') ?? 0;
    const second = batch(300, 'ev-c', ['carol']);
    await publishAll(js, second);
    await p.connect();
    expect(await consumersOfCarol()).toBe(1);
    await waitUntil('carol caught up', () => p.store.canonIds().length === 400);
    expect(p.store.canonIds()).toEqual([...first, ...second].map((m) => m.canonId));
    expect(p.store.checkpointOf('ev-c')).toBeGreaterThan(checkpoint);
    expect(p.totals.stream.applied).toBe(400);
    expect(p.totals.stream.duplicates).toBe(0);
  });

  it('keeps the checkpoint across a close and reopen of the SQLite file', async () => {
    const p = player('dave');
    await p.join('ev-d');
    await p.connect();
    await publishAll(js, batch(50, 'ev-d', ['dave']));
    await waitUntil('dave applied 50', () => p.store.canonIds().length === 50);
    const checkpoint = p.store.checkpointOf('ev-d');
    await p.close();
    await publishAll(js, batch(25, 'ev-d', ['dave']));
    const again = player('dave');
    expect(again.store.checkpointOf('ev-d')).toBe(checkpoint);
    await again.connect();
    await waitUntil('dave applied 75', () => again.store.canonIds().length === 75);
    expect(again.totals.stream).toMatchObject({ applied: 25, duplicates: 0, redelivered: 0 });
  });

  it('a late joiner catches up from the start of the event', async () => {
    const early = batch(120, 'ev-e', ['erin', 'frank']);
    await publishAll(js, early);
    const late = player('frank');
    await late.connect();
    await late.join('ev-e');
    await waitUntil('frank caught up', () => late.store.canonIds().length === 120);
    const more = batch(10, 'ev-e', ['frank']);
    await publishAll(js, more);
    await waitUntil('frank is live', () => late.store.canonIds().length === 130);
    expect(late.store.canonIds()).toEqual([...early, ...more].map((m) => m.canonId));
  });

  it('recreates its consumer from the last message delivered when the server loses it (heartbeats stop)', async () => {
    const p = PlayerClient.open({ playerId: 'gil', dbPath: path.join(dir, 'gil.sqlite'), eventsServers: nats.urls, idleHeartbeatMs: 200 });
    clients.push(p);
    await p.join('ev-g');
    await p.connect();
    const first = batch(60, 'ev-g', ['gil']);
    await publishAll(js, first);
    await waitUntil('gil applied the first part', () => p.store.canonIds().length === 60);
    // What a restarted server (memory-stored consumers) or an operator does: the consumer is gone.
    const jsm = await jetstreamManager(nc);
    const mine = (await jsm.consumers.list(EVENTS_STREAM).next()).filter((c) => (c.config.filter_subject ?? '').includes('.ev-g.'));
    expect(mine).toHaveLength(1);
    await jsm.consumers.delete(EVENTS_STREAM, mine[0]!.name);
    const second = batch(40, 'ev-g', ['gil']);
    await publishAll(js, second);
    await waitUntil('gil caught up after the consumer was recreated', () => p.store.canonIds().length === 100, 20_000);
    expect(p.store.canonIds()).toEqual([...first, ...second].map((m) => m.canonId));
    expect(p.totals.stream).toMatchObject({ applied: 100, duplicates: 0, redelivered: 0 });
  });

  it('a district subscription applies every event there naming the player, through one consumer, exactly once', async () => {
    const p = player('hana');
    await p.joinDistrict('dz');
    await p.connect();
    const inDistrict = (n: number, eventUid: string, participants: string[], district = 'dz') =>
      Array.from({ length: n }, () => canonMessage(nextCanonId++, eventUid, participants, 'standard', 's1', district));
    const mine = [...inDistrict(30, 'ev-h1', ['hana', 'ivo']), ...inDistrict(20, 'ev-h2', ['hana'])];
    const notMine = [...inDistrict(10, 'ev-h3', ['ivo']), ...inDistrict(10, 'ev-h4', ['hana'], 'dy')];
    await publishAll(js, [...mine, ...notMine]);
    // The same event also joined on its own: the canon id keeps the second path from applying twice.
    await p.join('ev-h2');
    for (const m of mine.slice(0, 5)) await publishCanon(js, m, `repair-${m.canonId}`);
    await waitUntil('hana applied her canon of district dz', () => p.store.canonIds().length === 50 && p.store.checkpointOf('ev-h2') !== 0);
    // 50 rows through the district, 5 re-sends of ev-h1 there, and ev-h2's 20 again through its own subscription.
    await waitUntil('every copy seen', () => p.totals.stream.applied + p.totals.stream.duplicates >= 50 + 5 + 20);
    expect(p.store.canonIds()).toEqual(mine.map((m) => m.canonId));
    expect(p.store.canonIdsOf('ev-h1')).toHaveLength(30);
    expect(p.store.canonIdsOf('ev-h2')).toHaveLength(20);
    expect(p.totals.stream).toMatchObject({ applied: 50, duplicates: 25, malformed: 0 });
    const jsm = await jetstreamManager(nc);
    const filters = (await jsm.consumers.list(EVENTS_STREAM).next()).map((c) => c.config.filter_subject ?? '');
    expect(filters.filter((f) => f.endsWith('.district.dz.scene.*'))).toHaveLength(1);
    expect(p.store.recentEvents(10)).toEqual(['ev-h2', 'ev-h1']);
  });

  it('refuses a second client on the same player file', () => {
    expect(() => player('alice')).toThrow(/open in process/);
  });
});
