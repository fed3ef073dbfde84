// The first-start bootstrap against a stand-in node that, like the real one, remembers each
// Idempotency-Key's first result: a refused create must be retried under a new key, an
// in-doubt one (504) under the same key.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapCluster } from './bootstrap.ts';
import { planShards } from './plan.ts';

const servers: http.Server[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

interface Answer {
  status: number;
  body: unknown;
}

/** A node whose createShard answers follow `script` (per attempt), remembering results per key. */
async function scriptedNode(script: Array<'not_registered' | 'in_doubt' | 'ok'>): Promise<{ url: string; keys: string[] }> {
  const keys: string[] = [];
  const remembered = new Map<string, Answer>();
  const created = new Set<string>();
  let attempt = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const send = (a: Answer) => {
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(a.body));
      };
      if (req.url === '/catalogue') return send({ status: 200, body: { version: 1 } });
      if (req.url === '/shards') return send({ status: 200, body: { shards: [...created].map((id) => ({ id, key: {}, replicas: ['n1'] })) } });
      const key = String(req.headers['idempotency-key']);
      keys.push(key);
      const seen = remembered.get(key);
      if (seen !== undefined) return send(seen);
      const step = script[Math.min(attempt++, script.length - 1)];
      const id = (JSON.parse(body) as { id: string }).id;
      if (step === 'not_registered') {
        const a = { status: 404, body: { error: { code: 'not_found', message: 'nodes 2,3 are not registered; send registerNode first' } } };
        remembered.set(key, a);
        return send(a);
      }
      if (step === 'in_doubt') {
        // Committed after all, but the answer timed out.
        created.add(id);
        remembered.set(key, { status: 201, body: { ok: true } });
        return send({ status: 504, body: { error: { code: 'indeterminate', message: 'timed out' } } });
      }
      created.add(id);
      const a = { status: 201, body: { ok: true } };
      remembered.set(key, a);
      return send(a);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, keys };
}

describe('bootstrapCluster', () => {
  it('retries a refused create under a new key, so it does not get the remembered refusal forever', async () => {
    const node = await scriptedNode(['not_registered', 'not_registered', 'ok']);
    await bootstrapCluster({ nodeUrls: () => [node.url], shards: planShards(1, [1, 2, 3], 3), timeoutMs: 10_000 });
    expect(node.keys).toEqual(['bootstrap-s-north-0', 'bootstrap-s-north-1', 'bootstrap-s-north-2']);
  });

  it('retries an in-doubt create under the same key, so it is applied once', async () => {
    const node = await scriptedNode(['in_doubt', 'ok']);
    await bootstrapCluster({ nodeUrls: () => [node.url], shards: planShards(1, [1, 2, 3], 3), timeoutMs: 10_000 });
    expect(node.keys).toEqual(['bootstrap-s-north-0', 'bootstrap-s-north-0']);
  });

  it('gives up after its deadline with the last answer and where to look', async () => {
    const node = await scriptedNode(['not_registered']);
    await expect(bootstrapCluster({ nodeUrls: () => [node.url], shards: planShards(1, [1, 2, 3], 3), timeoutMs: 500 })).rejects.toThrow(
      /could not create shard s-north within 500 ms \(last answer: .*404 nodes 2,3 are not registered.*\); see the node logs/,
    );
  });
});
