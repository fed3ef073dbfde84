// The client's own acknowledgements against a real HTTP server scripted to answer like the register:
// incomplete waits for the next apply, unavailable backs off and retries, final answers stop, the
// queue is bounded.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryAcker } from './delivery_acker.ts';
import { LocalStore } from './local_store.ts';
import { canonMessage, waitUntil } from './testdata/stream.ts';

let dir: string;
let server: http.Server;
let baseUrl: string;
/** Per event, the answers still to give, in order (then 200 acked). */
const script = new Map<string, Array<{ status: number; result?: string }>>();
const received: Array<{ uid: string; canonIds: number[] }> = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'nimmer-acker-'));
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const uid = decodeURIComponent(/^\/events\/([^/]+)\/delivered$/.exec(req.url ?? '')?.[1] ?? '');
      received.push({ uid, canonIds: (JSON.parse(body) as { canonIds: number[] }).canonIds });
      const next = script.get(uid)?.shift() ?? { status: 200, result: 'acked' };
      res.writeHead(next.status, { 'content-type': 'application/json' }).end(JSON.stringify(next.status === 200 ? { result: next.result } : { error: { code: 'x', message: 'x', details: {} } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const enc = new TextEncoder();
function applyTo(store: LocalStore, uid: string, ids: number[], seqFrom: number): Set<string> {
  const events = new Set<string>();
  store.applyStream(ids.map((id, i) => ({ eventUid: uid, streamSeq: seqFrom + i, data: enc.encode(JSON.stringify(canonMessage(id, uid, [store.playerId]))) })), Date.now(), { events });
  return events;
}

describe('DeliveryAcker', () => {
  it('acknowledges after an apply; on incomplete it waits for the next apply; on no answer it backs off and retries', async () => {
    const store = LocalStore.open(path.join(dir, 'a.sqlite'), 'pa');
    const acker = new DeliveryAcker(store, { baseUrls: [baseUrl], retryBaseMs: 20, retryMaxMs: 40 });
    const answers: string[] = [];
    acker.onAnswer((uid, a) => answers.push(`${uid}:${a}`));
    try {
      store.addSubscription('ev-a', Date.now());
      store.addSubscription('ev-b', Date.now());
      script.set('ev-a', [{ status: 409 }]);
      script.set('ev-b', [{ status: 503 }, { status: 503 }, { status: 200, result: 'acked' }]);
      acker.applied(applyTo(store, 'ev-a', [1, 2], 1));
      acker.applied(applyTo(store, 'ev-b', [10], 1));
      await waitUntil('ev-b acked after two unanswered tries', () => answers.includes('ev-b:acked'));
      await waitUntil('ev-a incomplete', () => answers.includes('ev-a:incomplete'));
      await new Promise((r) => setTimeout(r, 200));
      expect(answers.filter((a) => a.startsWith('ev-a'))).toEqual(['ev-a:incomplete']); // waits: no new apply
      expect(acker.pending).toBe(1);
      acker.applied(applyTo(store, 'ev-a', [3], 3));
      await waitUntil('ev-a acked after the next apply', () => answers.includes('ev-a:acked'));
      expect(received.filter((r) => r.uid === 'ev-a').map((r) => r.canonIds)).toEqual([[1, 2], [1, 2, 3]]);
      expect(answers.filter((a) => a.startsWith('ev-b'))).toEqual(['ev-b:unavailable', 'ev-b:unavailable', 'ev-b:acked']);
      expect(acker.pending).toBe(0);
      expect(acker.stats).toMatchObject({ final: 2, incomplete: 1, unavailable: 2, dropped: 0 });
    } finally {
      await acker.stop();
      store.close();
    }
  });

  it('stops on every final answer, and refuses events beyond queueMax (counted, tracked again at their next apply)', async () => {
    const store = LocalStore.open(path.join(dir, 'b.sqlite'), 'pb');
    // One POST at a time, one event tracked: the second event's apply finds the queue full.
    const acker = new DeliveryAcker(store, { baseUrls: [baseUrl], queueMax: 1, concurrency: 1 });
    const answers: string[] = [];
    acker.onAnswer((uid, a) => answers.push(`${uid}:${a}`));
    try {
      for (const uid of ['ev-late', 'ev-gone']) store.addSubscription(uid, Date.now());
      script.set('ev-late', [{ status: 200, result: 'late' }]);
      script.set('ev-gone', [{ status: 404 }]);
      acker.applied([...applyTo(store, 'ev-late', [100], 1), ...applyTo(store, 'ev-gone', [200], 1)]);
      expect(acker.stats.dropped).toBe(1);
      await waitUntil('ev-late answered', () => answers.includes('ev-late:late'));
      acker.applied(['ev-gone']);
      await waitUntil('ev-gone answered', () => answers.includes('ev-gone:unknown'));
      await new Promise((r) => setTimeout(r, 100));
      expect(answers).toEqual(['ev-late:late', 'ev-gone:unknown']);
      expect(acker.pending).toBe(0);
    } finally {
      await acker.stop();
      store.close();
    }
  });
});
