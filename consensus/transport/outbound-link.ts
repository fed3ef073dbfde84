// The dialing side of one node-to-node link: it owns the TCP connection this node opens to a
// peer, the bounded queue of frames for that peer, batching, backpressure, heartbeats and
// reconnection. Frames flow only this way; the peer answers with WELCOME and PONGs alone.

import net from 'node:net';
import { reconnectDelayMs } from './backoff.ts';
import { BatchDecoder } from './batch-decoder.ts';
import { FrameQueue } from './frame-queue.ts';
import { HANDSHAKE_BODY_BYTES_MAX } from './limits.ts';
import type { LinkContext } from './link-context.ts';
import { TransportProtocolError } from './protocol-error.ts';
import type { Frame } from './wire.ts';
import {
  FRAMES_BATCH_OVERHEAD_BYTES_MAX,
  PROTOCOL_VERSION,
  decodeBatchBody,
  encodeFramesBatch,
  encodeHello,
  encodePing,
} from './wire.ts';

export interface PeerAddress {
  host: string;
  port: number;
}

/**
 * idle: never dialed. connecting: TCP connect or handshake in flight. ready: WELCOME received, frames flow.
 * waitingToReconnect: backoff timer armed. closed: removed or transport closed; terminal.
 */
export type OutboundState = 'idle' | 'connecting' | 'ready' | 'waitingToReconnect' | 'closed';

export interface OutboundLinkStats {
  state: OutboundState;
  queuedFrames: number;
  queuedBytes: number;
  /** Frames handed to the socket (not an acknowledgement of receipt). */
  sentFrames: number;
  /** Bytes written, handshake and pings included. */
  sentBytes: number;
  /** socket.write() calls: handshakes, pings and frame batches. */
  writes: number;
  /** Frames refused by a full queue or discarded with a lost connection. */
  droppedFrames: number;
  /** Dials started after the first one. */
  reconnects: number;
  /** Handshakes completed. */
  handshakes: number;
  /** Round trip of the latest ping, null before the first pong. */
  rttMs: number | null;
}

export class OutboundLink {
  private state: OutboundState = 'idle';
  private address: PeerAddress;
  private socket: net.Socket | null = null;
  private decoder: BatchDecoder | null = null;
  private readonly queue: FrameQueue;
  private failedAttempts = 0;
  private dials = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private flushImmediate: NodeJS.Immediate | null = null;
  /** socket.write() returned false; nothing more is written until 'drain'. */
  private awaitingDrain = false;
  private lastRecvAtMs = 0;
  private readonly ignoredFrames: Frame[] = [];
  private readonly counters = { sentFrames: 0, sentBytes: 0, writes: 0, droppedFrames: 0, handshakes: 0 };
  private rttMs: number | null = null;

  constructor(
    private readonly ctx: LinkContext,
    readonly peer: string,
    address: PeerAddress,
  ) {
    this.address = { ...address };
    this.queue = new FrameQueue(ctx.limits.queueFramesMax, ctx.limits.queueBytesMax);
  }

  start(): void {
    if (this.state === 'idle') this.dial();
  }

  /** Queues a frame; false if it was dropped. Never blocks, never throws for a down peer. */
  send(frame: Frame): boolean {
    if (this.state === 'closed' || !this.queue.tryPush(frame)) {
      this.counters.droppedFrames++;
      return false;
    }
    if (this.state === 'ready' && !this.awaitingDrain) this.scheduleFlush();
    return true;
  }

  /** Points the link elsewhere (e.g. a proxy was inserted); an open connection is replaced at once. */
  setAddress(address: PeerAddress): void {
    if (address.host === this.address.host && address.port === this.address.port) return;
    this.address = { ...address };
    if (this.state === 'connecting' || this.state === 'ready' || this.state === 'waitingToReconnect') {
      this.ctx.log('info', 'peerAddressChanged', this.peer, `address of ${this.peer} changed to ${address.host}:${address.port}; redialing`);
      this.teardown();
      this.state = 'waitingToReconnect';
      this.failedAttempts = 0;
      this.dial();
    }
  }

  /** The peer just dialed us, so it is up: skip the rest of the backoff instead of waiting it out. */
  expedite(): void {
    if (this.state !== 'waitingToReconnect') return;
    this.teardown();
    this.failedAttempts = 0;
    this.dial();
  }

