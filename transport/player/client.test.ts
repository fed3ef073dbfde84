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

function player(id: string, eventsWorker: boolean): PlayerClient {
  const c = PlayerClient.open({ playerId: id, dbPath: path.join(dir, `${id}.sqlite`), eventsServers: nats.urls, applyBatchMax: 64, eventsWorker });
  clients.push(c);
  return c;
}

function batch(n: number, eventUid: string, participants: string[]) {
  return Array.from({ length: n }, () => canonMessage(nextCanonId++, eventUid, participants));
}

// Each case runs with the events path on the client's thread and in the events worker (config eventsWorker).
describe.each([
  { eventsWorker: false, s: '' },
  { eventsWorker: true, s: '-w' },
])('player client over JetStream (eventsWorker: $eventsWorker)', ({ eventsWorker, s }) => {
  it('applies each canon message once, even when the relay re-sends it under a new message id', async () => {
    const p = player(`alice${s}`, eventsWorker);
    await p.join(`ev-a${s}`);
    await p.connect();
    const mine = batch(150, `ev-a${s}`, [`alice${s}`, `bob${s}`]);
    const others = batch(20, `ev-a${s}`, [`bob${s}`]);
    await publishAll(js, [...mine, ...others]);
    // A relay repair after the dedup window: same canon ids, new stream messages.
    let last = 0;
    for (const m of mine.slice(0, 40)) last = await publishCanon(js, m, `repair-${m.canonId}`);
    await waitUntil('alice applied everything', () => p.store.checkpointOf(`ev-a${s}`) === last);
    expect(p.store.canonIds()).toEqual(mine.map((m) => m.canonId));
    expect(p.totals.stream).toMatchObject({ applied: 150, duplicates: 40, notForPlayer: 20, malformed: 0 });
  });

  it('replays from its own checkpoint after a disconnect; the server keeps no consumer while it is offline', async () => {
    const p = player(`carol${s}`, eventsWorker);
    await p.join(`ev-c${s}`);
    await p.connect();
    const first = batch(100, `ev-c${s}`, [`carol${s}`]);
    await publishAll(js, first);
    await waitUntil('carol applied the first part', () => p.store.canonIds().length === 100);
    await p.disconnect();
    const jsm = await jetstreamManager(nc);
    const consumersOfCarol = async () =>
      (await jsm.consumers.list(EVENTS_STREAM).next()).filter((c) => (c.config.filter_subject ?? '').includes(`.ev-c${s}.`)).length;
    await waitUntil('no consumer left for carol', async () => (await consumersOfCarol()) === 0, 10_000, 100);
    const checkpoint = p.store.checkpointOf(`ev-c${s}`) ?? 0;
    const second = batch(300, `ev-c${s}`, [`carol${s}`]);
    await publishAll(js, second);
    await p.connect();
    expect(await consumersOfCarol()).toBe(1);
    await waitUntil('carol caught up', () => p.store.canonIds().length === 400);
    expect(p.store.canonIds()).toEqual([...first, ...second].map((m) => m.canonId));
    expect(p.store.checkpointOf(`ev-c${s}`)).toBeGreaterThan(checkpoint);
    expect(p.totals.stream.applied).toBe(400);
    expect(p.totals.stream.duplicates).toBe(0);
  });

  it('keeps the checkpoint across a close and reopen of the SQLite file', async () => {
    const p = player(`dave${s}`, eventsWorker);
    await p.join(`ev-d${s}`);
    await p.connect();
    await publishAll(js, batch(50, `ev-d${s}`, [`dave${s}`]));
    await waitUntil('dave applied 50', () => p.store.canonIds().length === 50);
    const checkpoint = p.store.checkpointOf(`ev-d${s}`);
    await p.close();
    await publishAll(js, batch(25, `ev-d${s}`, [`dave${s}`]));
    const again = player(`dave${s}`, eventsWorker);
    expect(again.store.checkpointOf(`ev-d${s}`)).toBe(checkpoint);
    await again.connect();
    await waitUntil('dave applied 75', () => again.store.canonIds().length === 75);
    expect(again.totals.stream).toMatchObject({ applied: 25, duplicates: 0, redelivered: 0 });
  });

  it('a late joiner catches up from the start of the event', async () => {
    const early = batch(120, `ev-e${s}`, [`erin${s}`, `frank${s}`]);
    await publishAll(js, early);
    const late = player(`frank${s}`, eventsWorker);
    await late.connect();
    await late.join(`ev-e${s}`);
    await waitUntil('frank caught up', () => late.store.canonIds().length === 120);
    const more = batch(10, `ev-e${s}`, [`frank${s}`]);
    await publishAll(js, more);
    await waitUntil('frank is live', () => late.store.canonIds().length === 130);
    expect(late.store.canonIds()).toEqual([...early, ...more].map((m) => m.canonId));
  });

  it('recreates its consumer from the last message delivered when the server loses it (heartbeats stop)', async () => {
    const p = PlayerClient.open({ playerId: `gil${s}`, dbPath: path.join(dir, `gil${s}.sqlite`), eventsServers: nats.urls, idleHeartbeatMs: 200, eventsWorker });
    clients.push(p);
    await p.join(`ev-g${s}`);
    await p.connect();
    const first = batch(60, `ev-g${s}`, [`gil${s}`]);
    await publishAll(js, first);
    await waitUntil('gil applied the first part', () => p.store.canonIds().length === 60);
    // What a restarted server (memory-stored consumers) or an operator does: the consumer is gone.
    const jsm = await jetstreamManager(nc);
    const mine = (await jsm.consumers.list(EVENTS_STREAM).next()).filter((c) => (c.config.filter_subject ?? '').includes(`.ev-g${s}.`));
    expect(mine).toHaveLength(1);
    await jsm.consumers.delete(EVENTS_STREAM, mine[0]!.name);
    const second = batch(40, `ev-g${s}`, [`gil${s}`]);
    await publishAll(js, second);
    await waitUntil('gil caught up after the consumer was recreated', () => p.store.canonIds().length === 100, 20_000);
    expect(p.store.canonIds()).toEqual([...first, ...second].map((m) => m.canonId));
    expect(p.totals.stream).toMatchObject({ applied: 100, duplicates: 0, redelivered: 0 });
  });

  it('a long replay in small batches applies every message once; leaving and re-joining mid-replay applies nothing twice', async () => {
    const all = batch(3_000, `ev-h${s}`, [`hana${s}`]);
    await publishAll(js, all);
    const last = await publishCanon(js, canonMessage(nextCanonId++, `ev-h${s}`, ['nobody']));
    const p = player(`hana${s}`, eventsWorker); // applyBatchMax 64: with the worker, flow control is held beyond 4 batches
    await p.connect();
    await p.join(`ev-h${s}`);
    await waitUntil('hana applied a part', () => p.store.canonIds().length >= 500);
    // Batches of the left consumer may still be in flight (the worker's); none of them may be applied now.
    await p.leave(`ev-h${s}`);
    const before = p.store.canonIds().length;
    await p.join(`ev-h${s}`);
    await waitUntil('hana caught up', () => p.store.checkpointOf(`ev-h${s}`) === last, 30_000);
    expect(p.store.canonIds()).toEqual(all.map((m) => m.canonId));
    expect(p.totals.stream.applied).toBe(3_000);
    // The rows applied before the leave are met again from the start as duplicates, unless a batch the left consumer
    // had already handed over lands after the re-join (main-thread mode): it advances the new subscription's
    // checkpoint past them. Either way nothing is applied twice (above); CI once saw 0 of 2,944 here.
    expect(p.totals.stream.duplicates).toBeLessThanOrEqual(before);
    expect(p.totals.stream.malformed).toBe(0);
  });

  it('a district subscription applies every event there naming the player, through one consumer, exactly once', async () => {
    const p = player(`ida${s}`, eventsWorker);
    await p.joinDistrict(`dz${s}`);
    await p.connect();
    const inDistrict = (n: number, eventUid: string, participants: string[], district = `dz${s}`) =>
      Array.from({ length: n }, () => canonMessage(nextCanonId++, eventUid, participants, 'standard', 's1', district));
    const mine = [...inDistrict(30, `ev-i1${s}`, [`ida${s}`, `ivo${s}`]), ...inDistrict(20, `ev-i2${s}`, [`ida${s}`])];
    const notMine = [...inDistrict(10, `ev-i3${s}`, [`ivo${s}`]), ...inDistrict(10, `ev-i4${s}`, [`ida${s}`], `dy${s}`)];
    await publishAll(js, [...mine, ...notMine]);
    // The same event also joined on its own: the canon id keeps the second path from applying twice.
    await p.join(`ev-i2${s}`);
    for (const m of mine.slice(0, 5)) await publishCanon(js, m, `repair-${m.canonId}`);
    await waitUntil(`ida applied her canon of district dz${s}`, () => p.store.canonIds().length === 50 && p.store.checkpointOf(`ev-i2${s}`) !== 0);
    // 50 rows through the district, 5 re-sends of ev-i1 there, and ev-i2's 20 again through its own subscription.
    await waitUntil('every copy seen', () => p.totals.stream.applied + p.totals.stream.duplicates >= 50 + 5 + 20);
    expect(p.store.canonIds()).toEqual(mine.map((m) => m.canonId));
    expect(p.store.canonIdsOf(`ev-i1${s}`)).toHaveLength(30);
    expect(p.store.canonIdsOf(`ev-i2${s}`)).toHaveLength(20);
    expect(p.totals.stream).toMatchObject({ applied: 50, duplicates: 25, malformed: 0 });
    const jsm = await jetstreamManager(nc);
    const filters = (await jsm.consumers.list(EVENTS_STREAM).next()).map((c) => c.config.filter_subject ?? '');
    expect(filters.filter((f) => f.endsWith(`.district.dz${s}.scene.*`))).toHaveLength(1);
    expect(p.store.recentEvents(10)).toEqual([`ev-i2${s}`, `ev-i1${s}`]);
  });

  it('refuses a second client on the same player file', () => {
    expect(() => player(`alice${s}`, eventsWorker)).toThrow(/open in process/);
  });
});
