// The transport between real sockets on loopback: delivery, ordering, batching, membership,
// proxies and clean shutdown. Waits have generous bounds; nothing asserts on timing.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestNode } from './testing/harness.ts';
import { LOOPBACK, closeAll, framesFrom, startMesh, startNode, waitConnected, waitFor } from './testing/harness.ts';
import { Transport } from './transport.ts';

/** A payload that names its link and sequence number and whose every byte can be checked. */
function payloadFor(linkId: number, seq: number): Uint8Array {
  const payload = new Uint8Array(8 + ((seq * 7919) % 600));
  const view = new DataView(payload.buffer);
  view.setUint32(0, linkId);
  view.setUint32(4, seq);
  for (let i = 8; i < payload.length; i++) payload[i] = (seq * 31 + i * 7 + linkId) & 0xff;
  return payload;
}

function checkPayload(payload: Uint8Array, linkId: number, seq: number): boolean {
  const expected = payloadFor(linkId, seq);
  return payload.length === expected.length && Buffer.compare(Buffer.from(payload), Buffer.from(expected)) === 0;
}

let cleanup: Array<{ transport: Transport }> = [];
afterEach(async () => {
  await closeAll(cleanup);
  cleanup = [];
});

async function mesh(ids: string[], limits: ConstructorParameters<typeof Transport>[0]['limits'] = {}): Promise<TestNode[]> {
  const nodes = await startMesh(ids, { limits });
  cleanup.push(...nodes);
  await waitConnected(nodes);
  return nodes;
}