  /** Called every heartbeat interval: ping, or give up on a link that has gone silent. */
  tick(nowMs: number, stalled: boolean): void {
    if (this.state !== 'ready') return;
    const silentMs = nowMs - this.lastRecvAtMs;
    if (!stalled && silentMs > this.ctx.limits.linkSilenceCloseMs) {
      this.fail(
        'warn',
        'linkSilent',
        `nothing from ${this.peer} for ${Math.round(silentMs)} ms (linkSilenceCloseMs ${this.ctx.limits.linkSilenceCloseMs}): peer paused or connection half-open; reconnecting`,
      );
      return;
    }
    // A backed-up socket means the peer is not reading: a ping would only add to the backlog.
    if (!this.awaitingDrain) this.write(encodePing(nowMs));
  }

  stats(): OutboundLinkStats {
    return {
      state: this.state,
      queuedFrames: this.queue.frames,
      queuedBytes: this.queue.bytes,
      ...this.counters,
      reconnects: Math.max(0, this.dials - 1),
      rttMs: this.rttMs,
    };
  }

  close(): void {
    if (this.state === 'closed') return;
    this.teardown();
    this.queue.clear();
    this.state = 'closed';
  }

  private dial(): void {
    if (this.state !== 'idle' && this.state !== 'waitingToReconnect') {
      throw new Error(`assertion: dial from state ${this.state}`);
    }
    if (this.socket !== null || this.reconnectTimer !== null) throw new Error('assertion: dial with a live socket or timer');
    this.state = 'connecting';
    this.dials++;
    this.awaitingDrain = false;
    this.decoder = new BatchDecoder(HANDSHAKE_BODY_BYTES_MAX);
    const { host, port } = this.address;
    const socket = net.connect({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = null;
      this.fail(
        'info',
        'dialFailed',
        `no handshake from ${this.peer} at ${host}:${port} within handshakeTimeoutMs ${this.ctx.limits.handshakeTimeoutMs}; retrying with backoff`,
      );
    }, this.ctx.limits.handshakeTimeoutMs);
    socket.on('connect', () => {
      if (socket === this.socket) this.write(encodeHello(this.ctx.nodeId, this.peer));
    });
    socket.on('data', (chunk: Buffer) => {
      if (socket === this.socket) this.onData(socket, chunk);
    });
    socket.on('drain', () => {
      if (socket !== this.socket) return;
      this.awaitingDrain = false;
      this.flush();
    });
    // Kept for the socket's whole life: an 'error' with no listener would crash the process.
    socket.on('error', (error: Error) => {
      if (socket === this.socket) this.onSocketGone(`socket error: ${error.message}`);
    });
    socket.on('close', () => {
      if (socket === this.socket) this.onSocketGone('connection closed');
    });
  }

  private onSocketGone(reason: string): void {
    const wasReady = this.state === 'ready';
    const { host, port } = this.address;
    if (wasReady) {
      this.fail('warn', 'linkLost', `link to ${this.peer} at ${host}:${port} lost (${reason}); reconnecting`);
    } else {
      this.fail('info', 'dialFailed', `dial to ${this.peer} at ${host}:${port} failed (${reason}); retrying with backoff`);
    }
  }

  private onData(socket: net.Socket, chunk: Buffer): void {
    this.lastRecvAtMs = this.ctx.clock.nowMs();
    const decoder = this.decoder;
    if (decoder === null) throw new Error('assertion: data on a link without a decoder');
    try {
      // Callbacks run inside (onPeerStatus) may close or redial this link: batches left in the
      // chunk then belong to a dead connection and are ignored.
      decoder.push(chunk, (body) => {
        if (socket === this.socket) this.onBody(body);
      });
    } catch (error) {
      if (!(error instanceof TransportProtocolError)) throw error;
      if (socket !== this.socket) return;
      const event = error.violation === 'handshakeRejected' ? 'handshakeRejected' : 'protocolViolation';
      this.fail('warn', event, `closing link to ${this.peer}: ${error.message}`);
    }
  }

