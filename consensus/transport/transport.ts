// The node-to-node transport of the multi-Raft runtime: moves opaque (groupId, payload) frames
// between nodes, all groups multiplexed on one link per direction, framed, batched, bounded,
// heartbeated and reconnected. It knows nothing of Raft.

import net from 'node:net';
import { z } from 'zod';
import type { RandomSource } from './backoff.ts';
import { InboundConnection } from './inbound-connection.ts';
import type { TransportLimits } from './limits.ts';
import { resolveTransportLimits } from './limits.ts';
import type { Clock, LinkContext, TransportLogEntry, TransportLogEvent } from './link-context.ts';
import { MONOTONIC_CLOCK } from './link-context.ts';
import { PeerLiveness } from './liveness.ts';
import type { OutboundState, PeerAddress } from './outbound-link.ts';
import { OutboundLink } from './outbound-link.ts';
import type { Frame } from './wire.ts';
import { GROUP_ID_MAX, NODE_ID_PATTERN } from './wire.ts';

export interface TransportOptions {
  nodeId: string;
  listen: PeerAddress;
  /** The other nodes (never this one), by id. Changed at runtime with setPeers/addPeer/removePeer. */
  peers: Record<string, PeerAddress>;
  limits?: Partial<TransportLimits>;
  /**
   * Frames from one received chunk of one link, in send order. Payloads are owned copies.
   * Runs synchronously on the socket's read path: a throw is a runtime bug and is not caught.
   */
  onFrames(fromNode: string, frames: Frame[]): void;
  /** A peer went up (first contact, or contact after silence) or down (silent for peerDeadMs). Peers start down. */
  onPeerStatus?(node: string, up: boolean): void;
  /** Defaults to console.warn for warnings, silence for info. */
  onLog?(entry: TransportLogEntry): void;
  clock?: Clock;
  random?: RandomSource;
}

export interface PeerStats {
  /** The outbound link has completed its handshake. */
  connected: boolean;
  /** Heard from within peerDeadMs, as last reported through onPeerStatus. */
  up: boolean;
  linkState: OutboundState;
  queuedFrames: number;
  queuedBytes: number;
  sentFrames: number;
  sentBytes: number;
  writes: number;
  droppedFrames: number;
  reconnects: number;
  handshakes: number;
  receivedFrames: number;
  receivedBytes: number;
  /** Clock time anything last arrived from this peer on any link; null if never. */
  lastRecvAtMs: number | null;
  rttMs: number | null;
}

export interface TransportStats {
  nodeId: string;
  peers: Record<string, PeerStats>;
  inboundConnections: number;
  /** Frames sent to nodes that are not peers. */
  droppedUnknownPeerFrames: number;
}

const nodeIdSchema = z.string().regex(NODE_ID_PATTERN, `node ids are 1-64 characters of ${NODE_ID_PATTERN}`);
const listenAddressSchema = z.object({ host: z.string().min(1), port: z.number().int().min(0).max(65535) });
const peerAddressSchema = z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) });

interface PeerRecord {
  link: OutboundLink;
  receivedFrames: number;
  receivedBytes: number;
}

export class Transport {
  readonly nodeId: string;
  readonly limits: Readonly<TransportLimits>;
  private readonly listenAddress: PeerAddress;
  private readonly peers = new Map<string, PeerRecord>();
  private readonly inbound = new Set<InboundConnection>();
  private readonly inboundByNode = new Map<string, InboundConnection>();
  private readonly liveness: PeerLiveness;
  private readonly ctx: LinkContext;
  private readonly onFrames: TransportOptions['onFrames'];
  private readonly onPeerStatus: NonNullable<TransportOptions['onPeerStatus']>;
  private state: 'new' | 'starting' | 'running' | 'closed' = 'new';
  private server: net.Server | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private lastTickAtMs: number | null = null;
  private droppedUnknownPeerFrames = 0;

