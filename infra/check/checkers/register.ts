// Linearizability of the register workload's history, per key, with consensus/check's checker.
import { checkOperations, kvModel, type KvInput, type KvOutput, type Operation } from '../../../consensus/check/index.ts';
import type { Violation } from '../workload.ts';

export interface RegisterVerdict {
  result: 'ok' | 'illegal' | 'unknown';
  violations: Violation[];
  /** The checker's statistics (operations checked, partitions, search steps, time). */
  stats: Record<string, number>;
  unknownReason?: string;
}

export function checkRegisterHistory(history: readonly Operation<KvInput, KvOutput>[], timeoutMs: number): RegisterVerdict {
  const r = checkOperations(kvModel, history, { timeoutMs });
  const stats = { ...r.stats } as unknown as Record<string, number>;
  switch (r.result) {
    case 'ok':
      return { result: 'ok', violations: [], stats };
    case 'unknown':
      return { result: 'unknown', violations: [], stats, unknownReason: r.reason };
    case 'illegal':
      return {
        result: 'illegal',
        stats,
        violations: [
          {
            kind: 'linearizability',
            message: r.explanation.message,
            details: {
              stuck: r.explanation.stuck.description,
              stateAfterPrefix: r.explanation.stateAfterPrefix,
              candidates: r.explanation.candidates.map((c) => `${c.description} (${c.verdict})`),
              prefixLength: r.explanation.linearizedPrefix.length,
            },
          },
        ],
      };
  }
}