  private onBody(body: Buffer): void {
    // The peer sends no FRAMES on this connection, so decoded frames can only be a violation.
    const decoded = decodeBatchBody(body, this.ctx.limits.frameBytesMax, this.ignoredFrames);
    this.ignoredFrames.length = 0;
    if (this.state === 'connecting') {
      if (decoded.kind === 'reject') {
        throw new TransportProtocolError('handshakeRejected', `${this.peer} rejected the handshake: ${decoded.reason}`);
      }
      if (decoded.kind !== 'welcome') {
        throw new TransportProtocolError('unexpectedBatch', `expected WELCOME or REJECT from ${this.peer}, got ${decoded.kind}`);
      }
      if (decoded.version !== PROTOCOL_VERSION) {
        throw new TransportProtocolError(
          'handshakeRejected',
          `${this.peer} speaks protocol version ${decoded.version}, this node ${PROTOCOL_VERSION}; run matching versions`,
        );
      }
      if (decoded.nodeId !== this.peer) {
        throw new TransportProtocolError(
          'handshakeRejected',
          `dialed ${this.peer} at ${this.address.host}:${this.address.port} but ${decoded.nodeId} answered; check the peer address map`,
        );
      }
      this.onHandshakeDone();
      return;
    }
    if (this.state !== 'ready') throw new Error(`assertion: batch on a link in state ${this.state}`);
    if (decoded.kind !== 'pong') {
      throw new TransportProtocolError('unexpectedBatch', `expected PONG from ${this.peer}, got ${decoded.kind}`);
    }
    this.rttMs = this.ctx.clock.nowMs() - decoded.sentAtMs;
    this.ctx.heard(this.peer);
  }

  private onHandshakeDone(): void {
    if (this.state !== 'connecting') throw new Error(`assertion: handshake completed in state ${this.state}`);
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.state = 'ready';
    this.failedAttempts = 0;
    this.counters.handshakes++;
    this.ctx.log('info', 'linkUp', this.peer, `link to ${this.peer} at ${this.address.host}:${this.address.port} is up`);
    this.ctx.heard(this.peer);
    this.flush();
  }

  private scheduleFlush(): void {
    if (this.flushImmediate !== null) return;
    // setImmediate, not a microtask: everything sent during this event-loop turn, across
    // promise continuations too, goes out in one write.
    this.flushImmediate = setImmediate(() => {
      this.flushImmediate = null;
      this.flush();
    });
  }

  private flush(): void {
    const budgetBytes = this.ctx.limits.batchBytesMax - FRAMES_BATCH_OVERHEAD_BYTES_MAX;
    while (this.state === 'ready' && !this.awaitingDrain && this.queue.frames > 0) {
      const taken = this.queue.take(budgetBytes);
      const batch = encodeFramesBatch(taken.frames, taken.encodedBytes);
      this.counters.sentFrames += taken.frames.length;
      this.write(batch);
    }
  }

  private write(batch: Buffer): void {
    const socket = this.socket;
    if (socket === null) throw new Error('assertion: write without a socket');
    this.counters.writes++;
    this.counters.sentBytes += batch.length;
    if (!socket.write(batch)) this.awaitingDrain = true;
  }

  /** Drops the connection and whatever was queued for it, then arms the reconnect timer. */
  private fail(level: 'info' | 'warn', event: 'linkLost' | 'dialFailed' | 'handshakeRejected' | 'protocolViolation' | 'linkSilent', message: string): void {
    if (this.state !== 'connecting' && this.state !== 'ready') throw new Error(`assertion: fail in state ${this.state}`);
    this.ctx.log(level, event, this.peer, message);
    this.teardown();
    // Frames queued for a connection that is gone are stale by the time another exists; Raft
    // resends what still matters. This bounds a dead peer's queue to one backoff interval of sends.
    this.counters.droppedFrames += this.queue.clear();
    this.state = 'waitingToReconnect';
    const delayMs = reconnectDelayMs(
      this.failedAttempts,
      this.ctx.limits.reconnectDelayMsMin,
      this.ctx.limits.reconnectDelayMsMax,
      this.ctx.random,
    );
    this.failedAttempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.dial();
    }, delayMs);
  }

  private teardown(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    if (this.flushImmediate !== null) clearImmediate(this.flushImmediate);
    this.handshakeTimer = null;
    this.reconnectTimer = null;
    this.flushImmediate = null;
    this.awaitingDrain = false;
    this.decoder = null;
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) socket.destroy();
  }
}
