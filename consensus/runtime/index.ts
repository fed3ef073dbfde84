// consensus/runtime — multi-raft: many groups per process over one TCP link per peer node,
// a Ready loop with group commit, proposal/read waiters with 503/504 semantics.
export { RaftNode, nodeName, parseNodeName } from './node.ts';
export type { GroupStatus } from './node.ts';
export { openRaftNode } from './open.ts';
export type { RuntimeOptions, ResolvedRuntimeOptions } from './options.ts';
export type { StateMachine, AppliedCommand } from './state_machine.ts';
export { UnavailableError, IndeterminateError, UnknownGroupError } from './errors.ts';
export type { DurableLog, DurableUpdate } from './durable_log.ts';
export type { ProposalLatency, ProposalStagesMs, SlowProposal } from './latency.ts';
