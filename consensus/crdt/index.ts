// consensus/crdt — eventual state: Automerge documents replicated between processes over an
// at-most-once bus (core NATS) with the Automerge sync protocol, made safe against lost,
// repeated and reordered messages; per-writer lattice registers; compaction by epochs.
export { Replica, type Freshness, type PeerFreshness, type ReplicaLog, type ReplicaOptions, type ReplicaStats } from './replica.ts';
export type { CounterView, Entry } from './eventual_doc.ts';
export { CrdtSettingsSchema, resolveCrdtSettings, COUNTER_NAME_PATTERN, INCREMENT_ABS_MAX, type CrdtSettings, type CrdtSettingsInput } from './options.ts';
export { CrdtIndeterminateError, CrdtInputError, CrdtLimitError, CrdtUnavailableError } from './errors.ts';
export { DetachedTransport, type CrdtTransport } from './transport.ts';
export { NatsTransport, type NatsTransportOptions } from './nats_transport.ts';
