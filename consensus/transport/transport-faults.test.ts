// The transport under faults: a peer that is down, a peer that does not read, oversized and
// malformed input, strangers and version mismatches. Each must stay local to its link.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RawPeer, TestNode } from './testing/harness.ts';
import { LOOPBACK, closeAll, framesFrom, rawConnect, reservePort, seededRandom, startMesh, startNode, waitConnected, waitFor } from './testing/harness.ts';
import type { Transport } from './transport.ts';
import { encodeFramesBatch, encodeHello, encodeWelcome, frameEncodedBytes } from './wire.ts';

let cleanup: Array<{ transport: Transport }> = [];
const rawSockets: net.Socket[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  for (const socket of rawSockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  await closeAll(cleanup);
  cleanup = [];
});

async function node(id: string, options: Parameters<typeof startNode>[1] = {}): Promise<TestNode> {
  const started = await startNode(id, options);
  cleanup.push(started);
  return started;
}

async function raw(port: number): Promise<RawPeer> {
  const peer = await rawConnect(port);
  rawSockets.push(peer.socket);
  return peer;
}

function batchOf(frames: Array<{ groupId: number; payload: Uint8Array }>): Buffer {
  return encodeFramesBatch(frames, frames.reduce((sum, frame) => sum + frameEncodedBytes(frame), 0));
}

const violations = (n: TestNode) => n.logs.filter((entry) => entry.event === 'protocolViolation').map((entry) => entry.message);

describe('a peer that is down', () => {
  it('costs bounded memory: sends return at once, the queue stays bounded, drops are counted; once up, new frames arrive', async () => {
    const port = await reservePort();
    const queueFramesMax = 100;
    const a = await node('a', { limits: { queueFramesMax, reconnectDelayMsMin: 10, reconnectDelayMsMax: 40 } });
    a.transport.addPeer('b', { host: LOOPBACK, port });

    let accepted = 0;
    for (let i = 0; i < 20_000; i++) if (a.transport.send('b', i % 10, new Uint8Array(64))) accepted++;
    expect(accepted).toBe(queueFramesMax);
    expect(a.transport.stats().peers.b.queuedFrames).toBe(queueFramesMax);
    expect(a.transport.stats().peers.b.droppedFrames).toBe(20_000 - queueFramesMax);

    // Keep sending while dials fail: the queue never exceeds its bound.
    let queuedFramesMax = 0;
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 500; i++) a.transport.send('b', 1, new Uint8Array(64));
      queuedFramesMax = Math.max(queuedFramesMax, a.transport.stats().peers.b.queuedFrames);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await waitFor('several failed dials', () => a.transport.stats().peers.b.reconnects >= 3);
    expect(queuedFramesMax).toBeLessThanOrEqual(queueFramesMax);
    const down = a.transport.stats().peers.b;
    expect(down.connected).toBe(false);
    expect(down.up).toBe(false);
    expect(down.droppedFrames + down.queuedFrames).toBe(20_000 + 30 * 500);

    const b = await node('b', { port });
    b.transport.addPeer('a', a.transport.address());
    await waitConnected([a, b]);
    for (let i = 0; i < 50; i++) a.transport.send('b', 777, new Uint8Array([i]));
    await waitFor('new frames delivered after reconnect', () => framesFrom(b, 'a').filter((frame) => frame.groupId === 777).length === 50);
    expect(framesFrom(b, 'a').filter((frame) => frame.groupId === 777).map((frame) => frame.payload[0])).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
  });
});

describe('a restarted peer', () => {
  it('is redialed as soon as it dials us, not after the remaining backoff', async () => {
    const slowRetry = { reconnectDelayMsMin: 60_000, reconnectDelayMsMax: 60_000 };
    const [a, b] = await startMesh(['a', 'b'], { limits: slowRetry });
    cleanup.push(a);
    await waitConnected([a, b]);
    const port = b.transport.address().port;
    await b.transport.close();
    await waitFor('a lost its link to b', () => a.transport.stats().peers.b.linkState === 'waitingToReconnect');
    // a's next dial is 30-60 s away; b's own dial must bring it forward.
    const restarted = await node('b', { port, limits: slowRetry });
    restarted.transport.addPeer('a', a.transport.address());
    await waitConnected([a, restarted]);
    a.transport.send('b', 3, Uint8Array.of(3));
    await waitFor('frame to the restarted b', () => framesFrom(restarted, 'a').length === 1);
  });
});

describe('a peer that does not read', () => {
  it('fills only its own bounded queue; frames to another peer keep flowing', async () => {
    const limits = { frameBytesMax: 64 * 1024, batchBytesMax: 256 * 1024, queueBytesMax: 1024 * 1024, queueFramesMax: 1000 };
    const [a, c] = await startMesh(['a', 'c'], { limits });
    cleanup.push(a, c);
    // Completes the handshake, then never reads a byte.
    const slow = net.createServer((socket) => {
      rawSockets.push(socket);
      socket.on('error', () => {});
      socket.write(encodeWelcome('slow'));
    });
    servers.push(slow);
    await new Promise<void>((resolve) => slow.listen(0, LOOPBACK, resolve));
    a.transport.addPeer('slow', { host: LOOPBACK, port: (slow.address() as net.AddressInfo).port });
    await waitConnected([a, c]);

    const rounds = 100;
    const toC = 20;
    let queuedBytesMax = 0;
    const bigPayload = new Uint8Array(64 * 1024);
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < 32; i++) a.transport.send('slow', 1, bigPayload);
      for (let i = 0; i < toC; i++) expect(a.transport.send('c', 2, Uint8Array.of(round, i))).toBe(true);
      queuedBytesMax = Math.max(queuedBytesMax, a.transport.stats().peers.slow.queuedBytes);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor('c received everything', () => framesFrom(c, 'a').length === rounds * toC);
    const toCInOrder = framesFrom(c, 'a').every((frame, n) => frame.payload[0] === Math.floor(n / toC) && frame.payload[1] === n % toC);
    expect(toCInOrder).toBe(true);
    const stats = a.transport.stats().peers;
    expect(stats.c.droppedFrames).toBe(0);
    expect(stats.slow.droppedFrames).toBeGreaterThan(0);
    expect(queuedBytesMax).toBeLessThanOrEqual(limits.queueBytesMax);
  });
});

