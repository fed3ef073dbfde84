// consensus/txn — atomic commit across two Raft groups (two-phase commit with the decision
// replicated in the coordinator's group, presumed abort, first-writer-wins decisions, bounded
// tables). Pure and game-agnostic: the state machines above supply the payload and the votes.
export { CoordinatorTable, type BeginOutcome, type DecideOutcome, type DoneOutcome } from './coordinator.ts';
export type { TxnTableLimits } from './table.ts';
export { ParticipantTable, type PrepareOutcome, type FinishOutcome } from './participant.ts';
export { coordinatorStep, participantStep, statusOf, type CoordinatorStep, type ParticipantStep, type TxnStatus, type TxnTimeouts } from './rules.ts';
export { ABORT_REASONS, decisionOf, isDecided, phaseOf, type CoordinatorRecord, type Decision, type ParticipantRecord, type Vote } from './types.ts';
export { coordinatorRecordSchema, participantRecordSchema, tableRowsSchema } from './schema.ts';
