// Test helpers: transports on ephemeral loopback ports wired into a full mesh, event waits with
// generous bounds, raw sockets that speak (or break) the wire protocol, and a seeded PRNG.

import net from 'node:net';
import { BatchDecoder } from '../batch-decoder.ts';
import type { TransportLimits } from '../limits.ts';
import type { TransportLogEntry } from '../link-context.ts';
import { Transport } from '../transport.ts';
import type { DecodedBatch, Frame } from '../wire.ts';
import { decodeBatchBody } from '../wire.ts';

export const LOOPBACK = '127.0.0.1';

/** Polls `predicate` until true; fails after `timeoutMs` naming what it waited for. Bounds only, never timing claims. */
export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** mulberry32: a tiny seeded PRNG, so payloads and jitter replay exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TestNode {
  id: string;
  transport: Transport;
  received: Array<{ from: string; frames: Frame[] }>;
  statuses: Array<{ node: string; up: boolean }>;
  logs: TransportLogEntry[];
}

export interface TestNodeOptions {
  limits?: Partial<TransportLimits>;
  port?: number;
  seed?: number;
}

export async function startNode(id: string, options: TestNodeOptions = {}): Promise<TestNode> {
  const node: TestNode = { id, received: [], statuses: [], logs: [], transport: undefined as unknown as Transport };
  node.transport = new Transport({
    nodeId: id,
    listen: { host: LOOPBACK, port: options.port ?? 0 },
    peers: {},
    limits: options.limits,
    random: seededRandom(options.seed ?? 1),
    onFrames: (from, frames) => node.received.push({ from, frames }),
    onPeerStatus: (peer, up) => node.statuses.push({ node: peer, up }),
    onLog: (entry) => node.logs.push(entry),
  });
  await node.transport.start();
  return node;
}

/** Starts `ids` and tells each about all the others. */
export async function startMesh(ids: string[], options: TestNodeOptions = {}): Promise<TestNode[]> {
  const nodes = await Promise.all(ids.map((id, i) => startNode(id, { ...options, seed: (options.seed ?? 1) + i })));
  for (const node of nodes) {
    for (const other of nodes) if (other !== node) node.transport.addPeer(other.id, other.transport.address());
  }
  return nodes;
}

export async function waitConnected(nodes: TestNode[]): Promise<void> {
  await waitFor('every link connected and every peer up', () =>
    nodes.every((node) => Object.values(node.transport.stats().peers).every((peer) => peer.connected && peer.up)),
  );
}

export function framesFrom(node: TestNode, from: string): Frame[] {
  return node.received.filter((batch) => batch.from === from).flatMap((batch) => batch.frames);
}

export async function closeAll(nodes: Array<{ transport: Transport }>): Promise<void> {
  await Promise.all(nodes.map((node) => node.transport.close()));
}

/** A port that was free a moment ago (nothing listens on it now). */
export async function reservePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

/** A raw socket plus the batches decoded from what it receives. */
export interface RawPeer {
  socket: net.Socket;
  batches: DecodedBatch[];
  closed: boolean;
}

export function rawPeer(socket: net.Socket): RawPeer {
  const peer: RawPeer = { socket, batches: [], closed: false };
  const decoder = new BatchDecoder(1 << 20);
  socket.on('data', (chunk: Buffer) => decoder.push(chunk, (body) => peer.batches.push(decodeBatchBody(body, 1 << 20, []))));
  socket.on('error', () => {});
  socket.on('close', () => {
    peer.closed = true;
  });
  return peer;
}

export async function rawConnect(port: number): Promise<RawPeer> {
  const socket = net.connect({ host: LOOPBACK, port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return rawPeer(socket);
}
