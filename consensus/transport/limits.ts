// Every bound the transport enforces, with its default, validated in one place.
// Nothing in the transport grows without one of these limits.

import { z } from 'zod';
import { FRAME_OVERHEAD_BYTES_MAX, FRAMES_BATCH_OVERHEAD_BYTES_MAX } from './wire.ts';

export interface TransportLimits {
  /** Largest payload of one frame. send() throws above it; a peer sending more is disconnected. */
  frameBytesMax: number;
  /** Largest batch body on the wire, and so the most bytes handed to one socket.write(). */
  batchBytesMax: number;
  /** Per-peer outbound queue bound, in frames. Sends beyond it are dropped and counted. */
  queueFramesMax: number;
  /** Per-peer outbound queue bound, in payload bytes. Sends beyond it are dropped and counted. */
  queueBytesMax: number;
  /** How often each outbound link sends a ping (one per peer link, not per group). */
  heartbeatIntervalMs: number;
  /** A peer we have heard nothing from for this long is reported down via onPeerStatus. */
  peerDeadMs: number;
  /** A connection that has carried nothing in for this long is destroyed (half-open or paused peer). */
  linkSilenceCloseMs: number;
  /** A dial must complete TCP connect and the handshake within this; an accepted socket must say hello within it. */
  handshakeTimeoutMs: number;
  /** Reconnect backoff: first retry delay (before jitter). */
  reconnectDelayMsMin: number;
  /** Reconnect backoff: the cap on the exponential delay (before jitter). */
  reconnectDelayMsMax: number;
  /** Accepted sockets held at once, authenticated or not; the listener refuses more. */
  inboundConnectionsMax: number;
  /** Pongs are skipped while an inbound socket already has this many unwritten bytes (its peer is not reading). */
  controlBacklogBytesMax: number;
}

const MiB = 1024 * 1024;

export const TRANSPORT_LIMITS_DEFAULT: Readonly<TransportLimits> = Object.freeze({
  frameBytesMax: 1 * MiB,
  batchBytesMax: 2 * MiB,
  queueFramesMax: 8192,
  queueBytesMax: 8 * MiB,
  heartbeatIntervalMs: 200,
  peerDeadMs: 1000,
  linkSilenceCloseMs: 5000,
  handshakeTimeoutMs: 2000,
  reconnectDelayMsMin: 50,
  reconnectDelayMsMax: 2000,
  inboundConnectionsMax: 1024,
  controlBacklogBytesMax: 64 * 1024,
});

/** A body length must fit the u32 length prefix; we stay far below it so one batch is always a sane allocation. */
const BATCH_BYTES_MAX_CEILING = 256 * MiB;

const positiveInt = z.number().int().positive();

const transportLimitsSchema = z
  .object({
    frameBytesMax: positiveInt,
    batchBytesMax: positiveInt.max(BATCH_BYTES_MAX_CEILING),
    queueFramesMax: positiveInt,
    queueBytesMax: positiveInt,
    heartbeatIntervalMs: positiveInt,
    peerDeadMs: positiveInt,
    linkSilenceCloseMs: positiveInt,
    handshakeTimeoutMs: positiveInt,
    reconnectDelayMsMin: positiveInt,
    reconnectDelayMsMax: positiveInt,
    inboundConnectionsMax: positiveInt,
    controlBacklogBytesMax: positiveInt,
  })
  .strict()
  .superRefine((l, ctx) => {
    const frameInBatchBytesMax = FRAMES_BATCH_OVERHEAD_BYTES_MAX + FRAME_OVERHEAD_BYTES_MAX + l.frameBytesMax;
    if (l.batchBytesMax < frameInBatchBytesMax) {
      ctx.addIssue({
        code: 'custom',
        path: ['batchBytesMax'],
        message: `batchBytesMax ${l.batchBytesMax} cannot hold one frame of frameBytesMax ${l.frameBytesMax}; raise it to at least ${frameInBatchBytesMax}`,
      });
    }
    if (l.queueBytesMax < l.frameBytesMax) {
      ctx.addIssue({
        code: 'custom',
        path: ['queueBytesMax'],
        message: `queueBytesMax ${l.queueBytesMax} is below frameBytesMax ${l.frameBytesMax}; a largest frame could never be queued`,
      });
    }
    if (l.heartbeatIntervalMs * 2 > l.peerDeadMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['peerDeadMs'],
        message: `peerDeadMs ${l.peerDeadMs} must be at least twice heartbeatIntervalMs ${l.heartbeatIntervalMs}, or one late ping reports a live peer dead`,
      });
    }
    if (l.linkSilenceCloseMs < l.peerDeadMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['linkSilenceCloseMs'],
        message: `linkSilenceCloseMs ${l.linkSilenceCloseMs} must be at least peerDeadMs ${l.peerDeadMs}: a link is closed only after its peer was reported down`,
      });
    }
    if (l.reconnectDelayMsMin > l.reconnectDelayMsMax) {
      ctx.addIssue({
        code: 'custom',
        path: ['reconnectDelayMsMin'],
        message: `reconnectDelayMsMin ${l.reconnectDelayMsMin} exceeds reconnectDelayMsMax ${l.reconnectDelayMsMax}`,
      });
    }
  });

/** Overlays `overrides` on the defaults and validates the result; throws a readable error naming each bad limit. */
export function resolveTransportLimits(overrides: Partial<TransportLimits> = {}): Readonly<TransportLimits> {
  const parsed = transportLimitsSchema.safeParse({ ...TRANSPORT_LIMITS_DEFAULT, ...overrides });
  if (!parsed.success) {
    throw new RangeError(`invalid transport limits:\n${z.prettifyError(parsed.error)}`);
  }
  return Object.freeze(parsed.data);
}

/** Largest body of a batch sent before the handshake completes; unauthenticated sockets never get more buffer. */
export const HANDSHAKE_BODY_BYTES_MAX = 1024;