describe('oversized and malformed input', () => {
  async function acceptor(): Promise<TestNode> {
    const b = await node('b', { limits: { frameBytesMax: 1024, batchBytesMax: 8192, handshakeTimeoutMs: 300 } });
    b.transport.addPeer('a', { host: LOOPBACK, port: await reservePort() });
    return b;
  }

  async function helloAs(b: TestNode, from: string): Promise<RawPeer> {
    const peer = await raw(b.transport.address().port);
    peer.socket.write(encodeHello(from, 'b'));
    await waitFor('welcome', () => peer.batches.some((batch) => batch.kind === 'welcome'));
    return peer;
  }

  it('an oversized frame closes the connection with a logged reason; frames before it are delivered', async () => {
    const b = await acceptor();
    const peer = await helloAs(b, 'a');
    peer.socket.write(Buffer.concat([batchOf([{ groupId: 1, payload: new Uint8Array([7]) }]), batchOf([{ groupId: 2, payload: new Uint8Array(2000) }])]));
    await waitFor('connection closed', () => peer.closed);
    expect(violations(b).join('\n')).toMatch(/frame for group 2 has 2000 payload bytes, above frameBytesMax 1024/);
    expect(framesFrom(b, 'a').map((frame) => frame.groupId)).toEqual([1]);
  });

  it('an oversized batch is refused from its header, without waiting for or buffering the body', async () => {
    const b = await acceptor();
    const peer = await helloAs(b, 'a');
    const header = Buffer.alloc(8);
    header.writeUInt32BE(1 << 30, 0);
    peer.socket.write(header);
    await waitFor('connection closed', () => peer.closed);
    expect(violations(b).join('\n')).toMatch(/batch of 1073741824 bytes exceeds the 8192-byte limit/);
  });

  it('before the handshake, even a modest batch is too large', async () => {
    const b = await acceptor();
    const peer = await raw(b.transport.address().port);
    const header = Buffer.alloc(8);
    header.writeUInt32BE(4096, 0);
    peer.socket.write(header);
    await waitFor('connection closed', () => peer.closed);
    expect(violations(b).join('\n')).toMatch(/exceeds the 1024-byte limit/);
  });

  it('garbage from unknown clients closes their connections and nothing else', async () => {
    const b = await acceptor();
    const random = seededRandom(42);
    const http = await raw(b.transport.address().port);
    http.socket.write('GET / HTTP/1.1\r\nHost: nimmer\r\n\r\n');
    const noise = await raw(b.transport.address().port);
    noise.socket.write(Buffer.from(Array.from({ length: 4096 }, () => Math.floor(random() * 256))));
    const quiet = await raw(b.transport.address().port);
    await waitFor('all three closed', () => http.closed && noise.closed && quiet.closed);
    expect(b.logs.some((entry) => /no HELLO from .* within handshakeTimeoutMs 300/.test(entry.message))).toBe(true);
    expect(b.transport.stats().inboundConnections).toBe(0);
    // Still serving its real peer.
    const peer = await helloAs(b, 'a');
    peer.socket.write(batchOf([{ groupId: 5, payload: new Uint8Array([1]) }]));
    await waitFor('frame delivered', () => framesFrom(b, 'a').length === 1);
  });

  it('strangers, wrong targets and other protocol versions get a REJECT that says why', async () => {
    const b = await acceptor();
    const cases: Array<[Buffer, RegExp]> = [
      [encodeHello('mallory', 'b'), /mallory is not a peer of b; add it to the peer map/],
      [encodeHello('a', 'zed'), /this is node b, not zed; fix a's peer address map/],
      [encodeHello('a', 'b', 99), /protocol version 99 is not supported: b speaks version 1/],
    ];
    for (const [hello, reason] of cases) {
      const peer = await raw(b.transport.address().port);
      peer.socket.write(hello);
      await waitFor('rejected and closed', () => peer.closed);
      const reject = peer.batches.find((batch) => batch.kind === 'reject');
      expect(reject && reject.kind === 'reject' && reject.reason).toMatch(reason);
    }
    expect(b.logs.filter((entry) => entry.event === 'inboundRejected')).toHaveLength(3);
  });

  it('a dialer learns why it was rejected', async () => {
    const [b] = await startMesh(['b']);
    cleanup.push(b);
    const stranger = await node('stranger');
    stranger.transport.addPeer('b', b.transport.address());
    await waitFor('stranger logged the rejection', () =>
      stranger.logs.some((entry) => entry.event === 'handshakeRejected' && /b rejected the handshake: stranger is not a peer of b/.test(entry.message)),
    );
    expect(stranger.transport.stats().peers.b.connected).toBe(false);
  });
});
