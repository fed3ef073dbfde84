// How a composed event ends: a pure rule over the verdicts of its audit slots (written into canon by
// the compositor). Any blocked scene fails the event, any warning makes it partial, otherwise success.
import type { Outcome } from '../shards/index.ts';

export const AUDIT_VERDICTS = ['pass', 'warn', 'block'] as const;
export type AuditVerdict = (typeof AUDIT_VERDICTS)[number];

export function decideOutcome(verdicts: readonly AuditVerdict[]): Outcome {
  if (verdicts.includes('block')) return 'failure';
  if (verdicts.includes('warn')) return 'partial';
  return 'success';
}
