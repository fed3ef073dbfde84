// What a link needs from the transport that owns it: identity, limits, time, randomness,
// logging and the liveness sink. Injected so links hold no global state.

import type { RandomSource } from './backoff.ts';
import type { TransportLimits } from './limits.ts';

/** Monotonic milliseconds; injected so the simulator can drive time. */
export interface Clock {
  nowMs(): number;
}

export const MONOTONIC_CLOCK: Clock = { nowMs: () => performance.now() };

export type TransportLogEvent =
  | 'listening'
  | 'linkUp'
  | 'linkLost'
  | 'dialFailed'
  | 'handshakeRejected'
  | 'inboundRejected'
  | 'protocolViolation'
  | 'linkSilent'
  | 'peerAddressChanged'
  | 'serverError';

export interface TransportLogEntry {
  level: 'info' | 'warn';
  event: TransportLogEvent;
  /** This node. */
  nodeId: string;
  /** The peer concerned, when known. */
  peer?: string;
  message: string;
}

export interface LinkContext {
  readonly nodeId: string;
  readonly limits: Readonly<TransportLimits>;
  readonly clock: Clock;
  readonly random: RandomSource;
  log(level: TransportLogEntry['level'], event: TransportLogEvent, peer: string | undefined, message: string): void;
  /** Any valid batch from `peer` arrived on any link: it is alive. */
  heard(peer: string): void;
}
