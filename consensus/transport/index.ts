// ARCHITECTURE — consensus/transport: the node-to-node TCP transport of the multi-Raft runtime.
//
// A node hosts many Raft groups. Between two nodes there is one TCP connection per direction,
// each dialed by the sender, carrying the frames of all groups. Per direction because each
// connection then has a single writer of frames: no tie-break for simultaneous dials, a send
// queue and its backpressure belong to exactly one socket, and an asymmetric partition (A→B cut,
// B→A fine) shows up as exactly what it is. The acceptor only answers (WELCOME, PONG).
//
//   transport.ts            Transport: peers, listener, ticks, stats — the public API
//   outbound-link.ts        dialing side: queue, batching, backpressure, heartbeats, reconnect
//   inbound-connection.ts   accepting side: handshake check, frame delivery, pongs
//   wire.ts                 batch envelope and kinds (format documented there)
//   batch-decoder.ts        linear-time reassembly of batches from TCP chunks
//   frame-queue.ts          bounded per-peer FIFO
//   liveness.ts             peer up/down from "heard within peerDeadMs" (pure)
//   backoff.ts              capped exponential reconnect delay with jitter (pure)
//   limits.ts               every bound and its default, zod-validated
//   testing/                test harness and a peer process for SIGSTOP tests
//   bench.ts                on-demand loopback benchmark: npx tsx consensus/transport/bench.ts
//
// Payload-agnostic: it moves (groupId, payload) frames and never imports the Raft core.
// Delivery is at-most-once and in order per link; frames are dropped, never reordered, when a
// queue is full or a connection is lost — Raft tolerates loss. No authentication: run it on a
// trusted network.

export { Transport } from './transport.ts';
export type { PeerStats, TransportOptions, TransportStats } from './transport.ts';
export type { PeerAddress, OutboundState } from './outbound-link.ts';
export { TRANSPORT_LIMITS_DEFAULT, resolveTransportLimits } from './limits.ts';
export type { TransportLimits } from './limits.ts';
export type { Clock, TransportLogEntry, TransportLogEvent } from './link-context.ts';
export type { RandomSource } from './backoff.ts';
export type { Frame } from './wire.ts';
export { GROUP_ID_MAX, PROTOCOL_VERSION } from './wire.ts';
export { TransportProtocolError } from './protocol-error.ts';
export type { ProtocolViolation } from './protocol-error.ts';