  constructor(options: TransportOptions) {
    this.nodeId = parseOrThrow(nodeIdSchema, options.nodeId, 'nodeId');
    this.listenAddress = parseOrThrow(listenAddressSchema, options.listen, 'listen');
    this.limits = resolveTransportLimits(options.limits);
    this.onFrames = options.onFrames;
    this.onPeerStatus = options.onPeerStatus ?? (() => {});
    this.liveness = new PeerLiveness(this.limits.peerDeadMs);
    const onLog = options.onLog ?? defaultLog;
    const clock = options.clock ?? MONOTONIC_CLOCK;
    this.ctx = {
      nodeId: this.nodeId,
      limits: this.limits,
      clock,
      random: options.random ?? Math.random,
      log: (level, event: TransportLogEvent, peer, message) =>
        onLog(peer === undefined ? { level, event, nodeId: this.nodeId, message } : { level, event, nodeId: this.nodeId, peer, message }),
      heard: (peer) => {
        if (this.state === 'closed') return;
        if (this.liveness.heard(peer, clock.nowMs())) this.onPeerStatus(peer, true);
      },
    };
    for (const [node, address] of Object.entries(options.peers)) this.addPeer(node, address);
  }

  /** Listens, then dials every peer (eagerly: heartbeats need a link even when no group talks). */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`transport ${this.nodeId} was already started; create a new Transport instead`);
    this.state = 'starting';
    const server = net.createServer((socket) => this.onConnection(socket));
    server.maxConnections = this.limits.inboundConnectionsMax;
    this.server = server;
    const { host, port } = this.listenAddress;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        reject(new Error(`transport ${this.nodeId} cannot listen on ${host}:${port}: ${error.message}; pick a free port or stop the other process`));
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    if (this.state !== 'starting') {
      // close() ran while we were binding: it could not close a listener that was not yet listening.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return;
    }
    server.on('error', (error) => this.ctx.log('warn', 'serverError', undefined, `listener error: ${error.message}`));
    this.state = 'running';
    this.ctx.log('info', 'listening', undefined, `listening on ${host}:${this.address().port}`);
    for (const peer of this.peers.values()) peer.link.start();
    this.tickTimer = setInterval(() => this.tick(), this.limits.heartbeatIntervalMs);
  }

  /** The bound listen address (the real port when listen.port was 0). */
  address(): PeerAddress {
    const bound = this.server?.address();
    if (bound === null || bound === undefined || typeof bound === 'string') {
      throw new Error(`transport ${this.nodeId} is not listening; await start() first`);
    }
    return { host: this.listenAddress.host, port: bound.port };
  }

  /**
   * Queues one frame for `toNode`; all frames queued in one event-loop turn leave in one write.
   * Returns false when it was dropped (unknown peer, queue full, transport closed). Never blocks;
   * throws only for a caller bug (bad group id, payload above frameBytesMax).
   */
  send(toNode: string, groupId: number, payload: Uint8Array): boolean {
    if (!(Number.isInteger(groupId) && groupId >= 0 && groupId <= GROUP_ID_MAX)) {
      throw new RangeError(`groupId ${groupId} is not an integer in [0, ${GROUP_ID_MAX}]`);
    }
    if (payload.length > this.limits.frameBytesMax) {
      throw new RangeError(
        `payload of ${payload.length} bytes for group ${groupId} exceeds frameBytesMax ${this.limits.frameBytesMax}; split it (e.g. chunk snapshots) or raise the limit on every node`,
      );
    }
    const peer = this.peers.get(toNode);
    if (peer === undefined || this.state === 'closed') {
      this.droppedUnknownPeerFrames++;
      return false;
    }
    return peer.link.send({ groupId, payload });
  }

  /** Whether `node` is currently reported up. */
  isPeerUp(node: string): boolean {
    return this.liveness.get(node)?.up === true;
  }

  /** Replaces the peer set: adds new nodes, re-addresses moved ones, removes missing ones. */
  setPeers(peers: Record<string, PeerAddress>): void {
    for (const node of [...this.peers.keys()]) if (!Object.hasOwn(peers, node)) this.removePeer(node);
    for (const [node, address] of Object.entries(peers)) this.addPeer(node, address);
  }

  /** Adds a peer, or changes its address (the link redials). */
  addPeer(node: string, address: PeerAddress): void {
    parseOrThrow(nodeIdSchema, node, 'peer id');
    const parsed = parseOrThrow(peerAddressSchema, address, `address of peer ${node}`);
    if (node === this.nodeId) throw new Error(`peers must not include this node's own id ${node}; remove it from the peer map`);
    if (this.state === 'closed') throw new Error(`transport ${this.nodeId} is closed; peers cannot be added`);
    const existing = this.peers.get(node);
    if (existing !== undefined) {
      existing.link.setAddress(parsed);
      return;
    }
    const link = new OutboundLink(this.ctx, node, parsed);
    this.peers.set(node, { link, receivedFrames: 0, receivedBytes: 0 });
    this.liveness.track(node);
    if (this.state === 'running') link.start();
  }

  /** Forgets a peer: closes its links, drops its queue, and reports it down if it was up. */
  removePeer(node: string): void {
    const peer = this.peers.get(node);
    if (peer === undefined) return;
    this.peers.delete(node);
    peer.link.close();
    this.inboundByNode.get(node)?.close('info', 'linkLost', `peer ${node} removed; closing its inbound connection`);
    if (this.liveness.untrack(node)) this.onPeerStatus(node, false);
  }

  stats(): TransportStats {
    const peers: Record<string, PeerStats> = {};
    for (const [node, peer] of this.peers) {
      const link = peer.link.stats();
      const liveness = this.liveness.get(node);
      peers[node] = {
        connected: link.state === 'ready',
        up: liveness?.up === true,
        linkState: link.state,
        queuedFrames: link.queuedFrames,
        queuedBytes: link.queuedBytes,
        sentFrames: link.sentFrames,
        sentBytes: link.sentBytes,
        writes: link.writes,
        droppedFrames: link.droppedFrames,
        reconnects: link.reconnects,
        handshakes: link.handshakes,
        receivedFrames: peer.receivedFrames,
        receivedBytes: peer.receivedBytes,
        lastRecvAtMs: liveness?.lastHeardAtMs ?? null,
        rttMs: link.rttMs,
      };
    }
    return {
      nodeId: this.nodeId,
      peers,
      inboundConnections: this.inbound.size,
      droppedUnknownPeerFrames: this.droppedUnknownPeerFrames,
    };
  }

  /** Stops everything: no timers, sockets or listener remain once this resolves. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    this.tickTimer = null;
    for (const peer of this.peers.values()) peer.link.close();
    for (const connection of [...this.inbound]) connection.close('info', 'linkLost', 'transport closing');
    if (this.inbound.size !== 0) throw new Error('assertion: inbound connections survived close');
    const server = this.server;
    this.server = null;
    if (server !== null && server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private onConnection(socket: net.Socket): void {
    if (this.state !== 'running') {
      socket.destroy();
      return;
    }
    const connection = new InboundConnection(this.ctx, socket, {
      refusal: (fromNode) =>
        this.peers.has(fromNode) ? null : `${fromNode} is not a peer of ${this.nodeId}; add it to the peer map of ${this.nodeId} first`,
      accepted: (accepted) => {
        const node = accepted.fromNode;
        if (node === null) throw new Error('assertion: accepted connection without a node id');
        // A redial supersedes the old connection; dropping it keeps per-link order (its unread tail is discarded).
        this.inboundByNode.get(node)?.close('info', 'linkLost', `${node} reconnected; closing its previous inbound connection`);
        this.inboundByNode.set(node, accepted);
        this.peers.get(node)?.link.expedite();
      },
      frames: (fromNode, frames, payloadBytes) => {
        const peer = this.peers.get(fromNode);
        if (peer === undefined || this.state === 'closed') return;
        peer.receivedFrames += frames.length;
        peer.receivedBytes += payloadBytes;
        this.onFrames(fromNode, frames);
      },
      closed: (closed) => {
        this.inbound.delete(closed);
        const node = closed.fromNode;
        if (node !== null && this.inboundByNode.get(node) === closed) this.inboundByNode.delete(node);
      },
    });
    this.inbound.add(connection);
  }

  private tick(): void {
    const nowMs = this.ctx.clock.nowMs();
    // If this process itself was stalled (GC, SIGSTOP), peers' bytes are waiting unread: judge
    // silence on the next tick, after they have been read, not now.
    const stalled = this.lastTickAtMs !== null && nowMs - this.lastTickAtMs > 2 * this.limits.heartbeatIntervalMs;
    this.lastTickAtMs = nowMs;
    for (const peer of [...this.peers.values()]) peer.link.tick(nowMs, stalled);
    for (const connection of [...this.inbound]) connection.tick(nowMs, stalled);
    if (stalled) return;
    for (const node of this.liveness.sweep(nowMs)) {
      if (this.state !== 'running') return;
      this.onPeerStatus(node, false);
    }
  }
}

function defaultLog(entry: TransportLogEntry): void {
  if (entry.level === 'warn') console.warn(`[transport ${entry.nodeId}] ${entry.event}: ${entry.message}`);
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new RangeError(`invalid transport ${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
