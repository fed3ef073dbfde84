// consensus/raft — Raft as a pure, deterministic state machine (etcd-raft style).
export * from './types.ts';
export * from './errors.ts';
export { RawNode } from './rawnode.ts';
export type { Status, ProgressStatus } from './rawnode.ts';
export type { RaftConfig, RaftLogger } from './raft.ts';
export { DEFAULTS as RAFT_DEFAULTS } from './raft.ts';
export { MemoryStorage } from './storage.ts';
export type { Storage } from './storage.ts';
export { seededRandom, randomInt } from './rand.ts';
export type { RandomSource } from './rand.ts';
export { encodeConfChange, decodeConfChange } from './confchange_codec.ts';
export type { ReadOnlyOption } from './read_only.ts';
