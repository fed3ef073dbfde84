// The player's SQLite: retention pruning by class with tombstones that still dedupe, and the
// exactly-once invariant (rows and checkpoint commit together) across a SIGKILL mid-apply.
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, Supervisor } from '../../infra/launcher/index.ts';
import { forkTs } from '../../infra/proc/spawn_ts.ts';
import { PlayerClient } from './client.ts';
import { RetentionPolicySchema } from './config.ts';
import { LocalStore, type StreamDelivery } from './local_store.ts';
import { canonMessage, ensureEventsStream, publishAll, waitUntil } from './testdata/stream.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'nimmer-store-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const encoder = new TextEncoder();
const HOUR_MS = 3_600_000;

function delivery(eventUid: string, streamSeq: number, m: object): StreamDelivery {
  return { eventUid, streamSeq, data: encoder.encode(JSON.stringify(m)) };
}

describe('local store', () => {
  it('prunes content by retention class, keeps tombstones that still dedupe, then drops them', () => {
    const s = LocalStore.open(path.join(dir, 'ret.sqlite'), 'p1');
    const policy = RetentionPolicySchema.parse({ ephemeralTtlMs: HOUR_MS, standardTtlMs: 10 * HOUR_MS, standardRowsMax: 3, tombstoneTtlMs: 24 * HOUR_MS });
    const t0 = 1_000_000_000_000;
    s.addSubscription('ev-r', t0);
    const ms = [
      canonMessage(1, 'ev-r', ['p1'], 'ephemeral'),
      canonMessage(2, 'ev-r', ['p1'], 'standard'),
      canonMessage(3, 'ev-r', ['p1'], 'permanent'),
    ];
    expect(s.applyStream(ms.map((m, i) => delivery('ev-r', i + 1, m)), t0).applied).toBe(3);
    const standards = [4, 5, 6, 7].map((id) => canonMessage(id, 'ev-r', ['p1'], 'standard'));
    expect(s.applyFallback(standards, t0 + 1).applied).toBe(4);

    // Before any TTL: only the standard cap (3 newest of 5 kept) drops the two oldest standard rows.
    expect(s.prune(policy, t0 + 1)).toEqual({ contentDropped: 2, tombstonesDropped: 0 });
    expect([s.row(2)?.body, s.row(4)?.body, s.row(5)?.body]).toEqual([null, null, { line: 'canon 5' }]);
    // After the ephemeral TTL: the ephemeral content goes; permanent and recent standard stay.
    expect(s.prune(policy, t0 + HOUR_MS)).toEqual({ contentDropped: 1, tombstonesDropped: 0 });
    expect(s.row(1)).toMatchObject({ body: null, retention: 'ephemeral' });
    expect(s.memory()).toEqual({ content: { ephemeral: 0, standard: 3, permanent: 1 }, tombstones: 3, subscriptions: 1 });
    expect(s.row(3)?.body).toEqual({ line: 'canon 3' });
    // A pruned id is a tombstone: the district path re-delivering it is a duplicate, not a new apply.
    expect(s.applyFallback([ms[0]!], t0 + HOUR_MS)).toMatchObject({ applied: 0, duplicates: 1 });
    // After the standard TTL all standard content is gone; after the tombstone TTL the ids go too.
    expect(s.prune(policy, t0 + 10 * HOUR_MS + 1).contentDropped).toBe(3);
    expect(s.counts()).toMatchObject({ rows: 7, withContent: 1 });
    expect(s.prune(policy, t0 + 40 * HOUR_MS).tombstonesDropped).toBe(6);
    expect(s.canonIds()).toEqual([3]);
    expect(s.row(3)?.body).toEqual({ line: 'canon 3' });
    expect(s.memory()).toEqual({ content: { ephemeral: 0, standard: 0, permanent: 1 }, tombstones: 0, subscriptions: 1 });
    s.close();
  });

  it('a batch holding nothing for the player advances its checkpoint without a commit; the next apply and close write it', () => {
    const file = path.join(dir, 'skip.sqlite');
    const s = LocalStore.open(file, 'p3');
    s.addSubscription('district:dz', 0);
    const others = (id: number) => canonMessage(id, `ev-o${id}`, ['someone-else']);
    expect(s.applyStream([delivery('district:dz', 1, others(1)), delivery('district:dz', 2, others(2))], 0)).toMatchObject({ applied: 0, notForPlayer: 2 });
    expect(s.checkpointOf('district:dz')).toBe(2);
    // A redelivery of what was skipped is recognised from the in-memory checkpoint.
    expect(s.applyStream([delivery('district:dz', 2, others(2))], 0)).toMatchObject({ redelivered: 1, notForPlayer: 0 });
    s.addSubscription('ev-m', 0);
    expect(s.applyStream([delivery('district:dz', 3, others(3))], 0)).toMatchObject({ notForPlayer: 1 });
    // Rows for the player commit with every checkpoint advanced so far (the district's too).
    expect(s.applyStream([delivery('ev-m', 7, canonMessage(7, 'ev-m', ['p3']))], 0)).toMatchObject({ applied: 1 });
    expect(s.applyStream([delivery('district:dz', 9, others(9))], 0)).toMatchObject({ notForPlayer: 1 });
    s.close();
    const reopened = LocalStore.open(file, 'p3');
    expect(reopened.subscriptions().sort((a, b) => a.eventUid.localeCompare(b.eventUid))).toEqual([
      { eventUid: 'district:dz', streamSeq: 9 },
      { eventUid: 'ev-m', streamSeq: 7 },
    ]);
    expect(reopened.canonIds()).toEqual([7]);
    expect(reopened.recentEvents(5)).toEqual(['ev-m']);
    reopened.close();
  });

  it('skips stream messages at or below the checkpoint and counts malformed ones without stalling', () => {
    const s = LocalStore.open(path.join(dir, 'redeliver.sqlite'), 'p2');
    s.addSubscription('ev-x', 0);
    const m = (id: number) => canonMessage(id, 'ev-x', ['p2']);
    expect(s.applyStream([delivery('ev-x', 1, m(1)), delivery('ev-x', 2, m(2))], 0).applied).toBe(2);
    const again = s.applyStream([delivery('ev-x', 2, m(2)), delivery('ev-x', 3, { nonsense: true }), delivery('ev-x', 4, m(4))], 0);
    expect(again).toEqual({ applied: 1, duplicates: 0, redelivered: 1, notForPlayer: 0, malformed: 1 });
    expect(s.checkpointOf('ev-x')).toBe(4);
    s.close();
    const reopened = LocalStore.open(path.join(dir, 'redeliver.sqlite'), 'p2');
    expect(reopened.checkpointOf('ev-x')).toBe(4);
    expect(() => LocalStore.open(path.join(dir, 'other.sqlite'), 'p2')).not.toThrow();
    reopened.close();
  });

  it('applies a large batch through the multi-row statements: every row once, duplicates inside the batch counted', () => {
    for (const synchronous of ['normal', 'full'] as const) {
      const s = LocalStore.open(path.join(dir, `bulk-${synchronous}.sqlite`), 'p3', { synchronous });
      s.addSubscription('ev-y', 0);
      s.addSubscription('ev-z', 0);
      // 301 rows of ev-y (statements of 256, 16, 16, 1 × 13) interleaved with ev-z, a re-sent canon id inside
      // the batch, a message for someone else, and the content of each row checked afterwards.
      const batch: StreamDelivery[] = [];
      for (let id = 1; id <= 301; id++) {
        batch.push(delivery('ev-y', batch.length + 1, canonMessage(id, 'ev-y', ['p3'], id % 3 === 0 ? 'permanent' : 'standard')));
        if (id % 50 === 0) batch.push(delivery('ev-z', batch.length + 1, canonMessage(1000 + id, 'ev-z', ['p3'])));
      }
      batch.push(delivery('ev-y', batch.length + 1, canonMessage(7, 'ev-y', ['p3'])));
      batch.push(delivery('ev-y', batch.length + 1, canonMessage(9999, 'ev-y', ['someone-else'])));
      expect(s.applyStream(batch, 5)).toEqual({ applied: 307, duplicates: 1, redelivered: 0, notForPlayer: 1, malformed: 0 });
      expect(s.canonIds()).toEqual([...Array.from({ length: 301 }, (_, i) => i + 1), ...[50, 100, 150, 200, 250, 300].map((i) => 1000 + i)]);
      expect(s.checkpointOf('ev-y')).toBe(batch.length);
      expect(s.checkpointOf('ev-z')).toBe(batch.findLastIndex((d) => d.eventUid === 'ev-z') + 1);
      expect([s.row(3), s.row(4), s.row(1300)]).toEqual([
        { retention: 'permanent', body: { line: 'canon 3' }, path: 'stream', prunedAtMs: null },
        { retention: 'standard', body: { line: 'canon 4' }, path: 'stream', prunedAtMs: null },
        { retention: 'standard', body: { line: 'canon 1300' }, path: 'stream', prunedAtMs: null },
      ]);
      s.sync(); // everything committed is on disk before anyone is told about it
      s.close();
      const reopened = LocalStore.open(path.join(dir, `bulk-${synchronous}.sqlite`), 'p3', { synchronous });
      expect(reopened.counts().rows).toBe(307);
      reopened.close();
    }
  });
});