describe('Transport delivery', () => {
  it('three nodes exchange many frames for many groups: each arrives once, intact, in per-link order', async () => {
    const nodes = await mesh(['n1', 'n2', 'n3']);
    const framesPerLink = 3000;
    const groups = 64;
    const linkId = (from: number, to: number) => from * 10 + to;
    for (let sent = 0; sent < framesPerLink; ) {
      const burst = Math.min(150, framesPerLink - sent);
      for (let seq = sent; seq < sent + burst; seq++) {
        for (let from = 0; from < 3; from++) {
          for (let to = 0; to < 3; to++) {
            if (from === to) continue;
            const ok = nodes[from].transport.send(nodes[to].id, seq % groups, payloadFor(linkId(from, to), seq));
            expect(ok).toBe(true);
          }
        }
      }
      sent += burst;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor('every frame delivered', () =>
      nodes.every((node) => nodes.every((other) => other === node || framesFrom(node, other.id).length >= framesPerLink)),
    );
    for (let to = 0; to < 3; to++) {
      for (let from = 0; from < 3; from++) {
        if (from === to) continue;
        const frames = framesFrom(nodes[to], nodes[from].id);
        expect(frames).toHaveLength(framesPerLink);
        let intact = 0;
        frames.forEach((frame, seq) => {
          const view = new DataView(frame.payload.buffer, frame.payload.byteOffset);
          if (view.getUint32(4) === seq && frame.groupId === seq % groups && checkPayload(frame.payload, linkId(from, to), seq)) intact++;
        });
        expect(intact).toBe(framesPerLink);
      }
    }
    for (const node of nodes) {
      for (const peer of Object.values(node.transport.stats().peers)) {
        expect(peer.droppedFrames).toBe(0);
        expect(peer.sentFrames).toBe(framesPerLink);
        expect(peer.receivedFrames).toBe(framesPerLink);
      }
    }
  });

  it('frames sent in one event-loop turn leave in few writes, each within batchBytesMax', async () => {
    const batchBytesMax = 16 * 1024;
    const [a, b] = await mesh(['a', 'b'], { frameBytesMax: 1024, batchBytesMax, heartbeatIntervalMs: 1000, peerDeadMs: 5000, linkSilenceCloseMs: 10_000 });
    const before = a.transport.stats().peers.b;
    const frames = 1000;
    const payloadBytes = 100;
    for (let i = 0; i < frames; i++) a.transport.send('b', i % 7, new Uint8Array(payloadBytes).fill(i & 0xff));
    expect(a.transport.stats().peers.b.queuedFrames).toBe(frames);
    await waitFor('b received all frames', () => framesFrom(b, 'a').length === frames);
    const after = a.transport.stats().peers.b;
    const writes = after.writes - before.writes;
    const batchesNeeded = Math.ceil((frames * (payloadBytes + 2)) / (batchBytesMax - 6));
    // One write per batch, plus at most a ping or two that fell due meanwhile.
    expect(writes).toBeGreaterThanOrEqual(batchesNeeded);
    expect(writes).toBeLessThanOrEqual(batchesNeeded + 2);
    // The receiver enforces batchBytesMax too: nothing was rejected, and delivery came in few chunks.
    expect(b.logs.filter((entry) => entry.event === 'protocolViolation')).toEqual([]);
    expect(b.received.filter((batch) => batch.from === 'a').length).toBeLessThanOrEqual(writes);
  });

  it('measures round-trip time through link heartbeats', async () => {
    const [a] = await mesh(['a', 'b'], { heartbeatIntervalMs: 20, peerDeadMs: 1000 });
    await waitFor('a pong came back', () => a.transport.stats().peers.b.rttMs !== null);
    expect(a.transport.stats().peers.b.rttMs).toBeGreaterThanOrEqual(0);
  });
});

describe('Transport membership', () => {
  it('removePeer reports the peer down, drops its sends and refuses its connections; addPeer restores it', async () => {
    const [a, b] = await mesh(['a', 'b'], { reconnectDelayMsMin: 10, reconnectDelayMsMax: 50 });
    a.transport.removePeer('b');
    expect(a.statuses.at(-1)).toEqual({ node: 'b', up: false });
    expect(a.transport.send('b', 1, new Uint8Array([1]))).toBe(false);
    expect(a.transport.stats().droppedUnknownPeerFrames).toBe(1);
    await waitFor('b is refused by a', () => b.logs.some((entry) => entry.event === 'handshakeRejected' && /b is not a peer of a/.test(entry.message)));

    a.transport.addPeer('b', b.transport.address());
    await waitConnected([a, b]);
    expect(a.statuses.at(-1)).toEqual({ node: 'b', up: true });
    a.transport.send('b', 9, new Uint8Array([42]));
    await waitFor('frame after re-adding', () => framesFrom(b, 'a').some((frame) => frame.groupId === 9));
  });

  it('works through a TCP proxy: peers are identified by handshake, not by source address', async () => {
    const [a, b] = await mesh(['a', 'b']);
    const target = b.transport.address();
    const proxied: net.Socket[] = [];
    const proxy = net.createServer((client) => {
      const upstream = net.connect(target);
      proxied.push(client, upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, LOOPBACK, resolve));
    try {
      const proxyPort = (proxy.address() as net.AddressInfo).port;
      const handshakesBefore = a.transport.stats().peers.b.handshakes;
      a.transport.setPeers({ b: { host: LOOPBACK, port: proxyPort } });
      await waitFor('a redialed b through the proxy', () => a.transport.stats().peers.b.handshakes > handshakesBefore && a.transport.stats().peers.b.connected);
      expect(proxied.length).toBeGreaterThan(0);
      for (let i = 0; i < 100; i++) a.transport.send('b', 5, new Uint8Array([i]));
      await waitFor('frames through the proxy', () => framesFrom(b, 'a').filter((frame) => frame.groupId === 5).length === 100);
      expect(framesFrom(b, 'a').filter((frame) => frame.groupId === 5).map((frame) => frame.payload[0])).toEqual(
        Array.from({ length: 100 }, (_, i) => i),
      );
    } finally {
      for (const socket of proxied) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it('refuses its own id as a peer and bad arguments to send', async () => {
    const a = await startNode('a');
    cleanup.push(a);
    expect(() => a.transport.addPeer('a', { host: LOOPBACK, port: 1 })).toThrow(/own id a/);
    expect(() => a.transport.addPeer('b c', { host: LOOPBACK, port: 1 })).toThrow(/invalid transport peer id/);
    a.transport.addPeer('b', { host: LOOPBACK, port: 1 });
    expect(() => a.transport.send('b', -1, new Uint8Array(1))).toThrow(/groupId -1/);
    expect(() => a.transport.send('b', 1, new Uint8Array(a.transport.limits.frameBytesMax + 1))).toThrow(/exceeds frameBytesMax/);
    expect(a.transport.send('nobody', 1, new Uint8Array(1))).toBe(false);
  });
});

describe('Transport shutdown', () => {
  it('close() leaves no sockets, listeners or timers behind', async () => {
    const watched = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'Immediate'];
    const count = () => process.getActiveResourcesInfo().filter((resource) => watched.includes(resource)).length;
    const baseline = count();
    const nodes = await startMesh(['a', 'b', 'c']);
    await waitConnected(nodes);
    nodes[0].transport.send('b', 1, new Uint8Array(10));
    nodes[0].transport.addPeer('ghost', { host: LOOPBACK, port: 1 }); // a link in backoff, with its timer armed
    expect(count()).toBeGreaterThan(baseline);
    await closeAll(nodes);
    await waitFor('handles released', () => count() <= baseline);
    await nodes[0].transport.close(); // idempotent
    expect(nodes[0].transport.send('b', 1, new Uint8Array(1))).toBe(false);
  });
});
