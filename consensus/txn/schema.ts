// Snapshot schemas of the tables, for a state machine restoring them (the payload schema is its own).
import { z } from 'zod';

const index = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const id = z.string().min(1);

export function coordinatorRecordSchema<T extends z.ZodType>(payload: T) {
  return z.strictObject({
    id,
    payload: payload.nullable(),
    phase: z.enum(['preparing', 'committed', 'aborted']),
    reason: z.string().nullable(),
    participantDone: z.boolean(),
    begunAtIndex: index,
    decidedAtIndex: index.nullable(),
  });
}

export function participantRecordSchema<T extends z.ZodType>(payload: T) {
  return z.strictObject({
    id,
    payload: payload.nullable(),
    phase: z.enum(['prepared', 'committed', 'aborted']),
    reason: z.string().nullable(),
    preparedAtIndex: index,
  });
}

export function tableRowsSchema<T extends z.ZodType>(record: T) {
  return z.strictObject({ live: z.array(record), finished: z.array(record) });
}
