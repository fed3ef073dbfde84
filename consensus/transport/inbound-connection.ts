// The accepting side of a link: one socket a peer dialed to us. It must say HELLO first (within
// handshakeTimeoutMs, in at most HANDSHAKE_BODY_BYTES_MAX) naming a known node; after that it
// carries FRAMES and PINGs, and we answer PONGs. The peer is identified by its HELLO, never by
// its source address, so proxies in between are fine.

import type net from 'node:net';
import { BatchDecoder } from './batch-decoder.ts';
import { HANDSHAKE_BODY_BYTES_MAX } from './limits.ts';
import type { LinkContext } from './link-context.ts';
import { TransportProtocolError } from './protocol-error.ts';
import type { Frame } from './wire.ts';
import { PROTOCOL_MAGIC, PROTOCOL_VERSION, decodeBatchBody, encodePong, encodeReject, encodeWelcome } from './wire.ts';

export interface InboundHooks {
  /** Returns why `fromNode` may not connect (unknown node), or null to accept. */
  refusal(fromNode: string): string | null;
  /** The handshake completed; the transport keeps only the newest connection per node. */
  accepted(connection: InboundConnection): void;
  /** Every frame decoded from one received chunk, in order. */
  frames(fromNode: string, frames: Frame[], payloadBytes: number): void;
  /** The socket is gone; forget this connection. */
  closed(connection: InboundConnection): void;
}

export class InboundConnection {
  /** rejecting: REJECT written, waiting for it to flush before the socket is destroyed. */
  private state: 'awaitingHello' | 'accepted' | 'rejecting' | 'closed' = 'awaitingHello';
  private node: string | null = null;
  private readonly decoder = new BatchDecoder(HANDSHAKE_BODY_BYTES_MAX);
  private handshakeTimer: NodeJS.Timeout | null;
  private lastRecvAtMs: number;
  private readonly remote: string;

  constructor(
    private readonly ctx: LinkContext,
    private readonly socket: net.Socket,
    private readonly hooks: InboundHooks,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.lastRecvAtMs = ctx.clock.nowMs();
    socket.setNoDelay(true);
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = null;
      this.close('warn', 'inboundRejected', `no HELLO from ${this.remote} within handshakeTimeoutMs ${ctx.limits.handshakeTimeoutMs}`);
    }, ctx.limits.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: Error) => this.close('info', 'linkLost', `inbound connection from ${this.describe()} failed: ${error.message}`));
    socket.on('close', () => this.close('info', 'linkLost', `inbound connection from ${this.describe()} closed`));
  }

  /** The authenticated peer, or null before the handshake. */
  get fromNode(): string | null {
    return this.node;
  }

  tick(nowMs: number, stalled: boolean): void {
    if (this.state !== 'accepted' || stalled) return;
    const silentMs = nowMs - this.lastRecvAtMs;
    if (silentMs > this.ctx.limits.linkSilenceCloseMs) {
      this.close(
        'warn',
        'linkSilent',
        `nothing from ${this.describe()} for ${Math.round(silentMs)} ms (linkSilenceCloseMs ${this.ctx.limits.linkSilenceCloseMs}); closing its inbound connection`,
      );
    }
  }

  close(level: 'info' | 'warn', event: 'linkLost' | 'linkSilent' | 'inboundRejected' | 'protocolViolation', message: string): void {
    if (this.state === 'closed') return;
    // A rejection was already logged; its socket closing is the expected end.
    if (this.state !== 'rejecting') this.ctx.log(level, event, this.node ?? undefined, message);
    this.state = 'closed';
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.socket.destroy();
    this.hooks.closed(this);
  }

  private describe(): string {
    return this.node === null ? `unidentified ${this.remote}` : `${this.node} (${this.remote})`;
  }

  private onData(chunk: Buffer): void {
    if (this.state !== 'awaitingHello' && this.state !== 'accepted') return;
    this.lastRecvAtMs = this.ctx.clock.nowMs();
    const frames: Frame[] = [];
    let payloadBytes = 0;
    try {
      this.decoder.push(chunk, (body, owned) => {
        if (this.state !== 'awaitingHello' && this.state !== 'accepted') return;
        const framesBefore = frames.length;
        this.onBody(body, owned, frames);
        for (let i = framesBefore; i < frames.length; i++) payloadBytes += frames[i].payload.length;
      });
    } catch (error) {
      if (!(error instanceof TransportProtocolError)) throw error;
      // Frames that preceded the bad batch passed their checksum; deliver them before closing.
      this.deliver(frames, payloadBytes);
      this.close('warn', 'protocolViolation', `closing inbound connection from ${this.describe()}: ${error.message}`);
      return;
    }
    this.deliver(frames, payloadBytes);
  }

  private deliver(frames: Frame[], payloadBytes: number): void {
    if (this.node === null || this.state !== 'accepted') return;
    this.ctx.heard(this.node);
    if (frames.length > 0 && this.state === 'accepted') this.hooks.frames(this.node, frames, payloadBytes);
  }

  private onBody(body: Buffer, owned: boolean, frames: Frame[]): void {
    if (this.state === 'awaitingHello') {
      this.onHello(body);
      return;
    }
    const decoded = decodeBatchBody(body, this.ctx.limits.frameBytesMax, frames, owned);
    if (decoded.kind === 'frames') return;
    if (decoded.kind !== 'ping') {
      throw new TransportProtocolError('unexpectedBatch', `expected FRAMES or PING, got ${decoded.kind}`);
    }
    // A peer that does not read its pongs gets no more of them: our buffer stays bounded.
    if (this.socket.writableLength <= this.ctx.limits.controlBacklogBytesMax) this.socket.write(encodePong(decoded.sentAtMs));
  }

  private onHello(body: Buffer): void {
    const decoded = decodeBatchBody(body, this.ctx.limits.frameBytesMax, []);
    if (decoded.kind !== 'hello') {
      throw new TransportProtocolError('unexpectedBatch', `expected HELLO as the first batch, got ${decoded.kind}`);
    }
    if (decoded.magic !== PROTOCOL_MAGIC) {
      throw new TransportProtocolError('malformedBatch', `HELLO magic ${decoded.magic.toString(16)} is not nimmer's; not a nimmer transport`);
    }
    let refusal: string | null = null;
    if (decoded.version !== PROTOCOL_VERSION) {
      refusal = `protocol version ${decoded.version} is not supported: ${this.ctx.nodeId} speaks version ${PROTOCOL_VERSION}; run matching nimmer versions`;
    } else if (decoded.toNode !== this.ctx.nodeId) {
      refusal = `this is node ${this.ctx.nodeId}, not ${decoded.toNode}; fix ${decoded.fromNode}'s peer address map (or the proxy routing)`;
    } else {
      refusal = this.hooks.refusal(decoded.fromNode);
    }
    if (refusal !== null) {
      this.reject(decoded.fromNode, refusal);
      return;
    }
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.state = 'accepted';
    this.node = decoded.fromNode;
    this.decoder.setBodyBytesMax(this.ctx.limits.batchBytesMax);
    this.socket.write(encodeWelcome(this.ctx.nodeId));
    this.hooks.accepted(this);
  }

  private reject(fromNode: string, reason: string): void {
    this.ctx.log('warn', 'inboundRejected', undefined, `rejected connection claiming to be ${fromNode} from ${this.remote}: ${reason}`);
    this.state = 'rejecting';
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    // end() so the REJECT reaches the dialer before the connection goes; destroy once flushed.
    // The 'close' event then finishes the connection through close().
    this.socket.end(encodeReject(reason), () => this.socket.destroy());
  }
}