// With the events path on the player's thread and in the events worker (config eventsWorker).
describe.each([{ eventsWorker: false }, { eventsWorker: true }])('player crash mid-apply (SIGKILL; eventsWorker: $eventsWorker)', ({ eventsWorker }) => {
  const supervisorDir = () => path.join(dir, `crash-${eventsWorker}`);
  let supervisor: Supervisor;
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await supervisor?.stopAll();
  });

  it('rows and checkpoint survive together: the restarted player applies the rest exactly once', async () => {
    supervisor = new Supervisor({ logDir: path.join(supervisorDir(), 'logs'), handleSignals: false });
    const nats = await startNats({ dataDir: supervisorDir(), mode: 'local', supervisor });
    const nc = await connect({ servers: nats.urls });
    await ensureEventsStream(nc);
    const total = 1500;
    // A fresh stream holding only this event: stream sequence i carries canon id i.
    await publishAll(jetstream(nc), Array.from({ length: total }, (_, i) => canonMessage(i + 1, 'ev-k', ['kim'])));
    const dbPath = path.join(dir, `kim-${eventsWorker}.sqlite`);
    child = forkTs(fileURLToPath(new URL('./testdata/crash_child.ts', import.meta.url)), [dbPath, nats.urls[0]!, 'kim', 'ev-k', String(eventsWorker)], { stdio: 'ignore' });
    const exited = new Promise((r) => child?.once('exit', r));
    let applied = 0;
    child.on('message', (m) => (applied = (m as { applied: number }).applied));
    await waitUntil('the child applied a part', () => applied >= 200);
    child.kill('SIGKILL');
    await exited;
    expect(applied).toBeLessThan(total); // killed mid-stream, not after the end

    const p = PlayerClient.open({ playerId: 'kim', dbPath, eventsServers: nats.urls, eventsWorker });
    try {
      const checkpoint = p.store.checkpointOf('ev-k') ?? 0;
      expect(checkpoint).toBeGreaterThanOrEqual(applied);
      expect(p.store.canonIds()).toEqual(Array.from({ length: checkpoint }, (_, i) => i + 1));
      await p.connect();
      await waitUntil('kim caught up', () => p.store.checkpointOf('ev-k') === total);
      expect(p.store.canonIds()).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(p.totals.stream).toMatchObject({ applied: total - checkpoint, duplicates: 0, redelivered: 0 });
    } finally {
      await p.close();
      await nc.close();
    }
  });
});
